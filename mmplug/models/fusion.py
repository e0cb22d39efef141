"""Fused convolutions of the deploy forms, and the one place that calls
oneDNN's private ops.

``switch_to_deploy()`` swaps a conv followed by an activation for
:class:`ConvAct`, and a conv whose output is added to a shortcut for
:class:`ConvAdd`. Both are ``nn.Conv2d`` subclasses that keep the conv's
parameters, so a deploy checkpoint has the keys it had. On the CPU, in fp32
or bfloat16 and without gradients, each runs as one call of
``torch.ops.mkldnn._convolution_pointwise`` with the activation or the add as
a post-op (what ``torch.compile``'s CPU backend emits), so the conv's output
is written once instead of being written, read and written again: a 1x1 conv
+ GELU at 8x96x56x56 -> 384 channels measured 25.5 ms fused against 40.9 ms
unfused in channels_last (43.8 against 57.4 ms in NCHW) on 2 threads
(``tools/analysis/block_forms.py``). Anywhere else
(training, tracing, ONNX export, other devices and dtypes) they compute the
plain composition with public ops, and so does everything when
:func:`onednn_fusion_available` finds the private ops missing or changed.

With a channels_last input the weight is also kept in oneDNN's blocked layout
between calls (a non-persistent buffer, rebuilt when the weight or the input
shape changes) instead of being reordered at every call; that pays most at
batch 1. It is not done for NCHW inputs: there oneDNN runs a blocked-format
primitive on the packed weight whose accumulation order differs from the
plain conv's, so results differ at rounding level (about 1e-6), while in
channels_last both run the same primitive and agree bit for bit (measured;
``tests/test_deploy.py``). Such rounding differences had flipped boxes at the
score threshold of the demo detector.
"""
import functools
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

# oneDNN's names for the activations it can apply to a conv's output
ONEDNN_ACTS = {nn.ReLU: 'relu', nn.GELU: 'gelu', nn.SiLU: 'swish', nn.Hardswish: 'hardswish',
               nn.Sigmoid: 'sigmoid', nn.Tanh: 'tanh', nn.Hardsigmoid: 'hardsigmoid'}


def _conv_args(conv: nn.Conv2d, weight: torch.Tensor) -> tuple:
    return (weight, conv.bias, list(conv.padding), list(conv.stride), list(conv.dilation),
            conv.groups)


def _pointwise(x: torch.Tensor, args: tuple, act: Optional[nn.Module]) -> torch.Tensor:
    if act is None:
        return torch.ops.mkldnn._convolution_pointwise(x, *args, 'none', [], None)
    algorithm = act.approximate if isinstance(act, nn.GELU) else None
    return torch.ops.mkldnn._convolution_pointwise(x, *args, ONEDNN_ACTS[type(act)], [],
                                                   algorithm)


def _pointwise_add(x: torch.Tensor, other: torch.Tensor, args: tuple) -> torch.Tensor:
    return torch.ops.mkldnn._convolution_pointwise(x, other, *args, 'add', 1.0, None, [], None)


def _pack(conv: nn.Conv2d, shape: Tuple[int, ...]) -> torch.Tensor:
    return torch.ops.mkldnn._reorder_convolution_weight(
        conv.weight.detach(), list(conv.padding), list(conv.stride), list(conv.dilation),
        conv.groups, list(shape))


#: The dtypes the fused path may run in (bfloat16: :mod:`mmplug.precision`).
FUSED_DTYPES = (torch.float32, torch.bfloat16)


