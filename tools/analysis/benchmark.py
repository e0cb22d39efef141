"""Speed and memory of mmplug's backbones and models on this CPU, and against
timm's models of the same architectures (docs/benchmarks.md).

    # backbones: training and inference throughput, peak memory
    python tools/analysis/benchmark.py backbone configs/cls/fasternet_s_in1k.py \
        --batch 8 --size 224 --channels-last --deploy --vs-timm
    # whole detectors / segmentors at their config's test size: latency
    python tools/analysis/benchmark.py model configs/det/emo_1m_ssdlite.py
    # the papers' speed comparisons, here
    python tools/analysis/benchmark.py paper-speed
    # each family against timm: training >= 1.00x, deploy inference >= 1.10x
    python tools/analysis/benchmark.py targets

fp32 on ``--threads`` threads. The models of one table are timed together,
in ``--repeats`` rounds that alternate them (tools/analysis/timing.py, on
``torch.utils.benchmark``); a figure is the median over the rounds, ± half
their spread ((max - min) / median). Throughput is images per second; a
training step is forward and backward of the sum of the outputs; peak memory
is the most tensor memory one step holds. ``--deploy`` adds the deploy form
(:func:`mmplug.switch_to_deploy`) for inference; ``--vs-timm`` adds timm's
model doing the backbone's work (tools/analysis/twins.py: the same outputs,
output norms and drop path). The host (CPU, flags, matrix-product GFLOP/s)
heads each table; progress goes to standard error.
"""
import argparse
import copy
import sys
from pathlib import Path
from typing import Dict, List, Optional

import torch
from mmengine.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools.analysis
from mmplug import switch_to_deploy  # noqa: E402
from mmplug.analysis import eval_size, macs, n_params  # noqa: E402
from mmplug.apis import build_model  # noqa: E402
from tools.analysis.timing import (  # noqa: E402
    Timing,
    copy_to,
    host_line,
    inference_step,
    make_input,
    parse_size,
    peak_memory,
    predict_step,
    quiet_logs,
    time_interleaved,
    training_step,
)
from tools.analysis.twins import TimmFeatures, comparison_note, timm_counterpart  # noqa: E402

#: Each family's paper-scale model with a timm twin (EMO has none).
TARGET_CONFIGS = ('configs/cls/convnext_t_in1k.py', 'configs/cls/inceptionnext_t_in1k.py',
                  'configs/cls/fasternet_s_in1k.py')
#: InceptionNeXt's README (A100, batch 128, the better memory format):
#: training and inference img/s ratios of (model A, model B).
PAPER_SPEED = {
    ('InceptionNeXt-T', 'ConvNeXt-T'): (901 / 575, 2900 / 2413),
    ('InceptionNeXt-T', 'ResNet-50'): (901 / 969, 2900 / 3149),
}


def progress(message: str) -> None:
    print(f'  .. {message}', file=sys.stderr, flush=True)


def steps(name: str, model: torch.nn.Module, x: torch.Tensor, modes) -> Dict[str, object]:
    """``name|infer`` and ``name|train`` steps of ``model`` (those in ``modes``)."""
    return {f'{name}|{mode}': (training_step if mode == 'train' else inference_step)(model, x)
            for mode in modes}


def img_s(timing: Timing, key: str, batch: int) -> str:
    if key not in timing:
        return '-'
    return f'{batch / timing.median(key):.1f} ±{100 * timing.spread(key) / 2:.0f}%'


def ratio(timing: Timing, slow: str, fast: str) -> float:
    """How many times faster ``fast`` ran than ``slow``."""
    return timing.median(slow) / timing.median(fast)


