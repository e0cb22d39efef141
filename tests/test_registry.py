"""type='FasterNet' builds from mmdet, mmseg and mmpretrain scopes, from a
user's own config through custom_imports, and as mmplug.FasterNet."""
import pytest
from mmengine.registry import DefaultScope, init_default_scope

import mmplug
from tests.helpers import run_tool


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_builds_from_each_scope(scope):
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    for type_name in ('FasterNet', 'mmplug.FasterNet'):
        model = registry.build(dict(type=type_name, arch='t0', out_indices=(2, 3)))
        assert isinstance(model, mmplug.FasterNet) and model.out_channels == (160, 320)
    assert DefaultScope.get_current_instance().scope_name == scope


def test_user_config_with_custom_imports(tmp_path):
    # A fresh process: nothing but the config's custom_imports imports mmplug.
    cfg = tmp_path / 'user_cfg.py'
    cfg.write_text(
        "_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'\n"
        "custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)\n"
        "model = dict(backbone=dict(_delete_=True, type='FasterNet', arch='t0'),\n"
        "             neck=dict(in_channels=[40, 80, 160, 320]))\n")
    code = (
        'import sys\n'
        'from mmengine.config import Config\n'
        'from mmengine.registry import init_default_scope\n'
        f'cfg = Config.fromfile({str(cfg)!r})\n'
        'assert "mmplug" in sys.modules\n'
        'init_default_scope("mmdet")\n'
        'from mmdet.registry import MODELS\n'
        'model = MODELS.build(cfg.model)\n'
        'print("BUILT", type(model).__name__, type(model.backbone).__name__)\n')
    result = run_tool('python', '-c', code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'BUILT MaskRCNN FasterNet' in result.stdout


HEAVY = ('mmdet.models', 'mmseg.models', 'mmpretrain.models', 'mmdet.datasets', 'mmseg.datasets',
         'mmplug.models.heads', 'mmplug.datasets')


def test_import_leaves_the_model_zoos_unloaded():
    """Importing mmplug after the registries it joins imports no model zoo or
    data set: they are what made it slow (the time itself is measured by
    hand, not by a unit test)."""
    code = ('import sys\n'
            'import mmdet.registry, mmseg.registry, mmpretrain.registry\n'
            'import mmplug\n'
            f'print("LOADED", [m for m in {HEAVY!r} if m in sys.modules])\n')
    result = run_tool('python', '-c', code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'LOADED []' in result.stdout


# Every registration, as a build sees it (through Registry.get).
LOOKUPS = '''
import importlib

import mmplug
import mmplug.engine
from mmplug.integration import registries
from mmplug.models.heads import FasterNetClsHead as head, MlpClsHead, NormLinearClsHead


def registry(scope, kind):
    return getattr(importlib.import_module(f'{scope}.registry'), kind)


heads = dict(FasterNetClsHead=head, MlpClsHead=MlpClsHead, NormLinearClsHead=NormLinearClsHead)
for scope in ('mmdet', 'mmseg', 'mmpretrain'):
    models = registry(scope, 'MODELS')
    for name in ('FasterNet', 'InceptionNeXt', 'EMO'):
        assert models.get(name) is getattr(mmplug, name), (scope, name)
        assert models.get(f'mmplug.{name}') is getattr(mmplug, name), (scope, name)
    assert models.get('mmplug.ConvNeXt') is mmplug.ConvNeXt
    assert models.get('mmplug.FasterNetClsHead') is head
    for name in ('FasterNetClsHead', 'MlpClsHead', 'NormLinearClsHead'):
        assert (models.get(name) is heads[name]) == (scope == 'mmpretrain'), (scope, name)
    ours = registry(scope, 'OPTIM_WRAPPER_CONSTRUCTORS').get(
        'mmplug.LayerDecayOptimizerConstructor')
    assert ours is mmplug.engine.LayerDecayOptimizerConstructor
    plain = registry(scope, 'OPTIM_WRAPPER_CONSTRUCTORS').get('LayerDecayOptimizerConstructor')
    assert (plain is ours) == (scope != 'mmseg'), scope  # mmseg has its own
from mmpretrain.models import ConvNeXt
assert registry('mmpretrain', 'MODELS').get('ConvNeXt') is ConvNeXt  # mmpretrain's own
assert registry('mmdet', 'MODELS').get('ConvNeXt') is mmplug.ConvNeXt
assert registry('mmseg', 'MODELS').get('ConvNeXt') is mmplug.ConvNeXt
from mmplug.datasets.det import ShapesCocoDataset  # noqa: E402  (after the lookups above)
from mmplug.datasets.seg import ShapesSegDataset  # noqa: E402
assert registry('mmdet', 'DATASETS').get('ShapesCocoDataset') is ShapesCocoDataset
assert registry('mmseg', 'DATASETS').get('ShapesSegDataset') is ShapesSegDataset
assert registry('mmpretrain', 'DATASETS').get('mmplug.ShapesSegDataset') is ShapesSegDataset
from mmdet.models.dense_heads import SSDHead
assert SSDHead.loss_cls is None  # the adapter, applied after mmdet's MODELS loaded

# importing mmplug again wraps nothing twice
loaders = {(s, k): registry(s, k).import_from_location for s in ('mmdet', 'mmseg', 'mmpretrain')
           for k in ('MODELS', 'DATASETS', 'OPTIM_WRAPPER_CONSTRUCTORS')}
hooks = {key: list(load.mmplug_after_load) for key, load in loaders.items()}
importlib.reload(mmplug)
registries.apply()
for (scope, kind), load in loaders.items():
    assert registry(scope, kind).import_from_location is load
    assert load.mmplug_after_load == hooks[scope, kind]
print('ALL REGISTERED')
'''

BEFORE_MMPLUG = {
    'nothing': '',
    # the libraries' classes imported, their registries not yet loaded
    'modules': 'import mmdet.models, mmdet.datasets, mmseg.models, mmseg.datasets, '
               'mmpretrain.models\n',
    # the registries loaded: mmplug joins them at once
    'registries': 'import importlib\n'
                  'for scope in ("mmdet", "mmseg", "mmpretrain"):\n'
                  '    for kind in ("MODELS", "DATASETS", "OPTIM_WRAPPER_CONSTRUCTORS"):\n'
                  '        getattr(importlib.import_module(scope + ".registry"), kind)'
                  '.import_from_location()\n',
}


@pytest.mark.parametrize('before', list(BEFORE_MMPLUG))
def test_every_class_registered_whatever_was_imported_before(before):
    result = run_tool('python', '-c', BEFORE_MMPLUG[before] + LOOKUPS)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'ALL REGISTERED' in result.stdout
