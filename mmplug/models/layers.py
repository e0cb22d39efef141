"""Small building blocks shared by every mmplug backbone.

Each piece lives here once: stochastic depth and its schedule, the 1x1-conv
MLP, a stage, padding for patchify layers, and the translation of
OpenMMLab's ``norm_cfg``/``act_cfg``/``conv_cfg`` dicts into plain layer
factories (so that blocks take callables and never look anything up in a
registry themselves). The folds of the deploy forms are in :mod:`.reparam`.
"""
from typing import Callable, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from torch import nn
from torch.utils.checkpoint import checkpoint

from .reparam import fold_norm_into_prev_conv

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (ConvNeXt's
    "channels_first" LayerNorm), with the parameters of ``nn.LayerNorm``.

    Permuting to NHWC for ``F.layer_norm`` and back measured faster on CPU than
    computing mean and variance over dim 1, and autograd handles it natively.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)


def norm_factory(norm_cfg: dict) -> NormLayer:
    """Turn a ``norm_cfg`` (``dict(type='BN')``, ``'SyncBN'``, ``'LN2d'``, ...)
    into a factory ``channels -> nn.Module``. ``'LN2d'`` is
    :class:`LayerNorm2d` (``eps`` defaults to 1e-6, as in every paper here);
    other types go to mmcv's ``build_norm_layer``."""
    cfg = dict(norm_cfg)
    if cfg.get('type') in ('LN2d', 'LayerNorm2d'):
        unknown = set(cfg) - {'type', 'eps', 'requires_grad'}
        if unknown:
            raise ValueError(f'LN2d takes eps and requires_grad, not {sorted(unknown)}')
        eps, requires_grad = cfg.get('eps', 1e-6), cfg.get('requires_grad', True)

        def build(channels: int) -> nn.Module:
            norm = LayerNorm2d(channels, eps=eps)
            norm.requires_grad_(requires_grad)
            return norm
        return build
    return lambda channels: build_norm_layer(cfg, channels)[1]


def act_factory(act_cfg: Optional[dict]) -> ActLayer:
    """Turn an ``act_cfg`` (``dict(type='GELU')``, ...) into a factory;
    ``None`` gives the identity."""
    if act_cfg is None:
        return nn.Identity
    cfg = dict(act_cfg)
    return lambda: build_activation_layer(cfg)


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch per sample.

    Args:
        drop_prob: Probability of dropping the branch in training.
    """

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f'drop_prob must be in [0, 1), got {drop_prob}')
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0], ) + (1, ) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


def drop_path_rates(depths: Sequence[int], rate: float) -> List[List[float]]:
    """The linear stochastic-depth schedule of the papers, split per stage:
    block ``k`` of ``n`` in the whole network gets ``rate * k / (n - 1)``."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f'drop_path_rate must be in [0, 1), got {rate}')
    flat = torch.linspace(0, rate, sum(depths)).tolist()
    out, start = [], 0
    for depth in depths:
        out.append(flat[start:start + depth])
        start += depth
    return out


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom and right of an NCHW tensor to a multiple of
    ``multiple``, so that a stride-``multiple`` patchify layer sees every
    pixel and the output is ``ceil(size / multiple)``."""
    if torch.onnx.is_in_onnx_export():
        return _PadToMultiple.apply(x, multiple)
    pad_h = -x.shape[-2] % multiple
    pad_w = -x.shape[-1] % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return x


class _PadToMultiple(torch.autograd.Function):
    """:func:`pad_to_multiple` as ONNX computes it: the padding from the
    input's shape in the graph (tracing would freeze the example's)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, multiple: int) -> torch.Tensor:
        return F.pad(x, (0, -x.shape[-1] % multiple, 0, -x.shape[-2] % multiple))

    @staticmethod
    def symbolic(g, x, multiple):
        def const(values):
            return g.op('Constant', value_t=torch.tensor(values, dtype=torch.long))
        hw = g.op('Slice', g.op('Shape', x), const([2]), const([4]))
        m = const([multiple, multiple])
        pad = g.op('Mod', g.op('Sub', m, g.op('Mod', hw, m)), m)  # (-size) mod multiple
        return g.op('Pad', x, g.op('Concat', const([0] * 6), pad, axis_i=0))


ConvLayer = Callable[..., nn.Module]


def conv_factory(conv_cfg: Optional[dict]) -> ConvLayer:
    """Turn a ``conv_cfg`` (``dict(type='RefConv')``, ...) into a function with
    ``nn.Conv2d``'s signature that builds the layer through mmcv's
    ``build_conv_layer``, as mmdet's ResNet does; ``None`` gives ``nn.Conv2d``.
    The backbones build their spatial convs (kernel larger than 1x1) with it."""
    if conv_cfg is None:
        return nn.Conv2d
    cfg = dict(conv_cfg)
    return lambda *args, **kwargs: build_conv_layer(cfg, *args, **kwargs)


class ConvMlp(nn.Module):
    """Channel MLP on NCHW maps: ``fc2(act(norm(fc1(x))))`` with 1x1 convs.

    Args:
        in_channels: Input and output channels.
        hidden_channels: Channels of the hidden layer.
        act_layer: Activation factory.
        norm_layer: Norm factory for the hidden layer, or None.
        bias: Whether the 1x1 convs have a bias.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: int,
                 act_layer: ActLayer,
                 norm_layer: Optional[NormLayer] = None,
                 bias: bool = True):
        super().__init__()
        self.fc1 = nn.Conv2d(in_channels, hidden_channels, 1, bias=bias)
        self.norm = norm_layer(hidden_channels) if norm_layer else nn.Identity()
        self.act = act_layer()
        self.fc2 = nn.Conv2d(hidden_channels, in_channels, 1, bias=bias)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden layer, ``act(norm(fc1(x)))``."""
        return self.act(self.norm(self.fc1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.hidden(x))

    def switch_to_deploy(self) -> None:
        """Fold a BatchNorm of the hidden layer into ``fc1``."""
        self.norm = fold_norm_into_prev_conv(self.fc1, self.norm)


class Stage(nn.Module):
    """One backbone stage: an optional downsampling layer, then blocks.

    Args:
        blocks: The blocks, applied in order.
        downsample: Layer applied first, of stride 2, or None; its input is
            padded to a multiple of 2 so that no row or column is dropped.
        with_cp: Checkpoint each block while gradients are needed, trading
            compute for memory.
    """

    def __init__(self,
                 blocks: Sequence[nn.Module],
                 downsample: Optional[nn.Module] = None,
                 *,
                 with_cp: bool = False):
        super().__init__()
        self.downsample = downsample
        self.blocks = nn.Sequential(*blocks)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(pad_to_multiple(x, 2))
        if self.with_cp and self.training and torch.is_grad_enabled():
            for block in self.blocks:
                x = checkpoint(block, x, use_reentrant=False)
            return x
        return self.blocks(x)


