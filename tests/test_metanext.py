"""InceptionNeXt and ConvNeXt: one MetaNeXt skeleton, converters verified
against timm's and mmpretrain's implementations on random weights."""
import re

import pytest
import timm
import torch
from mmpretrain.models import ConvNeXt as MMPretrainConvNeXt

from mmplug.models import CheckpointMismatchError, ConvNeXt, InceptionNeXt, load_pretrained
from mmplug.models.backbones.convnext import convert_convnext
from mmplug.models.backbones.inceptionnext import InceptionDWConv2d, convert_inceptionnext
from mmplug.models.backbones.metanext import MetaNeXtBlock
from tests.helpers import ROOT, build_model, run_tool


def _randomize(model):
    """Random norms and layer scales, so that a tensor loaded into the wrong
    place changes the output."""
    torch.manual_seed(0)
    for name, p in model.named_parameters():
        if name.endswith('gamma') or p.ndim == 1:
            p.data.uniform_(0.5, 1.5) if 'bias' not in name else p.data.uniform_(-0.5, 0.5)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    model.eval()  # mmpretrain's train() returns None
    return model


def test_both_backbones_are_metanext_blocks():
    for model, mixer in ((InceptionNeXt('atto'), InceptionDWConv2d),
                         (ConvNeXt(dict(depths=[1] * 4, channels=[8, 16, 32, 64],
                                        mlp_ratios=[4] * 4)), torch.nn.Conv2d)):
        blocks = [m for m in model.modules() if isinstance(m, MetaNeXtBlock)]
        assert len(blocks) == sum(model.arch['depths'])
        assert all(isinstance(b.token_mixer, mixer) for b in blocks)


def test_inception_mixer_splits_and_checks_its_ratio():
    mixer = InceptionDWConv2d(64, band_kernel_size=7, branch_ratio=1 / 16)
    assert mixer.split_sizes == (52, 4, 4, 4)
    x = torch.randn(1, 64, 9, 9)
    torch.testing.assert_close(mixer(x)[:, :52], x[:, :52])  # identity branch comes first
    assert mixer.dwconv_w.kernel_size == (1, 7) and mixer.dwconv_h.kernel_size == (7, 1)
    with pytest.raises(ValueError, match=r'branch_ratio=0\.5 gives 32 channels'):
        InceptionDWConv2d(64, branch_ratio=0.5)
    light = InceptionNeXt('tiny', band_kernel_size=7, branch_ratio=1 / 16, mlp_ratio=2)
    assert light.stages[0].blocks[0].mlp.fc1.out_channels == 2 * 96
    with pytest.raises(ValueError, match=r'mlp_ratio needs one value or one per stage \(4\)'):
        InceptionNeXt('atto', mlp_ratio=[2, 2])


@pytest.mark.parametrize('arch', ['atto', 'tiny'])
def test_inceptionnext_timm_weights_give_timm_features(arch):
    ref = _randomize(timm.create_model(f'inception_next_{arch}'))
    x = torch.randn(2, 3, 64, 64)
    sd = convert_inceptionnext(ref.state_dict())
    assert convert_inceptionnext(sd) == sd
    model = InceptionNeXt(arch, out_norm_cfg=None).eval()
    model.load_state_dict({k: v for k, v in sd.items() if not k.startswith('head.')})
    with torch.no_grad():
        expected = ref.forward_intermediates(x, intermediates_only=True)
        for out, exp in zip(model(x), expected):
            torch.testing.assert_close(out, exp, rtol=1e-5, atol=1e-5)


