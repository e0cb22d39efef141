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
    ConvMlp,
    DropPath,
    Stage,
    act_factory,
    drop_path_rates,
    fold_norm_into_next_conv,
    norm_factory,
    scale_conv_output,
)
from .base import BaseBackbone, ShapeSpec


class MetaNeXtBlock(nn.Module):
    """``x + drop_path(gamma * mlp(norm(token_mixer(x))))`` on NCHW maps.

    The MLP is two 1x1 convs on the NCHW map. For ConvNeXt this replaces the
    official permute + Linear form; both compute the same function, and the
    conv form measured faster on this project's CPU in inference and training
    (``tools/analysis/block_forms.py``).

    Args:
        channels: Block width.
        token_mixer: The spatial mixer (depthwise conv, Inception depthwise
            conv, ...), channels in = channels out.
        norm_layer: Norm factory for the norm after the mixer.
        act_layer: Activation factory of the MLP.
        mlp_ratio: Hidden width of the MLP over ``channels``.
        layer_scale_init_value: Initial layer scale ``gamma``; 0 disables it.
        drop_path: Stochastic depth rate of the residual branch.
    """

    def __init__(self, channels: int, token_mixer: nn.Module, norm_layer, act_layer,
                 mlp_ratio: float, layer_scale_init_value: float, drop_path: float):
        super().__init__()
        self.token_mixer = token_mixer
        self.norm = norm_layer(channels)
        self.mlp = ConvMlp(channels, int(mlp_ratio * channels), act_layer)
        self.gamma = nn.Parameter(torch.full((channels, ), float(layer_scale_init_value))) \
            if layer_scale_init_value > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.token_mixer(x))
        if not self.training or isinstance(self.drop_path, nn.Identity):
            return self.mlp(y, residual=x, scale=self.gamma)
        return x + self.drop_path(self.mlp(y, scale=self.gamma))

    def switch_to_deploy(self) -> None:
        """A BatchNorm into ``mlp.fc1`` (InceptionNeXt; ConvNeXt's LayerNorm
        stays), the layer scale into ``mlp.fc2``."""
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
        mlp_ratios: Per-stage MLP ratios; None takes the variant's.
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
                 mlp_ratios: Optional[Sequence[float]],
                 norm_cfg: dict,
                 act_cfg: dict,
                 out_norm_cfg: Optional[dict],
                 conv_cfg: Optional[dict],
                 with_cp: bool,
                 init_cfg: Optional[Union[dict, list]]):
        super().__init__(arch, out_indices, frozen_stages, norm_eval, with_cp, init_cfg)
        depths, channels = self.arch['depths'], self.arch['channels']
        mlp_ratios = list(mlp_ratios if mlp_ratios is not None else self.arch['mlp_ratios'])
        if len(mlp_ratios) != len(depths):
            raise ValueError(f'{type(self).__name__}: mlp_ratios needs one value per stage '
                             f'({len(depths)}), got {mlp_ratios}')
        self.mlp_ratios = mlp_ratios
        norm_layer = norm_factory(norm_cfg)
        act_layer = act_factory(act_cfg)

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels[0], 4, 4), norm_layer(channels[0]))
        self.stages = nn.ModuleList()
        for i, rates in enumerate(drop_path_rates(depths, drop_path_rate)):
            downsample = None if i == 0 else nn.Sequential(
                norm_layer(channels[i - 1]), nn.Conv2d(channels[i - 1], channels[i], 2, 2))
            blocks = [
                MetaNeXtBlock(channels[i], self.make_token_mixer(channels[i]), norm_layer,
                              act_layer, mlp_ratios[i], layer_scale_init_value, rate)
                for rate in rates
            ]
            self.stages.append(Stage(blocks, downsample, with_cp=with_cp))
        self._apply_conv_cfg(conv_cfg)
        self._init_outputs([ShapeSpec(c, 4 * 2**i) for i, c in enumerate(channels)])
        out_norm = norm_factory(out_norm_cfg) if out_norm_cfg is not None else None
        self._init_out_norms((lambda i: out_norm(channels[i])) if out_norm else None)

    def make_token_mixer(self, channels: int) -> nn.Module:
        """The spatial mixer of one block of width ``channels``."""
        raise NotImplementedError

