from importlib.util import find_spec

from .backbones import *  # noqa: F401,F403
from .backbones import __all__ as _backbones
from .checkpoint import CheckpointMismatchError, LoadReport, load_pretrained

__all__ = list(_backbones) + ['CheckpointMismatchError', 'LoadReport', 'load_pretrained']

if find_spec('mmpretrain'):  # classification heads are mmpretrain heads
    from .heads import FasterNetClsHead, MlpClsHead, NormLinearClsHead  # noqa: F401
    __all__ += ['FasterNetClsHead', 'MlpClsHead', 'NormLinearClsHead']
