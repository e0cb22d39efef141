"""Adapts to: mmengine 0.10's ``pkg::`` config names.

1. ``_base_ = 'mmplug::det/fasternet_s_maskrcnn.py'``. mmengine resolves
   ``pkg::`` through its table of packages (``MODULE2PACKAGE``) and gives every
   dict of such a base the scope ``pkg``; mmplug's registries have none of
   mmdet's, mmseg's or mmpretrain's classes, so a base must instead keep the
   scopes of its own bases and its ``default_scope``, exactly as when the file
   itself is loaded. ``Config._get_cfg_path`` is wrapped to return
   mmplug's file with no scope (``mmplug.mim.config_path``); ``mmplug`` enters
   the table so that ``mmengine.hub.get_config``/``get_model`` know it.
   Private API: ``Config._get_cfg_path`` (wrapped), ``MODULE2PACKAGE``
   (entry added). Test: ``tests/test_package.py`` (a user's config inheriting
   ``mmplug::``).
2. ``mmseg::`` bases on the fork. mmengine finds the configs of a ``pkg::``
   base through the distribution its table names for the module (mmseg ->
   mmsegmentation); the fork's distributions have other names
   (onedl-mmsegmentation), so there ``mmseg::`` fails with "mmsegmentation is
   not installed". The table names the installed distribution where its own
   is missing. Private API: ``MODULE2PACKAGE`` (entries changed). Test:
   ``tests/test_integration.py::test_mmseg_bases_resolve_where_the_distribution_is_renamed``
   (runs where the distribution is renamed).
"""
import functools
import importlib.metadata
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

from ..mim import PREFIX, config_path
from ..registry import DOWNSTREAM, installed


def _resolving_mmplug(get_cfg_path):
    if getattr(get_cfg_path, 'resolves_mmplug', False):
        return get_cfg_path

    @functools.wraps(get_cfg_path)
    def wrapper(cfg_path: str, filename: str) -> Tuple[str, Optional[str]]:
        if cfg_path.startswith(PREFIX):
            return str(config_path(cfg_path)), None  # None: the scopes the file gives
        return get_cfg_path(cfg_path, filename)

    wrapper.resolves_mmplug = True
    return staticmethod(wrapper)


def _distributions_named() -> None:
    provided_by = None
    for module in DOWNSTREAM:
        try:
            importlib.metadata.distribution(MODULE2PACKAGE[module])
            continue
        except importlib.metadata.PackageNotFoundError:
            pass
        if not installed(module):
            continue  # not installed at all: mmengine's message says so
        if provided_by is None:
            provided_by = importlib.metadata.packages_distributions()
        if provided_by.get(module):
            MODULE2PACKAGE[module] = provided_by[module][0]


def apply() -> None:
    Config._get_cfg_path = _resolving_mmplug(Config._get_cfg_path)
    MODULE2PACKAGE.setdefault('mmplug', 'mmplug')
    _distributions_named()
