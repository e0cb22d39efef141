"""MetaNeXt: the block and skeleton that ConvNeXt and InceptionNeXt share.

Paper: Yu et al., "InceptionNeXt: When Inception Meets ConvNeXt", CVPR 2024,
https://arxiv.org/abs/2303.16900, which abstracts ConvNeXt's block as
``x + gamma * mlp(norm(token_mixer(x)))``. The two backbones differ only in
the token mixer, the norm and a few defaults, so each of
:mod:`.convnext` and :mod:`.inceptionnext` subclasses :class:`MetaNeXt` and
supplies its mixer. Parameter layout: stem ``stem.{0 conv, 1 norm}``,
``stages.{i}.downsample.{0 norm, 1 conv}`` (stages 1-3),
``stages.{i}.blocks.{j}.{token_mixer, norm, mlp.fc1, mlp.fc2, gamma}`` and
one ``norm{i}`` per output.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..layers import (
    ConvLayer,
    ConvMlp,
    DropPath,
    Stage,
    act_factory,
    norm_factory,
)
from ..reparam import fold_norm_into_next_conv, scale_conv_output
from .base import BaseBackbone, per_stage


class MetaNeXtBlock(nn.Module):
    """``x + drop_path(gamma * mlp(norm(token_mixer(x))))`` on NCHW maps.

    FasterNet's block is this block with partial convolution as the mixer, no
    norm after it and a BatchNorm inside the MLP. The MLP is two 1x1 convs on
    the NCHW map; for ConvNeXt this replaces the official permute + Linear
    form: both compute the same function, and the conv form measured faster
    on this project's CPU (``tools/analysis/block_forms.py``).

    Args:
        token_mixer: The spatial mixer, channels in = channels out.
        norm: The norm after the mixer, or None for none.
        mlp: The channel MLP.
        layer_scale_init_value: Initial layer scale ``gamma``; 0 disables it.
        drop_path: Stochastic depth rate of the residual branch.
    """

    def __init__(self, token_mixer: nn.Module, norm: Optional[nn.Module], mlp: ConvMlp,
                 layer_scale_init_value: float, drop_path: float):
        super().__init__()
        channels = mlp.fc2.out_channels
        self.token_mixer = token_mixer
        self.norm = norm if norm is not None else nn.Identity()
        self.mlp = mlp
        self.gamma = nn.Parameter(torch.full((channels, ), float(layer_scale_init_value))) \
            if layer_scale_init_value > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mlp(self.norm(self.token_mixer(x)))
        if self.gamma is not None:
            y = y * self.gamma.view(-1, 1, 1)
        return x + self.drop_path(y)

    def switch_to_deploy(self) -> None:
        """A BatchNorm after the mixer into ``mlp.fc1`` (a LayerNorm stays),
        the layer scale into ``mlp.fc2``."""
        self.norm = fold_norm_into_next_conv(self.norm, self.mlp.fc1)
        if self.gamma is not None:
            scale_conv_output(self.mlp.fc2, self.gamma)
            self.gamma = None


class MetaNeXt(BaseBackbone):
    """Four-stage MetaNeXt backbone with outputs at strides 4, 8, 16 and 32:
    a 4x4/4 patchify stem, then per stage a (norm, 2x2/2 conv) downsampling
    (stages 2-4) and MetaNeXt blocks.

    Subclasses set ``arch_settings`` (keys ``depths``, ``channels``,
    ``mlp_ratios`` and their own), give ``norm_cfg`` and implement
    :meth:`make_token_mixer`.

    Args:
        norm_cfg: Norm of the stem, the downsampling layers and the blocks.
        mlp_ratio: MLP ratio, one or one per stage; None takes the variant's
            (``mlp_ratios``).
        layer_scale_init_value: Initial layer scale; 0 disables it.
        act_cfg: Activation of the MLPs.

    Other arguments: see :class:`BaseBackbone`.
    """

    optional_keys = (r'norm\d+\.', )

    def __init__(self,
                 arch: Union[str, dict],
                 *,
                 norm_cfg: dict,
                 mlp_ratio: Optional[Union[float, Sequence[float]]] = None,
                 layer_scale_init_value: float = 1e-6,
                 act_cfg: dict = dict(type='GELU'),
                 **kwargs):
        super().__init__(arch, **kwargs)
        self.mlp_ratio = per_stage(type(self).__name__, 'mlp_ratio',
                                   self.arch['mlp_ratios'] if mlp_ratio is None else mlp_ratio,
                                   len(self.arch['depths']))
        self.layer_scale_init_value = layer_scale_init_value
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg

    def build_layers(self, conv_layer: ConvLayer,
                     drop_path_rates: List[List[float]]) -> Tuple[nn.Module, nn.ModuleList]:
        channels = self.arch['channels']
        norm_layer = norm_factory(self.norm_cfg)
        act_layer = act_factory(self.act_cfg)
        stem = nn.Sequential(
            conv_layer(self.in_channels, channels[0], 4, 4), norm_layer(channels[0]))
        stages = nn.ModuleList()
        for i, rates in enumerate(drop_path_rates):
            downsample = None if i == 0 else nn.Sequential(
                norm_layer(channels[i - 1]), conv_layer(channels[i - 1], channels[i], 2, 2))
            blocks = [
                MetaNeXtBlock(self.make_token_mixer(channels[i], conv_layer),
                              norm_layer(channels[i]),
                              ConvMlp(channels[i], int(self.mlp_ratio[i] * channels[i]),
                                      act_layer),
                              self.layer_scale_init_value, rate)
                for rate in rates
            ]
            stages.append(Stage(blocks, downsample, with_cp=self.with_cp))
        return stem, stages

    def make_token_mixer(self, channels: int, conv_layer: ConvLayer) -> nn.Module:
        """The spatial mixer of one block of width ``channels``, its convs
        built with ``conv_layer`` (``nn.Conv2d``'s signature)."""
        raise NotImplementedError
