"""The configs build the models the papers describe: every detection and
segmentation model within 2% of its paper's parameter count, every
classifier equal to the official network to the parameter."""
import pytest
import timm

from mmplug.analysis import NOT_IN_A_PAPER, PAPER, n_params
from tests.helpers import ROOT, build_model

# The parameters of the official classification networks (1000 classes), as
# the official code builds them: FasterNet (JierunChen/FasterNet),
# InceptionNeXt (sail-sg/inceptionnext), ConvNeXt (facebookresearch/ConvNeXt);
# and timm's model of the same architecture.
OFFICIAL_CLS = {
    'fasternet_t0': ('fasternet_t0', 3_905_500), 'fasternet_t1': ('fasternet_t1', 7_595_368),
    'fasternet_t2': ('fasternet_t2', 14_982_888), 'fasternet_s': ('fasternet_s', 31_181_032),
    'fasternet_m': ('fasternet_m', 53_521_464), 'fasternet_l': ('fasternet_l', 93_465_192),
    'inceptionnext_a': ('inception_next_atto', 4_156_520),
    'inceptionnext_t': ('inception_next_tiny', 28_055_680),
    'inceptionnext_s': ('inception_next_small', 49_374_016),
    'inceptionnext_b': ('inception_next_base', 86_672_136),
    'convnext_t': ('convnext_tiny', 28_589_128), 'convnext_s': ('convnext_small', 50_223_688),
    'convnext_b': ('convnext_base', 88_591_464), 'convnext_l': ('convnext_large', 197_767_336),
    'convnext_xl': ('convnext_xlarge', 350_196_968),
}


def test_every_config_has_paper_figures_or_says_it_has_none():
    on_disk = {str(p.relative_to(ROOT / 'configs'))[:-3]
               for d in ('cls', 'det', 'seg') for p in (ROOT / 'configs' / d).glob('*.py')}
    assert on_disk == set(PAPER) | set(NOT_IN_A_PAPER)
    for name in NOT_IN_A_PAPER:
        assert 'NOT a paper model' in (ROOT / 'configs' / f'{name}.py').read_text()


@pytest.mark.parametrize('name', sorted(n for n in PAPER if not n.startswith('cls/')))
def test_downstream_params_match_paper(name):
    model = build_model(ROOT / 'configs' / f'{name}.py')
    millions = n_params(model) / 1e6
    figures = PAPER[name]
    assert abs(millions / figures.params_m - 1) < 0.02, (millions, figures)


@pytest.mark.parametrize('name', sorted(OFFICIAL_CLS))
def test_classifier_params_are_official(name):
    model = build_model(ROOT / f'configs/cls/{name}_in1k.py')
    timm_name, official = OFFICIAL_CLS[name]
    assert n_params(model) == official
    if name in ('inceptionnext_a', 'fasternet_t0', 'convnext_t'):  # timm builds cost time
        assert n_params(timm.create_model(timm_name)) == official


def test_configs_build_mmplug_classes_in_every_scope():
    """`ConvNeXt` in mmpretrain's scope is mmpretrain's; our configs must
    build ours, and mmpretrain's must stay what it was."""
    from mmpretrain.models import ConvNeXt as MMPretrainConvNeXt
    from mmpretrain.registry import MODELS

    from mmplug.models import ConvNeXt
    assert MODELS.get('ConvNeXt') is MMPretrainConvNeXt
    assert MODELS.get('mmplug.ConvNeXt') is ConvNeXt
    for cfg in ('cls/convnext_t_in1k', 'det/convnext_t_maskrcnn_3x', 'seg/convnext_t_upernet'):
        assert type(build_model(ROOT / 'configs' / f'{cfg}.py').backbone) is ConvNeXt


_MMDET = 'mmdet::convnext/{}_convnext-{}-p4-w7_fpn{}_amp-ms-crop-3x_coco.py'
_CASCADE = 'cascade-mask-rcnn'
_GIOU = '_4conv1fc-giou'
_MMSEG = 'mmseg::convnext/convnext-{}_upernet_8xb2-amp-160k_ade20k-512x512.py'


@pytest.mark.parametrize('ours,theirs', [
    ('det/convnext_t_maskrcnn_3x', _MMDET.format('mask-rcnn', 't', '')),
    ('det/convnext_t_cascade_maskrcnn_3x', _MMDET.format(_CASCADE, 't', _GIOU)),
    ('det/convnext_s_cascade_maskrcnn_3x', _MMDET.format(_CASCADE, 's', _GIOU)),
    ('seg/convnext_t_upernet', _MMSEG.format('tiny')),
    ('seg/convnext_s_upernet', _MMSEG.format('small')),
    ('seg/convnext_b_upernet', _MMSEG.format('base')),
])
def test_convnext_recipes_are_the_libraries(tmp_path, ours, theirs):
    """Our ConvNeXt configs swap the backbone and the lr-decay constructor;
    the optimizer, its decay settings and the drop path stay the official ones
    that mmdet and mmseg ship."""
    from mmengine.config import Config
    ref_file = tmp_path / 'reference.py'
    ref_file.write_text(f'_base_ = {theirs!r}\n')
    mine = Config.fromfile(str(ROOT / 'configs' / f'{ours}.py'))
    ref = Config.fromfile(str(ref_file))
    assert mine.optim_wrapper.optimizer == ref.optim_wrapper.optimizer
    assert dict(mine.optim_wrapper.paramwise_cfg) == dict(ref.optim_wrapper.paramwise_cfg)
    assert mine.model.backbone.drop_path_rate == ref.model.backbone.drop_path_rate
