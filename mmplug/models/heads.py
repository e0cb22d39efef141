"""Classification heads for mmpretrain configs of mmplug backbones."""
from typing import Optional, Tuple

import torch
from mmpretrain.models.heads import ClsHead
from torch import nn

from .layers import act_factory, norm_factory


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


class NormLinearClsHead(ClsHead):
    """ConvNeXt's classifier: a norm of the pooled feature, then a linear
    layer. Use it after ``GlobalAveragePooling``.

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the pooled feature.
        norm_cfg: The norm (LayerNorm, eps 1e-6, as the official model).
        **kwargs: ``loss``, ``topk``, ``cal_acc``, ``init_cfg`` of ClsHead.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.0),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.norm = norm_factory(norm_cfg)(in_channels)
        self.fc = nn.Linear(in_channels, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.norm(feats[-1])

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))


class MlpClsHead(ClsHead):
    """InceptionNeXt's classifier: linear to ``mlp_ratio`` times the width,
    activation, norm, linear to the classes. Use it after
    ``GlobalAveragePooling``.

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the pooled feature.
        mlp_ratio: Hidden width over ``in_channels`` (3 in every variant).
        act_cfg: Activation after the first linear layer.
        norm_cfg: Norm of the hidden feature.
        **kwargs: ``loss``, ``topk``, ``cal_acc``, ``init_cfg`` of ClsHead.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 mlp_ratio: float = 3.0,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.0),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        hidden = int(mlp_ratio * in_channels)
        self.fc1 = nn.Linear(in_channels, hidden)
        self.act = act_factory(act_cfg)()
        self.norm = norm_factory(norm_cfg)(hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.norm(self.act(self.fc1(feats[-1])))

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc2(self.pre_logits(feats))
