"""Export a whole detector, segmentor or classifier, in its deploy form, to one
ONNX file that runs without PyTorch, and check it with onnxruntime.

    python tools/deploy/export_onnx.py CONFIG [--checkpoint CKPT] --work-dir DIR \
        [--shape H W] [--int8 N] [--cfg-options k=v ...]

CONFIG is any mmdet, mmseg or mmpretrain config (or an ``mmplug::`` name).
The model is built, the checkpoint loaded (a training checkpoint or one from
tools/reparameterize.py) and switched to its deploy form, and its whole
inference, from the preprocessed batch to final results, is traced into
``DIR/end2end.onnx`` with standard ONNX operators only
(:mod:`mmplug.deploy`); ``DIR/deploy.json`` holds what a runtime needs
besides (pre- and post-processing, classes, outputs). ``--int8 N`` also
writes ``DIR/end2end.int8.onnx``, its network quantized to int8 and
calibrated on N images of the training split. tools/deploy/infer.py runs the
files without PyTorch; tools/deploy/onnx_test.py evaluates them on the
config's test split.
"""
import argparse
import os.path as osp

import torch
from mmengine.config import DictAction

import mmplug  # noqa: F401  (registration and adapters)
from mmplug.apis import build_model, load_deployed
from mmplug.cli import exit_on_error, read_config
from mmplug.deploy.compare import check_end2end, describe_check
from mmplug.deploy.export import GRAPH, export_end2end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='mmdet, mmseg or mmpretrain config')
    parser.add_argument('--checkpoint', help='weights to export (default: random init)')
    parser.add_argument('--work-dir', required=True,
                        help='folder for end2end.onnx and deploy.json')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'),
                        help='size of the example image the graph is traced on (the graph '
                        'takes any size)')
    parser.add_argument('--int8', type=int, default=0, metavar='N',
                        help='also write end2end.int8.onnx, calibrated on N training images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, as key=value (e.g. '
                        'model.test_cfg.mode=whole for a segmentor that slides)')
    args = parser.parse_args()
    with exit_on_error('export_onnx.py'):
        cfg = read_config(args.config, args.cfg_options)
        model = build_model(cfg)
        if args.checkpoint:
            load_deployed(model, args.checkpoint)
        image = torch.randn(1, 3, *args.shape, generator=torch.Generator().manual_seed(0))
        export_end2end(model, cfg, args.work_dir, image, config=args.config)
        if args.int8:
            from mmplug.deploy.quantize import quantize_end2end
            quantize_end2end(cfg, model, args.work_dir, args.int8)
    path = osp.join(args.work_dir, GRAPH)
    print(f'wrote {path} ({osp.getsize(path) / 2**20:.2f} MB) and '
          f'{osp.join(args.work_dir, "deploy.json")}')
    print('onnxruntime against PyTorch on a batch of two images of another size: '
          + describe_check(check_end2end(model, path)))


if __name__ == '__main__':
    main()
