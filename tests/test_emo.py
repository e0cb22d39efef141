"""EMO: the iRMB, its window attention, and the official checkpoint layout."""
import re

import pytest
import torch
import torch.nn.functional as F

from mmplug.analysis import n_params
from mmplug.models import EMO, CheckpointMismatchError, load_pretrained
from mmplug.models.backbones.emo import IRMB, convert_emo
from mmplug.models.layers import LayerNorm2d
from tests.helpers import ROOT, build_model

# Backbone parameters of the official models (zhangzjn/EMO, model/emo.py, no head).
OFFICIAL_BACKBONE_PARAMS = {'1m': 1_191_832, '2m': 2_176_072, '5m': 4_819_272, '6m': 5_846_856}


@pytest.mark.parametrize('arch', sorted(OFFICIAL_BACKBONE_PARAMS))
def test_parameters_are_official(arch):
    backbone = EMO(arch)
    assert n_params(backbone) == OFFICIAL_BACKBONE_PARAMS[arch]
    # classifier = backbone + the LayerNorm on stage 4 + the linear head
    classifier = build_model(ROOT / f'configs/cls/emo_{arch}_in1k.py')
    c = backbone.arch['channels'][-1]
    assert n_params(classifier) == OFFICIAL_BACKBONE_PARAMS[arch] + 2 * c + (c + 1) * 1000


def _block(window_size, attn_pre=True):
    torch.manual_seed(0)
    block = IRMB(16, 16, 2.0, 1, 3, lambda c: torch.nn.Identity(), torch.nn.GELU,
                 torch.nn.BatchNorm2d, head_dim=8, window_size=window_size, attn_pre=attn_pre)
    return block.eval()


def _reference_attention(block, x, n1, n2):
    """Window attention written independently: window (i, j) is the tokens
    x[..., i::n1, j::n2] of the (zero-padded) map, as in the official code."""
    b, c, h, w = x.shape
    ws = block.window_size
    xp = F.pad(x, (0, n2 * ws - w, 0, n1 * ws - h))
    out = None
    for i in range(n1):
        for j in range(n2):
            win = xp[:, :, i::n1, j::n2]
            q, k = block.qk(win).flatten(2).chunk(2, dim=1)
            heads = block.num_heads
            q = q.reshape(b, heads, -1, ws * ws).transpose(-1, -2)
            k = k.reshape(b, heads, -1, ws * ws).transpose(-1, -2)
            v = win.flatten(2).reshape(b, heads, -1, ws * ws).transpose(-1, -2)
            attn = (q @ k.transpose(-1, -2) / q.shape[-1]**0.5).softmax(-1)
            y = block.v((attn @ v).transpose(-1, -2).reshape(b, c, ws, ws))
            if out is None:
                out = xp.new_zeros(b, y.shape[1], n1 * ws, n2 * ws)
            out[:, :, i::n1, j::n2] = y
    return out[:, :, :h, :w]


@pytest.mark.parametrize('size,window,grid', [((14, 14), 7, (2, 2)), ((9, 12), 4, (3, 3)),
                                              ((5, 6), 7, (1, 1))])
def test_window_attention_matches_a_direct_reference(size, window, grid):
    block = _block(window)
    x = torch.randn(2, 16, *size)
    with torch.no_grad():
        torch.testing.assert_close(block._attention(x), _reference_attention(block, x, *grid),
                                   rtol=1e-5, atol=1e-5)


def test_irb_is_expand_depthwise_project_in_a_residual():
    torch.manual_seed(0)
    block = IRMB(16, 16, 4.0, 1, 3, None, torch.nn.ReLU6, torch.nn.BatchNorm2d).eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        hidden = block.v(x)
        expected = x + block.proj(hidden + block.conv_local(hidden))
        torch.testing.assert_close(block(x), expected)
    assert block.v.conv.out_channels == 64 and block.conv_local.conv.groups == 64
    down = IRMB(16, 32, 4.0, 2, 3, None, torch.nn.ReLU6, torch.nn.BatchNorm2d)
    assert not down.has_skip and down(x).shape == (2, 32, 4, 4)


