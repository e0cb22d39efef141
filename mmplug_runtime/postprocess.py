"""From the graph's outputs to each image's results, in the original image's
pixels, as mmdet's, mmseg's and mmpretrain's ``test_step`` give them.

- Detection: padding rows (label -1) dropped, boxes scaled back by the
  resize's ``scale_factor``; instance masks pasted into the original image
  as mmdet pastes them on the CPU (``_do_paste_mask``: one box at a time,
  over the box's pixels and one more on each side, bilinear sampling of
  the RoI mask with zeros outside it, half-pixel centres), then
  thresholded at ``mask_thr_binary``.
- Semantic segmentation: the label map cropped to the image inside the
  padded batch, then resized to the original size by nearest neighbour
  (mmseg resizes the logits bilinearly and then takes the argmax: where the
  pipeline resizes, labels can differ along region borders).
- Classification: the scores and their argmax.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .preprocess import ImageMeta

Result = Dict[str, Any]


def _box_bounds(box: np.ndarray, height: int, width: int) -> Tuple[int, int, int, int]:
    """The pixels mmdet pastes a box's mask into: the box widened by one
    pixel each way, inside the image, as (y0, y1, x0, x1) slice bounds."""
    x0 = max(int(np.floor(box[0])) - 1, 0)
    y0 = max(int(np.floor(box[1])) - 1, 0)
    x1 = max(min(int(np.ceil(box[2])) + 1, width), x0)
    y1 = max(min(int(np.ceil(box[3])) + 1, height), y0)
    return y0, y1, x0, x1


def _grid(start: int, stop: int, lo: np.float32, hi: np.float32) -> np.ndarray:
    """Pixel centres start..stop-1 in the box's normalized coordinates
    (-1 at ``lo``, 1 at ``hi``), in float32 as mmdet computes them; an
    empty box side gives 0 where mmdet's division gives infinity."""
    with np.errstate(divide='ignore', invalid='ignore'):
        t = (np.arange(start, stop).astype(np.float32) + np.float32(0.5) - lo) / (hi - lo) * 2 - 1
    t[np.isinf(t)] = 0
    return t


def _fma(a: np.ndarray, b, c) -> np.ndarray:
    """``a * b + c`` rounded once to float32, as a fused multiply-add (the
    product of two float32 is exact in float64)."""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + c).astype(np.float32)


