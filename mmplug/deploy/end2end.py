"""A built OpenMMLab model as one module, from the preprocessed batch to
final results, in operations the ONNX exporter records as standard ops.

The post-processing follows mmdet's, mmseg's and mmpretrain's own, step for
step, on a batch of images padded to one size: every variable-length step
(score thresholds, NMS, the proposals of an RPN) keeps a fixed number of
slots per image and a mask of which are real, so that batch size and image
size stay dynamic. What mmdet clips to each image's size is clipped to the
``img_shape`` input, the valid part of each padded image.

Outputs (see ``outputs`` of each class):

- detectors: ``dets`` (N, K, 5: x1, y1, x2, y2 in input pixels, score),
  ``labels`` (N, K; -1 for padding, whose score is 0), and for instance
  segmenters ``masks`` (N, K, M, M): the mask head's probabilities for
  each detection's class over its box, at RoI resolution;
- segmentors: ``labels`` (N, H, W), the argmax of the logits at the input
  size;
- classifiers: ``scores`` (N, C), softmax.

Where this differs from mmdet, the difference is one of order, not of
arithmetic: dense detectors (RetinaNet, SSD) run NMS on boxes in input
pixels, where mmdet runs it after rescaling them to the original image.
"""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .ops import batched_nms, gather_rows, roi_align, topk_valid

#: Outputs of each task, in order.
OUTPUTS = {
    'detection': ('dets', 'labels'),
    'instance_segmentation': ('dets', 'labels', 'masks'),
    'semantic_segmentation': ('labels', ),
    'classification': ('scores', ),
}


def _cfg(cfg, key: str, default=None):
    value = cfg.get(key, default) if cfg is not None else default
    return default if value is None else value


# ------------------------------------------------------------------ boxes
class DeltaDecoder(nn.Module):
    """mmdet's ``DeltaXYWHBBoxCoder.decode`` (``delta2bbox``), operation for
    operation, with each box clipped to its own image's ``img_shape``.

    Args:
        coder: The head's bbox coder.

    Raises:
        ValueError: for another coder.
    """

    def __init__(self, coder):
        super().__init__()
        if type(coder).__name__ != 'DeltaXYWHBBoxCoder':
            raise ValueError(f'end-to-end export decodes DeltaXYWHBBoxCoder boxes, not '
                             f'{type(coder).__name__}')
        if getattr(coder, 'add_ctr_clamp', False):
            raise ValueError('end-to-end export: DeltaXYWHBBoxCoder(add_ctr_clamp=True) is not '
                             'supported')
        self.register_buffer('means', torch.tensor(coder.means, dtype=torch.float32),
                             persistent=False)
        self.register_buffer('stds', torch.tensor(coder.stds, dtype=torch.float32),
                             persistent=False)
        self.clip_border = coder.clip_border

    def forward(self, priors: Tensor, deltas: Tensor, max_shape: Tensor,
                wh_ratio_clip: float = 16 / 1000) -> Tensor:
        """Boxes (..., 4) from priors and deltas (..., 4); ``max_shape``
        (..., 2): the (h, w) each box is clipped to, broadcast against them."""
        denorm = deltas * self.stds + self.means
        dxy, dwh = denorm[..., :2], denorm[..., 2:]
        pxy = (priors[..., :2] + priors[..., 2:]) * 0.5
        pwh = priors[..., 2:] - priors[..., :2]
        dxy_wh = pwh * dxy
        max_ratio = abs(math.log(wh_ratio_clip))
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
        gxy = pxy + dxy_wh
        gwh = pwh * dwh.exp()
        boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], -1)
        if self.clip_border:
            upper = torch.cat([max_shape.flip(-1)] * 2, -1)  # (h, w) -> (w, h, w, h)
            boxes = torch.minimum(boxes.clamp(min=0), upper)
        return boxes


