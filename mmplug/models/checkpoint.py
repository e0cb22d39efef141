"""Loading pretrained weights into a backbone, with a full report.

There is one way in: :func:`load_pretrained`, which every backbone's
``init_cfg=dict(type='Pretrained', checkpoint=...)`` goes through. It reads
the file (local path or URL, through mmengine; :func:`read_checkpoint`, which
the whole-model loader of :mod:`mmplug.apis` uses too), takes the backbone part of a
whole-model checkpoint, converts the layout with the backbone's pure converter,
and loads it. Keys that are expected to differ (per-output norms a
classification checkpoint cannot have, a classification head) are reported by
name; any other difference is an error that names the keys.
"""
import os.path as osp
import re
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

StateDict = Dict[str, torch.Tensor]


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model it is loaded into."""


class CheckpointFileError(ValueError):
    """A checkpoint file cannot be read: truncated, corrupt or not a checkpoint."""


#: The learnable maps of RefConv layers: a plain model's checkpoint lacks
#: them, and they keep their start (zero: the refocused model is the plain one).
REFOCUS_MAP_KEYS = r'(.*\.)?convmap\.weight$'


@dataclass
class LoadReport:
    """What :func:`load_pretrained` did with a checkpoint."""
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)  # expected: left as initialised
    unused: List[str] = field(default_factory=list)  # in the file, not loaded


def unwrap_state_dict(checkpoint: dict) -> StateDict:
    """The state dict inside a checkpoint file's object: mmengine's
    ``state_dict``, the ``model`` of the official ConvNeXt/DeiT-style files, or
    the object itself; a ``module.`` prefix from DataParallel is dropped."""
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'a checkpoint must hold a dict, got {type(checkpoint).__name__}')
    for key in ('state_dict', 'model', 'module'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    return {k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in checkpoint.items()}


def split_backbone(state_dict: StateDict, prefix: str = 'backbone.'):
    """Split a whole-model state dict (mmdet, mmseg, mmpretrain) into its
    backbone part, without the prefix, and the rest. A dict without any
    ``backbone.`` key is returned whole."""
    if not any(k.startswith(prefix) for k in state_dict):
        return dict(state_dict), []
    inside = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    return inside, sorted(k for k in state_dict if not k.startswith(prefix))


def _names(keys: Sequence[str], limit: int = 30) -> str:
    keys = list(keys)
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys) - limit} more)' if len(keys) > limit else '')


def load_state_dict_checked(model: nn.Module,
                            state_dict: StateDict,
                            optional: Sequence[str] = (),
                            source: str = 'checkpoint') -> LoadReport:
    """Load a state dict already in ``model``'s layout.

    Args:
        model: Module to load into.
        state_dict: Tensors keyed as in ``model.state_dict()``.
        optional: Regexes (matched at the start of a key) of keys that the
            file may lack (they keep their initial values) or the model may
            not use. A classification head (``head.``) may always be unused,
            and RefConv maps (``convmap.weight``) may always be missing.
        source: Name of the file, for messages.

    Returns:
        What was loaded, left missing and left unused.

    Raises:
        CheckpointMismatchError: on a shape mismatch, a missing key that is
            not expected, or an unused key that is not expected.
    """
    own = model.state_dict()
    name = type(model).__name__
    shapes = [f'{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}'
              for k, v in state_dict.items() if k in own and v.shape != own[k].shape]
    if shapes:
        raise CheckpointMismatchError(
            f'{source} does not fit this {name} (another variant or another '
            f'network?): {len(shapes)} shape mismatches: {_names(shapes, 10)}')
    missing = [k for k in own if k not in state_dict]
    unused = [k for k in state_dict if k not in own]
    bad_missing = [k for k in missing
                   if not any(re.match(p, k) for p in (*optional, REFOCUS_MAP_KEYS))]
    bad_unused = [k for k in unused if not any(re.match(p, k) for p in (*optional, r'head\.'))]
    if bad_missing or bad_unused:
        hint = ''
        if any(re.match(REFOCUS_MAP_KEYS, k) for k in bad_unused):
            hint = (' The file has RefConv maps (convmap): build the model with '
                    "conv_cfg=dict(type='RefConv') to keep them.")
        raise CheckpointMismatchError(
            f'{source} does not fit this {name} (a checkpoint of another '
            f'network or variant?). Missing from the file: '
            f'[{_names(bad_missing)}]; in the file but not in the model: '
            f'[{_names(bad_unused)}].{hint}')
    model.load_state_dict(state_dict, strict=False)
    return LoadReport(loaded=[k for k in state_dict if k in own], missing=missing, unused=unused)


def check_checkpoint_file(filename: str, what: str = 'checkpoint', hint: str = '') -> None:
    """Check that a local checkpoint file is whole, without unpickling it:
    ``torch.save`` writes a zip archive, whose index is at its end (a
    truncated file has none) and whose entries carry CRCs (a corrupt one
    fails its check).

    Args:
        filename: Local path; a URL (``://``) is left to the loader.
        what: How messages name it.
        hint: What the message of a missing file adds.

    Raises:
        FileNotFoundError: when the file does not exist.
        CheckpointFileError: naming the file and what is wrong with it.
    """
    if '://' in filename:
        return
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{what} {filename!r} not found{hint}')
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile:
        with open(filename, 'rb') as f:
            legacy = f.read(2) == b'\x80\x02'  # torch < 1.6: a plain pickle
        if legacy:
            return
        raise CheckpointFileError(
            f'{what} {filename!r} is not a complete checkpoint ({osp.getsize(filename)} bytes, '
            'no archive index at its end): truncated, or not written by torch.save') from None
    except (OSError, EOFError, zipfile.LargeZipFile) as error:
        raise CheckpointFileError(f'{what} {filename!r} cannot be read: {error}') from None
    if bad is not None:
        raise CheckpointFileError(f'{what} {filename!r} is corrupt: its entry {bad!r} fails '
                                  'its CRC check')


def read_checkpoint(filename: str, what: str = 'checkpoint', hint: str = '') -> dict:
    """The object of a checkpoint file, read onto the CPU.

    Args:
        filename: Local path or URL (anything mmengine's CheckpointLoader
            reads).
        what: How messages name it.
        hint: What the message of a missing file adds.

    Raises:
        FileNotFoundError: when a local file does not exist.
        CheckpointFileError: when a local file is truncated or corrupt.
    """
    check_checkpoint_file(filename, what, hint)
    return CheckpointLoader.load_checkpoint(filename, map_location='cpu')


def load_pretrained(model: nn.Module,
                    filename: str,
                    convert: Callable[[StateDict], StateDict],
                    optional: Sequence[str] = ()) -> LoadReport:
    """Load a pretrained checkpoint of any supported layout into a backbone.

    Args:
        model: The backbone.
        filename: Local path or URL (anything mmengine's CheckpointLoader
            reads).
        convert: The backbone family's layout converter.
        optional: Regexes of keys that one side may lack: the per-output
            norms, which a classification checkpoint does not have and a
            detection checkpoint may have for outputs the model does not use.

    Returns:
        The load report, also written to the log key by key.
    """
    checkpoint = read_checkpoint(
        filename, f'{type(model).__name__}: pretrained checkpoint',
        '. Download it, or set init_cfg=None to train from scratch.')
    backbone_sd, others = split_backbone(unwrap_state_dict(checkpoint))
    report = load_state_dict_checked(
        model, convert(backbone_sd), optional=optional, source=filename)
    report.unused = others + report.unused
    print_log(f'{type(model).__name__}: loaded {len(report.loaded)} tensors from {filename}',
              logger='current')
    if report.missing:
        print_log(f'  not in the checkpoint, left as initialised: {", ".join(report.missing)}',
                  logger='current')
    if report.unused:
        print_log(f'  in the checkpoint, not used by the backbone: {", ".join(report.unused)}',
                  logger='current')
    return report
