"""Backbones, layers and model tools; the classification heads (mmpretrain
heads, so importing them imports mmpretrain's model zoo) on first access."""
import importlib
from importlib.util import find_spec

from ..deploy.reparam import switch_to_deploy
from .backbones import *  # noqa: F401,F403
from .backbones import __all__ as _backbones
from .checkpoint import CheckpointMismatchError, LoadReport, load_pretrained
from .refconv import RefConv, refocus

__all__ = list(_backbones) + [
    'CheckpointMismatchError', 'LoadReport', 'load_pretrained', 'RefConv', 'refocus',
    'switch_to_deploy'
]

#: Exported lazily (not in ``__all__``: ``import *`` stays cheap).
HEADS = ('FasterNetClsHead', 'MlpClsHead', 'NormLinearClsHead')


def __getattr__(name: str):
    if name in HEADS and find_spec('mmpretrain'):  # classification heads are mmpretrain heads
        return getattr(importlib.import_module('.heads', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
