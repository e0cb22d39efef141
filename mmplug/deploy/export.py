"""Export a whole model to one ONNX file, from the preprocessed batch to final
results (:mod:`mmplug.deploy.end2end`), with a ``deploy.json`` that tells a
runtime everything else (:mod:`mmplug.deploy.meta`).

The TorchScript exporter traces the deploy form of the model
(:func:`mmplug.switch_to_deploy`) at opset 20 (GELU as one node,
``RoiAlign`` with half-pixel sampling); batch size and image size stay
dynamic. Two things OpenMMLab writes cannot be traced with a dynamic image
size and are rewritten for the time of the export (:func:`export_rewrites`).
"""
import contextlib
import json
import os
import os.path as osp
import warnings
from typing import Any, Dict, Optional

import torch
from torch import nn

from .end2end import OUTPUTS, end2end, input_names, task_of
from .reparam import switch_to_deploy

OPSET = 20
#: The file names in the work dir.
GRAPH, META = 'end2end.onnx', 'deploy.json'

#: What each output holds, for deploy.json.
OUTPUT_DOCS = {
    'dets': ('float32', ['N', 'K', 5], 'x1, y1, x2, y2 in pixels of the resized image (the '
             'graph input), and the score; best first; rows past the last detection are '
             'padding (label -1, all zeros)'),
    'labels': ('int64', ['N', 'K'], 'class index of each detection, -1 for padding'),
    'masks': ('float32', ['N', 'K', 'M', 'M'], 'mask probabilities of each detection\'s class '
              'over its box, at RoI resolution; paste into the image and threshold'),
    'seg': ('int64', ['N', 'H', 'W'], 'class index of each pixel of the input (padded) batch'),
    'scores': ('float32', ['N', 'C'], 'class probabilities (softmax)'),
}
INPUT_DOCS = {
    'image': ('float32', ['N', 3, 'H', 'W'], 'the batch as the data preprocessor makes it: '
              'channels converted and normalized as `preprocess` says, each image padded at '
              'the bottom and right with `pad_value` to the batch size'),
    'img_shape': ('float32', ['N', 2], 'height and width of each image inside the padded '
                  'batch (after resizing, before padding)'),
}


# ---------------------------------------------------------------- rewrites
def adaptive_avg_pool2d(x: torch.Tensor, output_size) -> torch.Tensor:
    """``F.adaptive_avg_pool2d`` as two products with averaging matrices
    built from the input's size, so that a traced graph keeps that size
    dynamic: ONNX has no adaptive pooling, and the exporter refuses one whose
    output is not 1x1 unless the input size is fixed."""
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size

    def matrix(n, k, like):
        # the rows of PyTorch's bins: [floor(i n / k), ceil((i + 1) n / k))
        pos = torch.ones_like(like).cumsum(0) - 1  # 0 .. n-1, traced from the input
        i = torch.arange(k, dtype=like.dtype).unsqueeze(1)
        start = torch.floor(i * n / k)
        end = torch.ceil((i + 1) * n / k)
        inside = ((pos >= start) & (pos < end)).to(like.dtype)
        return inside / inside.sum(1, keepdim=True)

    h, w = x.shape[-2:]
    rows = matrix(h, out_h or h, x[0, 0, :, 0])
    cols = matrix(w, out_w or w, x[0, 0, 0, :])
    return rows @ x @ cols.transpose(0, 1)


@contextlib.contextmanager
def export_rewrites():
    """What tracing cannot follow with a dynamic input size, rewritten for
    the time of an export: non-global adaptive average pooling (mmseg's
    PPM in UPerNet and PSPNet) and mmseg's ``Upsample`` (FPN heads), which
    turns the traced size into Python integers."""
    saved = [(nn.AdaptiveAvgPool2d, 'forward', nn.AdaptiveAvgPool2d.forward)]
    pool = nn.AdaptiveAvgPool2d.forward

    def pool_forward(self, x):
        if self.output_size in (1, (1, 1)):
            return pool(self, x)
        return adaptive_avg_pool2d(x, self.output_size)

    nn.AdaptiveAvgPool2d.forward = pool_forward
    try:
        from mmseg.models.utils import Upsample
    except ImportError:
        Upsample = None
    if Upsample is not None:
        upsample = Upsample.forward

        def upsample_forward(self, x):
            if self.size or not float(self.scale_factor).is_integer():
                return upsample(self, x)
            size = [t * int(self.scale_factor) for t in x.shape[-2:]]
            return torch.nn.functional.interpolate(x, size, None, self.mode, self.align_corners)

        saved.append((Upsample, 'forward', upsample))
        Upsample.forward = upsample_forward
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


