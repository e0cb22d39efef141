"""Why one ConvNeXt-T comparison with timm gave 1.16x and another 2.02x:
the two set-ups side by side, each measured with this process at a high
scheduling priority (as on a quiet machine) and at the normal one (sharing
the CPU with whatever else runs), in rounds that alternate all of it.

The set-ups (ConvNeXt-T, deploy form for inference, channels_last weights
and input, batch 8, 224x224):

- issue: ``mmplug.ConvNeXt(arch='tiny', out_indices=(3,))`` (a LayerNorm on
  its output, no drop path) against ``timm.create_model('convnext_tiny')``'s
  ``forward_features`` (no norm after the last stage);
- targets: ``configs/cls/convnext_t_in1k.py``'s backbone (no output norm,
  drop path 0.1) against :func:`mmplug.analysis.timm_counterpart` (timm's
  ``convnext_tiny`` with the same outputs and drop path), as
  ``benchmark.py targets`` builds them;
- targets-before (``--setups``): the config's backbone against
  ``TimmFeatures('convnext_tiny')``, as ``benchmark.py targets`` built them
  before: timm without drop path, so in training ours did more work.

For each set-up and priority it prints timm's time over ours (medians of the
per-round ratios), the fresh pages the kernel had to fault in per call (what
glibc's heap returned to the system since the last call) and the share of
the machine's CPU used elsewhere while timing; then the kernels (ops that
read or write tensor data) each side runs per inference call: contention
adds about the same delay to each kernel of a multi-threaded model, so the
more a machine is shared, the closer timm / ours gets to the ratio of
kernel counts.

The high priority (nice -20 for this process's threads and, where the
kernel groups processes by session, for this session's group) needs root or
CAP_SYS_NICE; ``--priorities normal`` measures without it. Other processes
wait while its high-priority rounds run (seconds each): run it briefly.

    python tools/analysis/convnext_gap.py --rounds 4
    python tools/analysis/convnext_gap.py --rounds 2 --priorities high --train \
        --setups issue targets targets-before
"""
import argparse
import copy
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mmplug import ConvNeXt, switch_to_deploy  # noqa: E402
from mmplug.analysis import (  # noqa: E402
    TimmFeatures,
    inference_step,
    make_input,
    quiet_logs,
    timm_counterpart,
    training_step,
)
from mmplug.apis import build_model  # noqa: E402
from tools.analysis.benchmark import CpuElsewhere  # noqa: E402

CONFIG = 'configs/cls/convnext_t_in1k.py'
SETUPS = ('issue', 'targets', 'targets-before')


class TimmForwardFeatures(torch.nn.Module):
    """``timm.create_model(name)`` (its defaults) called through
    ``forward_features``, as a standalone script would."""

    def __init__(self, name: str):
        super().__init__()
        import timm
        self.model = timm.create_model(name)

    def forward(self, x: torch.Tensor) -> tuple:
        return (self.model.forward_features(x), )


def set_nice(value: int) -> bool:
    """Set the nice value of every thread of this process (Linux keeps one
    per thread) and, where the kernel groups each session's processes
    (autogroup: nice values then only rank threads within a session), of
    this session's group; False if not permitted."""
    try:
        for tid in os.listdir('/proc/self/task'):
            os.setpriority(os.PRIO_PROCESS, int(tid), value)
        if os.path.exists('/proc/self/autogroup'):
            with open('/proc/self/autogroup', 'w') as f:
                f.write(str(value))
    except OSError:
        return False
    return True


def timed(fn: Callable[[], object]) -> Dict[str, float]:
    """One untimed call, then one timed call: seconds, CPU share used
    elsewhere meanwhile, and page faults (fresh pages the kernel gave)."""
    fn()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with CpuElsewhere() as elsewhere:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return dict(seconds=seconds, elsewhere=elsewhere.share or 0.0, faults=faults)


#: Ops that touch no tensor data themselves: allocations, views, and the
#: wrappers whose work is another op of the profile (linear -> addmm).
NOT_KERNELS = frozenset(f'aten::{name}' for name in (
    'empty', 'empty_strided', 'empty_like', 'resize_', 'view', 'permute', 'as_strided', 't',
    'transpose', 'reshape', 'expand', '_unsafe_view', 'contiguous', 'dropout', 'resolve_conj',
    'resolve_neg', 'detach', 'alias', 'slice', 'select', 'unsqueeze', 'squeeze', 'flatten',
    'lift_fresh', 'to', '_to_copy', 'linear', 'conv2d', 'convolution', '_convolution',
    'layer_norm', 'thnn_conv2d', '_nnpack_available'))