class GridPriors(nn.Module):
    """mmdet's ``AnchorGenerator.grid_priors`` (and SSD's) for feature maps
    of any size: each level's base anchors shifted to every position, in
    mmdet's order (rows, then columns, then anchors).

    Args:
        generator: The head's ``prior_generator``.
    """

    def __init__(self, generator):
        super().__init__()
        if not hasattr(generator, 'base_anchors'):
            raise ValueError(f'end-to-end export: {type(generator).__name__} has no base '
                             f'anchors (anchor-free heads are not supported)')
        for i, anchors in enumerate(generator.base_anchors):
            self.register_buffer(f'base{i}', anchors.float().clone(), persistent=False)
        self.strides = [tuple(float(s) for s in stride) for stride in generator.strides]

    def forward(self, level: int, feat: Tensor) -> Tensor:
        """The anchors (H * W * A, 4) of ``level`` for its feature map."""
        stride_w, stride_h = self.strides[level]
        shift_x = torch.arange(feat.shape[-1], dtype=torch.float32) * stride_w
        shift_y = torch.arange(feat.shape[-2], dtype=torch.float32) * stride_h
        xx = shift_x[None, :].expand(shift_y.shape[0], -1).reshape(-1)
        yy = shift_y[:, None].expand(-1, shift_x.shape[0]).reshape(-1)
        shifts = torch.stack([xx, yy, xx, yy], -1)
        return (getattr(self, f'base{level}')[None] + shifts[:, None]).reshape(-1, 4)


def _per_level(x: Tensor, channels: int) -> Tensor:
    """(B, A * channels, H, W) -> (B, H * W * A, channels), mmdet's order."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, channels)


def _select(boxes: List[Tensor], scores: List[Tensor], groups: List[Tensor],
            valid: List[Tensor], min_size: float, iou_thr: float, k: int) -> Tuple[Tensor, ...]:
    """The candidates of every level joined, boxes not larger than
    ``min_size`` dropped (where it is 0 or more, as mmdet's
    ``min_bbox_size``), NMS within each group, the ``k`` best: boxes,
    scores and groups (B, N, ...), and the kept indices and their mask (B, k)."""
    boxes, scores = torch.cat(boxes, 1), torch.cat(scores, 1)
    groups, valid = torch.cat(groups, 1), torch.cat(valid, 1)
    if min_size >= 0:
        w = boxes[..., 2] - boxes[..., 0]
        h = boxes[..., 3] - boxes[..., 1]
        valid = valid & (w > min_size) & (h > min_size)
    index, kept = batched_nms(boxes, scores, groups, valid, iou_thr, k)
    return boxes, scores, groups, index, kept


def _detections(boxes: Tensor, scores: Tensor, labels: Tensor, index: Tensor,
                kept: Tensor) -> Tuple[Tensor, Tensor]:
    """``dets`` (B, K, 5) and ``labels`` (B, K) of the kept entries, zeros
    and -1 for padding."""
    boxes = gather_rows(boxes, index)
    scores = gather_rows(scores, index)
    labels = gather_rows(labels, index)
    dets = torch.cat([boxes, scores[..., None]], -1)
    dets = torch.where(kept[..., None], dets, torch.zeros_like(dets))
    return dets, torch.where(kept, labels, torch.full_like(labels, -1))


class RoIExtractor(nn.Module):
    """mmdet's ``SingleRoIExtractor``: each box pooled from the FPN level its
    scale maps to (``finest_scale``), every level pooled and the right one
    chosen per box."""

    def __init__(self, extractor):
        super().__init__()
        if type(extractor).__name__ != 'SingleRoIExtractor':
            raise ValueError(f'end-to-end export pools with SingleRoIExtractor, not '
                             f'{type(extractor).__name__}')
        self.layers = []
        for layer in extractor.roi_layers:
            if getattr(layer, 'pool_mode', 'avg') != 'avg' or getattr(layer, 'use_torchvision',
                                                                     False):
                raise ValueError('end-to-end export: RoIAlign must average (pool_mode="avg")')
            self.layers.append((tuple(layer.output_size), float(layer.spatial_scale),
                                int(layer.sampling_ratio), bool(layer.aligned)))
        self.finest_scale = extractor.finest_scale
        self.num_inputs = len(self.layers)

    def forward(self, feats: Sequence[Tensor], boxes: Tensor, batch_index: Tensor) -> Tensor:
        pooled = [roi_align(feats[i], boxes, batch_index, *layer)
                  for i, layer in enumerate(self.layers)]
        if len(pooled) == 1:
            return pooled[0]
        scale = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        level = torch.floor(torch.log2(scale / self.finest_scale + 1e-6))
        level = level.clamp(min=0, max=len(pooled) - 1)
        out = pooled[0]
        for i in range(1, len(pooled)):
            out = torch.where((level == i)[:, None, None, None], pooled[i], out)
        return out


# ------------------------------------------------------------- detectors
class _Detector(nn.Module):

    def __init__(self, model: nn.Module):
        super().__init__()
        self.backbone = model.backbone
        self.neck = getattr(model, 'neck', None)

    def features(self, image: Tensor) -> Tuple[Tensor, ...]:
        feats = self.backbone(image)
        if self.neck is not None:
            feats = self.neck(feats)
        return tuple(feats)


class DenseDetector(_Detector):
    """A one-stage detector with an anchor head (RetinaNet, SSD):
    ``mmdet``'s ``BaseDenseHead.predict_by_feat`` with NMS."""

    def __init__(self, model: nn.Module):
        super().__init__(model)
        head = model.bbox_head
        self.head = head
        self.priors = GridPriors(head.prior_generator)
        self.decoder = DeltaDecoder(head.bbox_coder)
        self.sigmoid = head.use_sigmoid_cls
        self.num_classes = head.num_classes
        self.cls_channels = head.cls_out_channels
        cfg = head.test_cfg
        self.nms_pre = _cfg(cfg, 'nms_pre', -1)
        self.score_thr = _cfg(cfg, 'score_thr', 0.0)
        self.min_size = _cfg(cfg, 'min_bbox_size', -1)
        self.iou_thr = cfg['nms']['iou_threshold']
        self.max_per_img = cfg['max_per_img']
        if cfg['nms'].get('type', 'nms') != 'nms':
            raise ValueError(f'end-to-end export runs plain NMS, not {cfg["nms"]["type"]}')

    def forward(self, image: Tensor, img_shape: Tensor) -> Tuple[Tensor, Tensor]:
        cls_scores, bbox_preds = self.head(self.features(image))
        boxes, scores, labels, valid = [], [], [], []
        for level, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            prob = _per_level(cls, self.cls_channels)
            prob = prob.sigmoid() if self.sigmoid else prob.softmax(-1)[..., :-1]
            deltas = _per_level(reg, 4)
            priors = self.priors(level, cls)
            flat = prob.flatten(1)  # (B, anchors * classes)
            ok = flat > self.score_thr
            n = self.nms_pre if self.nms_pre > 0 else flat.shape[1]
            index, kept = topk_valid(flat, ok, n)
            anchor = torch.div(index, self.num_classes, rounding_mode='floor')
            boxes.append(self.decoder(priors[anchor], gather_rows(deltas, anchor),
                                      img_shape[:, None]))
            scores.append(gather_rows(flat, index))
            labels.append(index % self.num_classes)
            valid.append(kept)
        boxes, scores, labels, index, kept = _select(boxes, scores, labels, valid, self.min_size,
                                                     self.iou_thr, self.max_per_img)
        return _detections(boxes, scores, labels, index, kept)


