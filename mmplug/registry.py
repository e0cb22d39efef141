"""Every class mmplug registers, and where: :data:`ENTRIES`.

This table is the one way in. A class of mmplug is registered by a line here,
never by a decorator or a call in its own module, so "how does class X get
into registry Y" is answered by reading :data:`ENTRIES`:

- ``'mmplug'``: mmplug's own registries (below), children of mmengine's roots
  with scope ``mmplug``, so ``type='mmplug.FasterNet'`` resolves from any
  OpenMMLab scope (mmengine imports this module when it meets the prefix).
- ``'mmdet'``, ``'mmseg'``, ``'mmpretrain'``: the library's registry of the
  same kind, under the plain name (``type='FasterNet'`` with that default
  scope), unless the library has a class of that name already (mmpretrain's
  ``ConvNeXt``, mmseg's ``LayerDecayOptimizerConstructor``): there the
  library's own class keeps the name and mmplug's stays reachable as
  ``mmplug.<name>``.
- ``'mmengine'``: mmengine's root registry, for what other libraries build
  from it (mmcv builds conv layers from the root ``MODELS``).

When: mmplug's and mmengine's at ``import mmplug`` for the root, and on a
registry's first lookup for mmplug's own (:class:`MmplugRegistry`); a
library's when that library's registry imports its own classes (its first
lookup: :mod:`mmplug.integration.registries`), so that ``import mmplug``
imports no model zoo or data set and a name the library uses stays its own.
"""
import importlib
import importlib.util
from typing import NamedTuple, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry

#: The libraries whose registries mmplug's classes join.
DOWNSTREAM = ('mmdet', 'mmseg', 'mmpretrain')
_ALL = ('mmplug', ) + DOWNSTREAM


class Entry(NamedTuple):
    """One registration.

    Attributes:
        kind: The registries' attribute name: ``'MODELS'``, ``'DATASETS'``,
            ``'OPTIM_WRAPPER_CONSTRUCTORS'`` or ``'HOOKS'``.
        name: The type name configs use.
        source: ``'module'`` (the object is the module's attribute ``name``)
            or ``'module:attribute'``.
        scopes: The registries it joins, as the module docstring says.
        needs: A library the source module imports (its classes subclass
            that library's), or None.
    """
    kind: str
    name: str
    source: str
    scopes: Tuple[str, ...]
    needs: Optional[str] = None

    def load(self):
        """The registered object (importing its module)."""
        module, _, attribute = self.source.partition(':')
        return getattr(importlib.import_module(module), attribute or self.name)


ENTRIES = (
    Entry('MODELS', 'FasterNet', 'mmplug.models.backbones.fasternet', _ALL),
    Entry('MODELS', 'InceptionNeXt', 'mmplug.models.backbones.inceptionnext', _ALL),
    Entry('MODELS', 'ConvNeXt', 'mmplug.models.backbones.convnext', _ALL),
    Entry('MODELS', 'EMO', 'mmplug.models.backbones.emo', _ALL),
    Entry('MODELS', 'FasterNetClsHead', 'mmplug.models.heads', ('mmplug', 'mmpretrain'),
          needs='mmpretrain'),
    Entry('MODELS', 'MlpClsHead', 'mmplug.models.heads', ('mmplug', 'mmpretrain'),
          needs='mmpretrain'),
    Entry('MODELS', 'NormLinearClsHead', 'mmplug.models.heads', ('mmplug', 'mmpretrain'),
          needs='mmpretrain'),
    # wrappers that build another module from a config and return it changed
    Entry('MODELS', 'Refocus', 'mmplug.models.refconv:build_refocused', ('mmplug', )),
    Entry('MODELS', 'Deployed', 'mmplug.deploy.reparam:build_deployed', ('mmplug', )),
    Entry('MODELS', 'RefConv', 'mmplug.models.refconv', ('mmengine', )),
    Entry('DATASETS', 'ShapesCocoDataset', 'mmplug.datasets.det', ('mmplug', 'mmdet'),
          needs='mmdet'),
    Entry('DATASETS', 'ShapesSegDataset', 'mmplug.datasets.seg', ('mmplug', 'mmseg'),
          needs='mmseg'),
    Entry('OPTIM_WRAPPER_CONSTRUCTORS', 'LayerDecayOptimizerConstructor',
          'mmplug.engine.optimizers', _ALL),
    Entry('HOOKS', 'CompileInferenceHook', 'mmplug.engine.compile', ('mmengine', )),
)


def installed(library: str) -> bool:
    """Whether ``library`` (an import name) can be imported."""
    return importlib.util.find_spec(library) is not None


def register_entries(scope: str, kind: str, registry: Registry) -> None:
    """Register into ``registry`` (``scope``'s registry of ``kind``) every
    entry meant for it; a name the registry has already keeps its class.

    Args:
        scope: ``'mmplug'``, a library of :data:`DOWNSTREAM` or ``'mmengine'``.
        kind: ``'MODELS'``, ...
        registry: That registry.
    """
    for entry in ENTRIES:
        if entry.kind != kind or scope not in entry.scopes:
            continue
        if entry.needs is not None and not installed(entry.needs):
            continue
        if entry.name not in registry.module_dict:
            registry.register_module(name=entry.name, module=entry.load())


class MmplugRegistry(Registry):
    """One of mmplug's registries: registers its :data:`ENTRIES` on its first
    lookup (every ``get`` and ``build`` starts with ``import_from_location``)."""

    def __init__(self, name: str, kind: str, parent: Registry):
        super().__init__(name, parent=parent, scope='mmplug')
        self.kind = kind
        self._entries_registered = False

    def import_from_location(self) -> None:
        super().import_from_location()
        if not self._entries_registered:
            self._entries_registered = True
            register_entries('mmplug', self.kind, self)


MODELS = MmplugRegistry('model', 'MODELS', MMENGINE_MODELS)
DATASETS = MmplugRegistry('dataset', 'DATASETS', MMENGINE_DATASETS)
OPTIM_WRAPPER_CONSTRUCTORS = MmplugRegistry(
    'optimizer wrapper constructor', 'OPTIM_WRAPPER_CONSTRUCTORS',
    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)


def register_root() -> None:
    """Register the entries meant for mmengine's root registries (``import
    mmplug`` does)."""
    import mmengine.registry
    for kind in sorted({e.kind for e in ENTRIES if 'mmengine' in e.scopes}):
        register_entries('mmengine', kind, getattr(mmengine.registry, kind))


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
        merged = Config(dict(module=module))
        merged.merge_from_dict({f'module.{key}': value for key, value in overrides.items()})
        module = merged.module  # a ConfigDict, as mmdet's models read their cfgs by attribute
    return MODELS.build(module)
