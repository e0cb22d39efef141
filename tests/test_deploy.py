"""Deploy mode: every fold on random weights for every backbone family (with
plain and RefConv convs), whole detectors and segmentors, the deploy
checkpoint and config, tools/reparameterize.py through tools/test.py and
tools/deploy/export_onnx.py (whole models in ONNX: tests/test_onnx.py)."""
import pickle
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmplug import EMO, ConvNeXt, FasterNet, InceptionNeXt, RefConv, switch_to_deploy
from mmplug.analysis import n_tensors
from mmplug.models.layers import LayerNorm2d
from mmplug.models.reparam import (
    fold_norm_into_next_conv,
    fold_norm_into_prev_conv,
    scale_conv_output,
)
from tests.helpers import ROOT, build_model, run_tool, write_demo_config


def randomize(model: nn.Module) -> nn.Module:
    """Make every fold matter: random BatchNorm statistics and affines,
    LayerNorm affines, layer scales and RefConv maps."""
    g = torch.Generator().manual_seed(1)

    def uniform(t, lo, hi):
        t.data.copy_(torch.rand(t.shape, generator=g) * (hi - lo) + lo)

    for m in model.modules():
        if isinstance(m, _BatchNorm):
            uniform(m.running_mean, -1, 1)
            uniform(m.running_var, 0.5, 2)
        if isinstance(m, (_BatchNorm, nn.LayerNorm)) and m.weight is not None:
            uniform(m.weight, 0.5, 1.5)
            uniform(m.bias, -0.5, 0.5)
        if isinstance(m, RefConv):
            uniform(m.convmap.weight, -0.1, 0.1)
    for name, p in model.named_parameters():
        if name.endswith('gamma'):
            uniform(p, 0.5, 1.5)
    return model.eval()


def assert_same(outs, refs, rtol=1e-5):
    for out, ref in zip(outs, refs, strict=True):
        err = ((out - ref).abs().max() / ref.abs().max()).item()
        assert err < rtol, err


# --------------------------------------------------------------- the folds
def test_conv_norm_fusion_is_exact_for_any_conv():
    torch.manual_seed(0)
    for conv in (nn.Conv2d(4, 6, 3, 2, 1, groups=2, bias=False), nn.Conv2d(4, 4, 5, 1, 2,
                                                                             groups=4)):
        norm = randomize(nn.BatchNorm2d(conv.out_channels))
        x = torch.randn(2, 4, 9, 9)
        expected = norm(conv(x))
        assert isinstance(fold_norm_into_prev_conv(conv, norm), nn.Identity)
        torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_folds_into_the_1x1_conv_after_it_and_layer_norm_stays():
    torch.manual_seed(0)
    norm, conv = randomize(nn.BatchNorm2d(6)), nn.Conv2d(6, 5, 1)
    x = torch.randn(2, 6, 7, 7)
    expected = conv(norm(x))
    left = fold_norm_into_next_conv(norm, conv)
    assert isinstance(left, nn.Identity)
    torch.testing.assert_close(conv(left(x)), expected, rtol=1e-5, atol=1e-5)
    layer_norm = LayerNorm2d(6)
    assert fold_norm_into_next_conv(layer_norm, conv) is layer_norm


def test_a_norm_before_a_padded_conv_is_refused():
    with pytest.raises(ValueError, match='only a 1x1 conv without padding'):
        fold_norm_into_next_conv(nn.BatchNorm2d(4).eval(), nn.Conv2d(4, 4, 3, padding=1))


def test_layer_scale_folds_into_the_conv():
    conv, gamma = nn.Conv2d(3, 4, 1), torch.rand(4)
    x = torch.randn(1, 3, 5, 5)
    expected = conv(x) * gamma.view(1, -1, 1, 1)
    scale_conv_output(conv, gamma)
    torch.testing.assert_close(conv(x), expected)


def _ops(fn) -> set:
    with torch.no_grad(), torch.profiler.profile() as prof:
        fn()
    return {e.name for e in prof.events()}


# ------------------------------------------------------- backbone families
#: BatchNorms that no fold can take: per-output norms (after a residual sum)
#: and MetaNeXt's norm before a downsampling conv whose input is zero-padded.
UNFOLDABLE_BN = {
    FasterNet: r'norm\d$',
    InceptionNeXt: r'(norm\d|stages\.\d\.downsample\.0)$',
    ConvNeXt: r'$^',
    EMO: r'$^',
}
FAMILIES = [(FasterNet, dict(arch='t0', layer_scale_init_value=0.1)),
            (InceptionNeXt, dict(arch='atto')), (ConvNeXt, dict(arch='tiny')),
            (EMO, dict(arch='1m', out_indices=(0, 1, 2, 3, 4)))]


@pytest.mark.parametrize('refconv', [False, True], ids=['conv', 'refconv'])
@pytest.mark.parametrize('cls,kwargs', FAMILIES, ids=[c.__name__ for c, _ in FAMILIES])
def test_deploy_form_computes_the_same_with_fewer_tensors(cls, kwargs, refconv):
    torch.manual_seed(0)
    conv_cfg = dict(type='RefConv') if refconv else None
    model = randomize(cls(**kwargs, conv_cfg=conv_cfg, init_cfg=None))
    spatial = [m for m in model.modules() if isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1]
    assert all(isinstance(m, RefConv) == refconv for m in spatial)  # conv_cfg takes them all
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        expected = model(x)
    before = n_tensors(model)
    assert switch_to_deploy(model) is model
    with torch.no_grad():
        assert_same(model(x), expected)
    assert n_tensors(model) < before
    left = [n for n, m in model.named_modules() if isinstance(m, _BatchNorm)
            and not re.search(UNFOLDABLE_BN[cls], n)]
    assert not left, left
    assert not any(n.endswith('gamma') for n, _ in model.named_parameters())
    assert not any(isinstance(m, RefConv) and m.convmap is not None for m in model.modules())
    switch_to_deploy(model)  # a second switch changes nothing
    with torch.no_grad():
        assert_same(model(x), expected)

    # and in channels_last, laid out as it came
    model = model.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        outs = model(x_cl)
    assert_same(outs, expected)
    assert all(o.is_contiguous(memory_format=torch.channels_last) for o in outs)


