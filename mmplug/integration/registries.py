"""Adapts to: how mmdet's, mmseg's and mmpretrain's registries load their
own classes (mmengine 0.10's ``Registry.import_from_location``).

mmplug's classes join a library's registry only once the library's own
classes are in (so a name the library uses stays its own, and ``import
mmplug`` imports no model zoo): every ``Registry.get`` (hence every build from
a config) first calls ``import_from_location``, which imports the library's
classes once and sets ``_imported``. Each library registry's
``import_from_location`` is wrapped to register :data:`mmplug.registry.ENTRIES`
right after. Private API: ``Registry._imported`` (read; no public way to ask
whether a registry has loaded). Test: ``tests/test_registry.py``.
"""
import functools
import importlib
from typing import Callable, List

from mmengine.registry import Registry

from ..registry import DOWNSTREAM, ENTRIES, installed, register_entries

#: The kinds of registry that mmplug's entries join in the libraries.
KINDS = tuple(sorted({e.kind for e in ENTRIES if set(e.scopes) & set(DOWNSTREAM)}))


def _target(scope: str, kind: str) -> Registry:
    return getattr(importlib.import_module(f'{scope}.registry'), kind)


def _callbacks(scope: str, kind: str) -> List[Callable[[], None]]:
    """The callbacks run after ``scope``'s ``kind`` registry loads; wraps its
    ``import_from_location`` the first time (the list lives on the wrapper,
    so a second ``import mmplug`` or a reload wraps nothing again)."""
    target = _target(scope, kind)
    callbacks = getattr(target.import_from_location, 'mmplug_after_load', None)
    if callbacks is not None:
        return callbacks
    original, loading = target.import_from_location, []

    def import_from_location() -> None:
        if target._imported or loading:  # loaded, or asked while loading: only mmengine's
            return original()
        loading.append(True)
        try:
            original()
        finally:
            loading.clear()
        if target._imported:  # the library's own classes are in: now mmplug's
            for callback in list(callbacks):
                callback()

    callbacks = import_from_location.mmplug_after_load = []
    target.import_from_location = import_from_location
    return callbacks


def after_load(scope: str, kind: str, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once the ``kind`` registry of library ``scope`` has
    imported the library's own classes: at once if it has, never if the
    library is not installed.

    Args:
        scope: ``'mmdet'``, ``'mmseg'`` or ``'mmpretrain'``.
        kind: ``'MODELS'``, ...
        callback: What to run.
    """
    if not installed(scope):
        return
    callbacks = _callbacks(scope, kind)
    if callback not in callbacks:
        callbacks.append(callback)
        if _target(scope, kind)._imported:
            callback()


def _join(scope: str, kind: str) -> None:
    register_entries(scope, kind, _target(scope, kind))


_JOINS = {(scope, kind): functools.partial(_join, scope, kind)
          for scope in DOWNSTREAM for kind in KINDS}


def apply() -> None:
    """Join every installed library's registries (at once where loaded)."""
    for (scope, kind), join in _JOINS.items():
        after_load(scope, kind, join)
