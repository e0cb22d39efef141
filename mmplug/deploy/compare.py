"""How far an exported or low-precision model is from the PyTorch one: one
relative error for tensors, one matching for detections."""
from typing import Any, Dict

import numpy as np


def _arrays(obj: Any) -> list:
    if isinstance(obj, (list, tuple)):
        return [a for item in obj for a in _arrays(item)]
    if isinstance(obj, dict):
        return [a for key in sorted(obj) for a in _arrays(obj[key])]
    return [np.asarray(obj.detach().float().cpu() if hasattr(obj, 'detach') else obj,
                       dtype=np.float64)]


def relative_error(outs: Any, refs: Any) -> float:
    """The largest ``||out - ref|| / ||ref||`` over the tensors (or arrays)
    of two nests of the same structure."""
    worst = 0.0
    for out, ref in zip(_arrays(outs), _arrays(refs), strict=True):
        if out.shape != ref.shape:
            raise ValueError(f'shapes differ: {out.shape} and {ref.shape}')
        worst = max(worst, float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-12)))
    return worst


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (n, 4) with every box of ``b`` (m, 4)."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    wh = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-12)


def match_detections(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                     ref_boxes: np.ndarray, ref_scores: np.ndarray, ref_labels: np.ndarray,
                     min_iou: float = 0.99) -> Dict[str, Any]:
    """Match the detections of one image to reference ones: best reference
    first, each to the unmatched detection of its class that overlaps it
    most, if by ``min_iou`` or more.

    Returns:
        ``matched`` and ``unmatched`` (of the detections) and
        ``ref_unmatched`` counts; ``score_diff``, the largest score
        difference of a matched pair, and ``unmatched_max_score``, the best
        score left unmatched on either side (0 where none): a difference at
        the score threshold or the detection limit is expected there.
    """
    boxes, ref_boxes = np.asarray(boxes).reshape(-1, 4), np.asarray(ref_boxes).reshape(-1, 4)
    scores, ref_scores = np.asarray(scores).ravel(), np.asarray(ref_scores).ravel()
    labels, ref_labels = np.asarray(labels).ravel(), np.asarray(ref_labels).ravel()
    iou = box_iou(ref_boxes, boxes)
    iou[ref_labels[:, None] != labels[None]] = 0
    used = np.zeros(len(boxes), bool)
    matched_ref = np.zeros(len(ref_boxes), bool)
    score_diff = 0.0
    for r in np.argsort(-ref_scores, kind='stable'):
        if not len(boxes):
            break
        candidates = np.where(used, -1.0, iou[r])
        j = int(candidates.argmax())
        if candidates[j] >= min_iou:
            used[j] = matched_ref[r] = True
            score_diff = max(score_diff, abs(float(scores[j]) - float(ref_scores[r])))
    left = np.concatenate([scores[~used], ref_scores[~matched_ref]])
    return dict(matched=int(used.sum()), unmatched=int((~used).sum()),
                ref_unmatched=int((~matched_ref).sum()), score_diff=score_diff,
                unmatched_max_score=float(left.max()) if len(left) else 0.0)


def _sessions_outputs(path: str, inputs) -> list:
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    feed = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
    return session.run(None, feed)


def reference(model, image, img_shape) -> list:
    """What the PyTorch model predicts for a preprocessed batch, per image,
    in the graph's terms: detectors ``(boxes, scores, labels[, masks])`` in
    input pixels (masks pasted at the image's size), segmentors the label
    map at the input size, classifiers the scores. The model is in its
    deploy form."""
    import torch

    from .end2end import task_of
    task = task_of(model)
    n, _, h, w = image.shape
    with torch.no_grad():
        if task == 'classification':
            return list(model.predict(image)[i].pred_score.numpy() for i in range(n))
        if task == 'semantic_segmentation':
            from mmseg.structures import SegDataSample
            samples = [SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w),
                                                   ori_shape=(h, w))) for _ in range(n)]
            return [s.pred_sem_seg.data[0].numpy() for s in model.predict(image, samples)]
        from mmdet.structures import DetDataSample
        samples = []
        for hw in img_shape.tolist():
            hw = tuple(int(v) for v in hw)
            samples.append(DetDataSample(metainfo=dict(
                img_shape=hw, ori_shape=hw, scale_factor=(1.0, 1.0), pad_shape=(h, w),
                batch_input_shape=(h, w))))
        out = []
        for s in model.predict(image, samples, rescale=False):
            p = s.pred_instances
            item = [p.bboxes.numpy(), p.scores.numpy(), p.labels.numpy()]
            if 'masks' in p:
                item.append(p.masks.numpy())
            out.append(item)
        return out


