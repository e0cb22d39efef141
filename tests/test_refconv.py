"""RefConv: the layer against a direct computation, its gradients, its
registration in mmcv, refocusing built models, and loading plain
checkpoints into refocused twins."""
import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer
from mmengine.registry import init_default_scope
from torch import nn

from mmplug import FasterNet, RefConv, refocus, switch_to_deploy
from mmplug.models.checkpoint import CheckpointMismatchError, load_pretrained


def direct_kernel(layer: RefConv) -> torch.Tensor:
    """``weight + map(weight)`` computed kernel by kernel: map output kernel
    ``a`` is the sum over the kernels ``b`` of its group of
    ``conv(kernel_b, M[a, b - group start])``."""
    w = layer.weight
    kernels = w.reshape(-1, *w.shape[2:])
    m = layer.convmap.weight
    per_group = m.shape[1]
    pad = layer.convmap.padding
    out = torch.zeros_like(kernels)
    for a in range(kernels.shape[0]):
        start = a // per_group * per_group
        for j in range(per_group):
            out[a] += F.conv2d(kernels[start + j][None, None], m[a, j][None, None],
                               padding=pad)[0, 0]
    return w + out.view_as(w)


@pytest.mark.parametrize('in_ch,out_ch,kernel,groups,map_shape', [
    (4, 6, 3, 1, (24, 1, 3, 3)),  # dense: one map per 2-D kernel
    (6, 6, 3, 6, (6, 6, 3, 3)),  # depthwise: one map across all kernels
    (4, 6, 3, 2, (12, 2, 3, 3)),  # grouped
    (4, 4, (1, 7), 4, (4, 4, 1, 3)),  # band kernel: the map is 1x3
])
def test_refconv_convolves_with_base_plus_map(in_ch, out_ch, kernel, groups, map_shape):
    torch.manual_seed(0)
    layer = RefConv(in_ch, out_ch, kernel, stride=2, padding=1, groups=groups, bias=True,
                    map_init='random')
    assert tuple(layer.convmap.weight.shape) == map_shape
    x = torch.randn(2, in_ch, 9, 11)
    expected = F.conv2d(x, direct_kernel(layer), layer.bias, 2, 1, 1, groups)
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_gradients_reach_the_map_and_not_the_base():
    torch.manual_seed(0)
    layer = RefConv(4, 4, 3, padding=1, map_init='random')
    assert 'weight' in dict(layer.named_buffers())
    assert set(dict(layer.named_parameters())) == {'bias', 'convmap.weight'}
    base = layer.weight.clone()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(torch.randn(2, 4, 8, 8)).square().mean().backward()
    assert layer.convmap.weight.grad.abs().sum() > 0
    assert layer.weight.grad is None
    before = layer.convmap.weight.detach().clone()
    optimizer.step()
    assert torch.equal(layer.weight, base)
    assert not torch.equal(layer.convmap.weight, before)


def test_refconv_folds_into_a_plain_conv():
    torch.manual_seed(0)
    layer = RefConv(4, 8, 3, padding=1, dilation=1, map_init='random').eval()
    x = torch.randn(1, 4, 10, 10)
    expected = layer(x)
    layer.switch_to_deploy()
    layer.switch_to_deploy()  # idempotent
    assert layer.convmap is None and isinstance(layer.weight, nn.Parameter)
    assert layer.state_dict().keys() == nn.Conv2d(4, 8, 3).state_dict().keys()
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-6)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match='map_kernel_size must be odd, got 2'):
        RefConv(4, 4, 3, map_kernel_size=2)
    with pytest.raises(ValueError, match=r"unknown map_init 'ones'; choose from \('zero', "):
        RefConv(4, 4, 3, map_init='ones')
    with pytest.raises(ValueError, match=r"matches include='\^head'"):
        refocus(nn.Sequential(nn.Conv2d(3, 3, 3)), include='^head')


def test_mmcv_builds_refconv_and_mmdet_resnet_takes_it():
    layer = build_conv_layer(dict(type='RefConv', map_kernel_size=5), 8, 8, 3, padding=1)
    assert isinstance(layer, RefConv) and layer.convmap.weight.shape[-1] == 5
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    resnet = MODELS.build(dict(type='ResNet', depth=18, conv_cfg=dict(type='RefConv')))
    assert isinstance(resnet.layer1[0].conv2, RefConv)
    assert len(resnet(torch.randn(1, 3, 64, 64))) == 4


