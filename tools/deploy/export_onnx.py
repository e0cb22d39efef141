"""Export the deploy form of a model's backbone (and neck) to ONNX, and check
it with onnxruntime when that is installed.

    python tools/deploy/export_onnx.py CONFIG [--checkpoint CKPT] [--neck] \
        [--shape 224 224] [--out model.onnx]

CONFIG is any mmdet, mmseg or mmpretrain config (configs/cls/ ones export a
bare backbone). The model is built, the checkpoint loaded (a training
checkpoint or one from tools/reparameterize.py), switched to its deploy form
(:func:`mmplug.switch_to_deploy`) and traced at one fixed input size; the
outputs are the feature maps, ``feat0``, ``feat1``, ...
"""
import argparse
import os.path as osp
import warnings
from typing import List, Tuple

import numpy as np
import torch
from torch import nn

import mmplug  # noqa: F401  (shims and registration)
from mmplug.apis import build_model, load_checkpoint, read_checkpoint
from mmplug.cli import exit_on_error


class Features(nn.Module):
    """A model's backbone, optionally followed by its neck, returning a
    tuple of feature maps."""

    def __init__(self, model: nn.Module, with_neck: bool):
        super().__init__()
        self.backbone = model.backbone
        self.neck = getattr(model, 'neck', None) if with_neck else None
        if with_neck and self.neck is None:
            raise ValueError(f'--neck: this {type(model).__name__} has no neck')

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.backbone(x)
        if self.neck is not None:
            feats = self.neck(feats)
        return tuple(feats) if isinstance(feats, (tuple, list)) else (feats, )


def build_features(config: str, checkpoint: str = None, with_neck: bool = False) -> nn.Module:
    """The deploy-form :class:`Features` of a config's model.

    Raises:
        FileNotFoundError: for a missing checkpoint.
        CheckpointMismatchError: for a checkpoint that does not fit the model.
    """
    model = build_model(config)
    if checkpoint:
        loaded = read_checkpoint(checkpoint)
        if isinstance(loaded, dict) and loaded.get('meta', {}).get('mmplug_deploy'):
            mmplug.switch_to_deploy(model)  # a file of tools/reparameterize.py
        load_checkpoint(model, checkpoint, loaded)
    return mmplug.switch_to_deploy(Features(model, with_neck))


def export(module: nn.Module, shape: Tuple[int, int], out: str) -> List[np.ndarray]:
    """Trace ``module`` on a random image of ``shape`` into ``out``; returns
    PyTorch's outputs for that image."""
    x = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), warnings.catch_warnings():
        expected = [t.numpy() for t in module(x)]
        # The trace is made for one input size (said above), so the tracer's
        # warnings about Python branches on shapes say nothing new; the
        # TorchScript exporter is used because the torch.export one needs
        # onnxscript and cannot follow mmdet's data-dependent code.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(module, (x, ), out, dynamo=False, opset_version=17,
                          input_names=['image'],
                          output_names=[f'feat{i}' for i in range(len(expected))])
    np.save(osp.splitext(out)[0] + '_input.npy', x.numpy())
    return expected


def check_with_onnxruntime(out: str, expected: List[np.ndarray]) -> float:
    """The largest difference of onnxruntime's outputs from PyTorch's,
    relative to the largest magnitude of each output."""
    import onnxruntime
    session = onnxruntime.InferenceSession(out, providers=['CPUExecutionProvider'])
    x = np.load(osp.splitext(out)[0] + '_input.npy')
    got = session.run(None, {'image': x})
    return max(float(np.abs(g - e).max() / max(np.abs(e).max(), 1e-12))
               for g, e in zip(got, expected))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='mmdet, mmseg or mmpretrain config')
    parser.add_argument('--checkpoint', help='weights to export (default: random init)')
    parser.add_argument('--neck', action='store_true', help='export the neck too')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'))
    parser.add_argument('--out', help='the .onnx file (default: <config>.onnx)')
    args = parser.parse_args()
    if not osp.isfile(args.config):
        raise SystemExit(f'config {args.config!r} not found')
    out = args.out or osp.splitext(osp.basename(args.config))[0] + '.onnx'
    with exit_on_error('export_onnx.py'):
        module = build_features(args.config, args.checkpoint, args.neck)
    expected = export(module, tuple(args.shape), out)
    shapes = ', '.join(str(tuple(e.shape)) for e in expected)
    print(f'wrote {out}: input (1, 3, {args.shape[0]}, {args.shape[1]}) -> {shapes}')
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print('onnxruntime is not installed; output not checked')
        return
    print(f'onnxruntime vs PyTorch: largest relative difference '
          f'{check_with_onnxruntime(out, expected):.2e}')


if __name__ == '__main__':
    main()