def _sample_bilinear(mask: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """PyTorch's ``grid_sample`` (bilinear, zeros outside, align_corners
    False) of one (M, M) mask at the grid of columns ``gx`` x rows ``gy``,
    in float32 with the operations of PyTorch's vectorized CPU kernel, whose
    multiply-adds the compiler fuses."""
    mask = mask.astype(np.float32, copy=False)
    size_h, size_w = mask.shape
    ix = _fma(gx + 1, np.float32(size_w / 2), -0.5)
    iy = _fma(gy + 1, np.float32(size_h / 2), -0.5)
    x_w, y_n = np.floor(ix), np.floor(iy)
    w, n = ix - x_w, iy - y_n
    e, s = 1 - w, 1 - n
    # NaN coordinates (an empty box) read no pixel, as in PyTorch.
    cols, rows = (np.nan_to_num(v, nan=-1).astype(np.int64) for v in (x_w, y_n))

    def corner(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        inside = (((rows >= 0) & (rows < size_h))[:, None]
                  & ((cols >= 0) & (cols < size_w))[None, :])
        values = mask[np.clip(rows, 0, size_h - 1)[:, None], np.clip(cols, 0, size_w - 1)]
        return np.where(inside, values, np.float32(0))

    s, n, e, w = s[:, None], n[:, None], e[None, :], w[None, :]
    out = corner(rows, cols) * (s * e)
    out = _fma(corner(rows, cols + 1), s * w, out)
    out = _fma(corner(rows + 1, cols), n * e, out)
    return _fma(corner(rows + 1, cols + 1), n * w, out)


def paste_masks(masks: np.ndarray, boxes: np.ndarray, height: int, width: int,
                threshold: Optional[float] = 0.5) -> np.ndarray:
    """Masks at RoI resolution pasted into an image, as mmdet's mask head
    does on the CPU.

    Args:
        masks: (K, M, M) probabilities over each box.
        boxes: (K, 4) boxes (x1, y1, x2, y2) in the image's pixels, float32.
        height: The image's height.
        width: The image's width.
        threshold: A pixel is in the mask where the pasted probability is at
            least this; None: the probabilities themselves.

    Returns:
        (K, height, width) bool, or float32 without a threshold.
    """
    out = np.zeros((len(masks), height, width), bool if threshold is not None else np.float32)
    for k, (mask, box) in enumerate(zip(masks, boxes.astype(np.float32))):
        y0, y1, x0, x1 = _box_bounds(box, height, width)
        gx, gy = _grid(x0, x1, box[0], box[2]), _grid(y0, y1, box[1], box[3])
        pasted = _sample_bilinear(mask, gx, gy)
        out[k, y0:y1, x0:x1] = pasted if threshold is None else pasted >= threshold
    return out


def detection_results(outputs: Dict[str, np.ndarray], metas: Sequence[ImageMeta],
                      mask_thr_binary: float = 0.5) -> List[Result]:
    """Each image's detections in its original pixels.

    Args:
        outputs: The graph's ``dets``, ``labels`` and, for instance
            segmenters, ``masks``.
        metas: The batch's :class:`ImageMeta`.
        mask_thr_binary: The mask threshold of the config's test settings.

    Returns:
        Per image: ``bboxes`` (K, 4) float32, ``scores`` (K,), ``labels`` (K,)
        int64 and, with masks, ``masks`` (K, H, W) bool at the original
        size.
    """
    results = []
    for i, meta in enumerate(metas):
        keep = outputs['labels'][i] >= 0
        boxes = outputs['dets'][i, keep, :4].astype(np.float32)
        scale = np.array(meta.scale_factor * 2, np.float32)
        result = dict(scores=outputs['dets'][i, keep, 4], labels=outputs['labels'][i, keep])
        if 'masks' in outputs:
            # mmdet divides by the scale factor where it pastes masks, and
            # multiplies by its inverse elsewhere: the same boxes to the bit.
            result['bboxes'] = boxes / scale
            result['masks'] = paste_masks(outputs['masks'][i, keep], result['bboxes'],
                                          *meta.ori_shape, threshold=mask_thr_binary)
        else:
            result['bboxes'] = boxes * (1 / np.array(meta.scale_factor * 2)).astype(np.float32)
        results.append(result)
    return results


def segmentation_results(outputs: Dict[str, np.ndarray],
                         metas: Sequence[ImageMeta]) -> List[Result]:
    """Each image's label map at its original size.

    Returns:
        Per image: ``sem_seg`` (H, W) int64.
    """
    results = []
    for labels, meta in zip(outputs['labels'], metas):
        h, w = meta.img_shape
        labels = labels[:h, :w]
        height, width = meta.ori_shape
        if (h, w) != (height, width):
            rows = np.minimum((np.arange(height) * h / height).astype(np.int64), h - 1)
            cols = np.minimum((np.arange(width) * w / width).astype(np.int64), w - 1)
            labels = labels[rows[:, None], cols[None, :]]
        results.append(dict(sem_seg=np.ascontiguousarray(labels)))
    return results


def classification_results(outputs: Dict[str, np.ndarray]) -> List[Result]:
    """Each image's class scores and the best class.

    Returns:
        Per image: ``scores`` (C,) float32, ``pred_label`` and ``pred_score``.
    """
    return [dict(scores=scores, pred_label=int(scores.argmax()),
                 pred_score=float(scores.max())) for scores in outputs['scores']]


def postprocess(task: str, outputs: Dict[str, np.ndarray], metas: Sequence[ImageMeta],
                settings: Dict[str, Any]) -> List[Result]:
    """Each image's results for a task of deploy.json.

    Args:
        task: deploy.json's ``task``.
        outputs: The graph's outputs.
        metas: The batch's :class:`ImageMeta`.
        settings: deploy.json's ``postprocess`` entry.
    """
    if task in ('detection', 'instance_segmentation'):
        return detection_results(outputs, metas, settings.get('mask_thr_binary', 0.5))
    if task == 'semantic_segmentation':
        return segmentation_results(outputs, metas)
    return classification_results(outputs)
