"""Run every config the way its users run it, on stand-in data.

    python tools/analysis/run_configs.py                       # every config
    python tools/analysis/run_configs.py configs/seg/convnext_t_upernet.py --scale 0.25
    python tools/analysis/run_configs.py CONFIG ... --launcher pytorch --nproc 2

For each config, in a process of its own (``--nproc`` processes under
torchrun with ``--launcher pytorch``), through ``tools/train.py`` and
``tools/test.py``:

1. **train** a few iterations with the config's own pipeline, optimizer
   constructor, param schedulers and hooks, and **validate** at the end;
2. **save**: the checkpoint of that run is on disk;
3. **resume** from it with ``--resume`` and train once more (one more
   iteration, or one more epoch of an epoch-based config); the iteration
   count and the whole optimizer state must be the checkpoint's;
4. **test**: ``tools/test.py`` on the last checkpoint.

The config is used as it is, except for what a short run on stand-in data
needs, written to ``OUT/<folder>/<config>/<config>.py`` so it can be read and re-run:

- the backbone's pretrained weights are left out (``model.backbone.init_cfg=None``,
  the one override that works for every config, wrappers included);
- the data sets point at stand-in data in the real layouts (COCO, ADE20K,
  ImageNet), written by ``tools/misc/make_standin_data.py`` into ``--data``;
- the schedule is ``--iters`` iterations (iteration-based configs) or one
  epoch (epoch-based ones), and every param scheduler is squeezed onto it
  with its phases kept in order (a warm-up still comes first and lasts at
  least one step, a cosine after it still runs); validation comes at the
  end of the run, the logger logs every iteration;
- detectors keep every box (``score_thr=0``): an untrained one scores below
  the recipes' thresholds, and the evaluators would see no prediction;
- ``--batch N`` caps the training batch per process (the classification
  recipes' 64 to 128 images per GPU do not fit a CPU);
- ``--workers N`` caps the data loader workers: on a 2-core machine they
  only compete with the model, and the workers a finished step leaves
  behind take seconds each to shut down before the next step starts;
- ``--scale F`` multiplies every resize and crop size of the pipelines (and
  the sizes the data preprocessor pads to and a sliding window uses) by F,
  keeping every transform, down to 64 pixels at the least.

It prints a table (each step ok or FAILED, seconds per training iteration,
the peak resident memory of the process, the first line of any error; the
whole traceback is in ``OUT/<config>/run.log``) and exits 1 on any failure.
The checkpoints of a config are deleted once its row is done (ConvNeXt-XL's
two, with AdamW's state, take 10 GB) unless ``--keep-checkpoints``; its logs,
configs and ``vis_data`` stay.
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tools.misc.standin, tools.train, tools.test
FOLDERS = ('cls', 'det', 'seg', 'demo')
STEPS = ('train', 'val', 'save', 'resume', 'test')

# Pipeline and model keys that hold an image size (an int, a pair, or a list
# of pairs), scaled by --scale.
SIZE_KEYS = ('scale', 'scales', 'img_scale', 'crop_size')


# -- the config of a short run --------------------------------------------------------

#: --scale shrinks no size below this (or below what it was): a 128-pixel
#: demo image at a quarter is too small for a detector's anchors.
MIN_SIZE = 64


def _scale_size(value, factor: float):
    """``value`` (an int, a pair, or a list of either) times ``factor``, at
    least ``MIN_SIZE`` (or ``value``, if smaller)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return max(min(value, MIN_SIZE), int(round(value * factor)))
    if isinstance(value, (list, tuple)):
        return type(value)(_scale_size(v, factor) for v in value)
    return value


