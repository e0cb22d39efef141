"""Export a whole detector, segmentor or classifier, in its deploy form, to
ONNX, and check the files with onnxruntime.

    python tools/deploy/export_onnx.py CONFIG [--checkpoint CKPT] \
        [--shape H W] [--out model.onnx]

CONFIG is any mmdet, mmseg or mmpretrain config. The model is built, the
checkpoint loaded (a training checkpoint or one from tools/reparameterize.py)
and switched to its deploy form; its learned parts are traced into graphs
that take any batch and image size (:mod:`mmplug.onnx_model`): ``--out``
holds backbone, neck and the head on the feature maps; a two-stage
detector's RoI heads go beside it. ``tools/deploy/onnx_test.py`` evaluates
the files on a data set with the library's own post-processing.
"""
import argparse
import os.path as osp

import torch

import mmplug  # noqa: F401  (shims and registration)
from mmplug.apis import build_model, load_deployed
from mmplug.cli import exit_on_error
from mmplug.onnx_model import check_onnx, export_onnx, part_modules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='mmdet, mmseg or mmpretrain config')
    parser.add_argument('--checkpoint', help='weights to export (default: random init)')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'),
                        help='size of the example image the graphs are traced on')
    parser.add_argument('--out', help='the image graph\'s file (default: <config>.onnx)')
    args = parser.parse_args()
    out = args.out or osp.splitext(osp.basename(args.config))[0] + '.onnx'
    with exit_on_error('export_onnx.py'):
        if not osp.isfile(args.config):
            raise FileNotFoundError(f'config {args.config!r} not found')
        model = build_model(args.config)
        if args.checkpoint:
            load_deployed(model, args.checkpoint)
        image = torch.randn(1, 3, *args.shape, generator=torch.Generator().manual_seed(0))
        parts = export_onnx(model, out, image)
    print('| file | part | MB | state dict MB | file / state dict |')
    print('| --- | --- | --- | --- | --- |')
    for p in parts:
        print(f'| {p.path} | {p.part} | {p.file_bytes / 2**20:.2f} | '
              f'{p.tensor_bytes / 2**20:.2f} | {p.file_bytes / p.tensor_bytes:.3f} |')
    print(f'onnxruntime vs PyTorch, on the example and on a batch of 2 images 32 pixels '
          f'larger each way: largest relative difference '
          f'{check_onnx(parts, part_modules(model)):.2e}')


if __name__ == '__main__':
    main()
