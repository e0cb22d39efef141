"""Adapts to: torch >= 2.6 loading OpenMMLab mmengine's (0.10.7) checkpoints.

``torch.load`` defaults to ``weights_only=True``, and mmengine's checkpoints
hold ``HistoryBuffer`` objects (the message hub's log scalars) with numpy
arrays and numpy scalars, so ``--resume`` fails. Exactly these types are
allowed, under the names numpy 1.x and 2.x pickle them with; any other pickled
object is still refused. ``HistoryBuffer`` pickles its class-level table of
statistics functions into every instance (which would need the unsafe
``getattr`` allowed); the table is rebuilt on unpickling anyway, so it is left
out of the pickle. The fork's mmengine (0.10.8 on) loads its checkpoints
itself, so there nothing is applied.

Private API: ``HistoryBuffer.__getstate__`` (set). Test:
``tests/test_integration.py`` (resume with ``weights_only``, objects still
refused, nothing applied on the fork).
"""
import mmengine
import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def needed() -> bool:
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


SAFE_GLOBALS = [HistoryBuffer] + _numpy_globals()


def history_buffer_getstate(self: HistoryBuffer) -> dict:
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def apply() -> None:
    if needed():
        torch.serialization.add_safe_globals(SAFE_GLOBALS)
        HistoryBuffer.__getstate__ = history_buffer_getstate
