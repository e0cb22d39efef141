"""``tools/test.py --tta`` on segmentation configs: mmseg 0.x's multi-scale +
flip test, the protocol of the papers' multi-scale results
(``mmplug.cli.wrap_tta``)."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

import mmplug  # noqa: F401  (registers the backbones the configs name)
from mmplug.cli import mmseg0_scales, wrap_tta
from tests.helpers import ROOT, build_model, run_tool, write_demo_config

# mmseg 0.x's MultiScaleFlipAug(img_scale=(2048, 512), img_ratios=[0.5, 0.75,
# 1.0, 1.25, 1.5, 1.75]) resizes to (int(2048 * r), int(512 * r))
# (mmseg/datasets/pipelines/test_time_aug.py:72-74 of mmseg 0.x).
MMSEG0_SCALES = [(1024, 256), (1536, 384), (2048, 512), (2560, 640), (3072, 768), (3584, 896)]
# What mmseg 0.x's keep-ratio Resize (mmcv 1.x's imrescale) makes of a
# 683x512 (WxH) image at each of those scales: the factor
# min(long / 683, short / 512), then each side times it, rounded half up;
# (H, W).
MMSEG0_SHAPES = [(256, 342), (384, 512), (512, 683), (640, 854), (768, 1025), (896, 1195)]


def test_scales_are_mmseg0s():
    assert mmseg0_scales((2048, 512)) == MMSEG0_SCALES


def _views(cfg: Config, tmp_path):
    """The (H, W) and flip of every view the config's test pipeline makes of
    a 683x512 image."""
    img, seg = tmp_path / 'img.jpg', tmp_path / 'seg.png'
    cv2.imwrite(str(img), np.full((512, 683, 3), 128, np.uint8))
    cv2.imwrite(str(seg), np.ones((512, 683), np.uint8))
    init_default_scope('mmseg')
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    out = pipeline(dict(img_path=str(img), seg_map_path=str(seg), reduce_zero_label=True,
                        seg_fields=[], label_map=None))
    return [(tuple(s.img_shape), s.flip) for s in out['data_samples']]


@pytest.mark.parametrize('name', ['inceptionnext_t_upernet', 'convnext_t_upernet',
                                  'emo_1m_deeplabv3'])
def test_tta_resizes_as_mmseg0_and_flips(name, tmp_path):
    cfg = Config.fromfile(str(ROOT / f'configs/seg/{name}.py'))
    wrap_tta(cfg)
    assert cfg.model.type == 'SegTTAModel'
    expected = [(shape, flip) for shape in MMSEG0_SHAPES for flip in (False, True)]
    assert _views(cfg, tmp_path) == expected


def test_tta_keeps_the_resize_to_a_multiple_of_32(tmp_path):
    """Semantic FPN tests as PoolFormer's AlignResize: each view's sides then
    rounded up to a multiple of 32."""
    cfg = Config.fromfile(str(ROOT / 'configs/seg/inceptionnext_t_fpn.py'))
    wrap_tta(cfg)
    aligned = [(h, -(-w // 32) * 32) for h, w in MMSEG0_SHAPES]
    assert _views(cfg, tmp_path) == [(s, f) for s in aligned for f in (False, True)]


def test_tta_infers_as_the_papers_multi_scale_test():
    """ConvNeXt's single-scale test slides; its paper's multi-scale test
    (the official *_ms.py configs) takes whole images. The others test whole
    images either way."""
    for name, single in (('convnext_t_upernet', 'slide'), ('inceptionnext_t_upernet', 'whole'),
                         ('inceptionnext_t_fpn', 'whole')):
        cfg = Config.fromfile(str(ROOT / f'configs/seg/{name}.py'))
        assert cfg.model.test_cfg['mode'] == single
        wrap_tta(cfg)
        assert cfg.model.module.test_cfg == dict(mode='whole'), name


def test_tta_refuses_a_pipeline_without_a_fixed_scale():
    cfg = Config.fromfile(str(ROOT / 'configs/seg/inceptionnext_t_upernet.py'))
    cfg.test_dataloader.dataset.pipeline = [dict(type='LoadImageFromFile'),
                                            dict(type='PackSegInputs')]
    with pytest.raises(ValueError, match=r"\['LoadImageFromFile', 'PackSegInputs'\] has no "
                                         r"Resize to a fixed scale"):
        wrap_tta(cfg)


def test_test_tool_runs_the_multi_scale_flip_test(tmp_path):
    """tools/test.py --tta end to end, on the segmentation demo (64x64
    images) with a (128, 64) test scale, from a checkpoint of random weights."""
    pipeline = ("[dict(type='LoadImageFromFile'), dict(type='Resize', scale=(128, 64), "
                "keep_ratio=True), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]")
    cfg = write_demo_config(tmp_path, ROOT / 'configs/demo/inceptionnext_atto_upernet_shapes.py',
                            train=2, val=2, seg=True,
                            test_dataloader=f'dict(val_dataloader, dataset=dict('
                                            f"val_dataloader['dataset'], pipeline={pipeline}))")
    ckpt = tmp_path / 'random.pth'
    torch.save({'state_dict': build_model(cfg).state_dict()}, ckpt)
    result = run_tool('tools/test.py', cfg, ckpt, '--tta', '--work-dir', tmp_path / 'test')
    assert result.returncode == 0, result.stderr[-4000:]
    assert 'mIoU' in result.stdout + result.stderr
    dumped = Config.fromfile(str(tmp_path / 'test' / 'demo_tiny.py'))
    assert dumped.model.type == 'SegTTAModel'
    views = dumped.test_dataloader.dataset.pipeline[-1]['transforms'][0]
    assert [tuple(v['scale']) for v in views] == mmseg0_scales((128, 64))
