"""Timing for the tools of tools/analysis: the steps to time (inference,
training, a whole model's ``test_step``), their peak memory, the host line
above a table, and :func:`time_interleaved`, which times with
``torch.utils.benchmark`` in rounds that alternate the functions."""
import contextlib
import copy
import os
import statistics
import sys
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from mmengine.logging import MMLogger
from torch import nn
from torch.utils import benchmark

from mmplug.analysis import data_sample
from mmplug_runtime.host import describe, host_info


def quiet_logs() -> None:
    """Keep mmengine's INFO and WARNING lines (building notes, scope
    switches) out of a tool's standard output, which holds its table."""
    name = 'mmplug-analysis'
    if MMLogger.check_instance_created(name):
        MMLogger.get_instance(name)  # makes it the current one again
    else:
        MMLogger.get_instance(name, log_level='ERROR')


def host_line() -> str:
    """The host of a table: CPU, its inference flags and its fp32
    matrix-product GFLOP/s measured now (:mod:`mmplug_runtime.host`)."""
    return f'host: {describe(host_info())}'


class Timing(dict):
    """Seconds per call of each named function: ``name -> [one figure per
    round]``."""

    def median(self, name: str) -> float:
        return statistics.median(self[name])

    def spread(self, name: str) -> float:
        """(max - min) / median over the rounds."""
        return (max(self[name]) - min(self[name])) / self.median(name)


def time_interleaved(fns: Dict[str, Callable[[], object]], repeats: int = 5,
                     min_seconds: float = 0.5, threads: Optional[int] = None,
                     progress: Optional[Callable[[str], None]] = None) -> Timing:
    """Time each function in ``repeats`` rounds that alternate between them
    (a machine's speed drifts, and then affects all alike). In each round,
    ``torch.utils.benchmark.Timer.blocked_autorange`` warms the function up
    (its block-size estimate) and times blocks of calls for ``min_seconds``;
    the round's figure is the median seconds per call of its blocks.

    Args:
        fns: The functions to time, by name.
        repeats: Rounds, i.e. figures per function.
        min_seconds: How long the timed calls of one figure last at least.
        threads: torch's threads while timing; None keeps the current number.
        progress: Called with a line after each round.
    """
    threads = threads or torch.get_num_threads()
    timers = {name: benchmark.Timer('fn()', globals={'fn': fn}, num_threads=threads,
                                    description=name) for name, fn in fns.items()}
    timing = Timing({name: [] for name in fns})
    for r in range(repeats):
        for name, timer in timers.items():
            timing[name].append(timer.blocked_autorange(min_run_time=min_seconds).median)
        if progress:
            progress(f'repeat {r + 1}/{repeats} done')
    return timing


@contextlib.contextmanager
def _stderr_to_devnull():
    """Silence file descriptor 2: the profiler's C++ side prints start/stop
    lines there that no setting turns off."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes of tensors that ``fn()`` allocates on the CPU (on top of
    what exists before the call), from the profiler's allocation events at
    op granularity."""
    from torch.profiler import ProfilerActivity, profile
    with _stderr_to_devnull(), profile(activities=[ProfilerActivity.CPU],
                                       profile_memory=True) as prof:
        fn()
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


def inference_step(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    """A no-grad forward of ``model`` in eval mode on ``x`` (the mode is set
    at each call, so one model can alternate with :func:`training_step`)."""

    def step():
        model.eval()  # not chained: mmdet's ResNet.train() returns None
        with torch.no_grad():
            return model(x)
    return step


def training_step(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    """A forward and backward pass of ``model`` in train mode on ``x``, with
    the sum of its outputs as the loss; gradients are dropped at each call."""

    def step():
        model.train()
        model.zero_grad(set_to_none=True)
        outs = model(x)
        sum(o.float().sum() for o in outs).backward()
    return step


def predict_step(model: nn.Module, size: Sequence[int]) -> Callable[[], object]:
    """One ``size`` (H, W) image through ``model.test_step``: preprocessing,
    the network and post-processing (NMS, mask pasting, the segmentation
    argmax)."""
    data = dict(inputs=[torch.randint(0, 256, (3, *size), dtype=torch.uint8)],
                data_samples=[data_sample(model, size)])

    def step():
        model.eval()
        with torch.no_grad():
            return model.test_step(copy.copy(data))
    return step


def parse_size(text: str) -> Tuple[int, int]:
    """``'224'`` -> (224, 224); ``'800x1216'`` -> (800, 1216) as (H, W).

    Raises:
        ValueError: for anything else.
    """
    try:
        parts = [int(p) for p in text.lower().split('x')]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 1:
        raise ValueError(f'a size is N or HxW with positive integers, got {text!r}')
    return parts[0], parts[1]


def copy_to(model: nn.Module, channels_last: bool) -> nn.Module:
    """A deep copy of ``model`` in the requested memory format."""
    model = copy.deepcopy(model)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def make_input(batch: int, size: Sequence[int], channels_last: bool) -> torch.Tensor:
    """A random batch of ``size`` (H, W) images in the requested memory
    format."""
    x = torch.randn(batch, 3, *size)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x
