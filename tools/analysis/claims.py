"""Check the papers' complexity claims: parameters and FLOPs of each config
against the figures its paper reports (``mmplug/analysis/paper.py``).

    python tools/analysis/claims.py                      # every config
    python tools/analysis/claims.py configs/det/emo_1m_ssdlite.py --format csv
    python tools/analysis/claims.py --zoo docs/model_zoo.md --model-index
    python tools/analysis/claims.py --results work_dirs/fasternet_s_maskrcnn

Each model is built from its config as trained (heads and all, random
weights). FLOPs are multiply-accumulates (what the papers call FLOPs) counted
by mmengine's analysis at the paper's input size: 224x224 for ImageNet,
1280x800 for COCO (320x320 for SSDLite), 2048x512 for UPerNet and 512x512 for
the other ADE20K models; a detector's forward is the one mmdet's
``get_flops.py`` counts (RoI heads on the RPN's proposals, no
post-processing). A row is marked ``!`` where a figure differs from the
paper's by more than ``--tolerance`` percent, and the exit status is then 1
(except with ``--zoo``, which writes docs/model_zoo.md with the marks).

``--model-index`` writes the same figures into the model index OpenMMLab's
tooling reads (``model-index.yml`` and one ``configs/metafiles/<family>.yml``
per paper, which the package ships in ``mmplug/.mim``): each config with its
measured parameters and FLOPs, the paper's result, and the official weights of
that model where its repository releases them (``mmplug.analysis.WEIGHTS``).

``--results WORK_DIR ...`` checks a transfer claim instead: it reads the
final validation metrics of a finished training run (the scalars mmengine
logs in ``WORK_DIR/<timestamp>/vis_data/scalars.json``; the config is the
one the runner dumped into the work dir) and prints them beside the result
the paper reports for that config, with its protocol. The validation is
single scale, so the difference in points is given only where the paper's
result is too; for a paper's multi-scale + flip result (InceptionNeXt's
UPerNet, and ConvNeXt's beside its single-scale one) it prints the command
that tests so, ``tools/test.py CONFIG CKPT --tta``.
"""
import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import List, NamedTuple, Optional

import torch
import yaml
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tools.analysis
from mmplug.analysis import (  # noqa: E402
    COLLECTIONS,
    NOT_IN_A_PAPER,
    PAPER,
    WEIGHTS,
    collection,
    model_macs,
    n_params,
    paper_metrics,
)
from mmplug.analysis.paper import MULTI_SCALE_FLIP, SINGLE_SCALE  # noqa: E402
from mmplug.apis import build_model  # noqa: E402
from tools.analysis.timing import quiet_logs  # noqa: E402

FAMILIES = ('cls', 'det', 'seg')


class Row(NamedTuple):
    config: str
    params_m: float
    paper_params_m: Optional[float]
    flops_g: float
    paper_flops_g: Optional[float]
    size: tuple
    result: str  # the paper's results with their protocols (PaperFigures.described)
    source: str
    pretrained: Optional[str]  # the weights the config starts from, if it names them


def config_name(path: str) -> str:
    """``configs/det/x.py`` -> ``det/x`` (the key of ``mmplug.analysis.PAPER``)."""
    p = Path(path).resolve()
    try:
        rel = p.relative_to(ROOT / 'configs')
    except ValueError:
        raise SystemExit(f'claims.py: {path} is not under {ROOT / "configs"}')
    name = str(rel.with_suffix(''))
    if name not in PAPER and name not in NOT_IN_A_PAPER:
        raise SystemExit(f'claims.py: {name} has no entry in mmplug/analysis/paper.py (PAPER '
                         f'or NOT_IN_A_PAPER); known: {", ".join(sorted(PAPER))}')
    return name


def measure(name: str) -> Row:
    claim = PAPER.get(name)
    size = claim.size if claim else NOT_IN_A_PAPER[name]
    cfg = Config.fromfile(str(ROOT / 'configs' / f'{name}.py'))
    model = build_model(cfg)
    return Row(name, n_params(model) / 1e6, claim and claim.params_m,
               model_macs(model, size) / 1e9, claim and claim.flops_g, size,
               claim.described() if claim else 'not a paper model',
               claim.source if claim else '-', cfg.get('pretrained'))


def diff(ours: float, paper: Optional[float]) -> Optional[float]:
    return None if paper is None else 100 * (ours / paper - 1)


def over(row: Row, tolerance: float) -> List[str]:
    """Which figures of ``row`` are off by more than ``tolerance`` percent."""
    out = []
    for what, d in (('params', diff(row.params_m, row.paper_params_m)),
                    ('FLOPs', diff(row.flops_g, row.paper_flops_g))):
        if d is not None and abs(d) > tolerance:
            out.append(what)
    return out