def paste_masks(probs, boxes, size, threshold: float = 0.5):
    """Masks at RoI resolution (K, M, M) pasted into an image of ``size``
    (h, w) over ``boxes`` (K, 4) with mmdet's own ``_do_paste_mask``."""
    import torch
    from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
    if not len(probs):
        return np.zeros((0, *size), bool)
    masks, _ = _do_paste_mask(torch.as_tensor(probs)[:, None], torch.as_tensor(boxes), *size,
                              skip_empty=False)
    return (masks >= threshold).numpy()


def check_end2end(model, path: str, size=None, mask_thr: float = 0.5) -> Dict[str, Any]:
    """Run the file ``path`` with onnxruntime on a batch of two random images
    of ``size`` and compare it with what ``model`` (its deploy form)
    predicts. By default a detector's batch is 96x128 (its data
    preprocessor pads to multiples of 32) and its second image's valid part
    16 pixels smaller each way; other models' 100x116, no multiple of the
    backbone's strides.

    Returns:
        Detectors: the totals of :func:`match_detections` over the images,
        and ``mask_agreement``, the smallest fraction of equal pixels of a
        matched detection's mask; segmentors ``label_agreement``;
        classifiers ``score_error`` (relative).
    """
    import torch

    from .end2end import task_of
    from .export import example_inputs
    task = task_of(model)
    size = size or ((96, 128) if task in ('detection', 'instance_segmentation') else (100, 116))
    gen = torch.Generator().manual_seed(1)
    image = torch.randn(2, 3, *size, generator=gen)
    inputs = example_inputs(task, image)
    shapes = torch.tensor([size, size], dtype=torch.float32)
    if len(inputs) == 2:
        image[1, :, size[0] - 16:] = 0
        image[1, :, :, size[1] - 16:] = 0
        shapes[1] -= 16
        inputs = (image, shapes)
    outs = _sessions_outputs(path, inputs)
    refs = reference(model, image, shapes)
    if task == 'classification':
        return dict(score_error=relative_error(list(outs[0]), refs))
    if task == 'semantic_segmentation':
        return dict(label_agreement=float(np.mean(outs[0] == np.stack(refs))))
    total = dict(matched=0, unmatched=0, ref_unmatched=0, score_diff=0.0,
                 unmatched_max_score=0.0)
    mask_agreement = 1.0
    for i, ref in enumerate(refs):
        real = outs[1][i] >= 0
        dets, labels = outs[0][i][real], outs[1][i][real]
        m = match_detections(dets[:, :4], dets[:, 4], labels, *ref[:3])
        for key in ('matched', 'unmatched', 'ref_unmatched'):
            total[key] += m[key]
        for key in ('score_diff', 'unmatched_max_score'):
            total[key] = max(total[key], m[key])
        if len(ref) == 4 and len(dets):
            hw = tuple(int(v) for v in inputs[1][i].tolist())
            masks = paste_masks(outs[2][i][real], dets[:, :4], hw, mask_thr)
            iou = box_iou(ref[0], dets[:, :4])
            for r in range(len(ref[0])):
                j = int(iou[r].argmax())
                if iou[r, j] >= 0.99 and labels[j] == ref[2][r]:
                    mask_agreement = min(mask_agreement, float(np.mean(masks[j] == ref[3][r])))
    if task == 'instance_segmentation':
        total['mask_agreement'] = mask_agreement
    return total


def describe_check(found: Dict[str, Any]) -> str:
    """One line for what :func:`check_end2end` found."""
    if 'score_error' in found:
        return f'class scores within {found["score_error"]:.1e} (relative)'
    if 'label_agreement' in found:
        return f'label maps agree on {100 * found["label_agreement"]:.3f}% of the pixels'
    line = (f'{found["matched"]} detections matched, {found["unmatched"]} unmatched, '
            f'{found["ref_unmatched"]} of PyTorch\'s unmatched; scores within '
            f'{found["score_diff"]:.1e}')
    if 'mask_agreement' in found:
        line += f'; masks agree on at least {100 * found["mask_agreement"]:.3f}% of the pixels'
    return line