def scale_pipelines(cfg, factor: float) -> int:
    """Multiply every image size of the data pipelines, the data
    preprocessor and a sliding-window test by ``factor``, in place; returns
    how many values were changed."""
    from mmplug.apis import config_dicts
    changed = 0
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for node in config_dicts(cfg[loader]['dataset'] if cfg.get(loader) else None):
            for key in SIZE_KEYS:
                if key in node and not isinstance(node[key], dict):
                    node[key] = _scale_size(node[key], factor)
                    changed += 1
    preprocessor = cfg.model.get('data_preprocessor') or {}
    if preprocessor.get('size') is not None:  # mmseg pads to the crop size
        preprocessor['size'] = _scale_size(preprocessor['size'], factor)
        changed += 1
    for augment in preprocessor.get('batch_augments') or []:
        if augment.get('size') is not None:  # mmdet's BatchFixedSizePad
            augment['size'] = _scale_size(augment['size'], factor)
            changed += 1
    test_cfg = cfg.model.get('test_cfg') or {}
    if test_cfg.get('mode') == 'slide':
        for key in ('crop_size', 'stride'):
            test_cfg[key] = _scale_size(test_cfg[key], factor)
            changed += 1
    return changed


def squeeze_schedulers(schedulers: List[dict], old_length: int, new_length: int,
                       by_epoch_loop: bool) -> List[dict]:
    """The param schedulers of a run of ``old_length`` epochs (epoch-based
    loop) or iterations, squeezed onto ``new_length``.

    Every begin, end and milestone (from its begin) counted in the loop's unit moves to its
    proportional place, and boundaries that differ stay apart by at least
    one step while the short run has room, so phases keep their order and
    each still runs (a 20-epoch warm-up of a 300-epoch run gets the first
    step, the cosine after it the rest). ``T_max`` follows its scheduler's
    new span. Schedulers counted in iterations inside an epoch-based loop (a
    warm-up of 500 iterations) keep their length: the short run lies inside
    their span, as the first iterations of the real run do.
    """
    schedulers = copy.deepcopy(list(schedulers))
    mine = [s for s in schedulers if s.get('by_epoch', True) == by_epoch_loop]
    bounds = sorted({b for s in mine
                     for b in [s.get('begin', 0), min(s.get('end', old_length), old_length)]
                     + [s.get('begin', 0) + m for m in s.get('milestones', [])]}
                    | {0, old_length})
    where, last = {0: 0, old_length: new_length}, 0
    for b in bounds[1:-1]:  # inside the run: from step 1 to the step before the last
        last = min(max(round(b * new_length / old_length), last + 1), max(new_length - 1, 1))
        where[b] = last
    for sched in mine:
        old_begin = sched.get('begin', 0)
        begin = where[old_begin]
        end = max(begin + 1, where[min(sched.get('end', old_length), old_length)])
        sched['begin'], sched['end'] = begin, end
        if 'milestones' in sched:  # counted from the scheduler's begin
            sched['milestones'] = sorted({where[old_begin + m] - begin
                                          for m in sched['milestones']})
        if 'T_max' in sched:
            sched['T_max'] = end - begin
    return schedulers


def short_run_config(cfg, iters: int, batch: Optional[int], scale: Optional[float],
                     data_overrides: Dict[str, object],
                     workers: Optional[int] = None) -> Dict[str, object]:
    """Turn ``cfg`` (in place) into the config of a short run; returns the
    schedule of the resumed run (``train_cfg`` keys to set on it)."""
    from mmplug.apis import NO_PRETRAINED, config_dicts
    cfg.merge_from_dict(dict(NO_PRETRAINED, **data_overrides))
    if scale is not None:
        scale_pipelines(cfg, scale)
    if batch is not None:
        loader = cfg.train_dataloader
        loader.batch_size = min(loader.batch_size, batch)
    if workers is not None:
        for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(name):
                cfg[name].num_workers = min(cfg[name].get('num_workers', 0), workers)
                if cfg[name].num_workers == 0:
                    cfg[name].persistent_workers = False

    # An untrained detector scores below the recipes' thresholds, so nothing
    # would reach the evaluators: keep every box.
    for node in config_dicts(cfg.model.get('test_cfg')):
        if 'score_thr' in node:
            node['score_thr'] = 0.0

    loop = cfg.train_cfg
    by_epoch = 'max_epochs' in loop
    if by_epoch:
        old, first, total = loop.max_epochs, 1, 2
        loop.max_epochs, loop.val_interval = first, 1
        resumed = dict(max_epochs=total)
    else:
        old, first, total = loop.max_iters, iters, iters + 1
        loop.max_iters, loop.val_interval = first, first
        resumed = dict(max_iters=total)
    loop.pop('val_begin', None)
    if cfg.get('param_scheduler'):
        schedulers = cfg.param_scheduler
        if isinstance(schedulers, dict):
            schedulers = [schedulers]
        cfg.param_scheduler = squeeze_schedulers(schedulers, old, total, by_epoch)
    hooks = cfg.default_hooks
    hooks.logger.interval = 1
    if not hooks.checkpoint.get('by_epoch', True):
        hooks.checkpoint.interval = first
    hooks.checkpoint.pop('max_keep_ckpts', None)
    return resumed


