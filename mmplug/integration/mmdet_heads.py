"""Adapts to: mmdet 3.3's ``SSDHead``, which cannot predict.

``SSDHead`` has no ``loss_cls`` (its loss is written out), but the shared
``AnchorHead.predict_by_feat`` reads ``self.loss_cls``, so every SSD/SSDLite
prediction raises AttributeError. A class attribute ``None`` answers the
lookup as "no custom class channels". Applied once mmdet's model zoo is
imported (by the first lookup in its MODELS registry), only where the class
lacks the attribute.

Foreign API: ``SSDHead.loss_cls`` (set, public class). Test:
``tests/test_integration.py::test_ssd_heads_predict``.
"""
import sys

from .registries import after_load


def ssd_head_predicts() -> None:
    from mmdet.models.dense_heads import SSDHead
    if not hasattr(SSDHead, 'loss_cls'):
        SSDHead.loss_cls = None


def apply() -> None:
    if 'mmdet.models' in sys.modules:  # imported before mmplug
        ssd_head_predicts()
    after_load('mmdet', 'MODELS', ssd_head_predicts)
