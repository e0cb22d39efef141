"""EMO, built on the inverted residual mobile block (iRMB).

Paper: Zhang et al., "Rethinking Mobile Block for Efficient Attention-based
Models", ICCV 2023, https://arxiv.org/abs/2301.01146
Official code: https://github.com/zhangzjn/EMO (Apache-2.0); this is an
independent implementation with the same parameter shapes.
:func:`convert_emo` reads the official classification and downstream layouts.
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import CheckpointMismatchError
from ..layers import (
    ConvLayer,
    DropPath,
    Stage,
    act_factory,
    norm_factory,
)
from ..reparam import fold_norm_into_next_conv, fold_norm_into_prev_conv
from .base import BaseBackbone, ShapeSpec, per_stage


class ConvNormAct(nn.Module):
    """Conv, then optional norm and activation; "same" padding for odd
    kernels (``ceil((k - stride) / 2)``, as the official code).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        stride: Stride.
        groups: Conv groups.
        bias: Whether the conv has a bias.
        norm_layer: Norm factory, or None.
        act_layer: Activation factory, or None.
        conv_layer: Builds the conv when its kernel is larger than 1x1
            (``nn.Conv2d``'s signature); a 1x1 conv is always ``nn.Conv2d``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 stride: int = 1, groups: int = 1, bias: bool = False,
                 norm_layer=None, act_layer=None, conv_layer: ConvLayer = nn.Conv2d):
        super().__init__()
        padding = -(-(kernel_size - stride) // 2)
        make = conv_layer if kernel_size > 1 else nn.Conv2d
        self.conv = make(in_channels, out_channels, kernel_size, stride, padding, groups=groups,
                         bias=bias)
        self.norm = norm_layer(out_channels) if norm_layer else nn.Identity()
        self.act = act_layer() if act_layer else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))

    def switch_to_deploy(self) -> None:
        """Fold a BatchNorm into the conv."""
        self.norm = fold_norm_into_prev_conv(self.conv, self.norm)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global average, 1x1 reduce, activation, 1x1
    expand, sigmoid gate.

    Args:
        channels: Input and output channels.
        reduced_channels: Width of the bottleneck.
        act_layer: Activation factory of the bottleneck.
    """

    def __init__(self, channels: int, reduced_channels: int, act_layer):
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, reduced_channels, 1)
        self.act = act_layer()
        self.conv_expand = nn.Conv2d(reduced_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.conv_expand(self.act(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * s.sigmoid()


class IRMB(nn.Module):
    """Inverted residual mobile block.

    ``norm -> [window attention] -> 1x1 expand + act (v) -> depthwise conv
    (+ its residual) -> [SE] -> 1x1 project``, in a residual when the shape is
    kept. Without attention (``head_dim=None``) this is MobileNetV2's
    inverted residual block (iRB): expand, depthwise, project.

    The attention is multi-head self-attention inside windows of
    ``window_size`` x ``window_size`` tokens. As in the official code, the map
    is zero-padded to a multiple of the window at the bottom and right, and a
    window gathers the tokens ``n`` apart (``n`` windows per side), which
    gives every window a view across the whole map. With ``attn_pre`` the
    attention mixes the normalized input and the 1x1 expansion follows; else
    the expansion comes first and the attention mixes its output.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        exp_ratio: Expansion of the hidden width over ``in_channels``.
        stride: Stride of the depthwise conv.
        kernel_size: Kernel of the depthwise conv.
        norm_layer: Norm factory of the input norm, or None for none.
        act_layer: Activation factory after the expansion (and in SE).
        conv_norm_layer: Norm factory after the depthwise conv.
        head_dim: Channels per attention head; None for no attention.
        window_size: Attention window; 0 or less for one window over the map.
        attn_pre: Attend before the expansion (official EMO) or after it.
        qkv_bias: Bias in the query/key and value projections.
        expand: Use the 1x1 expansion (False only with ``exp_ratio`` 1).
        se_ratio: SE bottleneck over the hidden width; 0 for no SE.
        has_skip: Use the residual when shapes allow it.
        drop_path: Stochastic depth rate of the residual branch.
        conv_layer: Builds the depthwise conv (``nn.Conv2d``'s signature).
    """

    def __init__(self, in_channels: int, out_channels: int, exp_ratio: float, stride: int,
                 kernel_size: int, norm_layer, act_layer, conv_norm_layer,
                 head_dim: Optional[int] = None, window_size: int = 7, attn_pre: bool = True,
                 qkv_bias: bool = True, expand: bool = True, se_ratio: float = 0.0,
                 has_skip: bool = True, drop_path: float = 0.0,
                 conv_layer: ConvLayer = nn.Conv2d):
        super().__init__()
        hidden = int(in_channels * exp_ratio)
        if not expand and hidden != in_channels:
            raise ValueError(f'IRMB: expand=False needs exp_ratio 1, got {exp_ratio}')
        self.norm = norm_layer(in_channels) if norm_layer else nn.Identity()
        self.has_skip = has_skip and in_channels == out_channels and stride == 1
        self.head_dim = head_dim
        if head_dim is not None:
            if in_channels % head_dim:
                raise ValueError(f'IRMB: {in_channels} channels do not split into heads of '
                                 f'{head_dim}')
            self.num_heads = in_channels // head_dim
            self.window_size = window_size
            self.attn_pre = attn_pre
            self.qk = ConvNormAct(in_channels, 2 * in_channels, bias=qkv_bias)
        self.v = ConvNormAct(in_channels, hidden, bias=qkv_bias, act_layer=act_layer) \
            if expand else nn.Identity()
        self.conv_local = ConvNormAct(hidden, hidden, kernel_size, stride, groups=hidden,
                                      norm_layer=conv_norm_layer, act_layer=nn.SiLU,
                                      conv_layer=conv_layer)
        self.se = SqueezeExcite(hidden, round(hidden * se_ratio), act_layer) \
            if se_ratio > 0 else nn.Identity()
        self.proj = ConvNormAct(hidden, out_channels)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _attention(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        wh, ww = (self.window_size, ) * 2 if self.window_size > 0 else (h, w)
        pad_b, pad_r = -h % wh, -w % ww
        if pad_b or pad_r:
            x = F.pad(x, (0, pad_r, 0, pad_b))
        n1, n2 = (h + pad_b) // wh, (w + pad_r) // ww
        # window (i, j) holds the tokens at rows i, i + n1, ... and columns j, j + n2, ...
        x = x.view(b, c, wh, n1, ww, n2).permute(0, 3, 5, 1, 2, 4).reshape(-1, c, wh, ww)
        bw, heads = x.shape[0], self.num_heads
        q, k = self.qk(x).view(bw, 2, heads, self.head_dim, wh * ww).transpose(-1, -2).unbind(1)
        if self.attn_pre:
            v = x.view(bw, heads, c // heads, wh * ww).transpose(-1, -2)
        else:
            v = self.v(x)
            v = v.view(bw, heads, v.shape[1] // heads, wh * ww).transpose(-1, -2)
        out = F.scaled_dot_product_attention(q, k, v)  # (bw, heads, tokens, dim)
        out = out.transpose(-1, -2).reshape(bw, -1, wh, ww)
        if self.attn_pre:
            out = self.v(out)
        c_out = out.shape[1]
        out = out.view(b, n1, n2, c_out, wh, ww).permute(0, 3, 4, 1, 5, 2)
        out = out.reshape(b, c_out, wh * n1, ww * n2)
        return out[:, :, :h, :w] if (pad_b or pad_r) else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.norm(x)
        x = self._attention(x) if self.head_dim is not None else self.v(x)
        y = self.se(self.conv_local(x))
        x = self.proj(x + y if self.has_skip else y)
        return shortcut + self.drop_path(x) if self.has_skip else x

    def switch_to_deploy(self) -> None:
        """Fold the BatchNorms of the convs, and, in a block without
        attention, an input BatchNorm into the 1x1 expansion (``v``)."""
        for part in (getattr(self, 'qk', None), self.v, self.conv_local, self.proj):
            if isinstance(part, ConvNormAct):
                part.switch_to_deploy()
        if self.head_dim is None and isinstance(self.v, ConvNormAct):
            self.norm = fold_norm_into_next_conv(self.norm, self.v.conv)


class EMO(BaseBackbone):
    """EMO backbone: a stride-2 stem (conv and an iRB with SE), then four
    stages of iRMBs whose first block halves the resolution; window attention
    in the blocks of the stages listed in ``attn_stages``.

    Output levels: 0 the stem (stride 2), 1-4 the stages (strides 4 to 32).
    ``frozen_stages`` counts the stages 1-4 (0 freezes the stem only).

    Args:
        arch: ``'1m'``, ``'2m'``, ``'5m'``, ``'6m'`` or a dict with keys
            ``depths``, ``channels``, ``exp_ratios`` and ``head_dims``.
        stem_channels: Width of the stem.
        kernel_size: Depthwise kernel, one or one per stage (the stem uses
            the first).
        window_size: Attention window, one int or one per stage; 0 or less
            attends over the whole map.
        attn_stages: Which stages attend (not their first block).
        attn_pre: Attend before the 1x1 expansion (as every official model).
        qkv_bias: Bias of the query/key and value projections.
        se_ratios: SE ratio per stage (0 for none); the stem always has SE.
        norm_cfgs: Input norm of the blocks, per stage.
        act_cfgs: Activation after the expansions, per stage.
        conv_norm_cfg: Norm of the stem conv and of every depthwise conv.
        out_indices: As in :class:`BaseBackbone`; by default the four stages.
        out_norm_cfg: As in :class:`BaseBackbone` (one config, or one per
            output level); the official classifier has a LayerNorm on the
            last stage, the downstream models none.
        init_cfg: As in :class:`BaseBackbone`; ``dict(type='Pretrained',
            checkpoint=...)`` reads official and mmplug checkpoints; None
            keeps PyTorch's default init, as the official backbone.

    Other arguments: see :class:`BaseBackbone`.
    """

    optional_keys = (r'norm\d+\.', )

    def __init__(self,
                 arch: Union[str, dict] = '5m',
                 *,
                 stem_channels: int = 24,
                 kernel_size: Union[int, Sequence[int]] = (3, 3, 5, 5),
                 window_size: Union[int, Sequence[int]] = 7,
                 attn_stages: Sequence[bool] = (False, False, True, True),
                 attn_pre: bool = True,
                 qkv_bias: bool = True,
                 se_ratios: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
                 norm_cfgs: Sequence[dict] = (dict(type='BN', eps=1e-6), ) * 2 +
                 (dict(type='LN2d', eps=1e-6), ) * 2,
                 act_cfgs: Sequence[dict] = (dict(type='SiLU'), ) * 2 + (dict(type='GELU'), ) * 2,
                 conv_norm_cfg: dict = dict(type='BN', eps=1e-6),
                 out_indices: Union[int, Sequence[int]] = (1, 2, 3, 4),
                 out_norm_cfg: Optional[Union[dict, Sequence[dict]]] = None,
                 init_cfg: Optional[Union[dict, list]] = None,
                 **kwargs):
        super().__init__(arch, out_indices=out_indices, out_norm_cfg=out_norm_cfg,
                         init_cfg=init_cfg, **kwargs)
        n = len(self.arch['depths'])
        for name, values in dict(attn_stages=attn_stages, se_ratios=se_ratios,
                                 norm_cfgs=norm_cfgs, act_cfgs=act_cfgs).items():
            if len(values) != n:
                raise ValueError(f'EMO: {name} needs one entry per stage ({n}), got {values}')
        self.stem_channels = stem_channels
        self.kernel_size = per_stage('EMO', 'kernel_size', kernel_size, n)
        self.window_size = per_stage('EMO', 'window_size', window_size, n)
        self.attn_stages, self.attn_pre, self.qkv_bias = attn_stages, attn_pre, qkv_bias
        self.se_ratios, self.norm_cfgs, self.act_cfgs = se_ratios, norm_cfgs, act_cfgs
        self.conv_norm_cfg = conv_norm_cfg

    def levels_of(self, arch: dict) -> List[ShapeSpec]:
        """Level 0 is the stem (stride 2), levels 1-4 the stages."""
        return [ShapeSpec(self.stem_channels, 2)] + super().levels_of(arch)

    def build_layers(self, conv_layer: ConvLayer,
                     drop_path_rates: List[List[float]]) -> Tuple[nn.Module, nn.ModuleList]:
        channels, kernel_sizes = self.arch['channels'], self.kernel_size
        norms = [norm_factory(cfg) for cfg in self.norm_cfgs]
        acts = [act_factory(cfg) for cfg in self.act_cfgs]
        conv_norm = norm_factory(self.conv_norm_cfg)
        stem = nn.Sequential(
            ConvNormAct(self.in_channels, self.stem_channels, kernel_sizes[0], 2, bias=True,
                        norm_layer=conv_norm, conv_layer=conv_layer),
            IRMB(self.stem_channels, self.stem_channels, 1.0, 1, kernel_sizes[0], None, acts[0],
                 conv_norm, expand=False, se_ratio=1.0, has_skip=False, conv_layer=conv_layer))
        stages = nn.ModuleList()
        prev = self.stem_channels
        for i, rates in enumerate(drop_path_rates):
            blocks = []
            for j, rate in enumerate(rates):
                first = j == 0
                attends = self.attn_stages[i] and not first
                blocks.append(IRMB(
                    prev, channels[i], self.arch['exp_ratios'][i] * (2 if first else 1),
                    2 if first else 1, kernel_sizes[i], norms[i], acts[i], conv_norm,
                    head_dim=self.arch['head_dims'][i] if attends else None,
                    window_size=self.window_size[i], attn_pre=self.attn_pre,
                    qkv_bias=self.qkv_bias, se_ratio=self.se_ratios[i], has_skip=not first,
                    drop_path=rate, conv_layer=conv_layer))
                prev = channels[i]
            stages.append(Stage(blocks, None, with_cp=self.with_cp))
        return stem, stages

    def forward(self, image: torch.Tensor) -> tuple:
        feats: List[torch.Tensor] = [self.stem(image)]
        for stage in self.stages[:self.out_indices[-1]]:
            feats.append(stage(feats[-1]))
        return tuple(self._normed_output(i, feats[i], image) for i in self.out_indices)

    @staticmethod
    def convert_checkpoint(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return convert_emo(state_dict)


# ------------------------------------------------------------ checkpoints
def convert_emo(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Map an EMO state dict to mmplug's layout.

    Reads the official layout, classification (``stage0.0.convs.0.{0,1}``
    stem, ``stage0.1`` its iRB, ``stage{k}.{j}`` blocks, ``norm`` after stage
    4, ``head``) or downstream (the same without ``norm`` and ``head``). The
    channels-first LayerNorm ``*.norm.norm.*`` becomes ``*.norm.*``; the
    final ``norm`` becomes ``norm4`` (the last output's norm) and ``head``
    ``head.fc`` (mmpretrain's ``LinearClsHead``). A dict already in mmplug's
    layout is returned unchanged.

    Raises:
        CheckpointMismatchError: if the dict is not an EMO state dict.
    """
    if any(k.startswith('stem.1.conv_local.') for k in state_dict):
        return dict(state_dict)
    if not any(k.startswith('stage0.0.convs.0.0.') for k in state_dict):
        raise CheckpointMismatchError(
            'not an EMO state dict (official or mmplug layout): it has no '
            f'stage0.0.convs.0.0.weight or stem.1.conv_local key; first keys: '
            f'{list(state_dict)[:5]}')
    n_stages = max(int(m.group(1)) for k in state_dict if (m := re.match(r'stage(\d+)\.', k)))
    out = {}
    for key, value in state_dict.items():
        new = key.replace('.norm.norm.', '.norm.')
        if m := re.match(r'stage0\.0\.convs\.0\.(\d)\.(.*)', new):
            new = f"stem.0.{('conv', 'norm')[int(m.group(1))]}.{m.group(2)}"
        elif new.startswith('stage0.1.'):
            new = 'stem.1.' + new[len('stage0.1.'):]
        elif m := re.match(r'stage(\d+)\.(\d+)\.(.*)', new):
            new = f'stages.{int(m.group(1)) - 1}.blocks.{m.group(2)}.{m.group(3)}'
        elif new.startswith('norm.'):
            new = new.replace('norm.norm.', 'norm.').replace('norm.', f'norm{n_stages}.', 1)
        elif new.startswith('head.'):
            new = 'head.fc.' + new[len('head.'):]
        out[new] = value  # unknown keys pass through; the loader names them
    return out


# ----------------------------------------------------------------- variants
EMO.arch_settings = {
    '1m': dict(depths=[2, 2, 8, 3], channels=[32, 48, 80, 168], exp_ratios=[2, 2.5, 3, 3.5],
               head_dims=[16, 16, 20, 21]),
    '2m': dict(depths=[3, 3, 9, 3], channels=[32, 48, 120, 200], exp_ratios=[2, 2.5, 3, 3.5],
               head_dims=[16, 16, 20, 20]),
    '5m': dict(depths=[3, 3, 9, 3], channels=[48, 72, 160, 288], exp_ratios=[2, 3, 4, 4],
               head_dims=[24, 24, 32, 32]),
    '6m': dict(depths=[3, 3, 9, 3], channels=[48, 72, 160, 320], exp_ratios=[2, 3, 4, 5],
               head_dims=[16, 24, 20, 32]),
}
