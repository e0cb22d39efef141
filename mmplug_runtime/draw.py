"""Results drawn on their image with OpenCV (``tools/deploy/infer.py
--show``): boxes, class names, scores and masks; label maps; the class of a
classifier."""
from typing import Any, Dict, List, Optional, Sequence

import cv2
import numpy as np

Color = List[int]


def colors(n: int, palette: Optional[Sequence[Sequence[int]]] = None) -> List[Color]:
    """``n`` BGR colours: the data set's palette (RGB) where it has one for
    each class, else fixed random ones."""
    if palette and len(palette) >= n:
        return [[int(c) for c in rgb[::-1]] for rgb in palette[:n]]
    return np.random.default_rng(0).integers(64, 256, (n, 3)).tolist()


def _label(img: np.ndarray, text: str, x: int, y: int, color: Color) -> None:
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
    y = max(y, h + base)
    cv2.rectangle(img, (x, y - h - base), (x + w, y), color, -1)
    cv2.putText(img, text, (x, y - base), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                cv2.LINE_AA)


def draw(img: np.ndarray, result: Dict[str, Any], task: str, classes: Sequence[str],
         palette: Optional[Sequence[Sequence[int]]] = None) -> np.ndarray:
    """A copy of ``img`` (BGR, as read) with ``result`` drawn on it.

    Args:
        img: The image the result is of.
        result: Its result (:mod:`mmplug_runtime.postprocess`).
        task: deploy.json's ``task``.
        classes: deploy.json's ``classes``.
        palette: deploy.json's ``palette`` (RGB per class), if any.
    """
    out = img.copy()
    bgr = colors(max(len(classes), 1), palette)

    def name(label: int) -> str:
        return classes[label] if 0 <= label < len(classes) else str(label)

    if task in ('detection', 'instance_segmentation'):
        for k, (box, score, label) in enumerate(zip(result['bboxes'], result['scores'],
                                                    result['labels'])):
            color = bgr[int(label) % len(bgr)]
            if 'masks' in result:
                mask = result['masks'][k]
                out[mask] = (0.5 * out[mask] + 0.5 * np.array(color)).astype(np.uint8)
            x1, y1, x2, y2 = (int(round(float(v))) for v in box)
            cv2.rectangle(out, (x1, y1), (x2, y2), color, 1)
            _label(out, f'{name(int(label))} {float(score):.2f}', x1, y1, color)
    elif task == 'semantic_segmentation':
        sem_seg = result['sem_seg']
        table = np.array(bgr, np.uint8)[np.clip(sem_seg, 0, len(bgr) - 1)]
        out = (0.5 * out + 0.5 * table).astype(np.uint8)
    else:
        _label(out, f'{name(result["pred_label"])} {result["pred_score"]:.2f}', 0, 0,
               [255, 255, 255])
    return out