@pytest.mark.parametrize('cls,kwargs', FAMILIES, ids=[c.__name__ for c, _ in FAMILIES])
def test_every_form_uses_public_ops_only(cls, kwargs):
    model = cls(**kwargs, init_cfg=None).eval()
    x = torch.randn(1, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    for form in ('eval', 'deploy'):
        if form == 'deploy':
            switch_to_deploy(model)
        ops = _ops(lambda: model.to(memory_format=torch.channels_last)(x))
        assert not [op for op in ops if op.startswith('mkldnn::')], form


def test_whole_detector_and_segmentor_switch():
    x = torch.randn(1, 3, 64, 64)
    detector = randomize(build_model(ROOT / 'configs/demo/fasternet_t0_maskrcnn_shapes.py'))
    with torch.no_grad():
        expected = detector.extract_feat(x)
        assert_same(switch_to_deploy(detector).extract_feat(x), expected)
    segmentor = randomize(build_model(ROOT / 'configs/demo/inceptionnext_atto_upernet_shapes.py'))
    with torch.no_grad():
        expected = segmentor._forward(x)  # decode head logits
        assert_same(switch_to_deploy(segmentor)._forward(x), expected)


def test_deployed_config_builds_the_deploy_model_for_a_deploy_checkpoint():
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    backbone = dict(type='EMO', arch='1m', conv_cfg=dict(type='RefConv'))
    trained = randomize(MODELS.build(backbone))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = trained(x)
    deployed = MODELS.build(dict(type='mmplug.Deployed', module=backbone))
    deployed.load_state_dict(switch_to_deploy(trained).state_dict(), strict=True)
    with torch.no_grad():
        assert_same(deployed(x), expected)


# ------------------------------------------------------ the tools, end to end
def test_reparameterize_then_test_gives_the_same_predictions(tmp_path):
    """The demo model with RefConv layers (random maps) trains a few steps;
    tools/test.py on the training pair and on the pair that
    tools/reparameterize.py writes give the same metrics and predictions,
    and the deploy pair exports to an end-to-end ONNX file that predicts the
    same."""
    cfg = write_demo_config(
        tmp_path, train=4, val=2, train_cfg='dict(max_epochs=1, val_interval=1)',
        param_scheduler='[]',
        model="dict(backbone=dict(conv_cfg=dict(type='RefConv', map_init='random')), "
        "test_cfg=dict(rcnn=dict(score_thr=0.0)))")
    work = tmp_path / 'work'
    assert run_tool('tools/train.py', cfg, '--work-dir', work).returncode == 0
    ckpt = work / 'epoch_1.pth'
    train_form = run_tool('tools/test.py', cfg, ckpt, '--work-dir', tmp_path / 't1', '--out',
                          tmp_path / 'train.pkl')
    assert train_form.returncode == 0, train_form.stderr[-3000:]

    rep = run_tool('tools/reparameterize.py', cfg, ckpt, tmp_path / 'deploy', '--shape', 64, 64)
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert 'largest relative difference' in rep.stdout
    deploy_cfg = tmp_path / 'deploy/demo_tiny_deploy.py'
    deploy_ckpt = tmp_path / 'deploy/demo_tiny_deploy.pth'
    assert Config.fromfile(str(deploy_cfg)).model.type == 'mmplug.Deployed'
    deploy_form = run_tool('tools/test.py', deploy_cfg, deploy_ckpt, '--work-dir',
                           tmp_path / 't2', '--out', tmp_path / 'deploy.pkl')
    assert deploy_form.returncode == 0, deploy_form.stderr[-3000:]

    def metrics(result):
        return [line.split('copypaste:')[1] for line in result.stdout.splitlines()
                if 'mAP_copypaste' in line]
    assert metrics(train_form) and metrics(train_form) == metrics(deploy_form)
    ours = pickle.loads((tmp_path / 'deploy.pkl').read_bytes())
    theirs = pickle.loads((tmp_path / 'train.pkl').read_bytes())
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        a, b = a['pred_instances'], b['pred_instances']
        assert len(b['scores']) > 0
        torch.testing.assert_close(a['scores'], b['scores'], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(a['bboxes'], b['bboxes'], rtol=1e-4, atol=1e-3)

    onnx = run_tool('tools/deploy/export_onnx.py', deploy_cfg, '--checkpoint', deploy_ckpt,
                    '--shape', 64, 96, '--work-dir', tmp_path / 'e2e')
    assert onnx.returncode == 0, onnx.stderr[-3000:]
    assert (tmp_path / 'e2e/end2end.onnx').is_file() and (tmp_path / 'e2e/deploy.json').is_file()
    assert re.search(r' [1-9]\d* detections matched, 0 unmatched, 0 of PyTorch', onnx.stdout), \
        onnx.stdout
