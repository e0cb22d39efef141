"""mmplug: efficient CNN backbones for OpenMMLab detection and segmentation.

Importing mmplug registers its classes (the table :data:`mmplug.registry.ENTRIES`
says where) and applies its adapters to other libraries
(:mod:`mmplug.integration`), importing none of the libraries' model zoos or
data sets; configs may then inherit mmplug's as
``_base_ = 'mmplug::det/fasternet_s_maskrcnn.py'`` (:mod:`mmplug.mim`).
"""
from . import integration
from .models import *  # noqa: F401,F403
from .models import __all__ as _models
from .registry import register_root
from .version import __version__

__all__ = ['__version__'] + list(_models)

register_root()
integration.apply()