# ------------------------------------------------------------------ export
def example_inputs(task: str, image: torch.Tensor) -> tuple:
    """The graph's example inputs for ``image`` (N, 3, H, W): the image and,
    for detectors, the full size of each image as its valid part."""
    if input_names(task) == ['image']:
        return (image, )
    shape = torch.tensor(image.shape[2:], dtype=torch.float32)
    return image, shape[None].expand(image.shape[0], 2).contiguous()


def export_graph(module: nn.Module, inputs: tuple, path: str, task: str,
                 opset: int = OPSET) -> None:
    """Trace ``module`` (an :func:`~mmplug.deploy.end2end.end2end` module) on
    ``inputs`` into the ONNX file ``path``, with dynamic batch and image size.
    """
    names = input_names(task)
    outputs = list(OUTPUTS[task])
    axes = {'image': {0: 'N', 2: 'H', 3: 'W'}, 'img_shape': {0: 'N'}}
    for name in outputs:
        axes[name] = {0: 'N'}
    if task == 'semantic_segmentation':
        axes['labels'] = {0: 'N', 1: 'H', 2: 'W'}
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    module.eval()
    with torch.no_grad(), warnings.catch_warnings(), export_rewrites():
        # The TorchScript exporter: the torch.export one cannot follow
        # OpenMMLab's Python code. Shapes it turns into constants would show
        # in the checks at another batch and image size.
        for category in (torch.jit.TracerWarning, DeprecationWarning, UserWarning):
            warnings.simplefilter('ignore', category)
        torch.onnx.export(module, inputs, path, dynamo=False, opset_version=opset,
                          input_names=names[:len(inputs)], output_names=outputs,
                          dynamic_axes={k: v for k, v in axes.items() if k in names + outputs})


def io_docs(task: str) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """The ``inputs`` and ``outputs`` entries of deploy.json for ``task``."""
    def doc(table, name, key=None):
        dtype, shape, meaning = table[key or name]
        return dict(dtype=dtype, shape=shape, meaning=meaning)
    outputs = {name: doc(OUTPUT_DOCS, name, 'seg' if task == 'semantic_segmentation' else None)
               for name in OUTPUTS[task]}
    return dict(inputs={name: doc(INPUT_DOCS, name) for name in input_names(task)},
                outputs=outputs)


def export_end2end(model: nn.Module, cfg, work_dir: str, image: torch.Tensor,
                   config: Optional[str] = None) -> Dict[str, Any]:
    """Export ``model`` end to end into ``work_dir``: ``end2end.onnx`` and
    ``deploy.json``.

    Args:
        model: The model built from ``cfg`` with its weights, switched to its
            deploy form here (in place).
        cfg: The model's config (mmengine ``Config``): its test pipeline,
            data preprocessor, test settings and classes go to deploy.json.
        work_dir: Folder for the files (created).
        image: An example batch as the data preprocessor makes it (N, 3, H,
            W); the graph takes any batch and size.
        config: How the config was named (path or ``mmplug::`` name), for
            deploy.json.

    Returns:
        What was written to deploy.json.

    Raises:
        ValueError: for a model, head or setting the export does not support.
    """
    from .meta import deploy_meta
    task = task_of(model)
    meta = deploy_meta(cfg)  # first: a pipeline the runtime cannot run stops here
    switch_to_deploy(model)
    export_graph(end2end(model), example_inputs(task, image), osp.join(work_dir, GRAPH), task)
    meta = dict(dict(format='mmplug-end2end', version=1, config=config, model=GRAPH,
                     files=dict(fp32=GRAPH), **io_docs(task)), **meta)
    if meta['task'] != task:
        raise ValueError(f'the config reads as a {meta["task"]} model, the model built from it '
                         f'is a {task} one')
    with open(osp.join(work_dir, META), 'w') as f:
        json.dump(meta, f, indent=1)
    return meta
