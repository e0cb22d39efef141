"""FasterNet: partial convolution, conversion from the official and timm
layouts, and loading pretrained weights with a full report."""
import re

import pytest
import timm
import torch

from mmplug.models import CheckpointMismatchError, FasterNet, load_pretrained
from mmplug.models.backbones.fasternet import PartialConv, convert_fasternet
from tests.helpers import ROOT, build_model, run_tool

ARCHS = list(FasterNet.arch_settings)


def test_partial_conv_forwards_agree_and_keep_input():
    torch.manual_seed(0)
    pconv = PartialConv(16, n_div=4)
    x = torch.randn(2, 16, 9, 7)
    before = x.clone()
    split_cat = pconv.forward_split_cat(x)
    slicing = pconv.forward_slicing(x)
    torch.testing.assert_close(split_cat, slicing, rtol=0, atol=0)
    assert torch.equal(x, before), 'a PConv forward modified its input'
    assert torch.equal(split_cat[:, 4:], x[:, 4:])  # 3/4 of the channels pass through
    assert not torch.equal(split_cat[:, :4], x[:, :4])


def test_partial_conv_picks_slicing_only_without_grad(monkeypatch):
    pconv = PartialConv(8).eval()
    used = []
    monkeypatch.setattr(pconv, 'forward_slicing', lambda x: used.append('slicing') or x)
    monkeypatch.setattr(pconv, 'forward_split_cat', lambda x: used.append('split_cat') or x)
    x = torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        pconv(x)
    pconv(x)  # eval with autograd on: slicing would break backward
    pconv.train()
    with torch.no_grad():
        pconv(x)
    assert used == ['slicing', 'split_cat', 'split_cat']


def test_default_init_is_the_official_one():
    # trunc_normal(std=0.02) on every conv, as the official code (whose bounds,
    # like timm's, are +-2 absolute: in effect a plain normal)
    torch.manual_seed(0)
    model = FasterNet('t0')
    model.init_weights()
    for name, param in model.named_parameters():
        if name.endswith('weight') and param.ndim == 4:
            assert abs(param.std().item() - 0.02) < 0.004, name


def _official_from_timm(sd):
    """timm's FasterNet keys -> the official repository's
    (JierunChen/FasterNet): the inverse of timm's checkpoint_filter_fn."""
    out = {}
    for k, v in sd.items():
        m = re.match(r'stages\.(\d+)\.(downsample|blocks)\.(.*)', k)
        if m:
            i, part, rest = int(m[1]), m[2], m[3]
            k = (f'stages.{2 * i - 1}.{rest}' if part == 'downsample' else
                 f'stages.{2 * i}.blocks.{rest}')
        elif k == 'conv_head.weight':
            k = 'avgpool_pre_head.1.weight'
        elif k.startswith('classifier.'):
            k = 'head.' + k.split('.', 1)[1]
        out[k] = v
    return out


def _timm_reference(arch):
    torch.manual_seed(0)
    ref = timm.create_model(f'fasternet_{arch}', pretrained=False).eval()
    # random BN statistics, so that a BN mapped to the wrong place shows
    for m in ref.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return ref


@pytest.mark.parametrize('arch', ARCHS)
def test_timm_and_official_weights_give_timm_features(arch):
    ref = _timm_reference(arch)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = ref.forward_intermediates(x, intermediates_only=True)

    timm_sd = ref.state_dict()
    converted = convert_fasternet(timm_sd)
    official = convert_fasternet(_official_from_timm(timm_sd))
    assert converted.keys() == official.keys()
    for k in converted:
        assert torch.equal(converted[k], official[k]), k
    assert convert_fasternet(converted) == converted  # already converted: left alone

    model = FasterNet(arch, out_norm_cfg=None).eval()
    backbone_sd = {k: v for k, v in converted.items() if not k.startswith('head.')}
    model.load_state_dict(backbone_sd, strict=True)
    with torch.no_grad():
        outs = model(x)
    for out, exp in zip(outs, expected):
        torch.testing.assert_close(out, exp, rtol=1e-5, atol=1e-5)


