"""ConvNeXt: MetaNeXt with a 7x7 depthwise token mixer and LayerNorm.

Paper: Liu et al., "A ConvNet for the 2020s", CVPR 2022,
https://arxiv.org/abs/2201.03545
Official code: https://github.com/facebookresearch/ConvNeXt (MIT licence);
this is an independent implementation. Its block keeps NCHW maps and uses
1x1 convs and a channels-first LayerNorm (see :class:`MetaNeXtBlock` for why);
:func:`convert_convnext` reads the official, mmpretrain and timm layouts.

Registered as ``ConvNeXt`` in mmplug, mmdet and mmseg, and reachable from
any scope as ``mmplug.ConvNeXt``; mmpretrain keeps its own ``ConvNeXt``.
"""
import re
from typing import Dict, Optional, Union

import torch
from torch import nn

from ..checkpoint import CheckpointMismatchError
from ..layers import ConvLayer
from .metanext import MetaNeXt


class ConvNeXt(MetaNeXt):
    """ConvNeXt backbone with outputs at strides 4, 8, 16 and 32.

    Args:
        arch: ``'tiny'``, ``'small'``, ``'base'``, ``'large'``, ``'xlarge'``
            or a dict with keys ``depths``, ``channels`` and ``mlp_ratios``.
        kernel_size: Kernel of the depthwise token mixer.
        norm_cfg: Norm of the stem, downsampling layers and blocks.
        out_norm_cfg: Norm on each output, as the official detection and
            segmentation backbone (channels-first LayerNorm); None for none
            (classification, where the head normalises the pooled feature).

    Other arguments (``mlp_ratio``, ``layer_scale_init_value``, ``act_cfg``,
    ...): see :class:`MetaNeXt` and :class:`BaseBackbone`. ``init_cfg=dict(
    type='Pretrained', checkpoint=...)`` reads official, mmpretrain, timm and
    mmplug checkpoints.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 *,
                 kernel_size: int = 7,
                 norm_cfg: dict = dict(type='LN2d', eps=1e-6),
                 out_norm_cfg: Optional[dict] = dict(type='LN2d', eps=1e-6),
                 **kwargs):
        super().__init__(arch, norm_cfg=norm_cfg, out_norm_cfg=out_norm_cfg, **kwargs)
        self.kernel_size = kernel_size

    def make_token_mixer(self, channels: int, conv_layer: ConvLayer) -> nn.Module:
        k = self.kernel_size
        return conv_layer(channels, channels, k, padding=k // 2, groups=channels)

    @staticmethod
    def convert_checkpoint(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return convert_convnext(state_dict)


# ------------------------------------------------------------ checkpoints
_BLOCK_RENAMES = {
    'dwconv': 'token_mixer',  # official
    'depthwise_conv': 'token_mixer',  # mmpretrain
    'conv_dw': 'token_mixer',  # timm
    'pwconv1': 'mlp.fc1',
    'pwconv2': 'mlp.fc2',
    'pointwise_conv1': 'mlp.fc1',
    'pointwise_conv2': 'mlp.fc2',
}


def convert_convnext(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Map a ConvNeXt state dict to mmplug's layout.

    Reads the official layout (classification: ``downsample_layers``,
    ``stages.{i}.{j}.dwconv/pwconv1`` as Linear, ``norm``, ``head``; detection:
    ``norm{i}`` per output), mmpretrain's (``depthwise_conv``,
    ``pointwise_conv1``, ``norm{i}``) and timm's (``stem``,
    ``stages.{i}.blocks.{j}.conv_dw``, ``mlp.fc1``, ``head.norm``,
    ``head.fc``). Linear MLP weights become 1x1-conv weights. The
    classification head comes back as ``head.norm``/``head.fc``, the layout of
    :class:`NormLinearClsHead`. A dict already in mmplug's layout is returned
    unchanged.

    Raises:
        CheckpointMismatchError: if the dict is not a ConvNeXt state dict.
    """
    if any('.token_mixer.' in k for k in state_dict):
        if any('.token_mixer.dwconv_hw.' in k for k in state_dict):
            raise CheckpointMismatchError(
                'this is an InceptionNeXt state dict, not a ConvNeXt one')
        return dict(state_dict)
    timm = 'stem.0.weight' in state_dict
    if not timm and 'downsample_layers.0.0.weight' not in state_dict:
        raise CheckpointMismatchError(
            'not a ConvNeXt state dict (official, mmpretrain, timm or mmplug layout): it '
            'has no downsample_layers.0.0.weight or stem.0.weight; first keys: '
            f'{list(state_dict)[:5]}')
    out = {}
    for key, value in state_dict.items():
        new = key
        m = re.match(r'downsample_layers\.(\d+)\.(.*)', key)
        if m:
            i, rest = int(m.group(1)), m.group(2)
            new = f'stem.{rest}' if i == 0 else f'stages.{i}.downsample.{rest}'
        elif m := re.match(r'stages\.(\d+)\.(?:blocks\.)?(\d+)\.([a-z_]+\d?)\.?(.*)', key):
            i, j, name, rest = m.groups()
            name = _BLOCK_RENAMES.get(name, name)
            if name == 'mlp' and rest.startswith('fc'):  # timm: mlp.fc1.weight
                name, rest = 'mlp.' + rest.split('.', 1)[0], rest.split('.', 1)[1]
            new = f'stages.{i}.blocks.{j}.{name}' + (f'.{rest}' if rest else '')
            if name.startswith('mlp.fc') and value.ndim == 2:
                value = value[:, :, None, None]
        elif key.startswith('norm.'):  # official classification: norm after pooling
            new = 'head.' + key
        elif key.startswith('head.') and not key.startswith(('head.fc.', 'head.norm.')):
            new = 'head.fc.' + key[len('head.'):]
        out[new] = value  # unknown keys pass through; the loader names them
    return out


# ----------------------------------------------------------------- variants
ConvNeXt.arch_settings = {
    'tiny': dict(depths=[3, 3, 9, 3], channels=[96, 192, 384, 768], mlp_ratios=[4, 4, 4, 4]),
    'small': dict(depths=[3, 3, 27, 3], channels=[96, 192, 384, 768], mlp_ratios=[4, 4, 4, 4]),
    'base': dict(depths=[3, 3, 27, 3], channels=[128, 256, 512, 1024],
                 mlp_ratios=[4, 4, 4, 4]),
    'large': dict(depths=[3, 3, 27, 3], channels=[192, 384, 768, 1536],
                  mlp_ratios=[4, 4, 4, 4]),
    'xlarge': dict(depths=[3, 3, 27, 3], channels=[256, 512, 1024, 2048],
                   mlp_ratios=[4, 4, 4, 4]),
}
#: timm's model of each variant (the same architecture and parameter count).
ConvNeXt.timm_names = {a: f'convnext_{a}' for a in ConvNeXt.arch_settings}
