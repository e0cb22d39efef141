"""Time the engine paths of a model's end-to-end files on this machine, print
them with the host, and record the fastest in the folder's deploy.json
(which ``tools/deploy/infer.py --precision auto`` then takes).

    python tools/deploy/benchmark.py DIR [--seconds S] [--backend B ...] \
        [--threads N] [--image IMAGE]

The candidates are each installed backend (onnxruntime, OpenVINO) with each
precision DIR has a file for (fp32, int8), and bf16 on OpenVINO where the CPU
computes bfloat16 natively; they run the same input, interleaved, for about
S seconds after one untimed run each (:mod:`mmplug_runtime.selection`).
Only the engine is timed: preprocessing and post-processing are the same
for every path. Needs only mmplug_runtime's dependencies.
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmplug_runtime import BACKENDS, choose, read_image
from mmplug_runtime.selection import table

PROG = 'benchmark.py'


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    parser.add_argument('dir', help='folder of end-to-end files (end2end.onnx, deploy.json)')
    parser.add_argument('--seconds', type=float, default=3.0,
                        help='time for the timed rounds, all candidates together (default: 3)')
    parser.add_argument('--backend', nargs='+', choices=BACKENDS,
                        help='backends to time (default: every installed one)')
    parser.add_argument('--threads', type=int, help='engine threads (default: the engine\'s)')
    parser.add_argument('--image', help='the sample image (default: a generated one of the '
                        'size the test pipeline resizes to)')
    args = parser.parse_args(argv)
    try:
        if args.image and not osp.isfile(args.image):
            raise FileNotFoundError(f'image {args.image!r} not found')
        image = read_image(args.image) if args.image else None
        entry = choose(args.dir, args.backend, args.threads, args.seconds, image)
    except (OSError, ValueError, ImportError) as error:
        raise SystemExit(f'{PROG}: {error}') from None
    print(table(entry))
    print(f'{PROG}: recorded in {osp.join(args.dir, "deploy.json")}')


if __name__ == '__main__':
    main()
