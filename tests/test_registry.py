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
