from importlib.util import find_spec

from .backbones import *  # noqa: F401,F403
from .backbones import __all__ as _backbones
from .checkpoint import CheckpointMismatchError, LoadReport, load_pretrained
from .deploy import switch_to_deploy
from .refconv import RefConv, refocus

__all__ = list(_backbones) + [
    'CheckpointMismatchError', 'LoadReport', 'load_pretrained', 'RefConv', 'refocus',
    'switch_to_deploy'
]

if find_spec('mmpretrain'):  # classification heads are mmpretrain heads
    from .heads import FasterNetClsHead, MlpClsHead, NormLinearClsHead  # noqa: F401
    __all__ += ['FasterNetClsHead', 'MlpClsHead', 'NormLinearClsHead']
