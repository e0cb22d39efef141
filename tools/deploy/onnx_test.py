"""Evaluate exported ONNX files of a model with onnxruntime on the test split
of its config, with the library's own post-processing, as tools/test.py
evaluates the PyTorch model.

    python tools/deploy/onnx_test.py CONFIG CHECKPOINT [--onnx model.onnx] \
        [--int8 N] [--compare] [--out results.pkl]

Without ``--onnx`` the deploy form of CONFIG with CHECKPOINT is exported to
the work dir first (tools/deploy/export_onnx.py). ``--int8 N`` quantizes the
image graph (int8, onnxruntime static quantization) calibrated on N images of
the training split. ``--compare`` also tests the PyTorch deploy form and
prints both sets of metrics.
"""
import argparse
import os.path as osp
from typing import Dict, Iterator, List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmplug  # noqa: F401  (shims and registration)
from mmplug.apis import build_runner, check_data, load_deployed
from mmplug.cli import (
    add_common_args,
    dump_predictions,
    end_distributed,
    exit_on_error,
    load_config,
)
from mmplug.onnx_model import export_onnx, onnxruntime_model


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (training or deploy)')
    parser.add_argument('--onnx', help='image graph exported before (default: export now)')
    parser.add_argument('--int8', type=int, default=0, metavar='N',
                        help='quantize the image graph to int8, calibrated on N images')
    parser.add_argument('--compare', action='store_true',
                        help='also test the PyTorch deploy form')
    parser.add_argument('--out', help='dump onnxruntime\'s predictions to this pickle file')
    add_common_args(parser)
    return parser.parse_args(argv)


def images(runner: Runner, dataloader: dict, n: int) -> Iterator[torch.Tensor]:
    """The first ``n`` images of ``dataloader`` as the model's data
    preprocessor makes them, one per batch."""
    loader = Runner.build_dataloader(dict(dataloader, batch_size=1, num_workers=0,
                                          persistent_workers=False),
                                     seed=0)
    preprocess = runner.model.data_preprocessor
    for i, data in enumerate(loader):
        if i == n:
            return
        yield preprocess(data, False)['inputs']


def calibration_loader(cfg: Config) -> dict:
    """The training split read as the test split is (no augmentation)."""
    train = cfg.train_dataloader.dataset
    if 'pipeline' not in train:
        raise ValueError(f'--int8: the training set ({train.type}) has no pipeline of its own '
                         f'to replace with the test pipeline; calibrating needs one')
    return dict(cfg.train_dataloader, sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(train, pipeline=cfg.test_dataloader.dataset.pipeline))


def run(args: argparse.Namespace) -> Dict[str, Dict[str, float]]:
    """Test as ``args`` say; returns the metrics by backend."""
    with exit_on_error('onnx_test.py'):
        cfg = load_config(args)
        if args.launcher != 'none':
            raise ValueError('onnx_test.py runs in one process (--launcher none)')
        if args.onnx and not osp.isfile(args.onnx):
            raise FileNotFoundError(f'--onnx {args.onnx!r} not found')
        check_data(cfg, ['test_dataloader'] + (['train_dataloader'] if args.int8 else []))
        cfg.load_from = None
        runner = build_runner(cfg)
        load_deployed(runner.model, args.checkpoint)
        calibration = calibration_loader(cfg) if args.int8 else None
    results = {}
    if args.compare:
        results['PyTorch'] = runner.test()
    out = args.onnx
    if not out:
        out = osp.join(cfg.work_dir, osp.splitext(osp.basename(args.config))[0] + '.onnx')
        example = next(images(runner, cfg.test_dataloader, 1))
        for p in export_onnx(runner.model, out, example):
            print(f'exported {p.path}')
    image_file = out
    if args.int8:
        from mmplug.precision import quantize_onnx
        image_file = osp.splitext(out)[0] + '.int8.onnx'
        feeds = ({'image': x.numpy().astype(np.float32)}
                 for x in images(runner, calibration, args.int8))
        quantize_onnx(out, image_file, feeds)
        print(f'quantized the image graph to {image_file} on {args.int8} training images')
    onnxruntime_model(runner.model, out, image_file=image_file)
    if args.out:
        dump_predictions(runner, args.out)
    results['onnxruntime int8' if args.int8 else 'onnxruntime'] = runner.test()
    print_table(results)
    return results


def print_table(results: Dict[str, Dict[str, float]]) -> None:
    names = list(results)
    keys = [k for k, v in results[names[-1]].items() if np.ndim(v) == 0 and not isinstance(v, str)]
    head = names + (['difference'] if len(names) == 2 else [])
    print('| metric | ' + ' | '.join(head) + ' |')
    print('| --- |' + ' --- |' * len(head))
    for k in keys:
        values = [None if results[n].get(k) is None else float(results[n][k]) for n in names]
        cells = [f'{v:.4f}' if v is not None else '-' for v in values]
        if len(names) == 2 and None not in values:
            cells.append(f'{values[1] - values[0]:+.4f}')
        print(f'| {k} | ' + ' | '.join(cells) + ' |')


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    return run(parse_args(argv))


if __name__ == '__main__':
    main()
    end_distributed()
