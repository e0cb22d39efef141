"""OpenMMLab's package convention, for ``mmengine.hub.get_model('mmplug::...')``."""
from mmengine.registry import init_default_scope as _init_default_scope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Make mmplug's classes available, as every OpenMMLab package's
    ``utils.register_all_modules`` does: they are registered by ``import
    mmplug`` (:mod:`mmplug.registry`), so this only sets the default scope.

    Args:
        init_default_scope: Make ``mmplug`` the default scope.
    """
    import mmplug  # noqa: F401
    if init_default_scope:
        _init_default_scope('mmplug')
