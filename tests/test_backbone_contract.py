"""The one backbone contract, checked over every arch of every backbone."""
import math
from unittest import mock

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmplug.models.backbones import BACKBONES, EMO, ConvNeXt, FasterNet, InceptionNeXt

CASES = [pytest.param(cls, arch, id=f'{cls.__name__}-{arch}')
         for cls in BACKBONES for arch in cls.arch_settings]
# What does not depend on the variant is checked on each family's smallest
# (the first in its table).
SMALLEST = [pytest.param(cls, next(iter(cls.arch_settings)), id=cls.__name__)
            for cls in BACKBONES]


TINY_CONVNEXT = dict(depths=[1] * 4, channels=[8, 16, 32, 64], mlp_ratios=[4] * 4)


def _build(cls, arch, **kwargs):
    torch.manual_seed(0)
    return cls(arch=arch, **kwargs)


@pytest.mark.parametrize('cls,arch', CASES)
def test_contract(cls, arch):
    """Every arch: metadata without a forward pass that matches the forward,
    and bad arguments refused before anything is built."""
    n = len(cls.arch_settings[arch]['channels']) + (cls.__name__ == 'EMO')  # EMO: + the stem
    model = _build(cls, arch, out_indices=tuple(range(n)))
    shapes = model.output_shape()
    assert len(model.levels) == n
    assert [s.channels for s in shapes] == list(model.out_channels)
    assert [s.stride for s in shapes] == list(model.out_strides)
    assert list(model.out_strides) == sorted(model.out_strides)

    # forward: a tuple of NCHW tensors that match the metadata, any input size,
    # laid out as NCHW too (mmcv's RoIAlign reads its input's memory as NCHW)
    model.eval()
    for h, w in [(64, 64), (67, 45)]:
        with torch.no_grad():
            outs = model(torch.randn(1, 3, h, w))
        assert isinstance(outs, tuple) and len(outs) == len(model.out_indices)
        for out, spec in zip(outs, shapes):
            assert out.shape == (1, spec.channels, math.ceil(h / spec.stride),
                                 math.ceil(w / spec.stride))
            assert out.is_contiguous()

    # checked before building: no conv is made on the way to the error
    n_stages = len(model.stages)
    with mock.patch.object(torch.nn.Conv2d, '__init__', side_effect=AssertionError('built')):
        with pytest.raises(ValueError, match=rf'out_indices entry {n} is out of range'):
            cls(arch=arch, out_indices=(0, n))
        with pytest.raises(ValueError, match='twice'):
            cls(arch=arch, out_indices=(1, -n + 1))
        with pytest.raises(ValueError, match='frozen_stages'):
            cls(arch=arch, frozen_stages=n_stages + 1)


@pytest.mark.parametrize('cls,arch', SMALLEST)
def test_out_indices_int_and_negative(cls, arch):
    model = _build(cls, arch)
    n = len(model.levels)
    last = _build(cls, arch, out_indices=-1)
    assert last.out_indices == (n - 1, ) and last.output_shape() == (model.levels[-1], )
    with torch.no_grad():
        assert last.eval()(torch.randn(1, 3, 64, 64))[0].shape[1] == model.levels[-1].channels
    assert _build(cls, arch, out_indices=[-1, 0]).out_indices == (0, n - 1)


@pytest.mark.parametrize('cls,arch', SMALLEST)
def test_training_modes(cls, arch):
    n_stages = len(cls(arch=arch).stages)
    for frozen in range(-1, n_stages + 1):
        model = _build(cls, arch, frozen_stages=frozen).train()
        frozen_modules = ([model.stem] if frozen >= 0 else []) + list(model.stages[:max(frozen, 0)])
        frozen_params = {id(p) for m in frozen_modules for p in m.parameters()}
        for p in model.parameters():
            assert p.requires_grad == (id(p) not in frozen_params)
        for m in frozen_modules:
            assert all(not sub.training for sub in m.modules())

    # norm_eval: every BatchNorm in eval mode, everything else training
    # (ConvNeXt has LayerNorms only, so there it changes nothing)
    model = _build(cls, arch, norm_eval=True).train()
    for m in model.modules():
        assert m.training != isinstance(m, _BatchNorm)
    assert cls.__name__ == 'ConvNeXt' or any(isinstance(m, _BatchNorm) for m in model.modules())
    assert _build(cls, arch, norm_eval=False).train().stem.training


@pytest.mark.parametrize('cls,arch', SMALLEST)
def test_backward_and_checkpointing(cls, arch):
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for with_cp in (False, True):
        model = _build(cls, arch, with_cp=with_cp, drop_path_rate=0.0).train()
        loss = sum(o.float().pow(2).mean() for o in model(x))
        loss.backward()
        stem_grad = next(model.stem.parameters()).grad
        assert stem_grad is not None and stem_grad.abs().sum() > 0
        grads.append(stem_grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('cls', BACKBONES)
def test_arch_by_name_or_dict(cls):
    name, settings = next(iter(cls.arch_settings.items()))
    by_dict = cls(arch=dict(settings))
    by_name = cls(arch=name.upper())
    assert by_dict.arch == by_name.arch == settings
    assert sum(p.numel() for p in by_dict.parameters()) == sum(
        p.numel() for p in by_name.parameters())

    with pytest.raises(ValueError, match='unknown arch .*known archs: ' +
                       ', '.join(sorted(cls.arch_settings))):
        cls(arch='no-such-arch')
    with pytest.raises(ValueError, match='custom arch dict needs exactly the keys'):
        cls(arch=dict(depths=[1, 1, 1, 1]))
    with pytest.raises(ValueError, match='must have one length'):
        cls(arch=dict(settings, depths=settings['depths'][:-1]))


BN, LN = dict(type='BN', eps=1e-6), dict(type='LN2d', eps=1e-6)


@pytest.mark.parametrize('cls,old,new', [
    (FasterNet, dict(arch='t0', out_norm=False), dict(arch='t0', out_norm_cfg=None)),
    (FasterNet, dict(arch='t0', out_norm=True), dict(arch='t0', out_norm_cfg=dict(type='BN'))),
    (InceptionNeXt, dict(arch='atto', square_kernel_size=5, mlp_ratios=[2, 2, 3, 3]),
     dict(arch='atto', kernel_size=5, mlp_ratio=[2, 2, 3, 3])),
    (ConvNeXt, dict(arch=TINY_CONVNEXT, mlp_ratios=[2] * 4),
     dict(arch=TINY_CONVNEXT, mlp_ratio=2)),
    (EMO, dict(arch='1m', kernel_sizes=[3, 3, 3, 5], out_norm=True, out_indices=(0, 4)),
     dict(arch='1m', kernel_size=[3, 3, 3, 5], out_norm_cfg=[BN, BN, BN, LN, LN],
          out_indices=(0, 4))),
], ids=['FasterNet-out_norm-off', 'FasterNet-out_norm-on', 'InceptionNeXt', 'ConvNeXt', 'EMO'])
def test_deprecated_argument_names_build_the_same_model(cls, old, new):
    with pytest.warns(FutureWarning, match='is deprecated; use'):
        by_old = _build(cls, **old)
    by_new = _build(cls, **new)
    assert repr(by_old) == repr(by_new)
    for (k1, v1), (k2, v2) in zip(by_old.state_dict().items(), by_new.state_dict().items(),
                                  strict=True):
        assert k1 == k2 and torch.equal(v1, v2)
    with pytest.raises(TypeError, match=r"unexpected arguments \['no_such_arg'\]"):
        cls(arch=new['arch'], no_such_arg=1)
