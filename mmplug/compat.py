"""Every compatibility shim mmplug needs, in one place.

OpenMMLab 2.x (mmengine 0.10.7, mmcv 2.1, mmdet 3.3, mmseg 1.2, mmpretrain
1.2) predates torch 2.6 and numpy 2; its maintained fork (the ``onedl-mm*``
distributions: mmengine >= 0.10.8, same import names) fixes some of that and
renames the distributions. Importing mmplug applies the shims below that the
running stack needs, once; each has a test in ``tests/test_compat.py`` that
fails without it where it applies. A shim of a downstream class is applied
when that library's registry loads its classes
(:func:`mmplug.registry.after_load`), so importing mmplug does not import them.
"""
import contextlib
import functools
import importlib.metadata
import importlib.util
import sys

import mmengine
import mmengine.dist.utils as dist_utils
import numpy as np
import torch
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.logging import HistoryBuffer
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIMIZERS

from .registry import DOWNSTREAM, after_load

__all__ = ['CHECKPOINT_SAFE_GLOBALS']


# 1. Resume on torch >= 2.6 ---------------------------------------------------
# torch.load defaults to weights_only=True, and mmengine's checkpoints hold
# HistoryBuffer objects (the message hub's log scalars) with numpy arrays, and
# numpy scalars (e.g. the ETA). Allow exactly these types, under the names
# numpy 1.x and 2.x pickle them with; any other pickled object is still refused.
# The fork's mmengine (0.10.8 on; OpenMMLab's last release is 0.10.7) loads
# its checkpoints itself (retrying with weights_only=False), so there it is left.
def resume_needs_shim() -> bool:
    """Whether the running mmengine is OpenMMLab's, whose checkpoints do not
    load under torch >= 2.6's ``weights_only`` default."""
    return mmengine.digit_version(mmengine.__version__) < mmengine.digit_version('0.10.8')


def _numpy_globals() -> list:
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    # dtypes are rebuilt as instances of their own classes (numpy >= 1.25);
    # numeric and boolean ones only, never the object dtype.
    numeric = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
               np.uint32, np.uint64, np.float16, np.float32, np.float64]
    found = [np.ndarray, np.dtype] + [type(np.dtype(t)) for t in numeric]
    for name in ('_reconstruct', 'scalar'):
        func = getattr(multiarray, name)
        found += [(func, f'numpy._core.multiarray.{name}'),
                  (func, f'numpy.core.multiarray.{name}')]
    return found


CHECKPOINT_SAFE_GLOBALS = [HistoryBuffer] + _numpy_globals()


# HistoryBuffer pickles its class-level table of statistics functions into
# every instance (as ``getattr(HistoryBuffer, 'mean')``), which would need the
# unsafe ``getattr`` allowed. The table is rebuilt on unpickling anyway (the
# defaults by ``_set_default_statistics``, custom ones when the module that
# registers them is imported), so leave it out of the pickle.
def _history_buffer_getstate(self: HistoryBuffer) -> dict:
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


# 2. Distributed training without CUDA ---------------------------------------
# mmengine's launchers call torch.cuda.set_device(local_rank) unconditionally,
# which raises on a machine without a GPU, and its configs ask for NCCL; the
# Runner then wraps the model in DDP with device_ids=[local_rank], which DDP
# refuses for a CPU module. Without CUDA: gloo, no set_device, no device_ids.
@contextlib.contextmanager
def _no_cuda_set_device():
    saved = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = saved