def fmt_diff(d: Optional[float], tolerance: float) -> str:
    if d is None:
        return '-'
    return f'{d:+.1f}%' + (' !' if abs(d) > tolerance else '')


def fmt(x: Optional[float]) -> str:
    if x is None:
        return '-'
    return f'{x:.3g}' if x < 10 else f'{x:.1f}'


def markdown(rows: List[Row], tolerance: float) -> str:
    lines = ['| config | params (M) | paper | diff | FLOPs (G) | paper | diff | input (HxW) '
             '| paper result | source |', '| --- ' * 10 + '|']
    for r in rows:
        lines.append(
            f'| `{r.config}` | {r.params_m:.2f} | {fmt(r.paper_params_m)} | '
            f'{fmt_diff(diff(r.params_m, r.paper_params_m), tolerance)} | {r.flops_g:.2f} | '
            f'{fmt(r.paper_flops_g)} | {fmt_diff(diff(r.flops_g, r.paper_flops_g), tolerance)} | '
            f'{r.size[0]}x{r.size[1]} | {r.result} | {r.source} |')
    return '\n'.join(lines) + '\n'


def as_csv(rows: List[Row], tolerance: float) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(['config', 'params_m', 'paper_params_m', 'params_diff_pct', 'flops_g',
                'paper_flops_g', 'flops_diff_pct', 'input_h', 'input_w', 'over_tolerance',
                'paper_result', 'source'])
    for r in rows:
        dp, df = diff(r.params_m, r.paper_params_m), diff(r.flops_g, r.paper_flops_g)
        w.writerow([r.config, f'{r.params_m:.3f}', r.paper_params_m or '',
                    '' if dp is None else f'{dp:.2f}', f'{r.flops_g:.3f}',
                    r.paper_flops_g or '', '' if df is None else f'{df:.2f}', *r.size,
                    ' '.join(over(r, tolerance)), r.result, r.source])
    return buf.getvalue()


ZOO_HEADER = """# Model zoo

Every config of `configs/`, built as trained (heads included, random weights),
with its parameters and FLOPs as measured here next to the figures of its paper
(or official repository) and the result the paper reports for it. FLOPs are
multiply-accumulates counted by mmengine's analysis at the paper's input size
(HxW); `!` marks a figure more than {tolerance:g}% from the paper's. Generated
by `tools/analysis/claims.py` (its docstring says how each model is counted),
with the model index the package ships (`model-index.yml`,
`configs/metafiles/`); the second line checks that both are what the code
computes:

```bash
.venv/bin/python tools/analysis/claims.py --zoo docs/model_zoo.md --model-index > /dev/null
git diff --exit-code docs/model_zoo.md model-index.yml configs/metafiles
```

No weights are released with mmplug: the results are the papers', reached with
the official code; [convert_weights.md](convert_weights.md) loads the official
checkpoints. Each result comes with the protocol it was tested with: single
scale (as the config tests, and validates while training) or multi-scale +
flip (the papers' segmentation code bases' `--aug-test` of mmseg 0.x: the test
scale times 0.5 to 1.75, each also flipped, which
`tools/test.py CONFIG CKPT --tta` reproduces), and the test size.

What the marks say:

- ConvNeXt-T's 28.59 M parameters against the README's "28M": every other
  ConvNeXt and InceptionNeXt figure rounds to the README's, and the
  InceptionNeXt README gives ConvNeXt-T 29M; the official network
  (`convnext_tiny` of facebookresearch/ConvNeXt) has 28.589 M, as this one.
- EMO: the classifiers count 3-5% fewer FLOPs than the README (the official
  repository counts with fvcore, whose counting mmengine's derives from) and
  1M/2M 3-5% more parameters (the official 1M backbone has 1.192 M, as this
  one; the README's 1.3 M is lower than backbone plus a 168x1000 head);
  RetinaNet 4-5% fewer, SSDLite 2M/5M 3-9% more and DeepLabv3-1M 3% more
  FLOPs, with parameters within 2%. Not resolved: the backbones' parameters
  equal the official code's, so the counts differ in what they count or in the
  official heads' settings.
- FasterNet-S Mask R-CNN counts 265 G against 258 G (M and L are within 2%);
  not resolved.
- The Cascade Mask R-CNN rows match because claims.py runs the cascade's mask
  heads on the first 100 proposals, as mmdet 2's `forward_dummy` (which the
  papers counted with) did; mmdet 3's tensor mode runs them on all 1000 and
  counts 2.2-2.4 T.

"""


