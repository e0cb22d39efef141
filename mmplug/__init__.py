"""mmplug: efficient CNN backbones for OpenMMLab detection and segmentation.

Importing mmplug applies its compatibility shims (:mod:`mmplug.compat`) and
hooks its classes into the registries of mmdet, mmseg and mmpretrain: they
join each registry when it first loads the library's own classes, so that
importing mmplug imports none of those libraries' model zoos or data sets
(:mod:`mmplug.registry`). The heads, data sets and optimizer constructor are
imported then, or on first access (``mmplug.FasterNetClsHead``). It also lets
configs inherit mmplug's as ``_base_ = 'mmplug::det/fasternet_s_maskrcnn.py'``
(:mod:`mmplug.mim`).
"""
import importlib

from . import (
    compat,  # noqa: F401  (first: the shims must precede any use)
    models,
)
from .mim import enable_config_inheritance
from .models import *  # noqa: F401,F403
from .models import __all__ as _models
from .registry import join_downstream
from .version import __version__

__all__ = ['__version__'] + list(_models)

enable_config_inheritance()
join_downstream()  # last: joining a registry already loaded imports mmplug's modules


def __getattr__(name: str):
    """``mmplug.datasets``, ``mmplug.engine`` and the classification heads
    (``mmplug.FasterNetClsHead``, ...), imported on first access."""
    if name in ('datasets', 'engine'):
        return importlib.import_module(f'.{name}', __name__)
    if name in models.HEADS:
        return getattr(models, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
