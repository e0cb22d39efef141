"""Speed and memory of mmplug's backbones and models on this machine.

    # backbones of configs: training and inference throughput, peak memory
    python tools/analysis/benchmark.py backbone configs/cls/fasternet_s_in1k.py \
        --batch 8 --size 224 --channels-last --deploy --vs-timm
    # whole detectors / segmentors at their config's test size: latency
    python tools/analysis/benchmark.py model configs/det/emo_1m_ssdlite.py
    # the papers' speed comparisons, reproduced here
    python tools/analysis/benchmark.py paper-speed
    # the speed targets against timm (docs/benchmarks.md)
    python tools/analysis/benchmark.py targets
    # whole models on the deploy engines against PyTorch: tools/analysis/deploy_speed.py

Every comparison is measured in one process, in repeats that alternate the
models (this machine's speed drifts by up to 10%), after a warm-up; tables
give the median over the repeats and the spread ((max - min) / median).
fp32 on ``--threads`` CPU threads. Throughput is images per second; a
training step is forward and backward of the sum of the outputs. Peak memory
is the most tensor memory one step holds at once (profiler allocation events).
``--deploy`` adds each backbone's deploy form (:func:`mmplug.switch_to_deploy`)
for inference; ``--vs-timm`` adds timm's model of the same architecture
doing the backbone's work (``mmplug.analysis.timm_counterpart``: the same
outputs, per-output norms and drop path; no head) and its ratio to ours.
Tables against timm say what each side computes, and how much CPU other
processes used while timing: contention inflates our ratio to timm.
"""
import argparse
import copy
import os
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from mmplug import switch_to_deploy
from mmplug.analysis import (
    Timing,
    TimmFeatures,
    comparison_note,
    copy_to,
    eval_size,
    inference_step,
    macs,
    make_input,
    n_params,
    parse_size,
    peak_memory,
    predict_step,
    quiet_logs,
    time_alternating,
    timm_counterpart,
    timm_twin,
    training_step,
)
from mmplug.apis import build_model


def progress(message: str) -> None:
    print(f'  .. {message}', file=sys.stderr, flush=True)


class Entry:
    """One model to time: its name, the module, the modes to time, and a
    note on what it computes (for a table's footnote)."""

    def __init__(self, name: str, model: torch.nn.Module, modes: Sequence[str], note: str = ''):
        self.name, self.model, self.modes, self.note = name, model, tuple(modes), note


def time_entries(entries: List[Entry], x: torch.Tensor, repeats: int, min_seconds: float,
                 memory: bool) -> Tuple[Timing, Dict[str, int]]:
    fns, peaks = {}, {}
    for e in entries:
        for mode in e.modes:
            key = f'{e.name}|{mode}'
            fns[key] = (training_step if mode == 'train' else inference_step)(e.model, x)
            if memory:
                peaks[key] = peak_memory(fns[key])
    return time_alternating(fns, repeats=repeats, min_seconds=min_seconds,
                            progress=progress), peaks


def profile_table(fn, rows: int) -> str:
    """The ``rows`` ops with the most self CPU time in one call of ``fn``."""
    from torch.profiler import ProfilerActivity, profile
    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows,
                                     max_name_column_width=40)


def speed(timing: Timing, key: str, batch: int) -> str:
    if key not in timing:
        return '-'
    return f'{batch / timing.median(key):.1f} ±{100 * timing.spread(key) / 2:.0f}%'


