"""The generated shapes data set: deterministic, consistent COCO, and never
silently reused with other parameters."""
import filecmp
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmplug.datasets import ensure_shapes, generate_shapes

SMALL = dict(splits=dict(train=6, val=2), image_size=(64, 80), max_shapes=3)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    generate_shapes(str(tmp_path / 'a'), seed=3, **SMALL)
    generate_shapes(str(tmp_path / 'b'), seed=3, **SMALL)
    generate_shapes(str(tmp_path / 'c'), seed=4, **SMALL)
    for rel in ('annotations/train.json', 'annotations/val.json', 'train/00000.png'):
        assert filecmp.cmp(tmp_path / 'a' / rel, tmp_path / 'b' / rel, shallow=False), rel
    assert not filecmp.cmp(tmp_path / 'a' / 'train/00000.png', tmp_path / 'c' / 'train/00000.png',
                           shallow=False)


def test_annotations_match_the_pixels(tmp_path):
    generate_shapes(str(tmp_path), seed=0, **SMALL)
    coco = json.loads((tmp_path / 'annotations/train.json').read_text())
    assert [c['name'] for c in coco['categories']] == ['circle', 'square', 'triangle']
    assert len(coco['images']) == 6 and coco['annotations']
    for ann in coco['annotations']:
        image = coco['images'][ann['image_id'] - 1]
        assert (image['height'], image['width']) == (64, 80)
        x, y, w, h = ann['bbox']
        assert 0 <= x and 0 <= y and x + w <= 80 and y + h <= 64 and w > 5 and h > 5
        mask = Image.new('L', (80, 64))
        ImageDraw.Draw(mask).polygon(ann['segmentation'][0], fill=1)
        assert abs(np.asarray(mask).sum() - ann['area']) < 0.15 * ann['area'] + 10
        pixels = np.asarray(Image.open(tmp_path / 'train' / image['file_name']).convert('RGB'))
        inside = pixels[np.asarray(mask, bool)].astype(float)
        assert inside.std(axis=0).max() < 40, 'a shape is one colour (plus its outline)'


def test_existing_folder_must_match(tmp_path):
    root = str(tmp_path / 'shapes')
    ensure_shapes(root, seed=0, **SMALL)
    ensure_shapes(root, seed=0, **SMALL)  # same parameters: reused
    with pytest.raises(ValueError, match='made with .*seed.: 0.*asks for .*seed.: 1.*delete'):
        ensure_shapes(root, seed=1, **SMALL)
    (tmp_path / 'other').mkdir()
    with pytest.raises(FileExistsError, match='not an mmplug shapes data set'):
        ensure_shapes(str(tmp_path / 'other'))
