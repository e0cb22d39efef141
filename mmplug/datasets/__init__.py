"""Data sets: the synthetic shapes set, for demos and tests. Its data set
classes subclass mmdet's and mmseg's: :mod:`mmplug.datasets.det`
(``ShapesCocoDataset``) and :mod:`mmplug.datasets.seg` (``ShapesSegDataset``)."""
from .shapes import CLASSES, PALETTE, ensure_shapes, generate_shapes, shapes_params

__all__ = ['CLASSES', 'PALETTE', 'ensure_shapes', 'generate_shapes', 'shapes_params']
