"""Backbones, layers and model tools. The classification heads (mmpretrain
heads: importing them imports mmpretrain's model zoo) are in
:mod:`mmplug.models.heads`."""
from ..deploy.reparam import switch_to_deploy
from .backbones import *  # noqa: F401,F403
from .backbones import __all__ as _backbones
from .checkpoint import CheckpointMismatchError, LoadReport, load_pretrained
from .refconv import RefConv, refocus

__all__ = list(_backbones) + [
    'CheckpointMismatchError', 'LoadReport', 'load_pretrained', 'RefConv', 'refocus',
    'switch_to_deploy'
]
