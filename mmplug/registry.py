"""mmplug's registries, and registration into the downstream libraries.

mmplug's own registries are children of mmengine's roots with scope
``mmplug``, so ``type='mmplug.FasterNet'`` resolves from any OpenMMLab scope
(mmengine imports this module when it meets the ``mmplug.`` prefix). The same
classes are also registered under their plain names in mmdet, mmseg and
mmpretrain, whichever are installed, so that ``type='FasterNet'`` builds with
any of those as the default scope once ``mmplug`` is imported (directly or
through ``custom_imports``). A name a library already uses for another class
(mmpretrain's ``ConvNeXt``, say) is left to that library there; mmplug's class
stays reachable with the ``mmplug.`` prefix.
"""
import importlib
import importlib.util
from typing import Callable, Sequence, Type

from mmengine.config import Config
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmplug', locations=['mmplug.models'])
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, scope='mmplug', locations=['mmplug.datasets'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='mmplug',
    locations=['mmplug.engine'])

#: Libraries whose registries mmplug's classes join, by their scope names.
DOWNSTREAM = ('mmdet', 'mmseg', 'mmpretrain')

_ATTRS = {
    id(MODELS): 'MODELS',
    id(DATASETS): 'DATASETS',
    id(OPTIM_WRAPPER_CONSTRUCTORS): 'OPTIM_WRAPPER_CONSTRUCTORS',
}


def register(registry: Registry, scopes: Sequence[str] = DOWNSTREAM) -> Callable[[Type], Type]:
    """Class decorator: register into ``registry`` (one of mmplug's) and into
    the registry of the same kind of each installed library in ``scopes``.

    Args:
        registry: ``MODELS``, ``DATASETS`` or ``OPTIM_WRAPPER_CONSTRUCTORS``
            of this module.
        scopes: Downstream libraries to join.
    """
    attr = _ATTRS[id(registry)]

    def decorate(cls: Type) -> Type:
        registry.register_module(module=cls)
        for scope in scopes:
            if importlib.util.find_spec(scope) is None:
                continue  # that library is not installed
            target = getattr(importlib.import_module(f'{scope}.registry'), attr)
            # the library's own classes first, so that a name it uses is known
            target.import_from_location()
            if cls.__name__ not in target.module_dict:
                target.register_module(module=cls)
        return cls

    return decorate


def build_wrapped(module: dict, overrides: dict):
    """Build the ``module`` of a wrapper config (``mmplug.Refocus``,
    ``mmplug.Deployed``) after merging into it the keys given beside it.

    A wrapper stands where the module would, so an override aimed at the
    module lands on the wrapper: ``--cfg-options model.backbone.init_cfg=None``
    on a config whose backbone is ``dict(type='mmplug.Refocus', module=...)``
    adds ``init_cfg=None`` beside ``module``. Merging it in (as mmengine
    merges ``--cfg-options``) makes every override work through a wrapper.

    Args:
        module: Config of the wrapped module.
        overrides: The wrapper's other keys.
    """
    if overrides:
        module = Config._merge_a_into_b(overrides, dict(module))
    return MODELS.build(module)
