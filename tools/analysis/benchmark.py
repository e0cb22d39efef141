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

Every comparison is measured in one process, in repeats that alternate the
models (this machine's speed drifts by up to 10%), after a warm-up; tables
give the median over the repeats and the spread ((max - min) / median).
fp32 on ``--threads`` CPU threads. Throughput is images per second; a
training step is forward and backward of the sum of the outputs. Peak memory
is the most tensor memory one step holds at once (profiler allocation events).
``--deploy`` adds each backbone's deploy form (:func:`mmplug.switch_to_deploy`)
for inference; ``--vs-timm`` adds timm's model of the same architecture
(``forward_features``: every stage, no head) and its ratio to ours.
"""
import argparse
import copy
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from mmplug import switch_to_deploy
from mmplug.analysis import (
    Timing,
    TimmFeatures,
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
    timm_twin,
    training_step,
)
from mmplug.apis import build_model


def progress(message: str) -> None:
    print(f'  .. {message}', file=sys.stderr, flush=True)


class Entry:
    """One model to time: its name, the module, and the modes to time."""

    def __init__(self, name: str, model: torch.nn.Module, modes: Sequence[str]):
        self.name, self.model, self.modes = name, model, tuple(modes)


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


def backbone_entries(config: str, channels_last: bool, deploy: bool, vs_timm: bool,
                     train: bool) -> List[Entry]:
    backbone = build_model(config).backbone
    modes = ('infer', 'train') if train else ('infer', )
    entries = [Entry(config, copy_to(backbone, channels_last), modes)]
    if deploy:
        entries.append(Entry(f'{config} (deploy)',
                             switch_to_deploy(copy_to(backbone, channels_last)), ('infer', )))
    if vs_timm:
        name = timm_twin(backbone)
        if name is None:
            progress(f'{config}: timm has no {type(backbone).__name__} of this arch; skipped')
        else:
            entries.append(Entry(f'timm {name}', copy_to(TimmFeatures(name), channels_last),
                                 modes))
    return entries


def cmd_backbone(args) -> None:
    size = parse_size(args.size)
    x = make_input(args.batch, size, args.channels_last)
    groups = [backbone_entries(c, args.channels_last, args.deploy, args.vs_timm, not args.no_train)
              for c in args.configs]
    entries = [e for g in groups for e in g]
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
    fast, deploy inference at least 1.10x, channels_last for both. Every
    inference cell is measured before any training step, as in a process
    that only serves: a training step leaves glibc's heap holding large
    freed blocks, after which the next allocations fault fewer fresh pages,
    and that helps the unfused model's extra tensors most (docs/benchmarks.md)."""
    cells = []
    for config in args.configs or TARGET_CONFIGS:
        backbone = build_model(config).backbone
        name = timm_twin(backbone)
        if name is None:
            progress(f'{config}: no timm twin; skipped')
            continue
        for size_text in args.sizes:
            for batch in args.batches:
                cells.append((config, backbone, name, batch, parse_size(size_text)))
    results = {}
    for phase, ours, modes in (('infer', 'deploy', ('infer', )), ('train', 'ours', ('train', ))):
        for config, backbone, name, batch, size in cells:
            progress(f'{phase}: {config} vs {name}, batch {batch}, {size[0]}x{size[1]}')
            x = make_input(batch, size, True)
            model = copy_to(backbone, True)
            entries = [Entry(ours, switch_to_deploy(model) if phase == 'infer' else model, modes),
                       Entry('timm', copy_to(TimmFeatures(name), True), modes)]
            timing, _ = time_entries(entries, x, args.repeats, args.min_seconds, memory=False)
            results[(config, batch, size, phase)] = (
                speed(timing, f'{ours}|{phase}', batch), speed(timing, f'timm|{phase}', batch),
                timing.median(f'timm|{phase}') / timing.median(f'{ours}|{phase}'))
    print(f'\nours against timm; {args.threads} threads, fp32, channels_last; img/s medians '
          f'(± half the spread) of {args.repeats} repeats; targets: training >= 1.00x, deploy '
          f'inference >= 1.10x\n')
    print('| config | timm | batch | input | training: ours / timm | ratio | inference: ours '
          '(deploy) / timm | ratio |')
    print('| --- ' * 8 + '|')
    for config, _, name, batch, size in cells:
        tr_ours, tr_timm, train = results[(config, batch, size, 'train')]
        in_ours, in_timm, infer = results[(config, batch, size, 'infer')]
        print(f'| {config} | {name} | {batch} | {size[0]}x{size[1]} | {tr_ours} / {tr_timm} | '
              f'{train:.2f}x {"ok" if train >= 1.0 else "MISSED"} | {in_ours} / {in_timm} | '
              f'{infer:.2f}x {"ok" if infer >= 1.10 else "MISSED"} |')


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