def cmd_backbone(args) -> None:
    size = parse_size(args.size)
    x = make_input(args.batch, size, args.channels_last)
    modes = ('infer', ) if args.no_train else ('infer', 'train')
    backbones = {config: build_model(config).backbone for config in args.configs}
    twins = {c: timm_counterpart(b) if args.vs_timm else None for c, b in backbones.items()}
    twin_names = [t.name for t in twins.values() if t is not None]
    rows, notes = [], []  # rows: (name, model, modes, the name of its timm row or None)
    for config, backbone in backbones.items():
        ours = [(config, copy_to(backbone, args.channels_last), modes)]
        if args.deploy:
            deploy = switch_to_deploy(copy_to(backbone, args.channels_last))
            ours.append((f'{config} (deploy)', deploy, ('infer', )))
        twin, timm_row = twins[config], None
        if args.vs_timm and twin is None:
            progress(f'{config}: timm has no {type(backbone).__name__} of this arch')
        if twin is not None:  # one timm model per config: it outputs what that one does
            timm_row = f'timm {twin.name}'
            if twin_names.count(twin.name) > 1:
                timm_row += f' (for {config})'
            notes.append(f'- {config}: {comparison_note(backbone, twin)}')
        rows += [(name, model, m, timm_row) for name, model, m in ours]
        if twin is not None:
            rows.append((timm_row, copy_to(twin, args.channels_last), modes, None))
    fns = {k: fn for name, model, m, _ in rows for k, fn in steps(name, model, x, m).items()}
    peaks = {k: peak_memory(fn) for k, fn in fns.items()}
    timing = time_interleaved(fns, args.repeats, args.min_seconds, args.threads, progress)

    print(f'\n{host_line()}\nbackbones; batch {args.batch}, {size[0]}x{size[1]}, '
          f'{args.threads} threads, fp32{", channels_last" if args.channels_last else ""}; '
          f'median ± half the spread of {args.repeats} repeats\n')
    print('| model | params (M) | FLOPs (G) | inference (img/s) | training (img/s) '
          '| peak MB (infer / train) | ours / timm (infer; train) |')
    print('| --- ' * 7 + '|')
    for name, model, _, timm_row in rows:
        inf, tr = f'{name}|infer', f'{name}|train'
        mem = ' / '.join(f'{peaks[k] / 2**20:.0f}' if k in peaks else '-' for k in (inf, tr))
        vs = '-'
        if timm_row:
            vs = f'{ratio(timing, f"{timm_row}|infer", inf):.2f}x'
            if tr in timing:
                vs += f'; {ratio(timing, f"{timm_row}|train", tr):.2f}x'
        print(f'| {name} | {n_params(model) / 1e6:.2f} | {macs(model.eval(), (x[:1], )) / 1e9:.2f} '
              f'| {img_s(timing, inf, args.batch)} | {img_s(timing, tr, args.batch)} | {mem} '
              f'| {vs} |')
    if notes:
        print('\nours / timm compares the same outputs; inference: both in eval mode, no grad; '
              'training: both in train mode:\n' + '\n'.join(notes))


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
    timing = time_interleaved(fns, args.repeats, args.min_seconds, args.threads, progress)
    print(f'\n{host_line()}\nwhole models, one image through test_step (preprocessing, '
          f'network, post-processing); {args.threads} threads, fp32; median of {args.repeats} '
          f'repeats\n')
    print('| config | input (HxW) | params (M) | latency (ms) | spread | peak MB |')
    print('| --- ' * 6 + '|')
    for name, size, params, peak in rows:
        print(f'| {name} | {size[0]}x{size[1]} | {params / 1e6:.2f} | '
              f'{timing.median(name) * 1e3:.0f} | {100 * timing.spread(name):.0f}% | '
              f'{peak / 2**20:.0f} |')


def cmd_paper_speed(args) -> None:
    """The papers' comparisons, each model in the faster of NCHW and
    channels_last (InceptionNeXt's README reports the better of the two);
    FasterNet's paper claims higher FLOP/s than other networks."""
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
    best = {n: {'infer': 0.0, 'train': 0.0} for n in models}
    for channels_last in (False, True):
        progress(f'memory format: {"channels_last" if channels_last else "NCHW"}')
        x = make_input(args.batch, size, channels_last)
        fns = {k: fn for n, m in models.items()
               for k, fn in steps(n, copy_to(m, channels_last), x, ('infer', 'train')).items()}
        timing = time_interleaved(fns, args.repeats, args.min_seconds, args.threads, progress)
        for key in fns:
            n, mode = key.split('|')
            best[n][mode] = max(best[n][mode], args.batch / timing.median(key))
    print(f'\n{host_line()}\nbatch {args.batch}, {size[0]}x{size[1]}, {args.threads} threads, '
          f'fp32; the better of NCHW and channels_last per model; medians of {args.repeats} '
          f'repeats\n')
    print('| model | GMACs | training (img/s) | inference (img/s) | inference GFLOP/s |')
    print('| --- ' * 5 + '|')
    for n in models:
        print(f'| {n} | {gmacs[n]:.2f} | {best[n]["train"]:.2f} | {best[n]["infer"]:.1f} | '
              f'{2 * gmacs[n] * best[n]["infer"]:.0f} |')
    print('\n| comparison | here, mmplug | here, timm | paper (A100, batch 128) |')
    print('| --- ' * 4 + '|')
    for (a, b), papers in PAPER_SPEED.items():
        tb = f'timm {b}' if f'timm {b}' in best else b
        for mode, paper in zip(('train', 'infer'), papers):
            print(f'| {a} / {b}, {"training" if mode == "train" else "inference"} | '
                  f'{best[a][mode] / best[b][mode]:.2f}x | '
                  f'{best[f"timm {a}"][mode] / best[tb][mode]:.2f}x | {paper:.2f}x |')
    flops = {n: 2 * gmacs[n] * best[n]['infer'] for n in ('FasterNet-S', 'ResNet-50')}
    print(f'| FasterNet-S / ResNet-50, inference FLOP/s | '
          f'{flops["FasterNet-S"] / flops["ResNet-50"]:.2f}x | - | > 1 ("higher FLOPS", '
          f'FasterNet paper, CPU) |')
    print(f'| FasterNet-S / ResNet-50, inference img/s | '
          f'{best["FasterNet-S"]["infer"] / best["ResNet-50"]["infer"]:.2f}x | - | - |')


