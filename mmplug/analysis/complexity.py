"""Measuring models: complexity the papers' way, speed and peak memory, and
the timm twin of a backbone. ``tools/analysis/claims.py`` and
``tools/analysis/benchmark.py`` are thin command lines over these.
"""
import contextlib
import copy
import logging
import os
import statistics
import sys
import time
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.logging import MMLogger
from torch import nn

#: timm's model of the same architecture, per backbone class and variant.
TIMM_TWINS: Dict[str, Dict[str, str]] = {
    'FasterNet': {a: f'fasternet_{a}' for a in ('t0', 't1', 't2', 's', 'm', 'l')},
    'InceptionNeXt': {a: f'inception_next_{a}' for a in ('atto', 'tiny', 'small', 'base')},
    'ConvNeXt': {a: f'convnext_{a}' for a in ('tiny', 'small', 'base', 'large', 'xlarge')},
}


def quiet_logs() -> None:
    """Keep mmengine's INFO and WARNING lines (building notes, scope
    switches) out of a tool's standard output, which holds its table."""
    name = 'mmplug-analysis'
    if MMLogger.check_instance_created(name):
        MMLogger.get_instance(name)  # makes it the current one again
    else:
        MMLogger.get_instance(name, log_level='ERROR')


def arch_name(backbone: nn.Module) -> Optional[str]:
    """The name in ``arch_settings`` whose settings the backbone was built
    with, or None for a custom arch."""
    for name, settings in getattr(type(backbone), 'arch_settings', {}).items():
        if settings == backbone.arch:
            return name
    return None


def timm_twin(backbone: nn.Module) -> Optional[str]:
    """timm's name for the same architecture as ``backbone``, or None (EMO
    and custom archs have none)."""
    return TIMM_TWINS.get(type(backbone).__name__, {}).get(arch_name(backbone))


class TimmFeatures(nn.Module):
    """A timm classifier's ``forward_features`` (every stage, no head), the
    part that compares with a backbone.

    Args:
        name: timm model name.
    """

    def __init__(self, name: str):
        super().__init__()
        import timm  # a test/benchmark dependency, not one of mmplug's
        self.name = name
        self.model = timm.create_model(name, pretrained=False, num_classes=0)
        for head in ('head', 'conv_head', 'classifier', 'fc'):  # unused: out of the count
            if isinstance(getattr(self.model, head, None), nn.Module):
                setattr(self.model, head, nn.Identity())

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return (self.model.forward_features(x), )