class RPN(nn.Module):
    """mmdet's ``RPNHead.predict_by_feat``: the ``nms_pre`` best anchors of
    each level, decoded, small boxes dropped, NMS within each level, the
    ``max_per_img`` best. Returns boxes (B, P, 4) and which are real."""

    def __init__(self, head: nn.Module, cfg):
        super().__init__()
        self.head = head
        self.priors = GridPriors(head.prior_generator)
        self.decoder = DeltaDecoder(head.bbox_coder)
        if not head.use_sigmoid_cls:
            raise ValueError('end-to-end export: the RPN head must use sigmoid scores')
        self.nms_pre = _cfg(cfg, 'nms_pre', -1)
        self.min_size = _cfg(cfg, 'min_bbox_size', -1)
        self.iou_thr = cfg['nms']['iou_threshold']
        self.max_per_img = cfg['max_per_img']

    def forward(self, feats: Sequence[Tensor], img_shape: Tensor) -> Tuple[Tensor, Tensor]:
        cls_scores, bbox_preds = self.head(feats)
        boxes, scores, levels, valid = [], [], [], []
        for level, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            prob = _per_level(cls, 1)[..., 0].sigmoid()
            deltas = _per_level(reg, 4)
            priors = self.priors(level, cls)
            n = self.nms_pre if self.nms_pre > 0 else prob.shape[1]
            index, kept = topk_valid(prob, torch.ones_like(prob, dtype=torch.bool), n)
            boxes.append(self.decoder(priors[index], gather_rows(deltas, index),
                                      img_shape[:, None]))
            scores.append(gather_rows(prob, index))
            levels.append(torch.full_like(index, level))
            valid.append(kept)
        boxes, _, _, index, kept = _select(boxes, scores, levels, valid, self.min_size,
                                           self.iou_thr, self.max_per_img)
        return gather_rows(boxes, index), kept


