"""One demo config per backbone family trains a few iterations and evaluates
through tools/train.py, on a tiny shapes set of its own."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmplug.datasets import generate_shapes
from tests.helpers import ROOT, run_tool

DEMOS = {
    'inceptionnext_atto_upernet_shapes': 'seg',
    'emo_1m_retinanet_shapes': 'det',
    'convnext_t_cascade_shapes': 'det',
}


def _tiny_config(tmp_path: Path, name: str, kind: str) -> Path:
    root = f'{tmp_path}/shapes/'
    shapes = ("dict(splits=dict(train=4, val=2), image_size=(64, 64), max_shapes=2, seed=1"
              + (', label_maps=True)' if kind == 'seg' else ')'))
    lines = [f"_base_ = {str(ROOT / 'configs/demo' / f'{name}.py')!r}",
             f'shapes = {shapes}',
             f'train_dataloader = dict(batch_size=2, dataset=dict(data_root={root!r}, '
             'generate=shapes))',
             f'val_dataloader = dict(batch_size=2, dataset=dict(data_root={root!r}, '
             'generate=shapes))',
             'test_dataloader = val_dataloader',
             'default_hooks = dict(logger=dict(interval=1))']
    if kind == 'seg':
        lines += ['model = dict(data_preprocessor=dict(size=(64, 64)))',
                  "train_cfg = dict(max_iters=2, val_interval=2)",
                  'param_scheduler = []',
                  'default_hooks = dict(logger=dict(interval=1), '
                  'checkpoint=dict(interval=2))']
    else:
        lines += [f"val_evaluator = dict(ann_file={root + 'annotations/val.json'!r})",
                  'test_evaluator = val_evaluator',
                  'train_cfg = dict(max_epochs=1, val_interval=1)',
                  'param_scheduler = []',
                  'default_hooks = dict(logger=dict(interval=1), '
                  'checkpoint=dict(interval=1))']
    path = tmp_path / f'{name}_tiny.py'
    path.write_text('\n'.join(lines) + '\n')
    return path


@pytest.mark.parametrize('name', sorted(DEMOS))
def test_demo_config_trains_and_evaluates(tmp_path, name):
    kind = DEMOS[name]
    config = _tiny_config(tmp_path, name, kind)
    work = tmp_path / 'work'
    result = run_tool('tools/train.py', config, '--work-dir', work)
    assert result.returncode == 0, result.stderr[-4000:]
    assert list(work.glob('*.pth')), 'no checkpoint written'
    scalars = [json.loads(line) for p in work.glob('*/vis_data/scalars.json')
               for line in p.read_text().splitlines()]
    losses = [s['loss'] for s in scalars if 'loss' in s]
    assert losses and all(np.isfinite(losses))
    if kind == 'seg':
        assert any('mIoU' in s for s in scalars), scalars[-1]
    else:  # after a few steps from scratch a detector may find nothing at all
        log = result.stdout + result.stderr
        assert ('coco/bbox_mAP' in log or
                'The testing results of the whole dataset is empty' in log), log[-3000:]


def test_label_maps_match_the_coco_masks(tmp_path):
    from pycocotools.coco import COCO
    generate_shapes(str(tmp_path / 's'), splits=dict(train=3), image_size=(64, 64),
                    label_maps=True)
    coco = COCO(str(tmp_path / 's/annotations/train.json'))
    for img_id in coco.getImgIds():
        name = coco.imgs[img_id]['file_name']
        labels = np.asarray(Image.open(tmp_path / 's/labels/train' / name))
        expected = np.zeros_like(labels)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
            expected[coco.annToMask(ann) > 0] = ann['category_id']
        assert set(np.unique(labels)) <= {0, 1, 2, 3}
        # polygon rasterisations differ on the boundary only
        assert (labels != expected).mean() < 0.03
        assert set(np.unique(labels)) == set(np.unique(expected))