class CpuElsewhere:
    """The share of this machine's CPU time that went to anything but this
    process (other processes, the hypervisor's steal) while the ``with``
    block ran, from ``/proc/stat`` (``share`` is None without it).

    Contention does not slow two models alike: it adds about the same delay
    to every kernel (op) of a multi-threaded model, whose threads wait for
    the one that was descheduled, so the model that runs more kernels loses
    more; ratios measured on a busy machine overstate the gain of a fused
    deploy form (docs/benchmarks.md; ``tools/analysis/convnext_gap.py``).
    """

    def __enter__(self) -> 'CpuElsewhere':
        self.share: Optional[float] = None
        self._start = self._now()
        return self

    def __exit__(self, *exc) -> None:
        end = self._now()
        if self._start is not None and end is not None:
            wall, busy, own = (b - a for a, b in zip(self._start, end))
            self.share = max(0.0, busy - own) / max(wall * (os.cpu_count() or 1), 1e-9)

    @staticmethod
    def _now() -> Optional[Tuple[float, float, float]]:
        """(wall seconds, CPU seconds of the whole machine, of this process)."""
        try:
            with open('/proc/stat') as f:
                ticks = [int(v) for v in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf('SC_CLK_TCK')  # less idle, iowait
        own = os.times()
        return time.perf_counter(), busy, own.user + own.system


def busy_warning(shares: Sequence[Optional[float]], limit: float = 0.10) -> str:
    """A footnote on the CPU used elsewhere while timing, with a warning
    when the most of it (``shares``, from :class:`CpuElsewhere`) is above
    ``limit``."""
    known = [s for s in shares if s is not None]
    if not known:
        return 'CPU used elsewhere while timing: unknown (no /proc/stat)'
    worst = max(known)
    line = f'CPU used elsewhere while timing: at most {100 * worst:.0f}% of the machine'
    if worst > limit:
        line += (f'. WARNING: above {100 * limit:.0f}%, ratios are not comparable: contention '
                 f'slows the model that runs more kernels (timm\'s, against a deploy form) '
                 f'more; rerun on a quiet machine')
    return line


def machine_note() -> str:
    """One line on this machine's state now, for a footnote: the speed of a
    2048x2048 matrix product on the threads set, and what it costs to fault
    in the fresh pages of a new 64 MB tensor (glibc maps each large tensor
    anew, and timm's models write more new tensors per call than a fused
    deploy form: a slow page fault widens the gap)."""
    import resource
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    best = float('inf')
    for _ in range(3):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    fresh = torch.empty(2**24).fill_(1.0)
    first = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    start = time.perf_counter()
    fresh.fill_(2.0)
    again = time.perf_counter() - start
    cost = f', {1e6 * max(first - again, 0.0) / faults:.2f} µs each' if faults else ''
    return (f'machine now: 2048x2048 matrix product at {2 * 2048**3 / best / 1e9:.0f} GFLOP/s; '
            f'{faults} page faults to fill a new 64 MB tensor{cost}')


def backbone_entries(config: str, channels_last: bool, deploy: bool, vs_timm: bool,
                     train: bool) -> List[Entry]:
    backbone = build_model(config).backbone
    modes = ('infer', 'train') if train else ('infer', )
    entries = [Entry(config, copy_to(backbone, channels_last), modes)]
    if deploy:
        entries.append(Entry(f'{config} (deploy)',
                             switch_to_deploy(copy_to(backbone, channels_last)), ('infer', )))
    if vs_timm:
        twin = timm_counterpart(backbone)
        if twin is None:
            progress(f'{config}: timm has no {type(backbone).__name__} of this arch; skipped')
        else:
            entries.append(Entry(f'timm {twin.name}', copy_to(twin, channels_last), modes,
                                 note=f'{config}: {comparison_note(backbone, twin)}'))
    return entries


def cmd_backbone(args) -> None:
    size = parse_size(args.size)
    x = make_input(args.batch, size, args.channels_last)
    groups = [backbone_entries(c, args.channels_last, args.deploy, args.vs_timm, not args.no_train)
              for c in args.configs]
    names = [e.name for g in groups for e in g]
    for config, group in zip(args.configs, groups):  # one timm model per config: its outputs
        for e in group:
            if e.name.startswith('timm ') and names.count(e.name) > 1:
                e.name += f' (for {config})'
    entries = [e for g in groups for e in g]
    with CpuElsewhere() as elsewhere:
        timing, peaks = time_entries(entries, x, args.repeats, args.min_seconds, memory=True)
    print(f'\nbackbones; batch {args.batch}, {size[0]}x{size[1]}, {args.threads} threads, fp32'
          f'{", channels_last" if args.channels_last else ""}; median ± half the spread of '
          f'{args.repeats} repeats\n')
    print('| model | params (M) | FLOPs (G) | inference (img/s) | training (img/s) '
          '| peak MB (infer / train) | ours / timm (infer; train) |')
    print('| --- ' * 7 + '|')
    for group in groups:
        timm_entry = next((e for e in group if e.name.startswith('timm ')), None)
        for e in group:
            flops = macs(e.model.eval(), (x[:1], )) / 1e9
            inf, tr = f'{e.name}|infer', f'{e.name}|train'
            mem = ' / '.join(f'{peaks[k] / 2**20:.0f}' if k in peaks else '-' for k in (inf, tr))
            vs = '-'
            if timm_entry and e is not timm_entry:
                t_inf, t_tr = f'{timm_entry.name}|infer', f'{timm_entry.name}|train'
                vs = f'{timing.median(t_inf) / timing.median(inf):.2f}x'
                if tr in timing and t_tr in timing:
                    vs += f'; {timing.median(t_tr) / timing.median(tr):.2f}x'
            print(f'| {e.name} | {n_params(e.model) / 1e6:.2f} | {flops:.2f} | '
                  f'{speed(timing, inf, args.batch)} | {speed(timing, tr, args.batch)} | {mem} '
                  f'| {vs} |')
    notes = [e.note for e in entries if e.note]
    if notes:
        print('\nours / timm compares the same outputs (timm outputs what the config\'s backbone '
              'outputs); inference: both in eval mode, no grad (deploy: ours in deploy form); '
              'training: both in train mode, forward and backward of the sum of the outputs:')
        print(''.join(f'\n- {n}' for n in notes))
    print(f'\n{machine_note()}\n\n{busy_warning([elsewhere.share])}')
    for e in entries if args.profile else []:
        print(f'\nprofile of one inference call: {e.name}; achieved '
              f'{2 * macs(e.model.eval(), (x, )) / timing.median(f"{e.name}|infer") / 1e9:.0f} '
              f'GFLOP/s\n')
        print(profile_table(inference_step(e.model, x), args.profile))


def cmd_model(args) -> None:
    fns, rows = {}, []
    for config in args.configs:
        cfg = Config.fromfile(config)
        size = parse_size(args.size) if args.size else eval_size(cfg)
        model = build_model(cfg)
        forms = [(config, model)]
        if args.deploy:
            forms.append((f'{config} (deploy)', switch_to_deploy(copy.deepcopy(model))))
        for name, m in forms:
            fns[name] = predict_step(m, size)
            rows.append((name, size, n_params(m), peak_memory(fns[name])))
    timing = time_alternating(fns, repeats=args.repeats, warmup=args.warmup,
                              min_seconds=args.min_seconds, progress=progress)
    print(f'\nwhole models, one image through test_step (preprocessing, network, '
          f'post-processing); {args.threads} threads, fp32; median of {args.repeats} repeats\n')
    print('| config | input (HxW) | params (M) | latency (ms) | spread | peak MB |')
    print('| --- ' * 6 + '|')
    for name, size, params, peak in rows:
        print(f'| {name} | {size[0]}x{size[1]} | {params / 1e6:.2f} | '
              f'{timing.median(name) * 1e3:.0f} | {100 * timing.spread(name):.0f}% | '
              f'{peak / 2**20:.0f} |')


def best_of_formats(entries: Dict[str, torch.nn.Module], batch: int, size, repeats: int,
                    min_seconds: float) -> Dict[str, Dict[str, float]]:
    """Images per second of each model, training and inference, in the faster
    of NCHW and channels_last (the InceptionNeXt paper reports the better of
    the two)."""
    best: Dict[str, Dict[str, float]] = {n: {'infer': 0.0, 'train': 0.0} for n in entries}
    for channels_last in (False, True):
        progress(f'memory format: {"channels_last" if channels_last else "NCHW"}')
        x = make_input(batch, size, channels_last)
        group = [Entry(n, copy_to(m, channels_last), ('infer', 'train'))
                 for n, m in entries.items()]
        timing, _ = time_entries(group, x, repeats, min_seconds, memory=False)
        for n in entries:
            for mode in ('infer', 'train'):
                best[n][mode] = max(best[n][mode], batch / timing.median(f'{n}|{mode}'))
    return best


# The papers' speed comparisons: (what, model A, model B, paper's A/B ratios).
# InceptionNeXt README (official repo), A100, batch 128, the better memory
# format: train 901 / 575 / 969 and inference 2900 / 2413 / 3149 img/s for
# InceptionNeXt-T / ConvNeXt-T / ResNet-50. FasterNet's paper compares FLOP/s.
PAPER_SPEED = {
    ('InceptionNeXt-T', 'ConvNeXt-T'): (901 / 575, 2900 / 2413),
    ('InceptionNeXt-T', 'ResNet-50'): (901 / 969, 2900 / 3149),
}


def cmd_paper_speed(args) -> None:
    size = parse_size(args.size)
    models = {
        'InceptionNeXt-T': build_model('configs/cls/inceptionnext_t_in1k.py').backbone,
        'ConvNeXt-T': build_model('configs/cls/convnext_t_in1k.py').backbone,
        'FasterNet-S': build_model('configs/cls/fasternet_s_in1k.py').backbone,
        'ResNet-50': TimmFeatures('resnet50'),
        'timm InceptionNeXt-T': TimmFeatures('inception_next_tiny'),
        'timm ConvNeXt-T': TimmFeatures('convnext_tiny'),
    }
    gmacs = {n: macs(m.eval(), (torch.randn(1, 3, *size), )) / 1e9 for n, m in models.items()}
    best = best_of_formats(models, args.batch, size, args.repeats, args.min_seconds)
    print(f'\nbatch {args.batch}, {size[0]}x{size[1]}, {args.threads} threads, fp32; the better '
          f'of NCHW and channels_last per model; medians of {args.repeats} repeats\n')
    print('| model | GMACs | training (img/s) | inference (img/s) | inference GFLOP/s |')
    print('| --- ' * 5 + '|')
    for n in models:
        print(f'| {n} | {gmacs[n]:.2f} | {best[n]["train"]:.2f} | {best[n]["infer"]:.1f} | '
              f'{2 * gmacs[n] * best[n]["infer"]:.0f} |')
    print('\n| comparison | here, mmplug | here, timm | paper (A100, batch 128) |')
    print('| --- ' * 4 + '|')
    for (a, b), (p_train, p_infer) in PAPER_SPEED.items():
        ta, tb = f'timm {a}', (f'timm {b}' if f'timm {b}' in best else b)
        for mode, paper in (('train', p_train), ('infer', p_infer)):
            print(f'| {a} / {b}, {"training" if mode == "train" else "inference"} | '
                  f'{best[a][mode] / best[b][mode]:.2f}x | '
                  f'{best[ta][mode] / best[tb][mode]:.2f}x | {paper:.2f}x |')
    flops = {n: 2 * gmacs[n] * best[n]['infer'] for n in ('FasterNet-S', 'ResNet-50')}
    print(f'| FasterNet-S / ResNet-50, inference FLOP/s | '
          f'{flops["FasterNet-S"] / flops["ResNet-50"]:.2f}x | - | > 1 ("higher FLOPS", '
          f'FasterNet paper, CPU) |')
    print(f'| FasterNet-S / ResNet-50, inference img/s | '
          f'{best["FasterNet-S"]["infer"] / best["ResNet-50"]["infer"]:.2f}x | - | - |')


TARGET_CONFIGS = ('configs/cls/convnext_t_in1k.py', 'configs/cls/inceptionnext_t_in1k.py',
                  'configs/cls/fasternet_s_in1k.py')


def cmd_targets(args) -> None:
    """Each family's paper-scale model against timm's: training at least as
    fast, deploy inference at least 1.10x, channels_last for both. timm's
    model does the backbone's work (:func:`timm_counterpart`: the same
    outputs, output norms and drop path rate), which the header states. Every
    inference cell is measured before any training step, as in a process
    that only serves: a training step leaves glibc's heap holding large
    freed blocks, after which the next allocations fault fewer fresh pages,
    and that helps the unfused model's extra tensors most (docs/benchmarks.md).
    The CPU that other processes used while timing is reported per cell: on
    a busy machine the ratios grow (contention delays every kernel, and
    timm's models run more of them), so only quiet runs compare."""
    cells, notes = [], {}
    for config in args.configs or TARGET_CONFIGS:
        backbone = build_model(config).backbone
        twin = timm_counterpart(backbone)
        if twin is None:
            progress(f'{config}: no timm twin; skipped')
            continue
        notes[config] = comparison_note(backbone, twin)
        for size_text in args.sizes:
            for batch in args.batches:
                cells.append((config, backbone, twin, batch, parse_size(size_text)))
    results = {}
    for phase, ours, modes in (('infer', 'deploy', ('infer', )), ('train', 'ours', ('train', ))):
        for config, backbone, twin, batch, size in cells:
            progress(f'{phase}: {config} vs {twin.name}, batch {batch}, {size[0]}x{size[1]}')
            x = make_input(batch, size, True)
            model = copy_to(backbone, True)
            entries = [Entry(ours, switch_to_deploy(model) if phase == 'infer' else model, modes),
                       Entry('timm', copy_to(twin, True), modes)]
            with CpuElsewhere() as elsewhere:
                timing, _ = time_entries(entries, x, args.repeats, args.min_seconds,
                                         memory=False)
            results[(config, batch, size, phase)] = (
                speed(timing, f'{ours}|{phase}', batch), speed(timing, f'timm|{phase}', batch),
                timing.median(f'timm|{phase}') / timing.median(f'{ours}|{phase}'),
                elsewhere.share)
    print(f'\nours against timm; {args.threads} threads, fp32, channels_last (weights and '
          f'input); img/s medians (± half the spread) of {args.repeats} repeats; targets: '
          f'training >= 1.00x, deploy inference >= 1.10x. Both sides compute the same outputs; '
          f'inference: ours in deploy form, timm as built, both in eval mode under no_grad; '
          f'training: both in train mode, forward and backward of the sum of the outputs:\n')
    for config, note in notes.items():
        print(f'- {config}: {note}')
    print('\n| config | timm | batch | input | training: ours / timm | ratio | inference: ours '
          '(deploy) / timm | ratio | CPU elsewhere (train; infer) |')
    print('| --- ' * 9 + '|')

    def share(value: Optional[float]) -> str:
        return '?' if value is None else f'{100 * value:.0f}%'
    for config, _, twin, batch, size in cells:
        tr_ours, tr_timm, train, tr_busy = results[(config, batch, size, 'train')]
        in_ours, in_timm, infer, in_busy = results[(config, batch, size, 'infer')]
        print(f'| {config} | {twin.name} | {batch} | {size[0]}x{size[1]} | {tr_ours} / '
              f'{tr_timm} | {train:.2f}x {"ok" if train >= 1.0 else "MISSED"} | {in_ours} / '
              f'{in_timm} | {infer:.2f}x {"ok" if infer >= 1.10 else "MISSED"} | '
              f'{share(tr_busy)}; {share(in_busy)} |')
    print(f'\n{machine_note()}\n\n{busy_warning([r[3] for r in results.values()])}')


# ---------------------------------------------------------------- compile
COMPILE_CONFIGS = ('configs/cls/convnext_t_in1k.py', 'configs/cls/inceptionnext_t_in1k.py',
                   'configs/cls/fasternet_s_in1k.py', 'configs/cls/emo_5m_in1k.py',
                   'configs/det/refconv_r50_maskrcnn.py')

#: Every stage trains and every BatchNorm updates, as in timm's model: a
#: detection config's backbone freezes its stem and first stage and keeps
#: its norms in eval mode (the RefConv ResNet-50).
_TRAIN_ALL = {'model.backbone.frozen_stages': -1, 'model.backbone.norm_eval': False}


def _compile_modes() -> List[str]:
    """torch.compile's modes."""
    import torch._inductor
    return list(torch._inductor.list_mode_options())


def _compile_twin(backbone: torch.nn.Module) -> Optional[str]:
    """timm's model of ``backbone``: its twin, or ``resnet50`` for mmdet's
    ResNet-50 (refocused or not)."""
    if type(backbone).__name__ == 'ResNet':  # mmdet's: no arch settings of ours
        return 'resnet50' if getattr(backbone, 'depth', None) == 50 else None
    return timm_twin(backbone)


def _compile_warm(fns: Dict[str, object]) -> Dict[str, float]:
    """Call each function twice; seconds its first call took more than its
    second (compilation, for a compiled one), by name."""
    import time
    extra = {}
    for key, fn in fns.items():
        start = time.perf_counter()
        fn()
        first = time.perf_counter() - start
        start = time.perf_counter()
        fn()
        extra[key] = first - (time.perf_counter() - start)
        progress(f'{key}: first call {first:.1f} s ({extra[key]:.1f} s more than the second)')
    return extra


#: Kinds of op in a profile (:func:`_compile_profile`), by name: the
#: first kind whose test matches. Inductor's generated kernels are named
#: only when ``torch._inductor.config.cpp.enable_kernel_profile`` was on
#: while compiling.
_OP_KINDS = (
    ('compiled-graph overhead (wrappers, guards)',
     lambda n: n.startswith(('## Call CompiledFxGraph', 'TorchDynamo', 'CompiledFunction',
                             'Torch-Compiled Region'))),
    ('generated kernels (inductor)', lambda n: 'cpp_fused' in n or n.startswith('kernel_cpp')),
    ('convolutions and matrix products',
     lambda n: any(k in n.lower() for k in ('conv', 'mm', 'linear', 'matmul', 'attention'))),
    ('other ops', lambda n: True),
)


def _compile_profile(fn, rows: int) -> str:
    """Where one call of ``fn`` spends its CPU time: the share of each kind
    of op (:data:`_OP_KINDS`, self time), then the ``rows`` ops with the
    most self time."""
    from torch.profiler import ProfilerActivity, profile
    for _ in range(2):  # the first session of a process pays the profiler's set-up
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
    averages = prof.key_averages()
    kinds = {kind: 0.0 for kind, _ in _OP_KINDS}
    for avg in averages:
        kind = next(k for k, test in _OP_KINDS if test(avg.key))
        kinds[kind] += avg.self_cpu_time_total
    total = sum(kinds.values()) or 1.0
    shares = '; '.join(f'{k} {100 * v / total:.0f}%' for k, v in
                       sorted(kinds.items(), key=lambda kv: -kv[1]) if v)
    return (f'{shares}; {total / 1e3:.0f} ms in all\n\n'
            + averages.table(sort_by='self_cpu_time_total', row_limit=rows,
                             max_name_column_width=50))


def cmd_compile(args) -> None:
    """Eager against ``torch.compile``d, ours against timm's (the same mode
    on both sides), training and inference, in one interleaved timing per
    config after every model is compiled and warmed up."""
    import torch._dynamo
    import torch._inductor.config as inductor_config
    if args.profile:  # name the generated kernels in the profiles
        inductor_config.cpp.enable_kernel_profile = True
    size = parse_size(args.size)
    x = make_input(args.batch, size, True)
    options = {} if args.mode == 'default' else {'mode': args.mode}
    modes = ('infer', ) if args.no_train else ('infer', 'train')
    rows, compile_s, profiles = [], {}, []
    for config in args.configs or COMPILE_CONFIGS:
        torch._dynamo.reset()  # no cache entries, nor recompile counts, from the last config
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(_TRAIN_ALL)
        backbone = build_model(cfg).backbone
        name = _compile_twin(backbone)
        forms = [('ours', backbone, modes),
                 ('ours (deploy)', switch_to_deploy(copy.deepcopy(backbone)), ('infer', ))]
        if name is None:
            progress(f'{config}: timm has no {type(backbone).__name__} of this arch; ours only')
        else:
            forms.append((f'timm {name}', TimmFeatures(name), modes))
        fns, compiled = {}, set()
        for label, model, form_modes in forms:
            for how in ('eager', 'compiled'):
                m = copy_to(model, True)
                if how == 'compiled':
                    m = torch.compile(m, **options)
                for mode in form_modes:
                    key = f'{label}|{how}|{mode}'
                    fns[key] = (training_step if mode == 'train' else inference_step)(m, x)
                    if how == 'compiled':
                        compiled.add(key)
        progress(f'{config}: compiling and warming up {len(fns)} steps')
        extra = _compile_warm(fns)
        compile_s.update({(config, k): extra[k] for k in compiled})
        timing = time_alternating(fns, repeats=args.repeats, min_seconds=args.min_seconds,
                                  progress=progress)
        rows.append((config, [(label, form_modes) for label, _, form_modes in forms], timing))
        progress(f'{config}: ' + ', '.join(f'{k} {args.batch / timing.median(k):.1f} img/s'
                                           for k in fns))
        for key in [k for k in fns if k.endswith('|train') or args.no_train] \
                if args.profile else []:
            profiles.append(f'\nprofile of one call, {config}, {key}: '
                            f'{_compile_profile(fns[key], args.profile)}')

    print(f'\ntorch.compile (mode {args.mode}) against eager; batch {args.batch}, '
          f'{size[0]}x{size[1]}, {args.threads} threads, fp32, channels_last; img/s, median ± '
          f'half the spread of {args.repeats} repeats; compile s: the first call\'s extra time, '
          f'inference; training\n')
    print('| config | model | inference eager | inference compiled | compiled / eager '
          '| training eager | training compiled | compiled / eager | compile s |')
    print('| --- ' * 9 + '|')

    def ratio(timing, a, b):
        return f'{timing.median(b) / timing.median(a):.2f}x' if a in timing and b in timing \
            else '-'
    for config, forms, timing in rows:
        for label, form_modes in forms:
            k = {f'{how}|{mode}': f'{label}|{how}|{mode}' for how in ('eager', 'compiled')
                 for mode in ('infer', 'train')}
            secs = ' ; '.join(f'{compile_s[(config, k[f"compiled|{m}"])]:.0f}'
                              for m in form_modes)
            print(f'| {config} | {label} | {speed(timing, k["eager|infer"], args.batch)} | '
                  f'{speed(timing, k["compiled|infer"], args.batch)} | '
                  f'{ratio(timing, k["compiled|infer"], k["eager|infer"])} | '
                  f'{speed(timing, k["eager|train"], args.batch)} | '
                  f'{speed(timing, k["compiled|train"], args.batch)} | '
                  f'{ratio(timing, k["compiled|train"], k["eager|train"])} | {secs} |')

    print('\nours against timm, each in the faster of eager and compiled; target: our '
          'training step >= 1.10x timm\'s\n')
    print('| config | timm | inference: ours (deploy) / timm, eager; compiled | '
          'training: ours / timm, eager; compiled | training, faster mode of each | target |')
    print('| --- ' * 6 + '|')
    for config, forms, timing in rows:
        timm_label = next((f[0] for f in forms if f[0].startswith('timm ')), None)
        if timm_label is None:
            print(f'| {config} | - | - | - | - | - |')
            continue
        infer = '; '.join(ratio(timing, f'ours (deploy)|{h}|infer', f'{timm_label}|{h}|infer')
                          for h in ('eager', 'compiled'))
        if args.no_train:
            print(f'| {config} | {timm_label[5:]} | {infer} | - | - | - |')
            continue
        train = '; '.join(ratio(timing, f'ours|{h}|train', f'{timm_label}|{h}|train')
                          for h in ('eager', 'compiled'))

        def best(label):
            how = min(('eager', 'compiled'), key=lambda h: timing.median(f'{label}|{h}|train'))
            return how, timing.median(f'{label}|{how}|train')
        (ours_how, ours_s), (timm_how, timm_s) = best('ours'), best(timm_label)
        target = timm_s / ours_s
        print(f'| {config} | {timm_label[5:]} | {infer} | {train} | {target:.2f}x (ours '
              f'{ours_how}, timm {timm_how}) | {"ok" if target >= 1.10 else "MISSED"} |')
    for text in profiles:
        print(text)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--threads', type=int, default=2)
    common.add_argument('--repeats', type=int,
                        help='rounds over the models (default 5; 3 for targets)')
    common.add_argument('--min-seconds', type=float, default=0.5,
                        help='each figure averages enough calls to last this long')
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('backbone', parents=[common], help='throughput of backbones')
    p.add_argument('configs', nargs='+')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--size', default='224', help='N or HxW')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--deploy', action='store_true', help='add the deploy form (inference)')
    p.add_argument('--vs-timm', action='store_true', help="add timm's model of the same arch")
    p.add_argument('--no-train', action='store_true', help='time inference only')
    p.add_argument('--profile', type=int, default=0, metavar='N',
                   help="print the N ops that take the most time in one inference call of "
                        "each model (torch profiler)")
    p.set_defaults(run=cmd_backbone)

    p = sub.add_parser('model', parents=[common], help='latency of whole detectors/segmentors')
    p.add_argument('configs', nargs='+')
    p.add_argument('--size', help="HxW instead of the config's test size")
    p.add_argument('--deploy', action='store_true', help='add the deploy form')
    p.add_argument('--warmup', type=int, default=1)
    p.set_defaults(run=cmd_model)

    p = sub.add_parser('paper-speed', parents=[common], help="the papers' speed comparisons")
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--size', default='224')
    p.set_defaults(run=cmd_paper_speed)

    p = sub.add_parser('targets', parents=[common], help='ours against timm: the targets')
    p.add_argument('configs', nargs='*', help=f'default: {" ".join(TARGET_CONFIGS)}')
    p.add_argument('--batches', type=int, nargs='+', default=[1, 8])
    p.add_argument('--sizes', nargs='+', default=['224', '512'])
    p.set_defaults(run=cmd_targets)

    p = sub.add_parser('compile', parents=[common],
                       help='torch.compile against eager, ours against timm')
    p.add_argument('configs', nargs='*', help=f'default: {" ".join(COMPILE_CONFIGS)}')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--size', default='224', help='N or HxW')
    p.add_argument('--mode', default='default', choices=_compile_modes(),
                   help="torch.compile's mode (the same for ours and timm's)")
    p.add_argument('--no-train', action='store_true', help='time inference only')
    p.add_argument('--profile', type=int, default=0, metavar='N',
                   help='print where the time of each training step goes (by kind of op) and '
                        'its N costliest ops (torch profiler)')
    p.set_defaults(run=cmd_compile)

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ['claims']:
        print("benchmark.py: DeprecationWarning: the 'claims' command is now 'paper-speed' "
              "(tools/analysis/claims.py checks the papers' parameters, FLOPs and results); "
              "'claims' will be removed", file=sys.stderr, flush=True)
        argv[0] = 'paper-speed'
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.command == 'targets' else 5
    torch.set_num_threads(args.threads)
    quiet_logs()
    args.run(args)


if __name__ == '__main__':
    main()