# -- one config, in its own process ---------------------------------------------------

def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f'{type(error).__name__}: {text[0] if text else ""}'[:200]


def _same_state(a, b) -> bool:
    """Equal nested optimizer state dicts (tensors compared exactly)."""
    import torch
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) \
            and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b))
    return a == b


def _row(name: str, error: str = '') -> dict:
    """The result row of a config no step has run for yet."""
    return dict(config=name, steps={}, s_per_iter=None, peak_mb=None, error=error)


def run_one(args: argparse.Namespace) -> dict:
    """Train, validate, save, resume and test ``args.worker``; returns the
    result row (written to ``OUT/<config>/result.json`` by rank 0)."""
    import torch
    from mmengine.runner import Runner

    from tools import test as test_tool
    from tools import train as train_tool

    out = Path(args.out)
    config = Path(args.worker)
    work = out / 'work'
    common = ['--launcher', args.launcher]
    amp = ['--amp'] if args.amp else []
    row = _row(args.name)

    # The state right after --resume loads the checkpoint, before training
    # on, compared there (a copy of ConvNeXt-XL's optimizer state is 3 GB).
    seen = {}
    load_or_resume = Runner.load_or_resume

    def spy(runner):
        load_or_resume(runner)
        seen.update(iter=runner.iter, epoch=runner.epoch,
                    same_optimizer=_same_state(runner.optim_wrapper.state_dict(),
                                               seen['ckpt']['optimizer']))

    def step(name: str, fn) -> bool:
        if row['error']:
            row['steps'][name] = 'skipped'
            return False
        try:
            fn()
            row['steps'][name] = 'ok'
            return True
        except BaseException as error:  # noqa: B036  (SystemExit from the tools too)
            if isinstance(error, KeyboardInterrupt):
                raise
            row['steps'][name] = 'FAILED'
            row['error'] = f'{name}: {_first_line(error)}'
            traceback.print_exc()
            return False

    state = {}

    def train():
        runner = train_tool.main([str(config), '--work-dir', str(work)] + common + amp)
        times = runner.message_hub.get_scalar('train/time').data[0]
        times = times[1:] if len(times) > 1 else times  # the first iteration warms up
        row['s_per_iter'] = round(sorted(times)[len(times) // 2], 3)
        state['runner'] = runner

    def val():
        scalars = state.pop('runner').message_hub.log_scalars
        metrics = [k for k in scalars if k.startswith('val/')
                   and k not in ('val/time', 'val/data_time')]
        if not metrics:
            raise RuntimeError('the training run ended without validation metrics')

    def save():
        last = work / 'last_checkpoint'
        if not last.is_file():
            raise FileNotFoundError(f'no {last}')
        state['ckpt'] = last.read_text().strip()
        if not osp.isfile(state['ckpt']):
            raise FileNotFoundError(state['ckpt'])

    def resume():
        gc.collect()  # the first run's model and optimizer
        ckpt = seen['ckpt'] = torch.load(state['ckpt'], map_location='cpu', mmap=True,
                                         weights_only=False)
        Runner.load_or_resume = spy
        try:
            runner = train_tool.main([str(config), '--resume', '--work-dir', str(work)]
                                     + common + amp + ['--cfg-options'] + args.resumed)
        finally:
            Runner.load_or_resume = load_or_resume
        if (seen.get('iter'), seen.get('epoch')) != (ckpt['meta']['iter'], ckpt['meta']['epoch']):
            raise RuntimeError(f'resumed at iteration {seen.get("iter")} epoch '
                               f'{seen.get("epoch")}, the checkpoint is at iteration '
                               f'{ckpt["meta"]["iter"]} epoch {ckpt["meta"]["epoch"]}')
        if not ckpt['optimizer'].get('state'):
            raise RuntimeError('the checkpoint holds no optimizer state')
        if not seen['same_optimizer']:
            raise RuntimeError('the resumed optimizer state is not the checkpoint\'s')
        if runner.iter <= ckpt['meta']['iter']:
            raise RuntimeError(f'the resumed run did not train on (iteration {runner.iter})')
        state['ckpt'] = (work / 'last_checkpoint').read_text().strip()
        del runner, ckpt
        seen.pop('ckpt')

    def test():
        gc.collect()
        metrics = test_tool.main([str(config), state['ckpt'], '--work-dir', str(out / 'test')]
                                 + common)
        if not metrics:
            raise RuntimeError('the test run returned no metrics')
        row['test_metrics'] = {k: round(float(v), 4) for k, v in metrics.items()
                               if isinstance(v, (int, float))}

    for name, fn in zip(STEPS, (train, val, save, resume, test)):
        step(name, fn)
    row['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return row


# -- the matrix -----------------------------------------------------------------------

def all_configs() -> List[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / 'configs' / folder).glob('*.py'))


def config_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT / 'configs').with_suffix(''))
    except ValueError:
        return path.stem


