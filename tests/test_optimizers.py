"""Layer-wise / stage-wise lr decay: the official ConvNeXt layer ids, from
mmplug's parameter names, for every backbone."""
import re

import pytest
from mmdet.engine.optimizers.layer_decay_optimizer_constructor import (
    get_layer_id_for_convnext,
    get_stage_id_for_convnext,
)
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmplug.engine import layer_id
from mmplug.models import EMO, ConvNeXt, FasterNet, InceptionNeXt
from tests.helpers import ROOT, build_model


def _mmpretrain_name(name):
    """mmplug ConvNeXt parameter name -> mmpretrain's, which mmdet's official
    id functions read."""
    name = name.replace('backbone.stem.', 'backbone.downsample_layers.0.')
    name = re.sub(r'backbone\.stages\.(\d+)\.downsample\.', r'backbone.downsample_layers.\1.', name)
    return re.sub(r'backbone\.stages\.(\d+)\.blocks\.', r'backbone.stages.\1.', name)


@pytest.mark.parametrize('arch,num_layers', [('tiny', 6), ('small', 12)])
def test_convnext_ids_are_the_official_ones(arch, num_layers):
    model = nn.Module()
    model.backbone = ConvNeXt(arch)
    model.neck = nn.Conv2d(1, 1, 1)
    depths = model.backbone.arch['depths']
    for name, _ in model.named_parameters():
        official = _mmpretrain_name(name)
        assert layer_id(name, 'layer_wise', num_layers, depths) == \
            get_layer_id_for_convnext(official, num_layers), name
        assert layer_id(name, 'stage_wise', num_layers, depths) == \
            get_stage_id_for_convnext(official, num_layers + 2), name


def test_constructor_builds_the_recipe_groups():
    model = build_model(ROOT / 'configs/det/convnext_t_maskrcnn_3x.py')
    cfg = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
               constructor='mmplug.LayerDecayOptimizerConstructor',
               paramwise_cfg=dict(decay_rate=0.95, decay_type='layer_wise', num_layers=6))
    groups = build_optim_wrapper(model, cfg).optimizer.param_groups
    by_name = {n: g for g in groups for n in g['param_names']}
    assert len(by_name) == sum(1 for p in model.parameters() if p.requires_grad)
    stem = by_name['backbone.stem.0.weight']
    assert stem['lr'] == pytest.approx(1e-4 * 0.95**7) and stem['weight_decay'] == 0.05
    assert by_name['backbone.stem.0.bias']['weight_decay'] == 0.0
    assert by_name['backbone.stages.3.blocks.0.mlp.fc1.weight']['lr'] == pytest.approx(1e-4 * 0.95)
    assert by_name['neck.lateral_convs.0.conv.weight']['lr'] == pytest.approx(1e-4)


@pytest.mark.parametrize('cls,arch', [(FasterNet, 't0'), (InceptionNeXt, 'atto'), (EMO, '1m')])
def test_every_backbone_gets_ids_in_range(cls, arch):
    backbone = cls(arch)
    model = nn.Module()
    model.backbone = backbone
    depths = [len(s.blocks) for s in backbone.stages]
    ids = {layer_id(n, 'layer_wise', 6, depths) for n, _ in model.named_parameters()}
    assert set(range(7)) <= ids <= set(range(8))  # 7: output norms, at the full rate
    stage_ids = {layer_id(n, 'stage_wise', 6, depths) for n, _ in model.named_parameters()}
    assert {0, 1, 2, 3, 4} <= stage_ids <= {0, 1, 2, 3, 4, 7}


def test_bad_settings_are_named():
    model = build_model(ROOT / 'configs/det/emo_1m_retinanet.py')
    cfg = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4),
               constructor='mmplug.LayerDecayOptimizerConstructor',
               paramwise_cfg=dict(decay_rate=0.9, decay_type='depth_wise', num_layers=6))
    with pytest.raises(ValueError, match="decay_type in \\('layer_wise', 'stage_wise'\\)"):
        build_optim_wrapper(model, cfg)
    with pytest.raises(ValueError, match='needs a model whose backbone is an mmplug backbone'):
        build_optim_wrapper(nn.Linear(2, 2), dict(cfg, paramwise_cfg=dict(
            decay_rate=0.9, num_layers=6)))