def kernels(fn: Callable[[], object]) -> Dict[str, int]:
    """Calls per op in one call of ``fn``, of the ops that read or write
    tensor data (each a kernel, parallel over the threads)."""
    from torch.profiler import ProfilerActivity, profile
    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return {e.key: e.count for e in prof.key_averages() if e.key not in NOT_KERNELS}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=4)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--train', action='store_true', help='also time training steps')
    parser.add_argument('--nice', type=int, default=-20,
                        help='nice value of the high-priority rounds')
    parser.add_argument('--priorities', nargs='+', choices=['high', 'normal'],
                        default=['high', 'normal'])
    parser.add_argument('--setups', nargs='+', choices=SETUPS, default=['issue', 'targets'])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    quiet_logs()
    cl = torch.channels_last
    x = make_input(args.batch, (args.size, args.size), True)

    config_ours = build_model(CONFIG).backbone
    pairs = {
        'issue': lambda: (ConvNeXt(arch='tiny', out_indices=(3, )),
                          TimmForwardFeatures('convnext_tiny')),
        'targets': lambda: (copy.deepcopy(config_ours), timm_counterpart(config_ours)),
        'targets-before': lambda: (copy.deepcopy(config_ours), TimmFeatures('convnext_tiny')),
    }
    models = {}
    for setup in args.setups:
        models[(setup, 'ours')], models[(setup, 'timm')] = pairs[setup]()
    fns = {}
    for (setup, side), model in models.items():
        infer = switch_to_deploy(copy.deepcopy(model)) if side == 'ours' else model
        fns[(setup, side, 'infer')] = inference_step(infer.to(memory_format=cl), x)
        if args.train:
            fns[(setup, side, 'train')] = training_step(model.to(memory_format=cl), x)
    priorities = list(args.priorities)
    if 'high' in priorities and not set_nice(args.nice):
        parser.error('cannot raise the priority (needs root or CAP_SYS_NICE); '
                     'pass --priorities normal')
    results = {(p, k): [] for p in priorities for k in fns}
    try:
        for fn in fns.values():  # warm-up, also builds oneDNN's packed weights
            fn()
        set_nice(0)
        for r in range(args.rounds):
            for priority in priorities:
                set_nice(args.nice if priority == 'high' else 0)
                for key, fn in fns.items():
                    results[(priority, key)].append(timed(fn))
                set_nice(0)
            print(f'  .. round {r + 1}/{args.rounds} done', file=sys.stderr, flush=True)
    finally:
        set_nice(0)

    print(f'\nConvNeXt-T, batch {args.batch}, {args.size}x{args.size}, {args.threads} threads, '
          f'channels_last; timm / ours, median of {args.rounds} per-round ratios (each '
          f'round: one untimed and one timed call of each)\n')
    print('| set-up | priority | mode | ours (ms) | timm (ms) | timm / ours | page faults per '
          'call, ours / timm | CPU elsewhere |')
    print('| --- ' * 8 + '|')
    for setup in args.setups:
        for priority in priorities:
            for mode in ('infer', 'train') if args.train else ('infer', ):
                ours = results[(priority, (setup, 'ours', mode))]
                timm = results[(priority, (setup, 'timm', mode))]
                ratio = statistics.median(t['seconds'] / o['seconds'] for o, t in zip(ours, timm))
                busy = max(r['elsewhere'] for r in ours + timm)
                print(f'| {setup} | {priority} | {mode} | '
                      f'{1e3 * statistics.median(o["seconds"] for o in ours):.0f} | '
                      f'{1e3 * statistics.median(t["seconds"] for t in timm):.0f} | '
                      f'{ratio:.2f}x | {statistics.median(o["faults"] for o in ours):.0f} / '
                      f'{statistics.median(t["faults"] for t in timm):.0f} | '
                      f'at most {100 * busy:.0f}% |')
    print('\nkernels per inference call (ops that read or write tensor data; contention '
          'adds about a fixed delay to each):\n')
    for setup in args.setups:
        for side in ('ours', 'timm'):
            ops = kernels(fns[(setup, side, 'infer')])
            print(f'- {setup}, {side}: {sum(ops.values())} '
                  f'({", ".join(f"{k} {v}" for k, v in sorted(ops.items()))})')


if __name__ == '__main__':
    main()
