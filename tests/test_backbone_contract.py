"""The one backbone contract, checked over every arch of every backbone."""
import inspect
import math
import re
from unittest import mock

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmplug.models.backbones import (
    BACKBONES,
    EMO,
    BaseBackbone,
    ConvNeXt,
    FasterNet,
    InceptionNeXt,
    ShapeSpec,
)
from mmplug.models.layers import Stage

CASES = [pytest.param(cls, arch, id=f'{cls.__name__}-{arch}')
         for cls in BACKBONES for arch in cls.arch_settings]
# What does not depend on the variant is checked on each family's smallest
# (the first in its table).
SMALLEST = [pytest.param(cls, next(iter(cls.arch_settings)), id=cls.__name__)
            for cls in BACKBONES]


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


def _declared(c) -> list:
    """The arguments ``c.__init__`` itself declares (not ``self``, not
    ``**kwargs``)."""
    params = inspect.signature(c.__init__).parameters.values()
    return [p for p in params if p.name != 'self' and p.kind is not p.VAR_KEYWORD]


def _documented(c) -> set:
    return set(re.findall(r'^        (\w+):', c.__doc__ or '', re.M))


@pytest.mark.parametrize('cls', BACKBONES)
def test_arguments_are_keyword_only_and_documented_once(cls):
    """``arch`` is the one positional argument; every argument is declared
    and documented by one class of the chain (a subclass redeclares a shared
    one only to change its default), and an unknown or removed name is a
    TypeError that names it."""
    arch = next(iter(cls.arch_settings))
    chain = [c for c in cls.__mro__ if issubclass(c, BaseBackbone)]
    for c in chain:
        args = _declared(c)
        assert args[0].name == 'arch' and args[0].kind is args[0].POSITIONAL_OR_KEYWORD
        assert all(p.kind is p.KEYWORD_ONLY for p in args[1:]), (c, args)
        ancestors = set().union(*(_documented(a) for a in chain[chain.index(c) + 1:]))
        names = {p.name for p in args}
        assert _documented(c) <= names, (c, _documented(c) - names)
        assert names <= _documented(c) | ancestors, (c, names - _documented(c) - ancestors)

    assert list(inspect.signature(cls).parameters)[:2] == ['arch', _declared(cls)[1].name]
    with pytest.raises(TypeError, match='positional argument'):
        cls(arch, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'no_such_arg'"):
        cls(arch=arch, no_such_arg=1)
    defaults = cls.defaults()  # the class's own defaults over its bases'
    assert set(defaults) == {p.name for c in chain for p in _declared(c)
                             if p.default is not p.empty}
    built = cls(arch)
    assert (built.frozen_stages, built.norm_eval, built.with_cp) == (
        defaults['frozen_stages'], defaults['norm_eval'], defaults['with_cp'])
    assert built.out_indices == tuple(sorted(i % len(built.levels) for i in (
        [defaults['out_indices']] if isinstance(defaults['out_indices'], int)
        else defaults['out_indices'])))
    assert built.out_norm == (defaults['out_norm_cfg'] is not None)
    # the internal layers take their flags by keyword too
    assert [p.name for p in inspect.signature(Stage).parameters.values()
            if p.kind is not p.KEYWORD_ONLY] == ['blocks', 'downsample']


# Names that an unreleased mmplug took and that are gone, not deprecated.
REMOVED = [(FasterNet, 'out_norm', True), (InceptionNeXt, 'square_kernel_size', 5),
           (InceptionNeXt, 'mlp_ratios', [4] * 4), (ConvNeXt, 'mlp_ratios', [4] * 4),
           (EMO, 'kernel_sizes', [3] * 4), (EMO, 'out_norm', True)]


@pytest.mark.parametrize('cls,name,value', REMOVED,
                         ids=[f'{c.__name__}-{n}' for c, n, _ in REMOVED])
def test_removed_argument_names_are_refused(cls, name, value):
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{name}'"):
        cls(arch=next(iter(cls.arch_settings)), **{name: value})


def test_construction_order_cannot_go_wrong():
    """A subclass stores its arguments after ``super().__init__`` (the base
    builds once every ``__init__`` has run, and asks the subclass's
    ``levels_of`` first); one that builds nothing fails with a message."""
    emo = EMO('1m', stem_channels=16, out_indices=(0, 4))
    assert emo.output_shape()[0] == ShapeSpec(16, 2)
    assert emo.stem[0].conv.out_channels == 16

    class NoLayers(BaseBackbone):
        arch_settings = {'a': dict(depths=[1], channels=[8])}

    with pytest.raises(NotImplementedError, match='NoLayers must implement build_layers'):
        NoLayers('a', out_indices=0)

    class WrongLayers(NoLayers):
        def build_layers(self, conv_layer, drop_path_rates):
            return conv_layer(3, 8, 4, 4), None

    with pytest.raises(TypeError, match=r'build_layers must return \(stem, stages\)'):
        WrongLayers('a', out_indices=0)

    class OneStage(NoLayers):
        def __init__(self, arch='a', *, width_mult: int = 1, **kwargs):
            super().__init__(arch, **kwargs)
            self.width_mult = width_mult

        def levels_of(self, arch):
            return [ShapeSpec(c * self.width_mult, 4) for c in arch['channels']]

        def build_layers(self, conv_layer, drop_path_rates):
            c = self.levels[0].channels
            return (conv_layer(self.in_channels, c, 4, 4),
                    torch.nn.ModuleList([Stage([torch.nn.Identity()])]))

    model = OneStage(width_mult=2, out_indices=0, out_norm_cfg=dict(type='BN'), frozen_stages=1)
    assert model.out_channels == (16, ) and isinstance(model.norm0, _BatchNorm)
    assert not any(p.requires_grad for p in model.parameters() if p is not model.norm0.weight
                   and p is not model.norm0.bias)
    assert model(torch.randn(1, 3, 9, 9))[0].shape == (1, 16, 3, 3)
