"""Train a detector, segmentor or classifier from an mmdet, mmseg or
mmpretrain config, with mmdet's command line.

    python tools/train.py configs/det/fasternet_s_maskrcnn.py
    python tools/train.py CONFIG --resume            # from the latest checkpoint
    tools/dist_train.sh CONFIG 8                     # torchrun, 8 processes
"""
import argparse
from typing import List, Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

import mmplug  # noqa: F401  (registration and adapters)
from mmplug.apis import build_runner, check_data, check_optimizer
from mmplug.cli import add_common_args, end_distributed, exit_on_error, load_config
from mmplug.engine.compile import enable_compile
from mmplug.models.checkpoint import check_checkpoint_file


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model with an mmplug backbone')
    parser.add_argument('config', help='config file')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual batch size')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the training step (as compile=True in the config) '
                             'and the validation step (mmplug.engine.CompileInferenceHook)')
    parser.add_argument(
        '--resume', nargs='?', const='auto',
        help='resume from this checkpoint, or without a value from the latest '
        'checkpoint in the work dir')
    add_common_args(parser)
    return parser.parse_args(argv)


def make_config(args: argparse.Namespace) -> Config:
    """The config of the run the command line asks for.

    Raises:
        FileNotFoundError: for a missing config, checkpoint or data set.
        ValueError: for a config of another library, an unknown optimizer
            type, or a truncated or corrupt checkpoint to resume from.
    """
    cfg = load_config(args)
    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a CUDA device (mmengine AmpOptimWrapper); none here')
        if cfg.optim_wrapper.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise SystemExit('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.compile:
        enable_compile(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
        latest = find_latest_checkpoint(cfg.work_dir)
        if latest:
            check_checkpoint_file(latest, 'the latest checkpoint')
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
        check_checkpoint_file(args.resume, '--resume checkpoint')
    check_optimizer(cfg)
    check_data(cfg, ['train_dataloader', 'val_dataloader'] if cfg.get('val_cfg') else
               ['train_dataloader'])
    return cfg


def main(argv: Optional[List[str]] = None) -> Runner:
    """Train as the command line ``argv`` says; returns the runner."""
    args = parse_args(argv)
    with exit_on_error('train.py'):
        cfg = make_config(args)
    runner = build_runner(cfg)
    runner.train()
    return runner

if __name__ == '__main__':
    main()
    end_distributed()
