"""RefConv: re-parameterized refocusing convolution.

Paper: Cai et al., "RefConv: Re-parameterized Refocusing Convolution for
Powerful ConvNets", https://arxiv.org/abs/2310.10563
Official code: https://github.com/Aiolus-X/RefConv (MIT licence); this is an
independent implementation with the official parameter names (``weight``,
``convmap.weight``), a fold into a plain conv, and zero-start refocusing of
existing models.

A RefConv keeps a frozen base kernel ``weight`` (a buffer, so a plain conv's
pretrained ``weight`` loads into it as it is) and learns a refocusing map, a
convolution over the stack of 2-D kernels, and convolves with
``weight + convmap(weight)``. After training :meth:`RefConv.switch_to_deploy`
folds it into a plain convolution.
"""
import re
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import nn

from ..registry import build_wrapped
from .reparam import replace_spatial_convs

MAP_INITS = ('zero', 'random')


class RefocusMap(nn.Module):
    """The learnable map of a RefConv: a convolution over the ``n`` 2-D
    kernels of a conv, seen as an ``n``-channel image of the kernel's size.

    Its class is not a ``Conv2d`` on purpose: the layer-name initialisers of
    OpenMMLab models (``dict(type='Kaiming', layer='Conv2d')``) then leave it
    as it was built, so a zero map stays zero.

    Args:
        num_kernels: Number of 2-D kernels, ``out * in / groups``.
        groups: Groups of the map conv: ``in * out / groups**2``, which is one
            group per 2-D kernel for a dense conv and one group for a
            depthwise conv.
        kernel_size: Size of the map kernel (odd, per dimension).
        init: ``'zero'`` (the refocused conv starts as its base) or
            ``'random'`` (PyTorch's conv init, as the official code).
    """

    def __init__(self, num_kernels: int, groups: int, kernel_size: Tuple[int, int],
                 init: str = 'zero'):
        super().__init__()
        if init not in MAP_INITS:
            raise ValueError(f'RefConv: unknown map_init {init!r}; choose from {MAP_INITS}')
        self.groups = groups
        self.padding = tuple(k // 2 for k in kernel_size)
        self.weight = nn.Parameter(torch.zeros(num_kernels, num_kernels // groups, *kernel_size))
        if init == 'random':  # nn.Conv2d's default init
            nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, kernels: torch.Tensor) -> torch.Tensor:
        """The map of ``kernels`` (``out, in / groups, kh, kw``), same shape."""
        stack = kernels.reshape(1, -1, *kernels.shape[2:])
        return F.conv2d(stack, self.weight, None, 1, self.padding, 1,
                        self.groups).view_as(kernels)

    def extra_repr(self) -> str:
        return f'{self.weight.shape[0]}, kernel_size={tuple(self.weight.shape[2:])}, ' \
               f'groups={self.groups}'


class RefConv(nn.Conv2d):
    """A conv whose kernel is ``weight + convmap(weight)``: ``weight`` is a
    frozen buffer, ``convmap`` a learnable :class:`RefocusMap`. Takes the
    arguments of ``nn.Conv2d`` (stride, padding, dilation, groups, bias,
    padding mode) and is registered in mmcv's conv-layer registry, so
    ``conv_cfg=dict(type='RefConv')`` builds it.

    The map is depthwise over the 2-D kernels of a dense conv and dense across
    the kernels of a depthwise conv, as in the paper; its kernel is
    ``map_kernel_size`` along every kernel dimension larger than 1 (a 1x11
    band kernel gets a 1x3 map).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Conv kernel size.
        stride: Stride.
        padding: Padding.
        dilation: Dilation.
        groups: Groups.
        bias: Whether the conv has a (learnable) bias.
        padding_mode: As ``nn.Conv2d``.
        map_kernel_size: Kernel size of the map (odd).
        map_init: ``'zero'`` starts the layer as its base conv;
            ``'random'`` is the paper's start.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = 'zeros', map_kernel_size: int = 3,
                 map_init: str = 'zero'):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)
        if map_kernel_size < 1 or map_kernel_size % 2 == 0:
            raise ValueError(f'RefConv: map_kernel_size must be odd, got {map_kernel_size}')
        base = self.weight.detach().clone()  # nn.Conv2d's init, until one is loaded
        del self.weight
        self.register_buffer('weight', base)
        num_kernels = out_channels * in_channels // groups
        self.convmap: Optional[RefocusMap] = RefocusMap(
            num_kernels, in_channels * out_channels // groups**2,
            tuple(map_kernel_size if k > 1 else 1 for k in self.kernel_size), map_init)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, map_kernel_size: int = 3,
                  map_init: str = 'zero') -> 'RefConv':
        """A RefConv with ``conv``'s arguments whose base is ``conv``'s weight
        (and bias), on its device and dtype."""
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                  conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                  conv.padding_mode, map_kernel_size, map_init)
        new.to(device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            new.weight.copy_(conv.weight)
            if conv.bias is not None:
                new.bias.copy_(conv.bias)
                new.bias.requires_grad_(conv.bias.requires_grad)
        new.convmap.requires_grad_(conv.weight.requires_grad)
        new.train(conv.training)
        return new

    def refocused_weight(self) -> torch.Tensor:
        """The kernel the layer convolves with."""
        if self.convmap is None:
            return self.weight
        return self.weight + self.convmap(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.refocused_weight(), self.bias)

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        """Fold the map into the kernel: the layer becomes a plain conv, with
        ``weight`` a parameter and no ``convmap``."""
        if self.convmap is None:
            return
        kernel = self.refocused_weight().detach().clone()
        del self.weight
        self.convmap = None
        self.weight = nn.Parameter(kernel)

    def extra_repr(self) -> str:
        return super().extra_repr() + ('' if self.convmap is not None else ', deployed')



def refocus(model: nn.Module, map_kernel_size: int = 3, map_init: str = 'zero',
            include: Optional[str] = None) -> nn.Module:
    """Replace convolutions of a built (possibly pretrained) model by RefConv
    layers whose bases are their weights, in place.

    With ``map_init='zero'`` (the default) the refocused model computes what
    it computed before, so fine-tuning starts where the pretrained model is.

    Args:
        model: The model.
        map_kernel_size: Kernel size of the maps.
        map_init: ``'zero'`` or ``'random'`` (the paper's start).
        include: A regex searched in each conv's qualified name (e.g.
            ``'^backbone\\.'``); None takes every conv. Only spatial convs
            (kernel larger than 1x1) that are not RefConv already are taken.

    Returns:
        ``model``.

    Raises:
        ValueError: if no convolution was chosen (a wrong ``include``).
    """
    pattern = re.compile(include) if include is not None else None
    replaced = replace_spatial_convs(
        model, lambda conv: RefConv.from_conv(conv, map_kernel_size, map_init),
        lambda name, conv: not isinstance(conv, RefConv)
        and (pattern is None or bool(pattern.search(name))))
    if not replaced:
        raise ValueError(f'refocus: no spatial conv of {type(model).__name__} matches '
                         f'include={include!r}')
    print_log(f'refocus: {len(replaced)} convolutions of {type(model).__name__} are now RefConv '
              f'(map {map_kernel_size}, {map_init} start)', logger='current')
    return model


def build_refocused(module: dict, map_kernel_size: int = 3, map_init: str = 'zero',
                    include: Optional[str] = None, **overrides) -> nn.Module:
    """Config form of :func:`refocus`: build ``module`` (a model, backbone or
    any part, in the config's scope) and refocus it. What comes back is the
    module itself, so its state dict keeps its keys and the ``weight`` of a
    plain checkpoint (its ``init_cfg``'s pretrained one, loaded later by the
    runner) fills the bases, while the maps keep their start.

    ``dict(type='mmplug.Refocus', module=dict(type='ResNet', ...))``. Other
    keys (``init_cfg=None`` from ``--cfg-options``) are merged into
    ``module`` (:func:`mmplug.registry.build_wrapped`).
    """
    return refocus(build_wrapped(module, overrides), map_kernel_size, map_init, include)