#: The model index's names for a logged metric: task, data set, metric.
INDEX_METRICS = {
    'coco/bbox_mAP': ('Object Detection', 'COCO', 'box AP'),
    'coco/segm_mAP': ('Instance Segmentation', 'COCO', 'mask AP'),
    'mIoU': ('Semantic Segmentation', 'ADE20K', 'mIoU'),
    'accuracy/top1': ('Image Classification', 'ImageNet-1k', 'Top 1 Accuracy'),
}
TRAINING_DATA = {'cls': 'ImageNet-1k', 'det': 'COCO', 'seg': 'ADE20K'}
METAFILES = 'configs/metafiles'


def index_entry(row: Row) -> dict:
    """One config's entry in its family's metafile."""
    task = row.config.split('/')[0]
    meta = {'Parameters': round(row.params_m * 1e6), 'FLOPs': round(row.flops_g * 1e9),
            'Input Size': list(row.size), 'Training Data': TRAINING_DATA[task]}
    if row.pretrained:
        meta['Pretrained'] = row.pretrained
    entry = {'Name': row.config.split('/')[-1],
             'In Collection': COLLECTIONS[collection(row.config)]['name'],
             'Config': f'configs/{row.config}.py', 'Metadata': meta}
    claim = PAPER.get(row.config)
    if claim:
        results = {}
        for key, (value, _) in paper_metrics(claim.result).items():
            name, data, metric = INDEX_METRICS[key]
            if claim.multi_scale:  # as OpenMMLab's metafiles name such results
                metric += '(ms+flip)'
            results.setdefault((name, data), {})[metric] = value
        entry['Results'] = [{'Task': name, 'Dataset': data, 'Metrics': metrics}
                            for (name, data), metrics in results.items()]
        entry['Paper Result'] = f'{claim.described()}; {claim.source}'
    if row.config in WEIGHTS:
        entry['Weights'] = WEIGHTS[row.config]
    return entry


def write_model_index(rows: List[Row], root: Path = ROOT) -> List[Path]:
    """Write ``model-index.yml`` and the metafiles of ``rows``' families
    under ``root``; returns the files written."""
    families = {}
    for row in rows:
        families.setdefault(collection(row.config), []).append(index_entry(row))
    written = []
    (root / METAFILES).mkdir(parents=True, exist_ok=True)
    for key, entries in families.items():
        info = COLLECTIONS[key]
        doc = {'Collections': [{
            'Name': info['name'], 'Metadata': {'Architecture': [info['architecture']]},
            'Paper': {'Title': info['title'], 'URL': info['paper']},
            'Code': {'URL': info['code']}}], 'Models': entries}
        path = root / METAFILES / f'{key}.yml'
        path.write_text('# Generated by tools/analysis/claims.py --model-index\n'
                        + yaml.safe_dump(doc, sort_keys=False, width=100))
        written.append(path)
    index = root / 'model-index.yml'
    index.write_text('# Generated by tools/analysis/claims.py --model-index\n' + yaml.safe_dump(
        {'Import': [f'{METAFILES}/{key}.yml' for key in families]}, sort_keys=False))
    return written + [index]


class Results(NamedTuple):
    config: str  # key of mmplug.analysis.PAPER
    paper: dict  # mmplug.analysis.paper_metrics of its result
    metrics: dict  # the last validation's scalars
    step: int  # the epoch or iteration it ran after
    length: int  # the schedule's epochs or iterations
    unit: str  # 'epoch' or 'iteration'


