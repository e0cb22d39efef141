"""The one backbone contract, checked over every arch of every backbone."""
import math

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmplug.models.backbones import BACKBONES

CASES = [pytest.param(cls, arch, id=f'{cls.__name__}-{arch}')
         for cls in BACKBONES for arch in cls.arch_settings]


def _build(cls, arch, **kwargs):
    torch.manual_seed(0)
    return cls(arch=arch, **kwargs)


@pytest.mark.parametrize('cls,arch', CASES)
def test_contract(cls, arch):
    n = len(_build(cls, arch).levels)
    model = _build(cls, arch, out_indices=tuple(range(n)))
    # metadata without a forward pass
    shapes = model.output_shape()
    assert [s.channels for s in shapes] == list(model.out_channels)
    assert [s.stride for s in shapes] == list(model.out_strides)
    assert list(model.out_strides) == sorted(model.out_strides)

    # forward: a tuple of NCHW tensors that match the metadata, any input size
    model.eval()
    for h, w in [(64, 64), (67, 45)]:
        with torch.no_grad():
            outs = model(torch.randn(2, 3, h, w))
        assert isinstance(outs, tuple) and len(outs) == len(model.out_indices)
        for out, spec in zip(outs, shapes):
            assert out.shape == (2, spec.channels, math.ceil(h / spec.stride),
                                 math.ceil(w / spec.stride))

    # out_indices: an int, negatives, and clear errors
    last = _build(cls, arch, out_indices=-1)
    assert last.out_indices == (n - 1, ) and last.output_shape() == (model.levels[-1], )
    assert _build(cls, arch, out_indices=[-1, 0]).out_indices == (0, n - 1)
    with pytest.raises(ValueError, match=rf'out_indices entry {n} is out of range'):
        _build(cls, arch, out_indices=(0, n))
    with pytest.raises(ValueError, match='twice'):
        _build(cls, arch, out_indices=(1, -n + 1))


@pytest.mark.parametrize('cls,arch', CASES)
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
    with pytest.raises(ValueError, match='frozen_stages'):
        _build(cls, arch, frozen_stages=n_stages + 1)

    # norm_eval: every BatchNorm in eval mode, everything else training
    # (ConvNeXt has LayerNorms only, so there it changes nothing)
    model = _build(cls, arch, norm_eval=True).train()
    for m in model.modules():
        assert m.training != isinstance(m, _BatchNorm)
    assert cls.__name__ == 'ConvNeXt' or any(isinstance(m, _BatchNorm) for m in model.modules())
    assert _build(cls, arch, norm_eval=False).train().stem.training


@pytest.mark.parametrize('cls,arch', CASES)
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