def test_refocused_resnet_from_a_config_starts_as_the_pretrained_one():
    """The config form: mmdet builds `mmplug.Refocus`, then the usual
    init (Kaiming, then the checkpoint) fills the bases; zero maps stay
    zero, so the refocused backbone computes what the plain one does."""
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    plain = MODELS.build(dict(type='ResNet', depth=18, init_cfg=None))
    plain.init_weights()
    plain.eval()  # mmdet's ResNet.train() returns None
    refocused = MODELS.build(dict(type='mmplug.Refocus', module=dict(type='ResNet', depth=18)))
    refocused.init_weights()  # Kaiming on the bases; the maps keep their start
    assert all(m.convmap.weight.abs().sum() == 0 for m in refocused.modules()
               if isinstance(m, RefConv))
    missing = refocused.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(k.endswith('convmap.weight') for k in missing)
    refocused.eval()
    x = torch.randn(1, 3, 64, 64)
    for a, b in zip(refocused(x), plain(x)):
        torch.testing.assert_close(a, b)


def test_refocus_keeps_outputs_at_zero_start_and_changes_them_at_random_start():
    torch.manual_seed(0)
    model = FasterNet('t0', init_cfg=None).eval()
    plain_state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(1, 3, 64, 64)
    expected = model(x)
    n_spatial = sum(max(m.kernel_size) > 1 for m in model.modules() if isinstance(m, nn.Conv2d))
    refocus(model)
    assert sum(isinstance(m, RefConv) for m in model.modules()) == n_spatial
    for a, b in zip(model(x), expected):
        torch.testing.assert_close(a, b)

    part = refocus(FasterNet('t0', init_cfg=None), include=r'^stages\.0\.')
    assert {n.split('.')[1] for n, m in part.named_modules() if isinstance(m, RefConv)} == {'0'}

    paper_start = FasterNet('t0', init_cfg=None).eval()
    paper_start.load_state_dict(plain_state)
    refocus(paper_start, map_init='random')
    assert not torch.allclose(paper_start(x)[0], expected[0])


def test_plain_checkpoint_loads_into_refocused_twin_with_only_maps_missing(tmp_path):
    torch.manual_seed(0)
    plain = FasterNet('t0', init_cfg=None)
    path = tmp_path / 'plain.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in plain.state_dict().items()}},
               path)
    twin = FasterNet('t0', conv_cfg=dict(type='RefConv'), init_cfg=None)
    report = load_pretrained(twin, str(path), FasterNet.convert_checkpoint,
                             FasterNet.optional_keys)
    maps = sorted(k for k in twin.state_dict() if k.endswith('convmap.weight'))
    assert maps and sorted(report.missing) == maps
    assert not report.unused
    x = torch.randn(1, 3, 64, 64)
    for a, b in zip(twin.eval()(x), plain.eval()(x)):
        torch.testing.assert_close(a, b)
    # the other way loses the maps, so it is refused, saying why
    path2 = tmp_path / 'refocused.pth'
    torch.save({'state_dict': twin.state_dict()}, path2)
    with pytest.raises(CheckpointMismatchError, match='RefConv maps'):
        load_pretrained(FasterNet('t0', init_cfg=None), str(path2),
                        FasterNet.convert_checkpoint, FasterNet.optional_keys)


def test_frozen_stages_freeze_the_maps_too():
    model = FasterNet('t0', frozen_stages=1, conv_cfg=dict(type='RefConv'), init_cfg=None)
    model.train()
    frozen = [p.requires_grad for n, p in model.named_parameters()
              if 'convmap' in n and n.startswith(('stem.', 'stages.0.'))]
    trainable = [p.requires_grad for n, p in model.named_parameters()
                 if 'convmap' in n and n.startswith('stages.1.')]
    assert frozen and not any(frozen)
    assert trainable and all(trainable)


def test_refocused_model_switches_to_plain_convs():
    torch.manual_seed(0)
    model = refocus(FasterNet('t0', init_cfg=None), map_init='random').eval()
    x = torch.randn(1, 3, 64, 64)
    expected = model(x)
    switch_to_deploy(model)
    assert not any(k.endswith('convmap.weight') for k in model.state_dict())
    for a, b in zip(model(x), expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