class TwoStageDetector(_Detector):
    """Faster, Mask and Cascade (Mask) R-CNN: mmdet's ``StandardRoIHead`` or
    ``CascadeRoIHead`` ``predict`` on the RPN's proposals."""

    def __init__(self, model: nn.Module):
        super().__init__(model)
        roi_head = model.roi_head
        kind = type(roi_head).__name__
        if kind not in ('StandardRoIHead', 'CascadeRoIHead'):
            raise ValueError(f'end-to-end export supports StandardRoIHead and CascadeRoIHead, '
                             f'not {kind}')
        self.rpn = RPN(model.rpn_head, model.test_cfg.rpn)
        cascade = kind == 'CascadeRoIHead'
        as_list = (lambda m: list(m)) if cascade else (lambda m: [m])
        self.bbox_heads = nn.ModuleList(as_list(roi_head.bbox_head))
        self.bbox_pools = [RoIExtractor(e) for e in as_list(roi_head.bbox_roi_extractor)]
        self.decoders = nn.ModuleList(DeltaDecoder(h.bbox_coder) for h in self.bbox_heads)
        self.with_mask = roi_head.with_mask
        if self.with_mask:
            self.mask_heads = nn.ModuleList(as_list(roi_head.mask_head))
            if getattr(roi_head, 'share_roi_extractor', False):
                self.mask_pools = self.bbox_pools
            else:
                self.mask_pools = [RoIExtractor(e) for e in as_list(roi_head.mask_roi_extractor)]
            if self.mask_heads[-1].class_agnostic:
                raise ValueError('end-to-end export: class-agnostic mask heads are not '
                                 'supported')
        for head in self.bbox_heads:
            if getattr(head, 'custom_cls_channels', False):
                raise ValueError('end-to-end export: bbox heads with custom class channels '
                                 'are not supported')
        cfg = model.test_cfg.rcnn
        self.num_classes = self.bbox_heads[-1].num_classes
        self.score_thr = cfg['score_thr']
        self.iou_thr = cfg['nms']['iou_threshold']
        self.max_per_img = cfg['max_per_img']
        self.n_feats = max(p.num_inputs for p in self.bbox_pools + (
            self.mask_pools if self.with_mask else []))

    def forward(self, image: Tensor, img_shape: Tensor) -> Tuple[Tensor, ...]:
        feats = self.features(image)
        proposals, real = self.rpn(feats, img_shape)
        b, p = proposals.shape[:2]
        batch_index = torch.arange(b)[:, None].expand(b, p).reshape(-1)
        shapes = img_shape[:, None].expand(b, p, 2).reshape(-1, 2)
        rois = proposals.reshape(-1, 4)
        logits = []
        for stage, (head, pool) in enumerate(zip(self.bbox_heads, self.bbox_pools)):
            cls_score, bbox_pred = head(pool(feats, rois, batch_index))
            logits.append(cls_score)
            if stage < len(self.bbox_heads) - 1:  # Cascade: refine the boxes
                label = cls_score[:, :-1].argmax(1)
                rois = self.decoders[stage](rois, self._class_deltas(head, bbox_pred, label),
                                            shapes)
        cls_score = logits[0] if len(logits) == 1 else sum(logits) / float(len(logits))
        scores = F.softmax(cls_score, -1)[:, :-1]  # (B * P, C)
        head = self.bbox_heads[-1]
        c = self.num_classes
        if head.reg_class_agnostic:
            boxes = self.decoders[-1](rois, bbox_pred, shapes)[:, None].expand(-1, c, 4)
        else:
            boxes = self.decoders[-1](rois[:, None], bbox_pred.reshape(-1, c, 4),
                                      shapes[:, None])
        boxes = boxes.reshape(b, p * c, 4)
        scores = scores.reshape(b, p * c)
        labels = torch.arange(c)[None].expand(b * p, c).reshape(b, p * c)
        valid = (scores > self.score_thr) & real[..., None].expand(b, p, c).reshape(b, p * c)
        index, kept = batched_nms(boxes, scores, labels, valid, self.iou_thr, self.max_per_img)
        dets, labels = _detections(boxes, scores, labels, index, kept)
        if not self.with_mask:
            return dets, labels
        return dets, labels, self._masks(feats, dets, labels)

    @staticmethod
    def _class_deltas(head: nn.Module, bbox_pred: Tensor, label: Tensor) -> Tensor:
        if head.reg_class_agnostic:
            return bbox_pred
        deltas = bbox_pred.reshape(bbox_pred.shape[0], -1, 4)
        return deltas.gather(1, label[:, None, None].expand(-1, 1, 4))[:, 0]

    def _masks(self, feats: Tuple[Tensor, ...], dets: Tensor, labels: Tensor) -> Tensor:
        b, k = labels.shape
        boxes = dets[..., :4].reshape(-1, 4)
        batch_index = torch.arange(b)[:, None].expand(b, k).reshape(-1)
        label = labels.reshape(-1).clamp(min=0)
        probs = []
        for head, pool in zip(self.mask_heads, self.mask_pools):
            logits = head(pool(feats, boxes, batch_index))  # (B * K, C, M, M)
            probs.append(logits.sigmoid())
        prob = probs[0] if len(probs) == 1 else torch.stack(probs).mean(0)
        index = label[:, None, None, None].expand(-1, 1, *prob.shape[2:])
        prob = prob.gather(1, index)[:, 0]
        return prob.reshape(b, k, *prob.shape[1:])


