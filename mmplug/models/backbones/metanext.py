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
from typing import Optional, Sequence, Union

import torch
from torch import nn

from ..layers import (
    ConvLayer,
    ConvMlp,
    DropPath,
    Stage,
    act_factory,
    conv_factory,
    drop_path_rates,
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
    ``mlp_ratios`` and their own) and implement :meth:`make_token_mixer`.

    Args:
        arch: A name in ``arch_settings`` or a dict with the same keys.
        in_channels: Input image channels.
        out_indices: Output stages (0-3; negatives count from the end).
        frozen_stages: -1 none, 0 the stem, ``i`` the stem and stages 1..i.
        norm_eval: Keep BatchNorm layers in eval mode while training.
        drop_path_rate: Stochastic depth rate of the last block.
        layer_scale_init_value: Initial layer scale; 0 disables it.
        mlp_ratio: MLP ratio, one or one per stage; None takes the variant's.
        norm_cfg: Norm of the stem, the downsampling layers and the blocks.
        act_cfg: Activation of the MLPs.
        out_norm_cfg: Norm put on each output (``norm{i}``), or None for none.
        conv_cfg: Layer of every spatial conv (mixer, stem, downsampling), e.g.
            ``dict(type='RefConv')``; None for ``nn.Conv2d``.
        with_cp: Gradient checkpointing of each block while training.
        init_cfg: mmengine init config.
    """

    optional_keys = (r'norm\d+\.', )

    def __init__(self,
                 arch: Union[str, dict],
                 in_channels: int,
                 out_indices: Union[int, Sequence[int]],
                 frozen_stages: int,
                 norm_eval: bool,
                 drop_path_rate: float,
                 layer_scale_init_value: float,
                 mlp_ratio: Optional[Union[float, Sequence[float]]],
                 norm_cfg: dict,
                 act_cfg: dict,
                 out_norm_cfg: Optional[dict],
                 conv_cfg: Optional[dict],
                 with_cp: bool,
                 init_cfg: Optional[Union[dict, list]]):
        super().__init__(arch, out_indices, frozen_stages, norm_eval, with_cp, init_cfg)
        depths, channels = self.arch['depths'], self.arch['channels']
        self.mlp_ratio = per_stage(type(self).__name__, 'mlp_ratio',
                                   self.arch['mlp_ratios'] if mlp_ratio is None else mlp_ratio,
                                   len(depths))
        norm_layer = norm_factory(norm_cfg)
        act_layer = act_factory(act_cfg)
        conv_layer = conv_factory(conv_cfg)

        self.stem = nn.Sequential(
            conv_layer(in_channels, channels[0], 4, 4), norm_layer(channels[0]))
        self.stages = nn.ModuleList()
        for i, rates in enumerate(drop_path_rates(depths, drop_path_rate)):
            downsample = None if i == 0 else nn.Sequential(
                norm_layer(channels[i - 1]), conv_layer(channels[i - 1], channels[i], 2, 2))
            blocks = [
                MetaNeXtBlock(self.make_token_mixer(channels[i], conv_layer),
                              norm_layer(channels[i]),
                              ConvMlp(channels[i], int(self.mlp_ratio[i] * channels[i]),
                                      act_layer),
                              layer_scale_init_value, rate)
                for rate in rates
            ]
            self.stages.append(Stage(blocks, downsample, with_cp=with_cp))
        self._init_outputs(out_norm_cfg)

    def make_token_mixer(self, channels: int, conv_layer: ConvLayer) -> nn.Module:
        """The spatial mixer of one block of width ``channels``, its convs
        built with ``conv_layer`` (``nn.Conv2d``'s signature)."""
        raise NotImplementedError
