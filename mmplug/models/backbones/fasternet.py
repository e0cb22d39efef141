"""FasterNet, built on partial convolution (PConv).

Paper: Chen et al., "Run, Don't Walk: Chasing Higher FLOPS for Faster Neural
Networks", CVPR 2023, https://arxiv.org/abs/2303.03667
Official code: https://github.com/JierunChen/FasterNet (MIT licence); this is
an independent implementation of the same architecture and parameter layout.
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..checkpoint import CheckpointMismatchError
from ..layers import (
    ConvLayer,
    ConvMlp,
    Stage,
    act_factory,
    norm_factory,
)
from .base import BaseBackbone, per_stage
from .metanext import MetaNeXtBlock


class PartialConv(nn.Module):
    """A k x k conv on the first ``channels // n_div`` channels; the others
    pass through untouched.

    Two equivalent forwards: split-and-concatenate, for training, and
    "slicing", which writes the conv result into a copy of the input: the
    official inference form, used without gradients and always after
    :meth:`switch_to_deploy`. Neither modifies its input, which the block
    still needs for its residual.

    Args:
        channels: Input and output channels.
        n_div: The conv sees ``channels // n_div`` channels.
        kernel_size: Spatial size of the conv.
        conv_layer: Builds the conv (``nn.Conv2d``'s signature).
    """

    def __init__(self, channels: int, n_div: int = 4, kernel_size: int = 3,
                 conv_layer: ConvLayer = nn.Conv2d):
        super().__init__()
        self.conv_channels = channels // n_div
        if self.conv_channels < 1:
            raise ValueError(f'PartialConv: channels={channels} with n_div={n_div} '
                             f'leaves no channel to convolve')
        self.untouched_channels = channels - self.conv_channels
        self.conv = conv_layer(self.conv_channels, self.conv_channels, kernel_size, 1,
                               kernel_size // 2, bias=False)
        self.deploy = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ONNX has no in-place slice assignment: the exporter would turn the
        # slicing form into a scatter with a constant index of the whole
        # tensor's size, so export takes split-and-concatenate, a conv on a
        # slice.
        if (not self.deploy and (self.training or torch.is_grad_enabled())
                or torch.onnx.is_in_onnx_export()):
            return self.forward_split_cat(x)
        return self.forward_slicing(x)

    def switch_to_deploy(self) -> None:
        """Use the inference form (slicing) from now on."""
        self.deploy = True

    def forward_split_cat(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = torch.split(x, [self.conv_channels, self.untouched_channels], dim=1)
        return torch.cat((self.conv(x1), x2), dim=1)

    def forward_slicing(self, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        out[:, :self.conv_channels] = self.conv(x[:, :self.conv_channels])
        return out


class FasterNet(BaseBackbone):
    """FasterNet backbone with outputs at strides 4, 8, 16 and 32.

    Args:
        arch: ``'t0'``, ``'t1'``, ``'t2'``, ``'s'``, ``'m'``, ``'l'`` or a dict
            with keys ``depths``, ``channels`` and ``act``.
        n_div: PConv convolves ``channels // n_div`` channels.
        mlp_ratio: Hidden width of the block MLPs over their width, one or
            one per stage.
        layer_scale_init_value: Layer scale init; 0 disables it.
        norm_cfg: Norm of the stem, the merging layers and the MLPs.
        act_cfg: Activation; None takes the variant's (GELU for t0 and t1,
            ReLU for the others).
        out_norm_cfg: Norm put on each output (``norm{i}``), as the official
            detection backbone does (BN); None for none, as classification.

    Other arguments: see :class:`BaseBackbone`. ``init_cfg=dict(
    type='Pretrained', checkpoint='fasternet_s.pth')`` reads an official,
    timm or mmplug checkpoint.
    """

    optional_keys = (r'norm\d+\.', )

    def __init__(self,
                 arch: Union[str, dict] = 's',
                 *,
                 n_div: int = 4,
                 mlp_ratio: Union[float, Sequence[float]] = 2.0,
                 layer_scale_init_value: float = 0.0,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: Optional[dict] = None,
                 out_norm_cfg: Optional[dict] = dict(type='BN'),
                 **kwargs):
        super().__init__(arch, out_norm_cfg=out_norm_cfg, **kwargs)
        self.n_div = n_div
        self.mlp_ratio = per_stage('FasterNet', 'mlp_ratio', mlp_ratio, len(self.arch['depths']))
        self.layer_scale_init_value = layer_scale_init_value
        self.norm_cfg = norm_cfg
        if act_cfg is None and self.arch['act'] not in _ACTS:
            raise ValueError(f"FasterNet: unknown act {self.arch['act']!r}; "
                             f'choose from {sorted(_ACTS)}')
        self.act_cfg = act_cfg or _ACTS[self.arch['act']]

    def build_layers(self, conv_layer: ConvLayer,
                     drop_path_rates: List[List[float]]) -> Tuple[nn.Module, nn.ModuleList]:
        channels = self.arch['channels']
        norm_layer = norm_factory(self.norm_cfg)
        act_layer = act_factory(self.act_cfg)
        stem = nn.Sequential(
            conv_layer(self.in_channels, channels[0], 4, 4, bias=False), norm_layer(channels[0]))
        stages = nn.ModuleList()
        for i, rates in enumerate(drop_path_rates):
            downsample = None if i == 0 else nn.Sequential(
                conv_layer(channels[i - 1], channels[i], 2, 2, bias=False),
                norm_layer(channels[i]))
            blocks = [
                MetaNeXtBlock(PartialConv(channels[i], self.n_div, conv_layer=conv_layer), None,
                              ConvMlp(channels[i], int(channels[i] * self.mlp_ratio[i]),
                                      act_layer, norm_layer, bias=False),
                              self.layer_scale_init_value, rate)
                for rate in rates
            ]
            stages.append(Stage(blocks, downsample, with_cp=self.with_cp))
        return stem, stages

    @staticmethod
    def convert_checkpoint(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return convert_fasternet(state_dict)


# ------------------------------------------------------------ checkpoints
_BLOCK_RENAMES = (
    ('spatial_mixing.partial_conv3.', 'token_mixer.conv.'),
    ('mlp.0.', 'mlp.fc1.'),
    ('mlp.1.', 'mlp.norm.'),
    ('mlp.3.', 'mlp.fc2.'),
    ('layer_scale', 'gamma'),
)


def _rename_block(rest: str) -> str:
    for old, new in _BLOCK_RENAMES:
        if rest.startswith(old):
            return new + rest[len(old):]
    return rest


def convert_fasternet(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Map a FasterNet state dict to mmplug's layout.

    Reads the official layout (classification, with ``avgpool_pre_head`` and
    ``head``, or detection, with ``norm{0,2,4,6}``) and timm's. Backbone keys
    come back bare (``stem.0.weight``); the classification head comes back as
    ``head.proj``/``head.fc``, the layout of :class:`FasterNetClsHead`. A dict
    already in mmplug's layout is returned unchanged.

    Args:
        state_dict: The checkpoint's state dict.

    Returns:
        A new state dict in mmplug's layout.

    Raises:
        CheckpointMismatchError: if the dict is not a FasterNet state dict.
    """
    if any(k.startswith('stem.') for k in state_dict):
        return dict(state_dict)
    if 'patch_embed.proj.weight' not in state_dict:
        raise CheckpointMismatchError(
            'not a FasterNet state dict (official, timm or mmplug layout): it has no '
            f'patch_embed.proj.weight or stem.0.weight; first keys: {list(state_dict)[:5]}')
    official = any(re.match(r'stages\.\d+\.reduction\.', k) for k in state_dict)
    out = {}
    for key, value in state_dict.items():
        new = key
        if key.startswith('patch_embed.'):
            new = key.replace('patch_embed.proj.', 'stem.0.')
            new = new.replace('patch_embed.norm.', 'stem.1.')
        elif key.startswith('stages.'):
            idx, rest = key.split('.', 2)[1:]
            idx = int(idx)
            if official:  # stages 0,2,4,6 hold blocks; 1,3,5 are merging layers
                stage = (idx + 1) // 2
                if idx % 2:
                    rest = 'downsample.' + rest
            else:
                stage = idx
            if rest.startswith('blocks.'):
                _, j, inner = rest.split('.', 2)
                rest = f'blocks.{j}.{_rename_block(inner)}'
            else:
                rest = rest.replace('downsample.reduction.', 'downsample.0.')
                rest = rest.replace('downsample.norm.', 'downsample.1.')
            new = f'stages.{stage}.{rest}'
        elif re.match(r'norm\d+\.', key):  # official detection: norm{0,2,4,6}
            idx, rest = key[len('norm'):].split('.', 1)
            new = f'norm{int(idx) // 2}.{rest}'
        elif key in ('avgpool_pre_head.1.weight', 'conv_head.weight'):
            new, value = 'head.proj.weight', value.flatten(1)
        elif key.startswith('head.') or key.startswith('classifier.'):
            new = 'head.fc.' + key.split('.', 1)[1]
        out[new] = value  # unknown keys pass through; the loader names them
    return out


# ----------------------------------------------------------------- variants
_ACTS = {'GELU': dict(type='GELU'), 'ReLU': dict(type='ReLU', inplace=True)}

FasterNet.arch_settings = {
    't0': dict(depths=[1, 2, 8, 2], channels=[40, 80, 160, 320], act='GELU'),
    't1': dict(depths=[1, 2, 8, 2], channels=[64, 128, 256, 512], act='GELU'),
    't2': dict(depths=[1, 2, 8, 2], channels=[96, 192, 384, 768], act='ReLU'),
    's': dict(depths=[1, 2, 13, 2], channels=[128, 256, 512, 1024], act='ReLU'),
    'm': dict(depths=[3, 4, 18, 3], channels=[144, 288, 576, 1152], act='ReLU'),
    'l': dict(depths=[3, 4, 18, 3], channels=[192, 384, 768, 1536], act='ReLU'),
}

#: timm's model of each variant (the same architecture and parameter count).
FasterNet.timm_names = {a: f'fasternet_{a}' for a in FasterNet.arch_settings}
