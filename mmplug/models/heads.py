"""Classification heads for mmpretrain configs of mmplug backbones."""
from typing import Optional, Tuple

import torch
from mmpretrain.models.heads import ClsHead
from torch import nn

from ..registry import MODELS, register
from .layers import act_factory


@register(MODELS, scopes=('mmpretrain', ))
class FasterNetClsHead(ClsHead):
    """FasterNet's classifier: a projection to ``feature_dim`` (the official
    1x1 conv after global pooling, as a linear layer), an activation, then
    the linear classifier. Use it after ``GlobalAveragePooling``.

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the pooled feature.
        feature_dim: Width of the projection (1280 in every variant).
        act_cfg: Activation after the projection.
        **kwargs: ``loss``, ``topk``, ``cal_acc``, ``init_cfg`` of ClsHead.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 feature_dim: int = 1280,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.0),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.proj = nn.Linear(in_channels, feature_dim, bias=False)
        self.act = act_factory(act_cfg)()
        self.fc = nn.Linear(feature_dim, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.act(self.proj(feats[-1]))

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))
