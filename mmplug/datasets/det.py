"""The shapes data set as an mmdet COCO data set, generated on first use."""
import os.path as osp
from typing import Optional

from mmdet.datasets import CocoDataset

from .shapes import CLASSES, PALETTE, ensure_shapes


class ShapesCocoDataset(CocoDataset):
    """mmdet's CocoDataset over :mod:`mmplug.datasets.shapes`, which it
    writes under ``data_root`` the first time it is built.

    Args:
        generate: Parameters of the data set (``splits``, ``image_size``,
            ``max_shapes``, ``seed``); see :func:`shapes_params`.
        **kwargs: CocoDataset's arguments; ``data_root`` is required.
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)
    generates_data = True  # tools skip their missing-data check

    def __init__(self, *args, generate: Optional[dict] = None, **kwargs):
        data_root = kwargs.get('data_root')
        if not data_root:
            raise ValueError('ShapesCocoDataset needs data_root: the folder to generate into')
        ensure_shapes(osp.normpath(data_root), **(generate or {}))
        super().__init__(*args, **kwargs)