def read_results(work_dir: str) -> Results:
    """The final validation metrics of the finished training run in
    ``work_dir``.

    Raises:
        SystemExit: when the folder is missing, holds no run, no paper
            result for its config, or a run that stopped before its
            schedule's end.
    """
    work = Path(work_dir)
    if not work.is_dir():
        raise SystemExit(f'claims.py --results: {work_dir!r} is not a folder')
    dumped = sorted(work.glob('*.py'))
    if len(dumped) != 1:
        raise SystemExit(f'claims.py --results: {work_dir} should hold the one config the '
                         f'runner dumps there; it holds {[p.name for p in dumped] or "none"}')
    stem = dumped[0].stem
    names = [n for n in PAPER if n.split('/')[-1] == stem]
    if not names:
        raise SystemExit(f'claims.py --results: {stem} has no paper result in '
                         f'mmplug/analysis/paper.py; '
                         f'known: {", ".join(sorted(n.split("/")[-1] for n in PAPER))}')
    wanted = paper_metrics(PAPER[names[0]].result)
    last = None
    for scalars in sorted(work.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            entry = json.loads(line)
            if wanted.keys() & entry.keys():
                last = entry
    if last is None:
        raise SystemExit(f'claims.py --results: no validation of {", ".join(wanted)} in '
                         f'{work_dir}/*/vis_data/scalars.json: the run has not validated yet')
    loop = Config.fromfile(str(dumped[0])).train_cfg
    by_epoch = 'max_epochs' in loop
    length = loop.max_epochs if by_epoch else loop.max_iters
    unit = 'epoch' if by_epoch else 'iteration'
    if last['step'] < length:
        raise SystemExit(f'claims.py --results: {work_dir} is unfinished: its last validation '
                         f'ran after {unit} {last["step"]} of {length}')
    return Results(names[0], wanted, last, last['step'], length, unit)


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint a finished run in ``work_dir`` saved last (mmengine
    names it in ``last_checkpoint``), or a placeholder."""
    marker = Path(work_dir) / 'last_checkpoint'
    return marker.read_text().strip() if marker.is_file() else f'{work_dir}/CHECKPOINT.pth'


def results_table(work_dirs: List[str]) -> str:
    """Markdown: each run's final metrics beside its paper's, the difference
    only where the paper tested as the run validated (single scale), then for
    each paper result tested multi-scale + flip the command that tests so."""
    lines = ['| config | metric | ours | paper | diff (points) | after | paper\'s result |',
             '| --- ' * 7 + '|']
    commands = []
    for work_dir in work_dirs:
        r = read_results(work_dir)
        claim = PAPER[r.config]
        for key, (paper, factor) in r.paper.items():
            ours = r.metrics[key] * factor
            diff = 'n/a' if claim.multi_scale else f'{ours - paper:+.1f}'
            lines.append(f'| `{r.config}` | {key} | {ours:.1f} | {paper:.1f} | {diff} | '
                         f'{r.unit} {r.step} of {r.length} | {claim.described()}; '
                         f'{claim.source} |')
        ms_flip = claim.result if claim.multi_scale else claim.ms_flip_result
        if ms_flip:
            commands.append(f'- `{r.config}`, {ms_flip} ({MULTI_SCALE_FLIP}): python '
                            f'tools/test.py configs/{r.config}.py {last_checkpoint(work_dir)} '
                            f'--tta')
    text = '\n'.join(lines) + '\n'
    if commands:
        text += (f'\nOurs is the validation during training, {SINGLE_SCALE}; "n/a": the paper\'s '
                 f'result is {MULTI_SCALE_FLIP}. The test that gives the paper\'s protocol:\n\n'
                 + '\n'.join(commands) + '\n')
    return text


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='*',
                        help='config files under configs/ (default: every cls, det, seg one)')
    parser.add_argument('--format', choices=('markdown', 'csv'), default='markdown')
    parser.add_argument('--tolerance', type=float, default=2.0,
                        help='percent difference that marks a row (default 2)')
    parser.add_argument('--zoo', metavar='FILE',
                        help='write docs/model_zoo.md (the markdown table with its preamble)')
    parser.add_argument('--model-index', action='store_true',
                        help='write model-index.yml and configs/metafiles/*.yml')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--results', nargs='+', metavar='WORK_DIR',
                        help='compare the final metrics of finished training runs with '
                        'their papers\' results instead')
    args = parser.parse_args(argv)
    if args.results:
        print(results_table(args.results), end='')
        return 0
    torch.set_num_threads(args.threads)
    quiet_logs()
    paths = args.configs or sorted(str(p) for f in FAMILIES
                                   for p in (ROOT / 'configs' / f).glob('*.py'))
    names = [config_name(p) for p in paths]
    rows = []
    for i, name in enumerate(names):
        start = time.perf_counter()
        rows.append(measure(name))
        print(f'[{i + 1}/{len(names)}] {name}: {time.perf_counter() - start:.1f} s',
              file=sys.stderr, flush=True)
    table = as_csv(rows, args.tolerance) if args.format == 'csv' else markdown(rows, args.tolerance)
    if args.zoo:
        Path(args.zoo).write_text(ZOO_HEADER.format(tolerance=args.tolerance) + table)
    if args.model_index:
        if args.configs:
            raise SystemExit('claims.py: --model-index indexes every config; name none')
        for path in write_model_index(rows):
            print(f'wrote {path.relative_to(ROOT)}', file=sys.stderr)
    print(table, end='')
    bad = [f'{r.config} ({", ".join(over(r, args.tolerance))})' for r in rows
           if over(r, args.tolerance)]
    if bad:
        print(f'{len(bad)} of {len(rows)} rows differ from the paper by more than '
              f'{args.tolerance:g}%: {"; ".join(bad)}', file=sys.stderr)
    # --zoo generates the page, whose marks say what differs; the check's
    # verdict is the exit status of the other modes
    return 1 if bad and not (args.zoo or args.model_index) else 0


if __name__ == '__main__':
    sys.exit(main())
