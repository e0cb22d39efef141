from .base import BaseBackbone, ShapeSpec
from .convnext import ConvNeXt
from .emo import EMO
from .fasternet import FasterNet
from .inceptionnext import InceptionNeXt

#: Every backbone mmplug provides; the contract test runs over all of them.
BACKBONES = (FasterNet, InceptionNeXt, ConvNeXt, EMO)

__all__ = ['BaseBackbone', 'ShapeSpec', 'BACKBONES', 'FasterNet', 'InceptionNeXt', 'ConvNeXt',
           'EMO']
