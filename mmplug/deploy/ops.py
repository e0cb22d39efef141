"""The post-processing operations of the end-to-end graphs, written so that
the TorchScript exporter records each as one standard ONNX operator:
``NonMaxSuppression`` and ``RoiAlign`` (opset 16 and later), and around them
only arithmetic, ``TopK``, ``Gather`` and ``ScatterND``.

In PyTorch they compute the same with torchvision's ``nms`` and
``roi_align``, which is what tracing runs; the exported files are checked
against mmdet's own post-processing, not against these forwards.
"""
from typing import Tuple

import torch
from torch import Tensor
from torch.autograd import Function


class _NonMaxSuppression(Function):
    """ONNX ``NonMaxSuppression`` with one class: boxes (B, N, 4), scores
    (B, 1, N) -> the selected (batch, 0, box) index triples (S, 3), at most
    ``max_out`` per image, each image's in descending score."""

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, iou_threshold: float,
                score_threshold: float, max_out: int) -> Tensor:
        from torchvision.ops import nms
        selected = []
        for b in range(boxes.shape[0]):
            candidates = (scores[b, 0] > score_threshold).nonzero()[:, 0]
            keep = candidates[nms(boxes[b, candidates], scores[b, 0, candidates],
                                  iou_threshold)[:max_out]]
            index = torch.zeros(len(keep), 3, dtype=torch.long)
            index[:, 0], index[:, 2] = b, keep
            selected.append(index)
        return torch.cat(selected)

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold, score_threshold, max_out):
        def const(value, dtype):
            return g.op('Constant', value_t=torch.tensor([value], dtype=dtype))
        return g.op('NonMaxSuppression', boxes, scores, const(max_out, torch.long),
                    const(iou_threshold, torch.float32), const(score_threshold, torch.float32))


class _RoiAlign(Function):
    """ONNX ``RoiAlign`` (average): features (B, C, H, W), boxes (K, 4) in
    input pixels, their images (K,) -> (K, C, out_h, out_w). ``aligned``
    shifts sampling by half a pixel (mmcv's ``aligned=True``, ONNX's
    ``half_pixel``)."""

    @staticmethod
    def forward(ctx, feats: Tensor, boxes: Tensor, batch_index: Tensor, out_h: int, out_w: int,
                spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
        from torchvision.ops import roi_align
        rois = torch.cat([batch_index[:, None].to(boxes.dtype), boxes], 1)
        return roi_align(feats, rois, (out_h, out_w), spatial_scale, sampling_ratio, aligned)

    @staticmethod
    def symbolic(g, feats, boxes, batch_index, out_h, out_w, spatial_scale, sampling_ratio,
                 aligned):
        return g.op('RoiAlign', feats, boxes, batch_index,
                    coordinate_transformation_mode_s='half_pixel' if aligned
                    else 'output_half_pixel',
                    mode_s='avg', output_height_i=out_h, output_width_i=out_w,
                    sampling_ratio_i=max(sampling_ratio, 0), spatial_scale_f=spatial_scale)


def roi_align(feats: Tensor, boxes: Tensor, batch_index: Tensor, output_size: Tuple[int, int],
              spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
    """RoIAlign as mmcv's ``RoIAlign`` (average pooling) computes it.

    Args:
        feats: Feature maps (B, C, H, W).
        boxes: Boxes (K, 4), x1, y1, x2, y2 in input pixels.
        batch_index: The image of each box (K,), int64.
        output_size: Output height and width.
        spatial_scale: Feature pixels per input pixel (1 / stride).
        sampling_ratio: Samples per bin and axis; 0: adaptive.
        aligned: Sample at pixel centres (mmcv's ``aligned=True``).
    """
    return _RoiAlign.apply(feats, boxes, batch_index, int(output_size[0]), int(output_size[1]),
                           float(spatial_scale), int(sampling_ratio), bool(aligned))


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, valid: Tensor, iou_threshold: float,
                k: int) -> Tuple[Tensor, Tensor]:
    """mmcv's ``batched_nms`` for a batch of images, then the ``k`` best.

    Boxes of different ``idxs`` (classes, or FPN levels for an RPN) never
    suppress each other: as mmcv does it, each is shifted by ``idx *
    (largest coordinate + 1)`` of its image's valid boxes, so that the
    arithmetic, and with it every decision, is mmcv's.

    Args:
        boxes: (B, N, 4).
        scores: (B, N), at least 0 where valid.
        idxs: (B, N), int64: the group of each box.
        valid: (B, N), bool: the candidates; the others take no part.
        iou_threshold: Boxes overlapping a better one by more are dropped.
        k: How many to keep per image (``max_per_img``).

    Returns:
        The indices into N of each image's ``k`` best survivors (B, k), in
        descending score, and whether each is one (B, k): where an image
        has fewer than ``k``, the rest are padding.
    """
    invalid = torch.full_like(scores, -1.0)
    scores = torch.where(valid, scores, invalid)
    valid_boxes = torch.where(valid[..., None], boxes, torch.full_like(boxes, float('-inf')))
    largest = valid_boxes.flatten(1).max(1).values
    largest = torch.where(torch.isfinite(largest), largest, torch.zeros_like(largest))
    offsets = idxs.to(boxes.dtype) * (largest[:, None] + 1)
    shifted = boxes + offsets[..., None]
    selected = _NonMaxSuppression.apply(shifted, scores[:, None], float(iou_threshold), -0.5, k)
    kept = torch.zeros_like(scores)
    kept[selected[:, 0], selected[:, 2]] = 1.0
    return topk_valid(scores, kept > 0, k)


def topk_valid(scores: Tensor, valid: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """The ``k`` best of ``scores`` (B, N) among ``valid``, as mmdet's
    ``filter_scores_and_topk`` and the RPN's ``nms_pre`` choose them.

    Returns:
        Indices into N (B, k), clamped into range where there are fewer
        than ``k`` valid entries, and whether each is one (B, k).
    """
    invalid = torch.full_like(scores, -1.0)
    ranked = torch.where(valid, scores, invalid)
    # at least k columns, so that TopK never asks for more than there are
    ranked = torch.cat([ranked, invalid[:, :1].expand(-1, k)], 1)
    best, index = ranked.topk(k, dim=1)
    is_valid = best >= 0
    index = torch.where(is_valid, index, torch.zeros_like(index))
    return index, is_valid


def gather_rows(x: Tensor, index: Tensor) -> Tensor:
    """``x[b, index[b, i]]`` for x (B, N, ...) and index (B, K)."""
    shape = index.shape + x.shape[2:]
    flat = index.reshape(index.shape[0], -1, *([1] * (x.dim() - 2))).expand(shape)
    return x.gather(1, flat)