def macs(model: nn.Module, inputs: Tuple) -> int:
    """Multiply-accumulates of ``model(*inputs)`` by mmengine's analysis
    (the papers' "FLOPs"), without its notes about ops it does not count."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(model, inputs)
            analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return int(analyzer.total())
    finally:
        logger.setLevel(level)


def n_params(model: nn.Module) -> int:
    """Parameters, counting each shared tensor once; buffers excluded."""
    return sum(p.numel() for p in model.parameters())


def n_tensors(model: nn.Module) -> int:
    """Numbers in the state dict: parameters and buffers (RefConv's frozen
    bases, norm statistics), what a checkpoint of ``model`` holds."""
    return sum(t.numel() for t in model.state_dict().values())


@contextlib.contextmanager
def _stderr_to_devnull():
    """Silence file descriptor 2: the profiler's C++ side prints start/stop
    lines there that no setting turns off."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes of tensors that ``fn()`` allocates on the CPU (on top of
    what exists before the call), from the profiler's allocation events at
    op granularity."""
    from torch.profiler import ProfilerActivity, profile
    with _stderr_to_devnull(), profile(activities=[ProfilerActivity.CPU],
                                       profile_memory=True) as prof:
        fn()
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


class Timing(dict):
    """Seconds per call of each named function, from :func:`time_alternating`:
    ``name -> [one figure per repeat]``."""

    def median(self, name: str) -> float:
        return statistics.median(self[name])

    def spread(self, name: str) -> float:
        """(max - min) / median over the repeats."""
        return (max(self[name]) - min(self[name])) / self.median(name)


def time_alternating(fns: Dict[str, Callable[[], object]],
                     repeats: int = 5,
                     warmup: int = 1,
                     min_seconds: float = 0.5,
                     progress: Optional[Callable[[str], None]] = None) -> Timing:
    """Time each function in rounds that alternate between them (this
    machine's speed drifts), after ``warmup`` calls of each. In every round
    each function first runs once untimed, so that it does not pay for the
    caches and freed memory the previous one left (a training step before an
    inference call, say); each figure is then the mean over enough calls to
    last about ``min_seconds`` (at least one).
    """
    calls = {}
    for name, fn in fns.items():
        start = time.perf_counter()
        for _ in range(warmup):
            fn()
        per_call = (time.perf_counter() - start) / max(warmup, 1)
        calls[name] = max(1, round(min_seconds / max(per_call, 1e-6)))
        if progress:
            progress(f'warm-up {name}: {per_call * 1e3:.0f} ms/call, {calls[name]} per figure')
    timing = Timing({name: [] for name in fns})
    for r in range(repeats):
        for name, fn in fns.items():
            fn()
            start = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            timing[name].append((time.perf_counter() - start) / calls[name])
        if progress:
            progress(f'repeat {r + 1}/{repeats} done')
    return timing


def inference_step(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    """A no-grad forward of ``model`` in eval mode on ``x`` (the mode is set
    at each call, so one model can alternate with :func:`training_step`)."""

    def step():
        model.eval()  # not chained: mmdet's ResNet.train() returns None
        with torch.no_grad():
            return model(x)
    return step


def training_step(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    """A forward and backward pass of ``model`` in train mode on ``x``, with
    the sum of its outputs as the loss; gradients are dropped at each call."""

    def step():
        model.train()
        model.zero_grad(set_to_none=True)
        outs = model(x)
        sum(o.float().sum() for o in outs).backward()
    return step


def parse_size(text: str) -> Tuple[int, int]:
    """``'224'`` -> (224, 224); ``'800x1216'`` -> (800, 1216) as (H, W)."""
    try:
        parts = [int(p) for p in text.lower().split('x')]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 1:
        raise ValueError(f'a size is N or HxW with positive integers, got {text!r}')
    return parts[0], parts[1]


def copy_to(model: nn.Module, channels_last: bool) -> nn.Module:
    """A deep copy of ``model`` in the requested memory format."""
    model = copy.deepcopy(model)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def make_input(batch: int, size: Sequence[int], channels_last: bool) -> torch.Tensor:
    x = torch.randn(batch, 3, *size)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


# ------------------------------------------------- detectors and segmentors
def data_sample(model: nn.Module, size: Sequence[int]):
    """An empty mmdet/mmseg/mmpretrain data sample for one ``size`` (H, W)
    image that needs no resizing or padding (scale factor 1)."""
    h, w = size
    if type(model).__module__.startswith('mmpretrain'):
        from mmpretrain.structures import DataSample
        return DataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), batch_input_shape=(h, w),
                scale_factor=(1.0, 1.0), flip=False)
    if type(model).__module__.startswith('mmseg'):
        from mmseg.structures import SegDataSample
        return SegDataSample(metainfo=meta)
    from mmdet.structures import DetDataSample
    return DetDataSample(metainfo=meta)


class TensorForward(nn.Module):
    """``model(x, data_samples, mode='tensor')`` as a function of the image
    tensor alone, which mmengine's analysis can trace: the forward that
    mmdet's and mmseg's ``get_flops.py`` count (a two-stage detector's box
    heads run on the RPN's proposals, 1000 in the usual test_cfg, its mask
    head on the first 100; no post-processing).

    mmdet 3's Cascade RoI head runs its mask heads on every proposal in this
    mode, unlike its standard RoI head and unlike mmdet 2's ``forward_dummy``
    that the papers counted with; :meth:`cascade_forward` keeps to the first
    100, as they did.

    Args:
        model: An mmpretrain classifier, mmdet detector or mmseg segmentor.
        size: Image size (H, W).
    """

    def __init__(self, model: nn.Module, size: Sequence[int]):
        super().__init__()
        self.model = model
        self.samples = [data_sample(model, size)]

    def forward(self, x: torch.Tensor):
        roi_head = getattr(self.model, 'roi_head', None)
        if type(roi_head).__name__ == 'CascadeRoIHead' and roi_head.with_mask:
            return self.cascade_forward(x)
        return self.model(x, self.samples, mode='tensor')

    def cascade_forward(self, x: torch.Tensor) -> tuple:
        from mmdet.structures.bbox import bbox2roi
        feats = self.model.extract_feat(x)
        proposals = self.model.rpn_head.predict(feats, self.samples, rescale=False)
        rois = bbox2roi([p.bboxes for p in proposals])
        head, outs = self.model.roi_head, ()
        for stage in range(head.num_stages):
            res = head._bbox_forward(stage, feats, rois)
            outs += (res['cls_score'], res['bbox_pred'])
        for stage in range(head.num_stages):
            outs += (head._mask_forward(stage, feats, rois[:100])['mask_preds'], )
        return outs


def model_macs(model: nn.Module, size: Sequence[int]) -> int:
    """Multiply-accumulates of a classifier, detector or segmentor on one image of
    ``size`` (H, W), the papers' way (see :class:`TensorForward`)."""
    model.eval()
    return macs(TensorForward(model, size), (torch.randn(1, 3, *size), ))


def eval_size(cfg) -> Tuple[int, int]:
    """(H, W) of the resize in a config's test pipeline (an image of that size
    goes through it unchanged)."""
    dataset = cfg.test_dataloader.dataset
    for transform in dataset.get('pipeline', []):
        if transform['type'].split('.')[-1] == 'Resize':
            scale = transform['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return int(h), int(w)
    raise ValueError(f'no Resize in the test pipeline of {cfg.filename}: '
                     f'{[t["type"] for t in dataset.get("pipeline", [])]}')


def predict_step(model: nn.Module, size: Sequence[int]) -> Callable[[], object]:
    """One image through ``model.test_step``: preprocessing, the network and
    post-processing (NMS, mask pasting, the segmentation argmax)."""
    data = dict(inputs=[torch.randint(0, 256, (3, *size), dtype=torch.uint8)],
                data_samples=[data_sample(model, size)])

    def step():
        model.eval()
        with torch.no_grad():
            return model.test_step(copy.copy(data))
    return step
