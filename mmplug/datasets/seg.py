"""The shapes data set with label maps, as an mmseg data set."""
import os.path as osp
from typing import Optional

from mmseg.datasets import BaseSegDataset

from .shapes import CLASSES, PALETTE, ensure_shapes


class ShapesSegDataset(BaseSegDataset):
    """Semantic segmentation over :mod:`mmplug.datasets.shapes` (classes:
    background and the three shapes), written under ``data_root`` with label
    maps the first time it is built.

    Args:
        split: ``'train'`` or another split of ``generate``; sets
            ``data_prefix`` to the split's images and label maps.
        generate: Parameters of the data set (``splits``, ``image_size``,
            ``max_shapes``, ``seed``); ``label_maps`` is always on.
        **kwargs: BaseSegDataset's arguments; ``data_root`` is required.
    """

    METAINFO = dict(classes=('background', ) + CLASSES, palette=[(0, 0, 0)] + PALETTE)
    generates_data = True  # tools skip their missing-data check

    def __init__(self, split: str = 'train', generate: Optional[dict] = None, **kwargs):
        data_root = kwargs.get('data_root')
        if not data_root:
            raise ValueError('ShapesSegDataset needs data_root: the folder to generate into')
        params = dict(generate or {}, label_maps=True)
        ensure_shapes(osp.normpath(data_root), **params)
        kwargs.setdefault('data_prefix', dict(img_path=f'{split}/',
                                              seg_map_path=f'labels/{split}/'))
        super().__init__(img_suffix='.png', seg_map_suffix='.png', **kwargs)