@functools.lru_cache(maxsize=None)
def onednn_fusion_available(dtype: torch.dtype = torch.float32) -> bool:
    """Whether the private oneDNN ops exist with the signatures used here
    and compute what public ops do in ``dtype``, tried once on a tiny input."""
    if not torch.backends.mkldnn.is_available() or dtype not in FUSED_DTYPES:
        return False
    if dtype == torch.bfloat16 and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    atol = 1e-5 if dtype == torch.float32 else 5e-2
    try:
        with torch.no_grad():
            conv = nn.Conv2d(4, 4, 1).to(dtype)
            x = torch.randn(1, 4, 3, 3).to(dtype).contiguous(memory_format=torch.channels_last)
            other = torch.randn(1, 4, 3, 3).to(dtype)
            plain = conv(x)
            packed = _pack(conv, tuple(x.shape))
            ok = (torch.allclose(_pointwise(x, _conv_args(conv, conv.weight), nn.GELU()).float(),
                                 F.gelu(plain).float(), atol=atol)
                  and torch.allclose(_pointwise_add(x, other, _conv_args(conv, packed)).float(),
                                     (plain + other).float(), atol=atol))
    except (AttributeError, RuntimeError, TypeError):
        return False
    return bool(ok)


class _FusedConv(nn.Conv2d):
    """An ``nn.Conv2d`` that may run through oneDNN in inference."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer('packed_weight', None, persistent=False)
        self._packed_for = None

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, **extra) -> '_FusedConv':
        """A fused conv with ``conv``'s parameters (the same tensors)."""
        if type(conv) is not nn.Conv2d:
            raise TypeError(f'{cls.__name__} replaces a plain nn.Conv2d, got '
                            f'{type(conv).__name__}')
        fused = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                    conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                    conv.padding_mode, device='meta', **extra)
        fused.weight, fused.bias = conv.weight, conv.bias
        return fused.train(conv.training)

    def _fusable(self, x: torch.Tensor) -> bool:
        return (x.device.type == 'cpu' and x.dtype == self.weight.dtype
                and (self.bias is None or self.bias.dtype == x.dtype)
                and self.padding_mode == 'zeros'
                and not isinstance(self.padding, str)
                and not (torch.is_grad_enabled() and (x.requires_grad
                                                      or self.weight.requires_grad))
                and not (torch.jit.is_tracing() or torch.jit.is_scripting()
                         or torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export())
                and onednn_fusion_available(x.dtype))

    def _args(self, x: torch.Tensor) -> tuple:
        weight = self.weight
        if x.is_contiguous(memory_format=torch.channels_last):
            key = (weight._version, tuple(x.shape))
            packed_for = self._packed_for
            if packed_for is None or packed_for[0] is not weight or packed_for[1:] != key:
                self.packed_weight = _pack(self, key[1])
                self._packed_for = (weight, ) + key
            weight = self.packed_weight
        return _conv_args(self, weight)

    def __getstate__(self) -> dict:
        # oneDNN's blocked tensor has no storage to copy or pickle; it is rebuilt
        state = dict(self.__dict__, _packed_for=None)
        state['_buffers'] = dict(self._buffers, packed_weight=None)
        return state

    def _apply(self, fn, recurse=True):
        self.packed_weight, self._packed_for = None, None  # rebuilt for the new device/dtype
        return super()._apply(fn, recurse)


class ConvAct(_FusedConv):
    """``act(conv(x))``, as one oneDNN call where possible.

    Args:
        act: The activation; one of ``ONEDNN_ACTS``'s types.
        *args, **kwargs: Those of ``nn.Conv2d``.
    """

    def __init__(self, *args, act: nn.Module, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_fuse_act(act):
            raise ValueError(f'ConvAct fuses {sorted(t.__name__ for t in ONEDNN_ACTS)}, '
                             f'not {type(act).__name__}')
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fusable(x):
            return _pointwise(x, self._args(x), self.act)
        return self.act(super().forward(x))


class ConvAdd(_FusedConv):
    """``conv(x) + other``, as one oneDNN call where possible (``other``, a
    shortcut, has the conv's output shape)."""

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        if self._fusable(x) and other.shape[1] == self.out_channels:
            return _pointwise_add(x, other, self._args(x))
        return super().forward(x) + other


def can_fuse_act(act: nn.Module) -> bool:
    """Whether :class:`ConvAct` takes ``act``."""
    return type(act) in ONEDNN_ACTS
