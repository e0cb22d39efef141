"""mmplug's registries, and how its classes join the downstream libraries'.

mmplug's own registries are children of mmengine's roots with scope
``mmplug``, so ``type='mmplug.FasterNet'`` resolves from any OpenMMLab scope
(mmengine imports this module when it meets the ``mmplug.`` prefix, and the
registry imports its ``locations``). The same classes are also registered
under their plain names in mmdet, mmseg and mmpretrain, whichever are
installed, so that ``type='FasterNet'`` builds with any of those as the
default scope once ``mmplug`` is imported (directly or through
``custom_imports``). A name a library already uses for another class
(mmpretrain's ``ConvNeXt``, mmseg's ``LayerDecayOptimizerConstructor``) is
left to that library there; mmplug's class stays reachable with the
``mmplug.`` prefix.

The join is lazy. Knowing which names a library uses means importing its
classes (its whole model zoo: seconds), and some of mmplug's classes
subclass those (heads, data sets). But mmengine's ``Registry.get`` (hence
every build from a config) first calls the registry's
``import_from_location``, which imports the library's own classes once and
sets ``_imported``. So :func:`join_downstream` (run by ``import mmplug``)
only imports each library's ``registry`` module and wraps the
``import_from_location`` of its ``MODELS``, ``DATASETS`` and
``OPTIM_WRAPPER_CONSTRUCTORS``: once the library's classes are in, the
wrapper imports mmplug's modules of that kind (:data:`SOURCES`) and registers
each class whose name is still free, then runs the callbacks given to
:func:`after_load` (compat shims of library classes). A registry already
loaded is joined at once. The :func:`register` decorator records a class in
mmplug's registry and for the libraries it names, and registers it in those
already joined.
"""
import importlib
import importlib.util
from typing import Callable, List, Sequence, Set, Tuple, Type

from mmengine.config import Config
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry

#: Libraries whose registries mmplug's classes join, by their scope names.
DOWNSTREAM = ('mmdet', 'mmseg', 'mmpretrain')

#: mmplug's modules that define classes of each kind (the attribute name of
#: the registries), with the one library each serves and needs (None: all).
SOURCES = {
    'MODELS': (('mmplug.models', None), ('mmplug.models.heads', 'mmpretrain')),
    'DATASETS': (('mmplug.datasets.det', 'mmdet'), ('mmplug.datasets.seg', 'mmseg')),
    'OPTIM_WRAPPER_CONSTRUCTORS': (('mmplug.engine', None), ),
}


def _installed(scope: str) -> bool:
    return importlib.util.find_spec(scope) is not None


def _locations(kind: str) -> List[str]:
    return [module for module, scope in SOURCES[kind] if scope is None or _installed(scope)]


MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmplug', locations=_locations('MODELS'))
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, scope='mmplug', locations=_locations('DATASETS'))
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='mmplug',
    locations=_locations('OPTIM_WRAPPER_CONSTRUCTORS'))

_KINDS = {
    id(MODELS): 'MODELS',
    id(DATASETS): 'DATASETS',
    id(OPTIM_WRAPPER_CONSTRUCTORS): 'OPTIM_WRAPPER_CONSTRUCTORS',
}
_classes: List[Tuple[str, Type, Tuple[str, ...]]] = []  # (kind, class, scopes) registered
_joined: Set[Tuple[str, str]] = set()  # (scope, kind) joined


def register(registry: Registry, scopes: Sequence[str] = DOWNSTREAM) -> Callable[[Type], Type]:
    """Class decorator: register into ``registry`` (one of mmplug's) and, as
    the module docstring says, into the registry of the same kind of each
    installed library in ``scopes``.

    Args:
        registry: ``MODELS``, ``DATASETS`` or ``OPTIM_WRAPPER_CONSTRUCTORS``
            of this module.
        scopes: Downstream libraries to join.
    """
    kind = _KINDS[id(registry)]

    def decorate(cls: Type) -> Type:
        registry.register_module(module=cls)
        _classes.append((kind, cls, tuple(scopes)))
        for scope in scopes:
            if (scope, kind) in _joined:
                _add(scope, kind, cls)
        return cls

    return decorate


def _target(scope: str, kind: str) -> Registry:
    return getattr(importlib.import_module(f'{scope}.registry'), kind)


def _add(scope: str, kind: str, cls: Type) -> None:
    target = _target(scope, kind)
    if cls.__name__ not in target.module_dict:  # else the library's own class keeps it
        target.register_module(module=cls)


def _join(scope: str, kind: str) -> None:
    """Register mmplug's classes of ``kind`` meant for ``scope`` there."""
    for module, serves in SOURCES[kind]:
        if serves in (None, scope):
            importlib.import_module(module)
    _joined.add((scope, kind))
    for k, cls, scopes in list(_classes):
        if k == kind and scope in scopes:
            _add(scope, kind, cls)


def _hooks(scope: str, kind: str) -> List[Callable[[], None]]:
    """The :func:`after_load` callbacks of ``scope``'s ``kind`` registry,
    whose ``import_from_location`` is wrapped (once: the list lives on the
    wrapper, so importing or reloading mmplug again does not wrap it again)."""
    target = _target(scope, kind)
    hooks = getattr(target.import_from_location, 'mmplug_after_load', None)
    if hooks is not None:
        return hooks
    original, loading = target.import_from_location, []

    def import_from_location() -> None:
        if target._imported or loading:  # loaded, or asked while loading: only mmengine's
            return original()
        loading.append(True)
        try:
            original()
        finally:
            loading.clear()
        if target._imported:  # the library's own classes are in: now mmplug's
            _join(scope, kind)
            for hook in list(hooks):
                hook()

    hooks = import_from_location.mmplug_after_load = []
    target.import_from_location = import_from_location
    return hooks


def after_load(scope: str, kind: str, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once the ``kind`` registry (``'MODELS'``, ...) of
    library ``scope`` has imported the library's classes: at once if it has,
    never if the library is not installed."""
    if not _installed(scope):
        return
    hooks = _hooks(scope, kind)
    if callback not in hooks:
        hooks.append(callback)
    if _target(scope, kind)._imported:
        callback()


def join_downstream() -> None:
    """Hook mmplug's classes into the registries of each installed library of
    :data:`DOWNSTREAM`, joining at once those already loaded. ``import
    mmplug`` calls it last (a join imports mmplug's modules)."""
    for scope in filter(_installed, DOWNSTREAM):
        for kind in SOURCES:
            _hooks(scope, kind)
            if _target(scope, kind)._imported:
                _join(scope, kind)


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