def cmd_targets(args) -> None:
    """Each family's paper-scale model against timm's, channels_last: a
    training step at least as fast (1.00x), deploy inference at least 1.10x.
    Every inference cell runs before any training step, as in a process that
    only serves (after a training step glibc's heap keeps large freed blocks,
    which helps the model that allocates more tensors, timm's)."""
    cells, notes = [], []
    for config in args.configs or TARGET_CONFIGS:
        backbone = build_model(config).backbone
        twin = timm_counterpart(backbone)
        if twin is None:
            progress(f'{config}: no timm twin; skipped')
            continue
        notes.append(f'- {config}: {comparison_note(backbone, twin)}')
        cells += [(config, backbone, twin, batch, parse_size(size))
                  for size in args.sizes for batch in args.batches]
    results = {}
    for phase in ('infer', 'train'):
        for config, backbone, twin, batch, size in cells:
            progress(f'{phase}: {config} vs {twin.name}, batch {batch}, {size[0]}x{size[1]}')
            x = make_input(batch, size, True)
            ours = copy_to(backbone, True)
            fns = {**steps('ours', switch_to_deploy(ours) if phase == 'infer' else ours, x,
                           (phase, )),
                   **steps('timm', copy_to(twin, True), x, (phase, ))}
            timing = time_interleaved(fns, args.repeats, args.min_seconds, args.threads,
                                      progress)
            results[(config, batch, size, phase)] = (
                img_s(timing, f'ours|{phase}', batch), img_s(timing, f'timm|{phase}', batch),
                round(ratio(timing, f'timm|{phase}', f'ours|{phase}'), 2))  # as printed
    print(f'\n{host_line()}\nours against timm; {args.threads} threads, fp32, channels_last; '
          f'img/s medians (± half the spread) of {args.repeats} repeats; targets: training >= '
          f'1.00x, deploy inference >= 1.10x; inference: ours in deploy form, both in eval mode '
          f'under no_grad; training: both in train mode:\n')
    print('\n'.join(notes))
    print('\n| config | timm | batch | input | training: ours / timm | ratio | inference: ours '
          '(deploy) / timm | ratio |')
    print('| --- ' * 8 + '|')
    for config, _, twin, batch, size in cells:
        tr_ours, tr_timm, train = results[(config, batch, size, 'train')]
        in_ours, in_timm, infer = results[(config, batch, size, 'infer')]
        print(f'| {config} | {twin.name} | {batch} | {size[0]}x{size[1]} | {tr_ours} / '
              f'{tr_timm} | {train:.2f}x {"ok" if train >= 1.0 else "MISSED"} | {in_ours} / '
              f'{in_timm} | {infer:.2f}x {"ok" if infer >= 1.10 else "MISSED"} |')


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--threads', type=int, default=2)
    common.add_argument('--repeats', type=int,
                        help='rounds over the models (default 5; 3 for targets)')
    common.add_argument('--min-seconds', type=float, default=0.5,
                        help='each figure times calls for at least this long')
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('backbone', parents=[common], help='throughput of backbones')
    p.add_argument('configs', nargs='+')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--size', default='224', help='N or HxW')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--deploy', action='store_true', help='add the deploy form (inference)')
    p.add_argument('--vs-timm', action='store_true', help="add timm's model of the same arch")
    p.add_argument('--no-train', action='store_true', help='time inference only')
    p.set_defaults(run=cmd_backbone)

    p = sub.add_parser('model', parents=[common], help='latency of whole detectors/segmentors')
    p.add_argument('configs', nargs='+')
    p.add_argument('--size', help="HxW instead of the config's test size")
    p.add_argument('--deploy', action='store_true', help='add the deploy form')
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

    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.command == 'targets' else 5
    torch.set_num_threads(args.threads)
    quiet_logs()
    args.run(args)


if __name__ == '__main__':
    main()
