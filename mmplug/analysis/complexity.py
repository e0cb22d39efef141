"""Complexity the papers' way: parameters, state-dict sizes, and
multiply-accumulates of a backbone or of a whole classifier, detector or
segmentor on one image."""
import logging
from typing import Sequence, Tuple

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.logging import MMLogger
from torch import nn


def macs(model: nn.Module, inputs: Tuple) -> int:
    """Multiply-accumulates of ``model(*inputs)`` by mmengine's analysis
    (the papers' "FLOPs"), without its notes about ops it does not count.

    Args:
        model: The module to count.
        inputs: The positional arguments of its forward.
    """
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


def data_sample(model: nn.Module, size: Sequence[int]):
    """An empty mmdet/mmseg/mmpretrain data sample for one image that needs
    no resizing or padding (scale factor 1).

    Args:
        model: The model whose library's sample type is wanted.
        size: The image size (H, W).
    """
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
    """Multiply-accumulates of a classifier, detector or segmentor on one
    image, the papers' way (see :class:`TensorForward`).

    Args:
        model: The whole model (set to eval mode).
        size: The image size (H, W).
    """
    model.eval()
    return macs(TensorForward(model, size), (torch.randn(1, 3, *size), ))


def eval_size(cfg) -> Tuple[int, int]:
    """(H, W) of the resize in a config's test pipeline (an image of that size
    goes through it unchanged).

    Raises:
        ValueError: when the test pipeline has no ``Resize``.
    """
    dataset = cfg.test_dataloader.dataset
    for transform in dataset.get('pipeline', []):
        if transform['type'].split('.')[-1] == 'Resize':
            scale = transform['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return int(h), int(w)
    raise ValueError(f'no Resize in the test pipeline of {cfg.filename}: '
                     f'{[t["type"] for t in dataset.get("pipeline", [])]}')
