"""timm's model of the same architecture as a backbone (its "twin"), for
speed comparisons: each backbone class names its twins in ``timm_names``
(arch name -> timm model name)."""
from typing import Optional, Tuple

import torch
from torch import nn


def arch_name(backbone: nn.Module) -> Optional[str]:
    """The name in ``arch_settings`` whose settings the backbone was built
    with, or None for a custom arch."""
    for name, settings in getattr(type(backbone), 'arch_settings', {}).items():
        if settings == backbone.arch:
            return name
    return None


def timm_twin(backbone: nn.Module) -> Optional[str]:
    """timm's name for the same architecture as ``backbone``, or None (EMO
    and custom archs have none)."""
    return getattr(type(backbone), 'timm_names', {}).get(arch_name(backbone))


class TimmFeatures(nn.Module):
    """A timm classifier's ``forward_features`` (every stage, no head), the
    part that compares with a backbone.

    Args:
        name: timm model name.
    """

    def __init__(self, name: str):
        super().__init__()
        import timm  # a test/benchmark dependency, not one of mmplug's
        self.name = name
        self.model = timm.create_model(name, pretrained=False, num_classes=0)
        for head in ('head', 'conv_head', 'classifier', 'fc'):  # unused: out of the count
            if isinstance(getattr(self.model, head, None), nn.Module):
                setattr(self.model, head, nn.Identity())

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return (self.model.forward_features(x), )