#: Configs are read one at a time: mmengine resolves ``mmdet::`` bases with
#: pkg_resources, whose first import in two threads at once leaves it broken
#: for the process ("Expected str, Requirement, or Distribution").
_CONFIG_LOCK = threading.Lock()


def prepare_config(args: argparse.Namespace, path: Path, out: Path):
    """Write the short-run config of ``path`` into ``out``; returns its path
    and the schedule keys the resumed run takes. Safe to call from threads."""
    from mmengine.config import Config

    from tools.misc.standin import standin_overrides
    with _CONFIG_LOCK:
        cfg = Config.fromfile(str(path))
        resumed = short_run_config(cfg, args.iters, args.batch, args.scale,
                                   standin_overrides(cfg, args.data), args.workers)
        config = out / path.name  # the name tells claims.py --results the config
        cfg.dump(str(config))
    return config, resumed


def run_config(args: argparse.Namespace, i: int, path: Path, threads: int) -> dict:
    """Prepare the short-run config of ``path`` and run it in a worker
    process (``args.nproc`` under torchrun); returns its row."""
    name = config_name(path)
    out = Path(args.out) / name
    out.mkdir(parents=True, exist_ok=True)
    result = out / 'result.json'
    result.unlink(missing_ok=True)
    start = time.time()
    try:
        config, resumed = prepare_config(args, path, out)
    except Exception as error:
        return dict(_row(name, f'config: {_first_line(error)}'), ok=False,
                    seconds=round(time.time() - start, 1))
    worker = [str(Path(__file__).resolve()), '--worker', str(config),
              '--name', name, '--out', str(out), '--launcher', args.launcher] + (
                  ['--amp'] if args.amp else []) + [
              '--resumed'] + [f'train_cfg.{k}={v}' for k, v in resumed.items()]
    if args.launcher == 'pytorch':
        port = 29500 + os.getpid() % 1000 + i
        cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={args.nproc}',
               f'--master_port={port}'] + worker
    else:
        cmd = [sys.executable] + worker
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with open(out / 'run.log', 'w') as log:
        try:
            code = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            code = f'timeout after {args.timeout:g} s'
    if not args.keep_checkpoints:  # ConvNeXt-XL's two hold 10 GB with AdamW's state
        for ckpt in (out / 'work').glob('*.pth'):
            ckpt.unlink()
    if result.is_file():
        row = json.loads(result.read_text())
    else:
        row = _row(name, f'worker ended ({code}) without a result; see {out / "run.log"}')
    if code != 0 and not row['error']:
        row['error'] = f'worker exit status {code}; see {out / "run.log"}'
    row['seconds'] = round(time.time() - start, 1)
    row['ok'] = not row['error'] and all(row['steps'].get(s) == 'ok' for s in STEPS)
    return row


