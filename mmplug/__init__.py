"""mmplug: efficient CNN backbones for OpenMMLab detection and segmentation.

Importing mmplug applies its compatibility shims (:mod:`mmplug.compat`) and
registers its backbones in mmdet, mmseg and mmpretrain.
"""
from . import (
    compat,  # noqa: F401  (first: the shims must precede any use)
    datasets,  # noqa: F401  (registers the data sets)
    engine,  # noqa: F401  (registers the optimizer constructor)
)
from .models import *  # noqa: F401,F403
from .models import __all__ as _models
from .version import __version__

__all__ = ['__version__'] + list(_models)
