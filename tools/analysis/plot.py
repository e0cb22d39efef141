"""Speed against FLOPs and against parameters for every classification
backbone of ``configs/cls`` and timm's model of the same architecture, like
the papers' first figure, measured on this machine in one run.

    python tools/analysis/plot.py --out work_dirs/speed_vs_complexity.png

Ours are timed in deploy form (:func:`mmplug.switch_to_deploy`), timm's as
they are; both in channels_last, fp32, inference of the backbone alone
(``forward_features`` for timm), in alternating repeats. FLOPs are
multiply-accumulates at the input size. The points are also written as a
markdown table next to the PNG (``.md``), under the host (CPU, flags,
matrix-product GFLOP/s).
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tools.analysis
from mmplug import switch_to_deploy  # noqa: E402
from mmplug.analysis import macs, n_params  # noqa: E402
from mmplug.apis import build_model  # noqa: E402
from tools.analysis.timing import (  # noqa: E402
    copy_to,
    host_line,
    inference_step,
    make_input,
    parse_size,
    quiet_logs,
    time_interleaved,
)
from tools.analysis.twins import TimmFeatures, timm_twin  # noqa: E402

FAMILY_OF = {'fasternet': 'FasterNet', 'inceptionnext': 'InceptionNeXt', 'convnext': 'ConvNeXt',
             'emo': 'EMO'}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='*', help='default: every configs/cls/*.py')
    parser.add_argument('--out', default='work_dirs/speed_vs_complexity.png')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--size', default='224')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--min-seconds', type=float, default=0.5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    quiet_logs()
    size = parse_size(args.size)
    x = make_input(args.batch, size, True)
    configs = args.configs or sorted(str(p.relative_to(ROOT))
                                     for p in (ROOT / 'configs/cls').glob('*.py'))
    points, fns = [], {}
    for config in configs:
        backbone = build_model(str(ROOT / config)).backbone
        family = FAMILY_OF[Path(config).stem.split('_')[0]]
        label = Path(config).stem.replace('_in1k', '')
        models = [('mmplug', label, switch_to_deploy(copy_to(backbone, True)))]
        twin = timm_twin(backbone)
        if twin:
            models.append(('timm', twin, copy_to(TimmFeatures(twin), True)))
        for source, name, model in models:
            key = f'{source} {name}'
            fns[key] = inference_step(model, x)
            points.append(dict(key=key, source=source, family=family, name=name,
                               params=n_params(model) / 1e6,
                               flops=macs(model.eval(), (x[:1], )) / 1e9))
        print(f'built {config}', file=sys.stderr, flush=True)
    timing = time_interleaved(fns, args.repeats, args.min_seconds, args.threads,
                              lambda m: print(f'  .. {m}', file=sys.stderr, flush=True))
    for p in points:
        p['speed'] = args.batch / timing.median(p['key'])

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    colors = {'FasterNet': 'tab:blue', 'InceptionNeXt': 'tab:orange', 'ConvNeXt': 'tab:green',
              'EMO': 'tab:red'}
    for ax, what, xlabel in ((axes[0], 'flops', 'GFLOPs (multiply-accumulates)'),
                             (axes[1], 'params', 'parameters (M)')):
        for family, color in colors.items():
            for source, marker, style in (('mmplug', 'o', '-'), ('timm', 'x', '--')):
                pts = sorted((p for p in points if p['family'] == family and p['source'] == source),
                             key=lambda p: p[what])
                if not pts:
                    continue
                ax.plot([p[what] for p in pts], [p['speed'] for p in pts], style, marker=marker,
                        color=color, label=f'{family} ({source})')
                if source == 'mmplug':
                    for p in pts:
                        ax.annotate(p['name'].split('_', 1)[1], (p[what], p['speed']),
                                    fontsize=7, xytext=(3, 3), textcoords='offset points')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel(xlabel)
        ax.set_ylabel('images / s')
        ax.grid(True, which='both', alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f'Backbone inference on this CPU: batch {args.batch}, {size[0]}x{size[1]}, '
                 f'{args.threads} threads, fp32, channels_last; mmplug in deploy form')
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    lines = [host_line(), '', f'batch {args.batch}, {size[0]}x{size[1]}, {args.threads} threads, '
             f'fp32, channels_last, inference; median of {args.repeats} repeats', '',
             '| model | params (M) | GFLOPs | img/s |', '| --- | --- | --- | --- |']
    lines += [f'| {p["key"]} | {p["params"]:.2f} | {p["flops"]:.2f} | {p["speed"]:.1f} |'
              for p in points]
    out.with_suffix('.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    print(f'wrote {out} and {out.with_suffix(".md")}', file=sys.stderr)


if __name__ == '__main__':
    main()
