"""Data sets: the synthetic shapes set, for demos and tests."""
from importlib.util import find_spec

from .shapes import CLASSES, PALETTE, ensure_shapes, generate_shapes, shapes_params

__all__ = ['CLASSES', 'PALETTE', 'ensure_shapes', 'generate_shapes', 'shapes_params']

if find_spec('mmdet'):  # the COCO-format data set class is an mmdet one
    from .det import ShapesCocoDataset  # noqa: F401
    __all__.append('ShapesCocoDataset')

if find_spec('mmseg'):  # the label-map data set class is an mmseg one
    from .seg import ShapesSegDataset  # noqa: F401
    __all__.append('ShapesSegDataset')