def test_pretrained_init_reports_every_unused_key(tmp_path):
    ref = _timm_reference('t0')
    path = tmp_path / 'fasternet_t0_timm.pth'
    torch.save(ref.state_dict(), path)
    model = FasterNet('t0', out_indices=(1, 3),
                      init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    report = load_pretrained(model, str(path), model.convert_checkpoint, model.optional_keys)
    assert sorted({k.split('.')[0] for k in report.missing}) == ['norm1', 'norm3']
    assert sorted(report.unused) == ['head.fc.bias', 'head.fc.weight', 'head.proj.weight']

    model.init_weights()  # the path a config takes
    x = torch.randn(1, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        expected = ref.forward_intermediates(x, indices=[1, 3], intermediates_only=True)
        outs = model(x)
    for out, exp, norm in zip(outs, expected, (model.norm1, model.norm3)):
        torch.testing.assert_close(out, norm(exp), rtol=1e-5, atol=1e-5)


def test_official_detection_checkpoint_loads_its_output_norms(tmp_path):
    sd = {k: v for k, v in _official_from_timm(_timm_reference('t0').state_dict()).items()
          if not k.startswith(('head.', 'avgpool_pre_head.'))}
    for official_idx in (0, 2, 4, 6):  # the official detection backbone's output norms
        c = 40 * 2**(official_idx // 2)
        sd.update({f'norm{official_idx}.{n}': torch.rand(c) for n in
                   ('weight', 'bias', 'running_mean', 'running_var')})
        sd[f'norm{official_idx}.num_batches_tracked'] = torch.tensor(7)
    whole = {f'backbone.{k}': v for k, v in sd.items()}
    whole['neck.lateral_convs.0.conv.weight'] = torch.zeros(1)
    path = tmp_path / 'det.pth'
    torch.save({'state_dict': whole, 'meta': {}}, path)

    model = FasterNet('t0', out_indices=(1, 3))
    report = load_pretrained(model, str(path), model.convert_checkpoint, model.optional_keys)
    torch.testing.assert_close(model.norm1.weight, sd['norm2.weight'])
    torch.testing.assert_close(model.norm3.running_var, sd['norm6.running_var'])
    assert report.missing == []
    assert sorted(report.unused) == ['neck.lateral_convs.0.conv.weight'] + [
        f'norm{i}.{n}' for i in (0, 2)
        for n in ('bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight')]


def test_wrong_checkpoints_are_refused_by_name(tmp_path):
    s_model = FasterNet('s')
    t0_path = tmp_path / 't0.pth'
    torch.save(_timm_reference('t0').state_dict(), t0_path)
    s_model.init_cfg = dict(type='Pretrained', checkpoint=str(t0_path))
    with pytest.raises(CheckpointMismatchError, match=r'shape mismatches: stem\.0\.weight'):
        s_model.init_weights()

    other = tmp_path / 'resnet.pth'
    torch.save(timm.create_model('resnet18').state_dict(), other)
    s_model.init_cfg = dict(type='Pretrained', checkpoint=str(other))
    with pytest.raises(CheckpointMismatchError, match='not a FasterNet state dict'):
        s_model.init_weights()

    sd = convert_fasternet(_timm_reference('t0').state_dict())
    sd['stages.0.blocks.0.extra.weight'] = torch.zeros(1)
    del sd['stages.1.blocks.0.mlp.fc1.weight']
    bad = tmp_path / 'bad.pth'
    torch.save(sd, bad)
    t0 = FasterNet('t0', init_cfg=dict(type='Pretrained', checkpoint=str(bad)))
    expected = (r'Missing from the file: \[stages\.1\.blocks\.0\.mlp\.fc1\.weight\]; '
                r'in the file but not in the model: \[stages\.0\.blocks\.0\.extra\.weight\]')
    with pytest.raises(CheckpointMismatchError, match=expected):
        t0.init_weights()

    t0.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='missing.pth.*not found'):
        t0.init_weights()


def test_convert_tool_output_is_the_official_classifier(tmp_path):
    ref = _timm_reference('t0')
    official = tmp_path / 'official.pth'
    torch.save(_official_from_timm(ref.state_dict()), official)
    out = tmp_path / 'converted.pth'
    result = run_tool('tools/convert_checkpoint.py', 'FasterNet', official, out, '--arch', 't0')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'FasterNet t0: loads' in result.stdout

    model = build_model(ROOT / 'configs/cls/fasternet_t0_in1k.py')
    model.load_state_dict(torch.load(out)['state_dict'], strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x, mode='tensor'), ref(x), rtol=1e-5, atol=1e-5)
