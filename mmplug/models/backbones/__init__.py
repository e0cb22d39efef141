from .base import BaseBackbone, ShapeSpec
from .fasternet import FasterNet

#: Every backbone mmplug provides; the contract test runs over all of them.
BACKBONES = (FasterNet, )

__all__ = ['BaseBackbone', 'ShapeSpec', 'BACKBONES', 'FasterNet']
