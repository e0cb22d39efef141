"""A small synthetic instance-segmentation data set in COCO format.

Coloured shapes (circle, square, triangle) on textured backgrounds, with
exact polygon masks, generated deterministically from a seed on first use; no
download. With ``label_maps=True`` the same generator also writes semantic
label maps (``labels/<split>/*.png``: 0 background, 1 + class index), for
mmseg. It lets the demo, the tests and a user without COCO train and
evaluate a real Mask R-CNN on the CPU in minutes.
"""
import json
import math
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ('circle', 'square', 'triangle')
PALETTE = [(220, 20, 60), (0, 128, 255), (255, 200, 0)]
_META = 'mmplug_shapes.json'


def _texture(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    """A textured background: low-frequency colour noise, stripes and pixel
    noise, so that shapes cannot be found by thresholding."""
    h, w = size
    coarse = rng.uniform(40, 215, (h // 16 + 2, w // 16 + 2, 3))
    img = np.asarray(Image.fromarray(coarse.astype(np.uint8)).resize((w, h), Image.BILINEAR),
                     dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    angle, period = rng.uniform(0, math.pi), rng.uniform(6, 18)
    stripes = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
    img += stripes[..., None] * rng.uniform(10, 35) * rng.choice([-1, 1], 3)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> List[float]:
    """Vertices (x0, y0, x1, y1, ...) of a shape of circumradius ``r``."""
    sides = {'circle': 32, 'square': 4, 'triangle': 3}[shape]
    start = angle + (math.pi / 4 if shape == 'square' else 0)
    pts = []
    for k in range(sides):
        t = start + 2 * math.pi * k / sides
        pts += [cx + r * math.cos(t), cy + r * math.sin(t)]
    return pts


def shapes_image(rng: np.random.Generator, size: Tuple[int, int], max_shapes: int):
    """One image, its annotations and its label map; shapes do not overlap,
    so every polygon is the exact visible mask. Every image has at least
    one shape.

    Args:
        rng: The random generator; the image is a function of its state.
        size: (height, width) of the image.
        max_shapes: Most shapes in the image.

    Returns:
        tuple: The RGB image (PIL), its COCO annotations (dicts with
        ``category_id`` = 1 + index in :data:`CLASSES`, ``segmentation``,
        ``bbox``, ``area``, ``iscrowd``; no ids) and its label map (PIL, mode
        ``'L'``: 0 background, 1 + class index).
    """
    h, w = size
    img = Image.fromarray(_texture(rng, size))
    draw = ImageDraw.Draw(img)
    label_map = Image.new('L', (w, h), 0)
    label_draw = ImageDraw.Draw(label_map)
    placed, anns = [], []
    for _ in range(rng.integers(1, max_shapes + 1)):
        for _attempt in range(20):
            r = rng.uniform(0.08, 0.2) * min(h, w)
            cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
            if all(math.hypot(cx - x, cy - y) > r + s + 2 for x, y, s in placed):
                break
        else:
            continue
        placed.append((cx, cy, r))
        label = int(rng.integers(len(CLASSES)))
        poly = _polygon(CLASSES[label], cx, cy, r, rng.uniform(0, 2 * math.pi))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.polygon(poly, fill=colour, outline=tuple(max(c - 60, 0) for c in colour))
        label_draw.polygon(poly, fill=label + 1, outline=label + 1)
        xs, ys = poly[0::2], poly[1::2]
        x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
        area = 0.5 * abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs))))
        anns.append(dict(category_id=label + 1, segmentation=[[round(v, 2) for v in poly]],
                         bbox=[round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                         area=round(area, 2), iscrowd=0))
    return img, anns, label_map


def shapes_params(splits: Optional[Dict[str, int]] = None,
                  image_size: Sequence[int] = (128, 128),
                  max_shapes: int = 4,
                  seed: int = 0,
                  label_maps: bool = False) -> dict:
    """The full, normalised parameters of a shapes data set.

    Args:
        splits: Images per split, default ``{'train': 200, 'val': 50}``.
        image_size: (height, width) of every image.
        max_shapes: Most shapes in one image.
        seed: Random seed.
        label_maps: Also write semantic label maps. The images and COCO
            annotations do not depend on it.
    """
    return dict(splits=dict(splits or {'train': 200, 'val': 50}), image_size=list(image_size),
                max_shapes=int(max_shapes), seed=int(seed), label_maps=bool(label_maps))


def generate_shapes(root: str, **params) -> None:
    """Write the data set under ``root``: ``<split>/*.png`` and
    ``annotations/<split>.json`` for each split, and with ``label_maps``
    ``labels/<split>/*.png``.

    The same parameters (those of :func:`shapes_params`) always give the same
    files. Generation goes to a temporary folder that is renamed into place,
    so processes racing to generate (distributed training) never see half a
    data set.
    """
    params = shapes_params(**params)
    splits, image_size = params['splits'], params['image_size']
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.shapes-', dir=parent)
    try:
        rng = np.random.default_rng(params['seed'])
        os.makedirs(osp.join(tmp, 'annotations'))
        for split, count in splits.items():
            os.makedirs(osp.join(tmp, split))
            if params['label_maps']:
                os.makedirs(osp.join(tmp, 'labels', split))
            images, annotations = [], []
            for i in range(count):
                img, anns, label_map = shapes_image(rng, tuple(image_size), params['max_shapes'])
                name = f'{i:05d}.png'
                img.save(osp.join(tmp, split, name))
                if params['label_maps']:
                    label_map.save(osp.join(tmp, 'labels', split, name))
                images.append(dict(id=i + 1, file_name=name, height=image_size[0],
                                   width=image_size[1]))
                for ann in anns:
                    annotations.append(dict(ann, id=len(annotations) + 1, image_id=i + 1))
            coco = dict(images=images, annotations=annotations,
                        categories=[dict(id=k + 1, name=n) for k, n in enumerate(CLASSES)])
            with open(osp.join(tmp, 'annotations', f'{split}.json'), 'w') as f:
                json.dump(coco, f)
        with open(osp.join(tmp, _META), 'w') as f:
            json.dump(params, f)
        try:
            os.rename(tmp, root)
        except OSError:  # another process got there first
            if not osp.isfile(osp.join(root, _META)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_shapes(root: str, **params) -> None:
    """Generate the data set at ``root`` unless it is there with the same
    parameters; a folder made with other parameters is an error, not
    silently reused."""
    meta = osp.join(root, _META)
    if not osp.exists(root):
        generate_shapes(root, **params)
        return
    if not osp.isfile(meta):
        raise FileExistsError(f'{root} exists but is not an mmplug shapes data set '
                              f'(no {_META}); remove it or point data_root elsewhere')
    wanted = shapes_params(**params)
    with open(meta) as f:
        found = shapes_params(**json.load(f))  # older folders lack newer keys
    if found != wanted:
        raise ValueError(f'{root} holds a shapes data set made with {found}, but the '
                         f'config asks for {wanted}; delete the folder to regenerate it')