def _official_convnext_from_timm(sd):
    """timm's ConvNeXt keys -> the official repository's (facebookresearch/ConvNeXt,
    the inverse of timm's ``checkpoint_filter_fn``): downsample_layers,
    stages.{i}.{j}.dwconv/pwconv (Linear), norm, head."""
    out = {}
    for k, v in sd.items():
        k = k.replace('stem.', 'downsample_layers.0.')
        k = re.sub(r'stages\.(\d+)\.downsample\.', r'downsample_layers.\1.', k)
        k = re.sub(r'stages\.(\d+)\.blocks\.(\d+)\.', r'stages.\1.\2.', k)
        k = k.replace('conv_dw', 'dwconv').replace('mlp.fc', 'pwconv')
        k = k.replace('head.norm.', 'norm.').replace('head.fc.', 'head.')
        out[k] = v
    return out


def test_convnext_timm_and_official_weights_give_timm_logits():
    ref = _randomize(timm.create_model('convnext_tiny'))
    x = torch.randn(2, 3, 64, 64)
    timm_sd = ref.state_dict()
    converted = convert_convnext(timm_sd)
    official = convert_convnext(_official_convnext_from_timm(timm_sd))
    assert converted.keys() == official.keys()
    assert all(torch.equal(converted[k], official[k]) for k in converted)
    assert convert_convnext(converted) == converted

    model = build_model(ROOT / 'configs/cls/convnext_t_in1k.py').eval()
    model.load_state_dict({('' if k.startswith('head.') else 'backbone.') + k: v
                           for k, v in converted.items()}, strict=True)
    with torch.no_grad():
        expected = ref.forward_intermediates(x, intermediates_only=True)
        backbone = ConvNeXt('tiny', out_norm_cfg=None).eval()
        backbone.load_state_dict({k: v for k, v in converted.items()
                                  if not k.startswith('head.')})
        for out, exp in zip(backbone(x), expected):
            torch.testing.assert_close(out, exp, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(model(x, mode='tensor'), ref(x), rtol=1e-5, atol=1e-5)


def test_convnext_mmpretrain_weights_give_mmpretrain_features(tmp_path):
    torch.manual_seed(0)
    ref = _randomize(MMPretrainConvNeXt(arch='tiny', out_indices=(0, 1, 2, 3),
                                        gap_before_final_norm=False))
    x = torch.randn(1, 3, 64, 64)
    path = tmp_path / 'mmpretrain_convnext.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in ref.state_dict().items()}}, path)
    model = ConvNeXt('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    report = load_pretrained(model, str(path), model.convert_checkpoint, model.optional_keys)
    assert report.missing == [] and report.unused == []
    with torch.no_grad():
        for out, exp in zip(model.eval()(x), ref(x)):
            torch.testing.assert_close(out, exp, rtol=1e-5, atol=1e-5)


def test_inceptionnext_classifier_through_the_convert_tool(tmp_path):
    ref = _randomize(timm.create_model('inception_next_atto'))
    src = tmp_path / 'inceptionnext_atto.pth'
    torch.save(ref.state_dict(), src)
    out = tmp_path / 'converted.pth'
    result = run_tool('tools/convert_checkpoint.py', 'InceptionNeXt', src, out, '--arch', 'atto')
    assert result.returncode == 0, result.stderr[-3000:]
    model = build_model(ROOT / 'configs/cls/inceptionnext_a_in1k.py').eval()
    model.load_state_dict(torch.load(out)['state_dict'], strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mode='tensor'), ref(x), rtol=1e-5, atol=1e-5)


def test_checkpoints_of_another_network_are_refused(tmp_path):
    convnext = tmp_path / 'convnext.pth'
    torch.save(timm.create_model('convnext_atto').state_dict(), convnext)
    inception = tmp_path / 'inception.pth'
    torch.save(timm.create_model('inception_next_atto').state_dict(), inception)
    cases = [(InceptionNeXt, 'atto', convnext, 'not an InceptionNeXt state dict'),
             (ConvNeXt, 'tiny', inception, 'InceptionNeXt state dict, not a ConvNeXt'),
             (ConvNeXt, 'tiny', convnext, r'shape mismatches: stem\.0\.weight')]
    for cls, arch, path, message in cases:
        model = cls(arch, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
        with pytest.raises(CheckpointMismatchError, match=message):
            model.init_weights()