def run_matrix(args: argparse.Namespace, configs: Sequence[Path]) -> List[dict]:
    """Run each config in a worker process of its own, ``args.jobs`` at a
    time (each with an equal share of the cores); returns the rows in the
    order of ``configs``."""
    from concurrent.futures import ThreadPoolExecutor
    procs = args.nproc if args.launcher == 'pytorch' else 1
    threads = max(1, (os.cpu_count() or 1) // (args.jobs * procs))
    done = 0

    def one(item):
        nonlocal done
        row = run_config(args, *item, threads)
        done += 1
        print(f'[{done}/{len(configs)}] {row["config"]}: '
              f'{"ok" if row["ok"] else "FAILED: " + row["error"]} ({row["seconds"]} s)',
              file=sys.stderr, flush=True)
        return row

    with ThreadPoolExecutor(args.jobs) as pool:
        return list(pool.map(one, enumerate(configs)))


def table(rows: List[dict]) -> str:
    head = ['config'] + list(STEPS) + ['s/iter', 'peak MB', 'seconds', 'error']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
    for r in rows:
        cells = [f'`{r["config"]}`'] + [r['steps'].get(s, '-') for s in STEPS] + [
            '-' if r['s_per_iter'] is None else f'{r["s_per_iter"]:.2f}',
            '-' if r['peak_mb'] is None else str(r['peak_mb']), str(r['seconds']),
            r['error'].replace('|', '/')]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='*', help='config files (default: every config under '
                        f'configs/{{{",".join(FOLDERS)}}})')
    parser.add_argument('--data', default=str(ROOT / 'data/standin'),
                        help='stand-in data (written there when missing)')
    parser.add_argument('--out', default=str(ROOT / 'work_dirs/run_configs'),
                        help='work dirs, derived configs and logs, one folder per config')
    parser.add_argument('--iters', type=int, default=2,
                        help='training iterations of an iteration-based config before the '
                        'resume (epoch-based configs train one epoch of the stand-in data)')
    parser.add_argument('--batch', type=int, help='cap on the training batch per process')
    parser.add_argument('--scale', type=float, help='multiply every resize and crop size by this')
    parser.add_argument('--workers', type=int,
                        help='cap on the data loader workers (0: load in the main process)')
    parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    parser.add_argument('--amp', action='store_true',
                        help='train with automatic mixed precision (tools/train.py --amp; CUDA)')
    parser.add_argument('--nproc', type=int, default=2, help='processes with --launcher pytorch')
    parser.add_argument('--jobs', type=int, default=1,
                        help='configs run at once, each with an equal share of the cores')
    parser.add_argument('--timeout', type=float, default=1800, help='seconds per config')
    parser.add_argument('--output', help='also write the table to this Markdown file')
    parser.add_argument('--keep-checkpoints', action='store_true',
                        help='keep each run\'s checkpoints (deleted once its row is done: '
                        'the largest models\' take gigabytes)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--name', help=argparse.SUPPRESS)
    parser.add_argument('--resumed', nargs='*', default=[], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        from mmengine.dist import get_rank

        import mmplug  # noqa: F401
        row = run_one(args)
        if get_rank() == 0:
            (Path(args.out) / 'result.json').write_text(json.dumps(row, indent=1))
        return 0
    warnings.filterwarnings('ignore', 'pkg_resources is deprecated')  # mmengine's mmdet:: bases
    configs = [Path(c) for c in args.configs] or all_configs()
    missing = [str(c) for c in configs if not c.is_file()]
    if missing:
        raise SystemExit(f'run_configs.py: no such config: {", ".join(missing)}')
    if not (Path(args.data) / 'coco').is_dir():
        from tools.misc.standin import write_standin
        write_standin(args.data, train=4, val=2)  # 2 iterations an epoch at batch 2
    start = time.time()
    rows = run_matrix(args, configs)
    text = table(rows)
    failed = [r['config'] for r in rows if not r['ok']]
    summary = (f'{len(rows) - len(failed)} of {len(rows)} configs ok in '
               f'{(time.time() - start) / 60:.1f} min ({args.launcher} launcher'
               f'{f", {args.nproc} processes" if args.launcher != "none" else ""}, '
               f'{args.jobs} at a time)')
    print(text + '\n\n' + summary)
    if args.output:
        Path(args.output).write_text(text + '\n\n' + summary + '\n')
    return 1 if failed else 0


if __name__ == '__main__':
    code = main()
    if '--worker' in sys.argv:
        from mmplug.cli import end_distributed
        end_distributed()
    sys.exit(code)