def _official_from_mmplug(sd, classifier):
    """mmplug's EMO keys -> the official repository's (zhangzjn/EMO,
    model/emo.py): stage0.0.convs.0.{0,1} stem, stage0.1 its iRB,
    stage{k}.{j} blocks, LayerNorm2d wrapping nn.LayerNorm as `.norm`,
    final `norm` and `head` in the classifier."""
    out = {}
    for k, v in sd.items():
        k = re.sub(r'^stem\.0\.(conv|norm)\.',
                   lambda m: f"stage0.0.convs.0.{'01'[m[1] == 'norm']}.", k)
        k = k.replace('stem.1.', 'stage0.1.')
        k = re.sub(r'^stages\.(\d+)\.blocks\.',
                   lambda m: f'stage{int(m[1]) + 1}.', k)
        k = re.sub(r'^norm4\.', 'norm.', k)
        k = k.replace('head.fc.', 'head.')
        out[k] = v
    if classifier:  # the channels-first LayerNorms: stages 3, 4 and the final norm
        out = {re.sub(r'^((?:stage[34]\.\d+\.)?norm)\.(weight|bias)$', r'\1.norm.\2', k): v
               for k, v in out.items()}
    return out


def test_official_classifier_layout_loads_with_no_unexpected_key(tmp_path):
    torch.manual_seed(0)
    classifier = build_model(ROOT / 'configs/cls/emo_1m_in1k.py').eval()
    sd = {k.replace('backbone.', ''): v for k, v in classifier.state_dict().items()}
    official = _official_from_mmplug(sd, classifier=True)
    assert 'stage0.0.convs.0.0.weight' in official and 'stage3.1.norm.norm.weight' in official
    assert 'norm.norm.weight' in official and 'head.weight' in official
    assert convert_emo(official) == sd
    assert convert_emo(sd) == sd

    path = tmp_path / 'EMO_1M_net.pth'
    torch.save(official, path)
    backbone = EMO('1m', out_indices=(4, ), out_norm_cfg=dict(type='LN2d', eps=1e-6))
    report = load_pretrained(backbone, str(path), backbone.convert_checkpoint,
                             backbone.optional_keys)
    assert report.missing == [] and sorted(report.unused) == ['head.fc.bias', 'head.fc.weight']
    # a detection backbone takes the same file: the final norm is optional
    det = EMO('1m', out_indices=(1, 2, 3, 4))
    report = load_pretrained(det, str(path), det.convert_checkpoint, det.optional_keys)
    assert report.missing == []
    assert sorted(report.unused) == ['head.fc.bias', 'head.fc.weight', 'norm4.bias',
                                     'norm4.weight']
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = classifier.backbone(x)[0]
        torch.testing.assert_close(backbone.eval()(x)[0], expected)
        torch.testing.assert_close(backbone.norm4(det.eval()(x)[-1]), expected)


def test_wrong_checkpoints_and_settings_are_refused(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save(EMO('1m').state_dict(), path)
    model = EMO('5m', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointMismatchError, match='shape mismatches'):
        model.init_weights()
    torch.save({'conv1.weight': torch.zeros(1)}, path)
    with pytest.raises(CheckpointMismatchError, match='not an EMO state dict'):
        model.init_weights()
    with pytest.raises(ValueError, match=r'window_size needs one value or one per stage \(4\)'):
        EMO('1m', window_size=[7, 7])
    with pytest.raises(ValueError, match='do not split into heads'):
        IRMB(30, 30, 2.0, 1, 3, None, torch.nn.GELU, torch.nn.BatchNorm2d, head_dim=16)


def test_stage_norms_and_windows_follow_the_arguments():
    bn, ln = dict(type='BN', eps=1e-6), dict(type='LN2d', eps=1e-6)
    model = EMO('5m', window_size=[7, 7, 10, 16], out_indices=(0, 1, 2, 3, 4),
                out_norm_cfg=[bn, bn, bn, ln, ln])
    assert isinstance(model.stages[2].blocks[1].norm, LayerNorm2d)
    assert isinstance(model.stages[0].blocks[1].norm, torch.nn.BatchNorm2d)
    assert model.stages[2].blocks[1].window_size == 10
    assert model.stages[3].blocks[1].window_size == 16
    assert model.stages[2].blocks[0].head_dim is None  # the downsampling block has no attention
    assert isinstance(model.norm4, LayerNorm2d) and isinstance(model.norm0, torch.nn.BatchNorm2d)
