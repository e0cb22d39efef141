"""InceptionNeXt: MetaNeXt with the Inception depthwise token mixer.

Paper: Yu et al., "InceptionNeXt: When Inception Meets ConvNeXt", CVPR 2024,
https://arxiv.org/abs/2303.16900
Official code: https://github.com/sail-sg/inceptionnext (Apache-2.0); this is
an independent implementation with the official parameter layout, so official
and timm checkpoints load as they are.
"""
from typing import Dict, Optional, Union

import torch
from torch import nn

from ..checkpoint import CheckpointMismatchError
from ..layers import ConvLayer
from .metanext import MetaNeXt


class InceptionDWConv2d(nn.Module):
    """Inception depthwise conv: the channels split into an identity branch
    and three depthwise branches (square k x k, band 1 x K, band K x 1) of
    ``int(channels * branch_ratio)`` channels each, concatenated back in that
    order.

    Args:
        channels: Input and output channels.
        kernel_size: Kernel of the square branch.
        band_kernel_size: Length of the two band kernels.
        branch_ratio: Share of the channels in each conv branch.
        conv_layer: Builds the convs (``nn.Conv2d``'s signature).
    """

    def __init__(self, channels: int, kernel_size: int = 3, band_kernel_size: int = 11,
                 branch_ratio: float = 0.125, conv_layer: ConvLayer = nn.Conv2d):
        super().__init__()
        gc = int(channels * branch_ratio)
        if gc < 1 or 3 * gc > channels:
            raise ValueError(f'InceptionDWConv2d: branch_ratio={branch_ratio} gives {gc} '
                             f'channels per branch for {channels} channels; it must be '
                             f'in (0, 1/3] and leave at least one channel per branch')
        sk, bk = kernel_size, band_kernel_size
        self.dwconv_hw = conv_layer(gc, gc, sk, padding=sk // 2, groups=gc)
        self.dwconv_w = conv_layer(gc, gc, (1, bk), padding=(0, bk // 2), groups=gc)
        self.dwconv_h = conv_layer(gc, gc, (bk, 1), padding=(bk // 2, 0), groups=gc)
        self.split_sizes = (channels - 3 * gc, gc, gc, gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_id, x_hw, x_w, x_h = torch.split(x, self.split_sizes, dim=1)
        return torch.cat((x_id, self.dwconv_hw(x_hw), self.dwconv_w(x_w), self.dwconv_h(x_h)),
                         dim=1)


class InceptionNeXt(MetaNeXt):
    """InceptionNeXt backbone with outputs at strides 4, 8, 16 and 32.

    Args:
        arch: ``'atto'``, ``'tiny'``, ``'small'``, ``'base'`` or a dict with
            keys ``depths``, ``channels``, ``mlp_ratios``,
            ``band_kernel_size`` and ``branch_ratio``.
        kernel_size: Kernel of the square branch of the mixer.
        band_kernel_size: Band kernel length; None takes the variant's.
        branch_ratio: Channel share of each conv branch; None takes the
            variant's.
        norm_cfg: Norm of the stem, downsampling layers and blocks.
        out_norm_cfg: An extra norm on each output, as dense-prediction
            backbones (Swin, ConvNeXt, PoolFormer) add (``dict(type='SyncBN')``
            in mmplug's configs), or None for none (classification).

    Other arguments (``mlp_ratio``, ``layer_scale_init_value``, ``act_cfg``,
    ...): see :class:`MetaNeXt` and :class:`BaseBackbone`. ``init_cfg=dict(
    type='Pretrained', checkpoint=...)`` reads official, timm and mmplug
    checkpoints.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 *,
                 kernel_size: int = 3,
                 band_kernel_size: Optional[int] = None,
                 branch_ratio: Optional[float] = None,
                 norm_cfg: dict = dict(type='BN'),
                 out_norm_cfg: Optional[dict] = dict(type='BN'),
                 **kwargs):
        super().__init__(arch, norm_cfg=norm_cfg, out_norm_cfg=out_norm_cfg, **kwargs)
        self.kernel_size = kernel_size
        self.band_kernel_size = band_kernel_size or self.arch['band_kernel_size']
        self.branch_ratio = branch_ratio or self.arch['branch_ratio']

    def make_token_mixer(self, channels: int, conv_layer: ConvLayer) -> nn.Module:
        return InceptionDWConv2d(channels, self.kernel_size, self.band_kernel_size,
                                 self.branch_ratio, conv_layer)

    @staticmethod
    def convert_checkpoint(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return convert_inceptionnext(state_dict)


# ------------------------------------------------------------ checkpoints
def convert_inceptionnext(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Map an InceptionNeXt state dict to mmplug's layout.

    The official layout, timm's and mmplug's are the same (backbone keys
    ``stem.*``, ``stages.*``, ``norm{i}.*``; the classification head
    ``head.fc1/norm/fc2``, the layout of :class:`MlpClsHead`), so this checks
    that the dict is an InceptionNeXt one and returns a copy.

    Raises:
        CheckpointMismatchError: if the dict is not an InceptionNeXt state
            dict (a ConvNeXt one, say).
    """
    if not any('.token_mixer.dwconv_hw.' in k for k in state_dict):
        raise CheckpointMismatchError(
            'not an InceptionNeXt state dict (official, timm or mmplug layout): no '
            f'stages.*.blocks.*.token_mixer.dwconv_hw key; first keys: {list(state_dict)[:5]}')
    return dict(state_dict)


# ----------------------------------------------------------------- variants
InceptionNeXt.arch_settings = {
    'atto': dict(depths=[2, 2, 6, 2], channels=[40, 80, 160, 320], mlp_ratios=[4, 4, 4, 3],
                 band_kernel_size=9, branch_ratio=0.25),
    'tiny': dict(depths=[3, 3, 9, 3], channels=[96, 192, 384, 768], mlp_ratios=[4, 4, 4, 3],
                 band_kernel_size=11, branch_ratio=0.125),
    'small': dict(depths=[3, 3, 27, 3], channels=[96, 192, 384, 768], mlp_ratios=[4, 4, 4, 3],
                  band_kernel_size=11, branch_ratio=0.125),
    'base': dict(depths=[3, 3, 27, 3], channels=[128, 256, 512, 1024],
                 mlp_ratios=[4, 4, 4, 3], band_kernel_size=11, branch_ratio=0.125),
}
#: timm's model of each variant (the same architecture and parameter count).
InceptionNeXt.timm_names = {a: f'inception_next_{a}' for a in InceptionNeXt.arch_settings}