# -------------------------------------------------- segmentors, classifiers
class Segmentor(nn.Module):
    """mmseg's ``EncoderDecoder`` in whole-image mode: the decode head's
    logits resized to the input size, their argmax."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if type(model).__name__ != 'EncoderDecoder':
            raise ValueError(f'end-to-end export supports EncoderDecoder segmentors, not '
                             f'{type(model).__name__}')
        mode = (model.test_cfg or {}).get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(f'end-to-end export runs whole-image inference, not '
                             f'test_cfg.mode={mode!r}; export with --cfg-options '
                             f'model.test_cfg.mode=whole (another test protocol)')
        self.backbone = model.backbone
        self.neck = getattr(model, 'neck', None) if model.with_neck else None
        self.head = model.decode_head
        if self.head.out_channels == 1:
            raise ValueError('end-to-end export: binary (one-channel) decode heads are not '
                             'supported')

    def forward(self, image: Tensor) -> Tuple[Tensor]:
        feats = self.backbone(image)
        if self.neck is not None:
            feats = self.neck(feats)
        logits = self.head(feats)
        logits = F.interpolate(logits, size=image.shape[2:], mode='bilinear',
                               align_corners=self.head.align_corners)
        return (logits.argmax(1), )


class Classifier(nn.Module):
    """mmpretrain's ``ImageClassifier``: softmax of the head's scores."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.backbone = model.backbone
        self.neck = getattr(model, 'neck', None)
        self.head = model.head

    def forward(self, image: Tensor) -> Tuple[Tensor]:
        feats = self.backbone(image)
        if self.neck is not None:
            feats = self.neck(feats)
        return (F.softmax(self.head(feats), 1), )


def task_of(model: nn.Module) -> str:
    """The task of a built model: a key of :data:`OUTPUTS`.

    Raises:
        ValueError: for a model of a kind the export does not know.
    """
    if hasattr(model, 'roi_head'):
        return 'instance_segmentation' if model.roi_head.with_mask else 'detection'
    if hasattr(model, 'bbox_head'):
        return 'detection'
    if hasattr(model, 'decode_head'):
        return 'semantic_segmentation'
    if hasattr(model, 'head'):
        return 'classification'
    raise ValueError(f'end-to-end export: {type(model).__name__} is none of a detector, a '
                     f'segmentor or a classifier')


def end2end(model: nn.Module) -> nn.Module:
    """The end-to-end module of ``model`` (in the form it is in: switch it to
    its deploy form first)."""
    task = task_of(model)
    if hasattr(model, 'roi_head'):
        return TwoStageDetector(model)
    if task == 'detection':
        return DenseDetector(model)
    if task == 'semantic_segmentation':
        return Segmentor(model)
    return Classifier(model)


def input_names(task: str) -> List[str]:
    """The graph's inputs for ``task``: detectors clip boxes to each image's
    own size; a segmentor's label map is cropped after the graph."""
    return ['image', 'img_shape'] if task in ('detection', 'instance_segmentation') else ['image']
