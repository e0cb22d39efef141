"""Whole models to ONNX, and back into OpenMMLab's inference code.

A detector, segmentor or classifier is exported, in its deploy form
(:func:`mmplug.switch_to_deploy`), as the graphs of its learned parts:

- the *image graph*: backbone, neck and the head that runs on the feature
  maps (a dense detection head, an RPN head, a decode head, a classification
  head), from the preprocessed batch (the model's ``data_preprocessor``:
  normalized, padded) to the head's raw outputs and, for a two-stage
  detector, the feature maps its RoI heads pool from; batch size and image
  size are dynamic;
- for a two-stage detector, one graph per RoI head (Mask R-CNN: the box head
  and the mask head; Cascade R-CNN: those of every stage), from pooled RoI
  features (any number of RoIs) to scores, box deltas and mask logits.

What remains is post-processing, done by the library's own code as in
PyTorch: box decoding and NMS, and between the graphs of a two-stage detector
the choice of proposals and their pooling (RoIAlign, no weights); mask
pasting; the resize and argmax of a segmentation. :func:`onnxruntime_model`
swaps the learned parts of a built model for onnxruntime sessions on the
exported files, so the model's ``test_step`` (any mmengine runner,
``tools/deploy/onnx_test.py``) runs them with that code.

The files: ``model.onnx`` (the image graph) and, beside it, one file per RoI
head named after its place in the model (``model.roi_head.bbox_head.onnx``,
``model.roi_head.mask_head.2.onnx``). Each records its part and the nesting
of its outputs in its metadata (``mmplug.part``, ``mmplug.outputs``).
"""
import contextlib
import json
import os
import os.path as osp
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .models.deploy import switch_to_deploy

#: The attribute of the head that runs on the feature maps, by model type.
IMAGE_HEADS = ('rpn_head', 'bbox_head', 'decode_head', 'head')
OPSET = 20


# --------------------------------------------------------- output structure
def flatten(obj: Any) -> Tuple[List[torch.Tensor], Any]:
    """The tensors of a nest of tuples and lists, and its structure as plain
    JSON data (``0`` for a tensor, ``['list' | 'tuple', [...]]`` otherwise).

    Raises:
        TypeError: for anything else in the nest.
    """
    if isinstance(obj, torch.Tensor):
        return [obj], 0
    if isinstance(obj, (list, tuple)):
        leaves, specs = [], []
        for item in obj:
            item_leaves, spec = flatten(item)
            leaves += item_leaves
            specs.append(spec)
        return leaves, [type(obj).__name__, specs]
    raise TypeError(f'a part must return tensors, tuples and lists, got {type(obj).__name__}')


def unflatten(leaves: Sequence[torch.Tensor], spec: Any) -> Any:
    """The nest that :func:`flatten` took apart."""
    it = iter(leaves)

    def build(s):
        if s == 0:
            return next(it)
        kind, items = s
        built = [build(i) for i in items]
        return tuple(built) if kind == 'tuple' else built
    return build(spec)


# -------------------------------------------------------------- the parts
def image_head(model: nn.Module) -> Tuple[str, nn.Module]:
    """The name and module of the head that runs on ``model``'s feature maps.

    Raises:
        ValueError: for a model without one of :data:`IMAGE_HEADS`, or whose
            head is a list (mmseg's cascade segmentors).
    """
    for name in IMAGE_HEADS:
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            if isinstance(head, nn.ModuleList):
                raise ValueError(f'{type(model).__name__}.{name} is a list of heads; '
                                 f'export supports one head on the feature maps')
            return name, head
    raise ValueError(f'{type(model).__name__} has none of the heads export knows: '
                     f'{", ".join(IMAGE_HEADS)}')


def roi_parts(model: nn.Module) -> Dict[str, Tuple[nn.Module, nn.Module]]:
    """The RoI heads of a two-stage detector by their place in the model
    (``'roi_head.bbox_head'``, ``'roi_head.mask_head.1'``), each with the RoI
    extractor that feeds it; empty for other models.

    Raises:
        ValueError: for an RoI head of a kind export does not know (only
            mmdet's StandardRoIHead and CascadeRoIHead, boxes and masks).
    """
    roi_head = getattr(model, 'roi_head', None)
    if roi_head is None:
        return {}
    from mmdet.models.roi_heads import CascadeRoIHead, StandardRoIHead
    if type(roi_head) not in (StandardRoIHead, CascadeRoIHead):
        raise ValueError(f'{type(roi_head).__name__}: export supports StandardRoIHead and '
                         f'CascadeRoIHead')
    parts = {}
    for kind in ('bbox', 'mask'):
        if not getattr(roi_head, f'with_{kind}'):
            continue
        heads = getattr(roi_head, f'{kind}_head')
        extractors = getattr(roi_head, f'{kind}_roi_extractor', None)
        if kind == 'mask' and getattr(roi_head, 'share_roi_extractor', False):
            extractors = roi_head.bbox_roi_extractor
        if isinstance(heads, nn.ModuleList):
            for i, head in enumerate(heads):
                parts[f'roi_head.{kind}_head.{i}'] = (head, extractors[i])
        else:
            parts[f'roi_head.{kind}_head'] = (heads, extractors)
    return parts


