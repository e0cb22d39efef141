"""Write stand-in COCO, ADE20K and ImageNet data (a few generated shapes
images in the real data sets' layouts, :mod:`tools.misc.standin`) and
print the overrides that point the configs at them.

    python tools/misc/make_standin_data.py OUT [--coco] [--ade] [--imagenet]
        [--train N] [--val N] [--seed S] [--config CONFIG ...]

With no data set flag, all three are written. Then, for example,

    python tools/train.py configs/det/fasternet_s_maskrcnn.py \\
        --cfg-options <the printed coco overrides>

The printed overrides fit configs whose dataloaders hold their data sets
directly; for others (the SSDLite configs wrap theirs in a RepeatDataset),
``--config`` prints the overrides of the configs named.
"""
import argparse
import shlex
import sys
import time
from pathlib import Path

from mmengine.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools.misc
from tools.misc.standin import (  # noqa: E402
    KINDS,
    default_overrides,
    standin_overrides,
    write_standin,
)

CONFIGS = dict(coco='configs/det', ade='configs/seg', imagenet='configs/cls')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out', help='folder to write coco/, ade/ and imagenet/ into')
    for kind in KINDS:
        parser.add_argument(f'--{kind}', action='store_true', help=f'write {kind}/')
    parser.add_argument('--train', type=int, default=8, help='training images (default 8)')
    parser.add_argument('--val', type=int, default=4, help='validation images (default 4)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--config', nargs='+', default=[],
                        help='also print the overrides of these configs')
    return parser.parse_args()


def options(overrides: dict) -> str:
    """Overrides as the words that follow ``--cfg-options``."""
    return ' '.join(shlex.quote(f'{key}={value}') for key, value in overrides.items())


def main() -> None:
    args = parse_args()
    kinds = [kind for kind in KINDS if getattr(args, kind)] or list(KINDS)
    start = time.perf_counter()
    roots = write_standin(args.out, kinds, train=args.train, val=args.val, seed=args.seed)
    print(f'wrote {", ".join(kinds)} ({args.train} train and {args.val} val images each) '
          f'under {args.out} in {time.perf_counter() - start:.1f} s')
    for kind, root in roots.items():
        print(f'\n{kind}: {root}\n  for {CONFIGS[kind]}/ (but configs with wrapped data sets: '
              f'see --config):\n  --cfg-options {options(default_overrides(kind, args.out))}')
    for config in args.config:
        overrides = standin_overrides(Config.fromfile(config), args.out)
        print(f'\n{config}: --cfg-options {options(overrides)}')


if __name__ == '__main__':
    main()
