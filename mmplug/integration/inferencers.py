"""Adapts to: the inferencers of mmdet, mmseg and mmpretrain, which take a
config file or a model name of their own library.

``DetInferencer(model='mmplug::demo/fasternet_t0_maskrcnn_shapes.py',
weights=...)`` would look the name up in mmdet's model index ("Cannot find
model"), and mmpretrain's would read it as a file path. The ``__init__`` of
mmengine's ``BaseInferencer`` (mmdet's and mmseg's inferencers) and of
mmpretrain's ``BaseInferencer`` is wrapped to load an ``mmplug::`` name as the
config it names (``mmplug.mim.config_path``), which both take as ``model``;
anything else is passed on unchanged. Both classes are public; their
``__init__`` is replaced. Test: ``tests/test_integration.py``
(``test_inferencers_take_mmplug_names``). ``mmengine.hub.get_model`` needs no
adapter: it imports :mod:`mmplug.utils` as it does every package's.
"""
import functools

from mmengine.config import Config

from ..mim import PREFIX, config_path
from ..registry import installed


def _taking_mmplug_names(init):
    if getattr(init, 'takes_mmplug_names', False):
        return init

    @functools.wraps(init)
    def wrapper(self, model=None, *args, **kwargs):
        if isinstance(model, str) and model.startswith(PREFIX):
            model = Config.fromfile(str(config_path(model)))
        return init(self, model, *args, **kwargs)

    wrapper.takes_mmplug_names = True
    return wrapper


def apply() -> None:
    from mmengine.infer import BaseInferencer
    BaseInferencer.__init__ = _taking_mmplug_names(BaseInferencer.__init__)
    if installed('mmpretrain'):
        from mmpretrain.apis.base import BaseInferencer as PretrainInferencer
        PretrainInferencer.__init__ = _taking_mmplug_names(PretrainInferencer.__init__)