def part_path(out: str, part: str) -> str:
    """The file of ``part`` for the image graph ``out``."""
    return out if part == 'image' else f'{osp.splitext(out)[0]}.{part}.onnx'


class ImageGraph(nn.Module):
    """Backbone, neck and image head as one module: image batch -> the first
    ``n_feats`` feature maps, then the head's outputs (flattened)."""

    def __init__(self, model: nn.Module, n_feats: int):
        super().__init__()
        self.backbone = model.backbone
        self.neck = getattr(model, 'neck', None)
        self.head = image_head(model)[1]
        self.n_feats = n_feats

    def features(self, image: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.backbone(image)
        if self.neck is not None:
            feats = self.neck(feats)
        return tuple(feats) if isinstance(feats, (tuple, list)) else (feats, )

    def nested(self, image: torch.Tensor) -> Any:
        """The head's outputs in their nesting."""
        return self.head(self.features(image))

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.features(image)
        return feats[:self.n_feats] + tuple(flatten(self.head(feats))[0])


class HeadGraph(nn.Module):
    """An RoI head's forward with its outputs flattened."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def nested(self, roi_feats: torch.Tensor) -> Any:
        """The head's outputs in their nesting."""
        return self.head(roi_feats)

    def forward(self, roi_feats: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(flatten(self.head(roi_feats))[0])


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


def _upsample_forward(self, x: torch.Tensor) -> torch.Tensor:
    # mmseg's Upsample with an integral scale factor, its output size kept
    # a product of the traced input size (mmseg's own turns it into ints)
    if self.size or not float(self.scale_factor).is_integer():
        return _MMSEG_UPSAMPLE(self, x)
    size = [t * int(self.scale_factor) for t in x.shape[-2:]]
    return torch.nn.functional.interpolate(x, size, None, self.mode, self.align_corners)


_MMSEG_UPSAMPLE = None


@contextlib.contextmanager
def export_rewrites():
    """What tracing cannot follow with a dynamic input size, rewritten for
    the time of an export: non-global adaptive average pooling (mmseg's
    PPM in UPerNet and PSPNet) and mmseg's ``Upsample`` (FPN heads)."""
    global _MMSEG_UPSAMPLE
    saved = []

    def pool_forward(self, x):
        if self.output_size in (1, (1, 1)):
            return _POOL(self, x)
        return adaptive_avg_pool2d(x, self.output_size)

    _POOL = nn.AdaptiveAvgPool2d.forward
    saved.append((nn.AdaptiveAvgPool2d, 'forward', _POOL))
    nn.AdaptiveAvgPool2d.forward = pool_forward
    try:
        from mmseg.models.utils import Upsample
    except ImportError:
        Upsample = None
    if Upsample is not None:
        _MMSEG_UPSAMPLE = Upsample.forward
        saved.append((Upsample, 'forward', Upsample.forward))
        Upsample.forward = _upsample_forward
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


# ------------------------------------------------------------------ export
@dataclass
class ExportedPart:
    """One exported file: the part it holds, its path and size, the bytes of
    the state dict it was made from (parameters and persistent buffers), and
    PyTorch's outputs on the export's example input (for checking)."""
    part: str
    path: str
    file_bytes: int
    tensor_bytes: int
    example: torch.Tensor = field(repr=False)
    expected: List[torch.Tensor] = field(repr=False)


def _dynamic_axes(names: Sequence[str], tensors: Sequence[torch.Tensor],
                  batch: str) -> Dict[str, Dict[int, str]]:
    axes = {}
    for name, t in zip(names, tensors):
        axes[name] = {d: (batch if d == 0 else f'{name}_d{d}') for d in range(t.dim()) if d != 1}
    return axes


def _export_one(module: nn.Module, example: torch.Tensor, path: str, part: str,
                input_name: str, batch_axis: str) -> ExportedPart:
    # Eval mode on the wrapper too: the exporter puts the module back in the
    # wrapper's mode afterwards, children included.
    module.eval()
    with torch.no_grad():
        leaves = list(module(example))
        spec = flatten(module.nested(example))[1]
    names = [f'out{i}' for i in range(len(leaves))]
    axes = _dynamic_axes([input_name] + names, [example] + leaves, batch_axis)
    if input_name == 'image':
        axes['image'] = {0: 'batch', 2: 'height', 3: 'width'}
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings(), export_rewrites():
        # The TorchScript exporter: the torch.export one needs onnxscript and
        # cannot follow OpenMMLab's Python code. Its warnings about shapes
        # turned into Python numbers are checked for what matters by
        # check_onnx, which runs the graph at another batch and image size.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', UserWarning)
        torch.onnx.export(module, (example, ), path, dynamo=False, opset_version=OPSET,
                          input_names=[input_name], output_names=names, dynamic_axes=axes)
    import onnx
    proto = onnx.load(path)
    for key, value in (('mmplug.part', part), ('mmplug.outputs', json.dumps(spec))):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)
    tensors = {t.data_ptr(): t for t in module.state_dict().values()}
    return ExportedPart(part, path, osp.getsize(path),
                        sum(t.numel() * t.element_size() for t in tensors.values()),
                        example, [t.detach() for t in leaves])


def _example_rois(image: torch.Tensor, n: int = 3) -> torch.Tensor:
    h, w = image.shape[-2:]
    rois = torch.tensor([[0, 0, 0, w / 2, h / 2], [0, w / 4, h / 4, w, h],
                         [0, 1, 2, w / 3, h - 1]], dtype=torch.float32)
    return rois[:n]


def export_onnx(model: nn.Module, out: str, image: torch.Tensor) -> List[ExportedPart]:
    """Export ``model``'s deploy form as the graphs of its learned parts
    (module docstring), tracing them on ``image``.

    Args:
        model: A built mmdet detector, mmseg segmentor or mmpretrain
            classifier, switched to its deploy form here (in place).
        out: The image graph's file; RoI heads' files go beside it
            (:func:`part_path`).
        image: An example batch as the model's data preprocessor makes it
            (N, 3, H, W); the graphs take any batch and size.

    Returns:
        The exported parts, the image graph first.

    Raises:
        ValueError: for a model of a kind export does not know.
    """
    switch_to_deploy(model)
    rois = roi_parts(model)
    graph = ImageGraph(model, n_roi_feats(model))
    parts = [_export_one(graph, image, part_path(out, 'image'), 'image', 'image', 'batch')]
    if rois:
        with torch.no_grad():
            feats = ImageGraph(model, 0).features(image)
        for part, (head_module, extractor) in rois.items():
            with torch.no_grad():
                roi_feats = extractor(feats[:extractor.num_inputs], _example_rois(image))
            parts.append(_export_one(HeadGraph(head_module), roi_feats,
                                     part_path(out, part), part, 'roi_feats', 'rois'))
    return parts


def n_roi_feats(model: nn.Module) -> int:
    """How many feature maps (the first ones) the RoI extractors of a
    two-stage detector pool from; 0 for other models."""
    extractors = [e for _, e in roi_parts(model).values()]
    return max((e.num_inputs for e in extractors), default=0)


# ------------------------------------------------------------ onnxruntime
def _session(path: str, options=None):
    try:
        import onnxruntime
    except ImportError as e:
        raise ImportError('onnxruntime is not installed: pip install onnxruntime') from e
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX file {path!r} not found')
    return onnxruntime.InferenceSession(path, sess_options=options,
                                        providers=['CPUExecutionProvider'])


def _metadata(session, path: str) -> Tuple[str, Any]:
    meta = session.get_modelmeta().custom_metadata_map
    if 'mmplug.part' not in meta:
        raise ValueError(f'{path} was not written by mmplug.onnx_model.export_onnx '
                         f'(no mmplug.part in its metadata)')
    return meta['mmplug.part'], json.loads(meta['mmplug.outputs'])


class OrtPart(nn.Module):
    """An onnxruntime session as a module: tensor in, the part's outputs
    (its original nesting) out, as CPU tensors."""

    def __init__(self, path: str, part: str, options=None):
        super().__init__()
        self.path = path
        self.session = _session(path, options)
        found, self.spec = _metadata(self.session, path)
        if found != part:
            raise ValueError(f'{path} holds the part {found!r}, expected {part!r}: export the '
                             f'model again with tools/deploy/export_onnx.py')
        self.input_name = self.session.get_inputs()[0].name

    def run(self, x: torch.Tensor) -> List[torch.Tensor]:
        feed = {self.input_name: x.detach().float().contiguous().cpu().numpy()}
        return [torch.from_numpy(np.ascontiguousarray(o)) for o in self.session.run(None, feed)]

    def forward(self, x: torch.Tensor) -> Any:
        return unflatten(self.run(x), self.spec)


class GraphOutputs(tuple):
    """The feature maps the image graph returns (the backbone's place in the
    model), carrying the image head's outputs for the head's place."""
    head_outputs: Any = None


class OrtImageGraph(OrtPart):
    """The image graph in the backbone's place: returns the feature maps the
    RoI heads need (none for other models), with the image head's outputs
    attached for the head, whose forward returns them."""

    def __init__(self, path: str, n_feats: int, options=None):
        super().__init__(path, 'image', options)
        self.n_feats = n_feats

    def forward(self, image: torch.Tensor) -> GraphOutputs:
        outs = self.run(image)
        feats = GraphOutputs(outs[:self.n_feats])
        feats.head_outputs = unflatten(outs[self.n_feats:], self.spec)
        return feats


class PassThrough(nn.Module):
    """The neck's place: the image graph has run it."""

    def forward(self, x: Any) -> Any:
        return x


def _head_outputs(feats: Any) -> Any:
    if not isinstance(feats, GraphOutputs):
        raise TypeError('the image head of an onnxruntime model runs on the outputs of its '
                        'image graph only')
    return feats.head_outputs


def onnxruntime_model(model: nn.Module, out: str, options=None,
                      image_file: Optional[str] = None) -> nn.Module:
    """Swap the learned parts of ``model`` (built from the config that was
    exported) for onnxruntime sessions on the files of :func:`export_onnx`;
    its ``test_step`` then runs the graphs with the library's own
    post-processing.

    Args:
        model: The model, in any form; changed in place: its backbone and
            neck are replaced, its heads' forwards.
        out: The image graph's file.
        options: ``onnxruntime.SessionOptions`` for every session.
        image_file: Another file for the image graph (a quantized one).

    Returns:
        ``model``, in eval mode.

    Raises:
        FileNotFoundError: for a missing file.
        ValueError: for a file of another part or not made by mmplug.
    """
    rois = roi_parts(model)
    name, head = image_head(model)
    model.backbone = OrtImageGraph(image_file or part_path(out, 'image'), n_roi_feats(model),
                                   options)
    if getattr(model, 'neck', None) is not None:
        model.neck = PassThrough()
    # A head keeps its post-processing (predict_by_feat, coders, configs);
    # only its forward changes.
    head.forward = _head_outputs
    for part, (head_module, _) in rois.items():
        head_module.ort = OrtPart(part_path(out, part), part, options)
        head_module.forward = head_module.ort.forward  # a method: not a submodule
    return model.eval()


# ------------------------------------------------------------------ checks
def check_onnx(parts: Sequence[ExportedPart], module_for: Optional[Dict[str, nn.Module]] = None,
               batch: int = 2, grow: int = 32) -> float:
    """The largest difference of onnxruntime's outputs from PyTorch's,
    relative to each output's largest magnitude, over every part, on its
    example and on a new input of another batch size (and image size: ``grow``
    pixels more each way; RoIs: one more).

    Args:
        parts: What :func:`export_onnx` returned.
        module_for: The PyTorch module of each part, to run on the new inputs
            (without it only the examples are compared).
        batch: The batch size of the new image input.
        grow: Pixels added to the example's height and width.
    """
    worst = 0.0
    gen = torch.Generator().manual_seed(1)
    for p in parts:
        ort = OrtPart(p.path, p.part)
        cases = [(p.example, p.expected)]
        if module_for is not None:
            if p.part == 'image':
                n, c, h, w = p.example.shape
                x = torch.randn(batch, c, h + grow, w + grow, generator=gen)
            else:
                x = torch.randn(p.example.shape[0] + 1, *p.example.shape[1:], generator=gen)
            with torch.no_grad():
                cases.append((x, flatten(module_for[p.part](x))[0]))
        for x, expected in cases:
            for got, ref in zip(ort.run(x), expected, strict=True):
                if got.shape != ref.shape:
                    raise AssertionError(f'{p.part}: onnxruntime gave {tuple(got.shape)}, '
                                         f'PyTorch {tuple(ref.shape)}')
                scale = max(ref.abs().max().item(), 1e-12)
                worst = max(worst, (got - ref).abs().max().item() / scale)
    return worst


def part_modules(model: nn.Module) -> Dict[str, nn.Module]:
    """The PyTorch module of each exported part of ``model``, for
    :func:`check_onnx`."""
    rois = roi_parts(model)
    modules = {'image': ImageGraph(model, n_roi_feats(model))}
    modules.update({part: HeadGraph(head) for part, (head, _) in rois.items()})
    return {part: module.eval() for part, module in modules.items()}
