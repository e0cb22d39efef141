"""The files mmplug ships beside its code, and ``mmplug::`` config paths.

Like OpenMMLab's packages, mmplug carries its configs, its tools and its model
index in ``mmplug/.mim/`` (``configs/``, ``tools/``, ``model-index.yml``):
linked to the repository's folders in an editable install, copied into wheels
and source packages (``setup.py``).

A config anywhere may then inherit one of mmplug's, as it inherits mmdet's::

    _base_ = 'mmplug::det/fasternet_s_maskrcnn.py'

A config's ``custom_imports`` run only after its ``_base_`` is resolved, so
``import mmplug`` (which mmplug's tools do first) must come before; how the
name reaches this module is :mod:`mmplug.integration.configs`.
"""
from pathlib import Path
from typing import List

#: The package's own files, where OpenMMLab packages keep theirs.
MIM = Path(__file__).resolve().parent / '.mim'
#: The prefix of mmplug's configs in a ``_base_`` or on a tool's command line.
PREFIX = 'mmplug::'


def configs_root() -> Path:
    """The folder of mmplug's configs in this installation.

    Raises:
        FileNotFoundError: when the installation carries none (an editable
            install whose ``setup.py`` has not run since the folder was
            removed).
    """
    root = MIM / 'configs'
    if not root.is_dir():
        raise FileNotFoundError(
            f'mmplug carries no configs at {root}: reinstall it (pip install . in a clone; '
            'with -e, the install links the clone\'s configs there)')
    return root


def list_configs() -> List[str]:
    """Every config mmplug ships, as the names ``mmplug::`` takes
    (``'det/fasternet_s_maskrcnn.py'``), sorted."""
    root = configs_root()
    return sorted(p.relative_to(root).as_posix() for p in root.rglob('*.py'))


def config_path(name: str) -> Path:
    """The file of one of mmplug's configs.

    Args:
        name: ``'det/fasternet_s_maskrcnn.py'``, with or without the
            ``mmplug::`` prefix.

    Raises:
        FileNotFoundError: naming the config and, if any, the shipped configs
            of the same task folder.
    """
    rel = name[len(PREFIX):] if name.startswith(PREFIX) else name
    path = configs_root() / rel
    if not path.is_file():
        shipped = list_configs()
        folder = rel.split('/')[0] + '/'
        near = [c for c in shipped if c.startswith(folder)]
        known = ', '.join(near) if near else 'task folders ' + ', '.join(
            sorted({c.split('/')[0] for c in shipped}))
        raise FileNotFoundError(f'mmplug ships no config {PREFIX}{rel}; known: {known}')
    return path