def _cpu_capable_launcher(launch):
    if getattr(launch, '_mmplug_cpu', False):
        return launch

    @functools.wraps(launch)
    def wrapper(backend, *args, **kwargs):
        if torch.cuda.is_available():
            return launch(backend, *args, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        with _no_cuda_set_device():
            return launch(backend, *args, **kwargs)

    wrapper._mmplug_cpu = True
    return wrapper


def _cpu_capable_ddp_init(init):
    if getattr(init, '_mmplug_cpu', False):
        return init

    @functools.wraps(init)
    def wrapper(self, module, *args, **kwargs):
        if kwargs.get('device_ids') and all(p.device.type == 'cpu' for p in module.parameters()):
            kwargs['device_ids'] = None
        init(self, module, *args, **kwargs)

    wrapper._mmplug_cpu = True
    return wrapper


def _ssd_head_predicts() -> None:
    """mmdet 3.3's ``SSDHead`` has no ``loss_cls`` (its loss is written out),
    but the shared ``predict_by_feat`` reads ``self.loss_cls``, so every
    SSD/SSDLite prediction (``tools/test.py``) raises AttributeError. A class
    attribute ``None`` answers that lookup as "no custom class channels".
    Applied once mmdet's model zoo is imported (by the first lookup in its
    MODELS registry, as every build from a config does)."""
    from mmdet.models.dense_heads import SSDHead
    if not hasattr(SSDHead, 'loss_cls'):
        SSDHead.loss_cls = None


def _optimizer_type_named(call):
    """mmengine 0.10's ``DefaultOptimWrapperConstructor`` looks the optimizer
    type up and passes what it finds to ``inspect.signature``, so a misspelt
    ``optim_wrapper.optimizer.type`` fails with "None is not a callable
    object". Name the type and the known ones instead."""
    if getattr(call, 'names_unknown_types', False):
        return call

    @functools.wraps(call)
    def wrapper(self, model):
        name = self.optimizer_cfg.get('type')
        if isinstance(name, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                if registry.get(name) is None:
                    known = set()
                    while registry is not None:
                        known.update(registry.module_dict)
                        registry = registry.parent
                    raise KeyError(f'optimizer type {name!r} is not registered (scope '
                                   f'{_scope_name()!r}); known: {", ".join(sorted(known))}')
        return call(self, model)

    wrapper.names_unknown_types = True
    return wrapper


# 3. `mmseg::` bases on the fork ---------------------------------------------
# mmengine finds the configs of a `pkg::` base through the distribution its
# table names for the module (mmseg -> mmsegmentation), and falls back to the
# module's own folder only where the two names agree (mmdet, mmpretrain). The
# fork's distributions have other names (onedl-mmsegmentation), so `mmseg::`
# fails there with "mmsegmentation is not installed". Name the distribution
# that provides the module where the table's is not installed.
def _config_packages_named() -> None:
    provided_by = None
    for module in DOWNSTREAM:
        try:
            importlib.metadata.distribution(MODULE2PACKAGE[module])
            continue
        except importlib.metadata.PackageNotFoundError:
            pass
        if importlib.util.find_spec(module) is None:
            continue  # not installed at all: mmengine's message says so
        if provided_by is None:
            provided_by = importlib.metadata.packages_distributions()
        if provided_by.get(module):
            MODULE2PACKAGE[module] = provided_by[module][0]


def _scope_name() -> str:
    from mmengine.registry import DefaultScope
    current = DefaultScope.get_current_instance()
    return current.scope_name if current is not None else 'mmengine'


def apply() -> None:
    """Apply every shim; calling it again does nothing more."""
    if resume_needs_shim():
        torch.serialization.add_safe_globals(CHECKPOINT_SAFE_GLOBALS)
        HistoryBuffer.__getstate__ = _history_buffer_getstate
    for name in ('_init_dist_pytorch', '_init_dist_slurm', '_init_dist_mpi'):
        setattr(dist_utils, name, _cpu_capable_launcher(getattr(dist_utils, name)))
    MMDistributedDataParallel.__init__ = _cpu_capable_ddp_init(MMDistributedDataParallel.__init__)
    if 'mmdet.models' in sys.modules:  # imported before mmplug
        _ssd_head_predicts()
    after_load('mmdet', 'MODELS', _ssd_head_predicts)
    DefaultOptimWrapperConstructor.__call__ = _optimizer_type_named(
        DefaultOptimWrapperConstructor.__call__)
    _config_packages_named()


apply()
