"""One demo config per backbone family trains a few iterations and evaluates
through tools/train.py, on a tiny shapes set of its own; the label maps of
the generated set match its COCO masks."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmplug.datasets import generate_shapes
from tests.helpers import ROOT, run_tool, write_demo_config

#: Demo config -> its task and the model settings of the test: the detectors
#: keep every box (score_thr 0), so that after a few steps from scratch they
#: still predict something for the evaluator to score.
DEMOS = {
    'inceptionnext_atto_upernet_shapes': ('seg', None),
    'emo_1m_retinanet_shapes': ('det', 'dict(test_cfg=dict(score_thr=0.0))'),
    'convnext_t_cascade_shapes': ('det', 'dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))'),
}


def _train(tmp_path: Path, name: str):
    kind, model = DEMOS[name]
    base = ROOT / 'configs/demo' / f'{name}.py'
    if kind == 'seg':
        config = write_demo_config(
            tmp_path, base, train=4, val=2, seg=True,
            train_cfg='dict(max_iters=2, val_interval=2)', param_scheduler='[]',
            default_hooks='dict(logger=dict(interval=1), checkpoint=dict(interval=2))')
    else:
        config = write_demo_config(
            tmp_path, base, train=4, val=2, model=model,
            train_cfg='dict(max_epochs=1, val_interval=1)', param_scheduler='[]',
            default_hooks='dict(logger=dict(interval=1), checkpoint=dict(interval=1))')
    work = tmp_path / 'work'
    return run_tool('tools/train.py', config, '--work-dir', work), work


@pytest.mark.parametrize('name', sorted(DEMOS))
def test_demo_config_trains_and_evaluates(tmp_path, name):
    result, work = _train(tmp_path, name)
    assert result.returncode == 0, result.stderr[-4000:]
    assert list(work.glob('*.pth')), 'no checkpoint written'
    scalars = [json.loads(line) for p in work.glob('*/vis_data/scalars.json')
               for line in p.read_text().splitlines()]
    losses = [s['loss'] for s in scalars if 'loss' in s]
    assert len(losses) == 2 and all(np.isfinite(losses)), losses  # one per iteration
    metrics = [s for s in scalars if 'loss' not in s]
    assert len(metrics) == 1, metrics  # the one validation, at the end
    if DEMOS[name][0] == 'seg':
        keys, top = ['mIoU', 'aAcc'], 100
    else:  # no metric at all when the detector predicts nothing
        keys, top = ['coco/bbox_mAP', 'coco/bbox_mAP_50'], 1
        if 'cascade' in name:
            keys.append('coco/segm_mAP')
    assert set(keys) <= set(metrics[0]), (metrics[0], result.stdout[-3000:])
    assert all(0 <= metrics[0][k] <= top for k in keys), metrics[0]


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
