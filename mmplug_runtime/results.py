"""Results as JSON (``tools/deploy/infer.py --out``), and back.

Masks are COCO's uncompressed run-length encoding: ``{"size": [h, w],
"counts": [n0, n1, ...]}``, the lengths of alternating runs of 0 and 1
(starting with 0, so ``n0`` may be 0) over the mask read column by column.
``pycocotools.mask.frPyObjects`` reads it as it is; :func:`decode_mask`
reads it with numpy.

Per image, by task:

- detection: ``bboxes`` ([x1, y1, x2, y2] in original pixels), ``scores``,
  ``labels``, ``classes`` (their names) and, for instance segmentation,
  ``masks`` (one RLE each);
- semantic segmentation: ``sem_seg``: ``labels`` (the classes present) and
  ``masks`` (one RLE for each of them);
- classification: ``pred_label``, ``pred_class``, ``pred_score``, ``scores``.
"""
from typing import Any, Dict, Sequence

import numpy as np

from .preprocess import ImageMeta


def encode_mask(mask: np.ndarray) -> Dict[str, Any]:
    """A (H, W) bool mask as COCO's uncompressed RLE."""
    flat = np.asarray(mask, bool).ravel(order='F')
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {'size': list(mask.shape), 'counts': counts}


def decode_mask(rle: Dict[str, Any]) -> np.ndarray:
    """The (H, W) bool mask of :func:`encode_mask`."""
    values = np.arange(len(rle['counts'])) % 2 == 1
    return np.repeat(values, rle['counts']).reshape(rle['size'], order='F')


def to_json(result: Dict[str, Any], task: str, classes: Sequence[str]) -> Dict[str, Any]:
    """One image's result (:mod:`mmplug_runtime.postprocess`) in plain
    lists and numbers.

    Args:
        result: The image's result.
        task: deploy.json's ``task``.
        classes: deploy.json's ``classes``, for the names.
    """
    def name(label: int) -> str:
        return classes[label] if 0 <= label < len(classes) else str(label)

    if task in ('detection', 'instance_segmentation'):
        out = dict(bboxes=result['bboxes'].tolist(), scores=result['scores'].tolist(),
                   labels=result['labels'].tolist(),
                   classes=[name(int(label)) for label in result['labels']])
        if 'masks' in result:
            out['masks'] = [encode_mask(m) for m in result['masks']]
        return out
    if task == 'semantic_segmentation':
        labels = np.unique(result['sem_seg'])
        return dict(sem_seg=dict(labels=labels.tolist(),
                                 masks=[encode_mask(result['sem_seg'] == v) for v in labels]))
    return dict(pred_label=result['pred_label'], pred_class=name(result['pred_label']),
                pred_score=result['pred_score'], scores=result['scores'].tolist())


def label_map(sem_seg: Dict[str, Any]) -> np.ndarray:
    """The (H, W) int64 label map of a ``sem_seg`` entry of :func:`to_json`."""
    masks = [decode_mask(rle) for rle in sem_seg['masks']]
    out = np.zeros(masks[0].shape if masks else (0, 0), np.int64)
    for label, mask in zip(sem_seg['labels'], masks):
        out[mask] = label
    return out


def meta_json(meta: ImageMeta) -> Dict[str, Any]:
    """An image's :class:`ImageMeta` in plain lists."""
    return dict(ori_shape=list(meta.ori_shape), img_shape=list(meta.img_shape),
                scale_factor=list(meta.scale_factor))
