"""Data sets: the synthetic shapes set, for demos and tests.

``ShapesCocoDataset`` (an mmdet data set) and ``ShapesSegDataset`` (an mmseg
one) are imported on first access, or when mmdet's or mmseg's DATASETS
registry loads (:mod:`mmplug.registry`), so that importing the shapes set's
functions imports neither library's data sets.
"""
import importlib
from importlib.util import find_spec

from .shapes import CLASSES, PALETTE, ensure_shapes, generate_shapes, shapes_params

__all__ = ['CLASSES', 'PALETTE', 'ensure_shapes', 'generate_shapes', 'shapes_params']

#: Data set classes by name: their module and the library it subclasses.
_CLASSES = {'ShapesCocoDataset': ('det', 'mmdet'), 'ShapesSegDataset': ('seg', 'mmseg')}
__all__ += [name for name, (_, library) in _CLASSES.items() if find_spec(library)]


def __getattr__(name: str):
    if name in __all__ and name in _CLASSES:
        return getattr(importlib.import_module(f'.{_CLASSES[name][0]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
