"""Evaluate a checkpoint on the test split of an mmdet, mmseg or mmpretrain
config, with mmdet's command line.

    python tools/test.py CONFIG CHECKPOINT [--show-dir vis] [--out results.pkl]
    python tools/test.py CONFIG CHECKPOINT --tta   # the papers' multi-scale + flip test
    tools/dist_test.sh CONFIG CHECKPOINT 8
"""
import argparse
from typing import List, Optional

from mmengine.config import Config

import mmplug  # noqa: F401  (registration and adapters)
from mmplug.apis import build_runner, check_data
from mmplug.cli import (
    add_common_args,
    dump_predictions,
    enable_visualization,
    end_distributed,
    exit_on_error,
    load_config,
    wrap_tta,
)
from mmplug.engine.compile import enable_compile
from mmplug.models.checkpoint import check_checkpoint_file


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model with an mmplug backbone')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    parser.add_argument('--show', action='store_true', help='show the predictions')
    parser.add_argument('--show-dir', help='save images with predictions drawn here '
                        '(under the work dir\'s time-stamped folder)')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds per shown image')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: for a segmentation config the papers' "
                             "multi-scale + flip test (mmseg 0.x's: the test scale times 0.5, "
                             '0.75, ..., 1.75, each also flipped; mmplug.cli.wrap_tta), for '
                             "others the config's tta_model and tta_pipeline")
    parser.add_argument('--compile', action='store_true',
                        help="torch.compile the model's test_step (with the config's compile "
                             'options, if any; mmplug.engine.CompileInferenceHook)')
    add_common_args(parser)
    return parser.parse_args(argv)


def make_config(args: argparse.Namespace) -> Config:
    """The config of the test run the command line asks for; the runner loads
    the checkpoint (``load_from``), as in mmdet's test.py.

    Raises:
        FileNotFoundError: for a missing config, checkpoint or data set.
        ValueError: for a config of another library, one that lacks what
            ``--show``, ``--show-dir`` or ``--tta`` need, or an ``--out`` that
            is not a pickle file.
    """
    if args.out and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out {args.out!r}: the dump file must end in .pkl or .pickle')
    cfg = load_config(args)
    check_checkpoint_file(args.checkpoint)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.tta:
        wrap_tta(cfg)
    if args.compile:
        enable_compile(cfg, train=False)
    check_data(cfg, ['test_dataloader'])
    return cfg


def main(argv: Optional[List[str]] = None) -> dict:
    """Test as the command line ``argv`` says; returns the metrics."""
    args = parse_args(argv)
    with exit_on_error('test.py'):
        cfg = make_config(args)
    runner = build_runner(cfg)
    if args.out:
        dump_predictions(runner, args.out)
    return runner.test()


if __name__ == '__main__':
    main()
    end_distributed()
