"""What the command-line tools (``tools/train.py``, ``tools/test.py``,
``tools/demo.py``, ``tools/reparameterize.py``) share: mmdet's common
arguments, loading a config with them, the test-time options, ending a
distributed run, and turning the library's errors into exit messages.

Like the library, these functions raise exceptions; a tool wraps its set-up
in :func:`exit_on_error`, which prints a user's mistake as one line instead
of a traceback.
"""
import argparse
import contextlib
import copy
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict, DictAction

from .mim import PREFIX, config_path

#: The libraries whose configs the tools run.
SCOPES = ('mmdet', 'mmseg', 'mmpretrain')

#: What a user fixes: a file that is not there (a config, a checkpoint, a
#: data set) or something that does not fit (a config's scope or keys, a
#: checkpoint; :class:`~mmplug.models.checkpoint.CheckpointMismatchError` is
#: a ValueError).
USER_ERRORS = (FileNotFoundError, ValueError)


@contextlib.contextmanager
def exit_on_error(prog: str) -> Iterator[None]:
    """Turn a :data:`USER_ERRORS` raised inside the block into an exit with
    the message ``'<prog>: <error>'`` on standard error, without a traceback.
    Wrap a tool's set-up in it, not its training: an error there is a bug
    whose traceback matters.

    Args:
        prog: The tool's name, e.g. ``'train.py'``.
    """
    try:
        yield
    except USER_ERRORS as error:
        raise SystemExit(f'{prog}: {error}') from None


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The arguments that train and test share, named as in mmdet.

    Args:
        parser: The tool's parser, to which they are added.
    """
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, as key=value (e.g. '
        'train_dataloader.batch_size=4 model.backbone.arch=t0)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def read_config(path: str, cfg_options: Optional[Dict] = None) -> Config:
    """Load a config of one of :data:`SCOPES` and apply ``--cfg-options``.

    Args:
        path: The config file, or one of mmplug's as ``mmplug::det/x.py``.
        cfg_options: Overrides, as ``--cfg-options`` parses them.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when its ``default_scope`` is not one of :data:`SCOPES`.
    """
    if path.startswith(PREFIX):
        path = str(config_path(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} not found')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'{path}: default_scope is {scope!r}; mmplug tools run configs of '
                         f'{", ".join(SCOPES)}')
    return cfg


def load_config(args: argparse.Namespace) -> Config:
    """Load ``args.config`` and apply the common command-line arguments
    (:func:`add_common_args`); the work dir defaults to
    ``work_dirs/<config name>``.

    Args:
        args: The parsed command line.

    Raises:
        FileNotFoundError, ValueError: as :func:`read_config`.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = read_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif not cfg.get('work_dir'):
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def enable_visualization(cfg: Config, show: bool, show_dir: Optional[str],
                         wait_time: float) -> None:
    """Turn on the library's visualization hook for a test run.

    Args:
        cfg: The config, changed in place.
        show: Show each image in a window.
        show_dir: Folder (under the run's time-stamped one) for the drawn
            images, or None.
        wait_time: Seconds each shown image stays.

    Raises:
        ValueError: when the config has no ``default_hooks.visualization``.
    """
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError('--show/--show-dir need default_hooks.visualization in the config')
    if cfg.default_scope == 'mmpretrain':
        hook.update(enable=True, show=show, wait_time=wait_time)
        if show_dir:
            hook['out_dir'] = show_dir
        return
    hook.update(draw=True, show=show, wait_time=wait_time)
    if show_dir:
        if cfg.default_scope == 'mmdet':
            hook['test_out_dir'] = show_dir
        else:  # mmseg saves through the visualizer
            cfg.visualizer['save_dir'] = show_dir


#: The ratios of the test scale that mmseg 0.x's multi-scale + flip test
#: resizes to (its ``tools/test.py --aug-test``, which the papers' segmentation
#: code bases copy: e.g. Swin-Transformer-Semantic-Segmentation's
#: ``tools/test.py:86-91``).
MMSEG0_RATIOS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)


def mmseg0_scales(scale: Sequence[int],
                  ratios: Sequence[float] = MMSEG0_RATIOS) -> List[Tuple[int, int]]:
    """The scales mmseg 0.x's ``MultiScaleFlipAug(img_scale=scale,
    img_ratios=ratios)`` resizes to: each side times each ratio, truncated
    (``mmseg/datasets/pipelines/test_time_aug.py`` of mmseg 0.x). A
    ``keep_ratio`` resize then fits the image into each.

    Args:
        scale: The test scale, ``(long, short)`` as configs write it, e.g.
            ``(2048, 512)``.
        ratios: The ratios.
    """
    return [(int(scale[0] * r), int(scale[1] * r)) for r in ratios]


def mmseg0_tta_pipeline(pipeline: List[dict]) -> List[dict]:
    """mmseg 0.x's multi-scale + flip test made of an mmseg 1.x test pipeline:
    its ``Resize`` to a fixed scale (with ``keep_ratio``) becomes one resize
    to each of :func:`mmseg0_scales` of that scale, each without and with a
    horizontal flip, inside mmcv's ``TestTimeAug``; the transforms between the
    resize and the annotations (``ResizeToMultiple``) apply to every view.

    mmseg 1.x's own ``tta_pipeline`` (``_base_/datasets/ade20k.py``) resizes by
    ratios of each image's own size instead (``scale_factor``), another
    protocol than the one the papers report.

    Args:
        pipeline: The test pipeline: loading, ``Resize(scale=..., keep_ratio=True)``,
            then the rest.

    Raises:
        ValueError: when the pipeline has no such ``Resize``.
    """
    types = [t['type'] for t in pipeline]
    at = next((i for i, t in enumerate(pipeline)
               if t['type'] == 'Resize' and t.get('scale') and t.get('keep_ratio')), None)
    if at is None:
        raise ValueError(f'--tta: the test pipeline {types} has no Resize to a fixed scale with '
                         f'keep_ratio=True, whose scale mmseg 0.x\'s multi-scale test multiplies')
    resize = pipeline[at]
    after = [copy.deepcopy(t) for t in pipeline[at + 1:]]
    views = next((i for i, t in enumerate(after)
                  if t['type'] in ('LoadAnnotations', 'PackSegInputs')), len(after))
    flips = [dict(type='RandomFlip', prob=p, direction='horizontal') for p in (0.0, 1.0)]
    transforms = [[dict(resize, scale=s) for s in mmseg0_scales(resize['scale'])],
                  *[[t] for t in after[:views]], flips, *[[t] for t in after[views:]]]
    return [copy.deepcopy(t) for t in pipeline[:at]] + [
        dict(type='TestTimeAug', transforms=transforms)]


def wrap_tta(cfg: Config) -> None:
    """Replace the model and test pipeline by test-time augmentation.

    Segmentation (mmseg) configs get mmseg 0.x's multi-scale + flip test, the
    protocol of the papers' multi-scale figures (:func:`mmseg0_tta_pipeline`),
    merged by the config's ``tta_model`` (mmseg's ``SegTTAModel``: the mean of
    the views' softmax); where the paper's multi-scale test used another
    inference mode than the config's single-scale one, the config says so in
    ``tta_test_cfg`` (ConvNeXt's UPerNet: whole images where the single-scale
    test slides). Detection and classification configs get their own
    ``tta_model`` and ``tta_pipeline``.

    Args:
        cfg: The config, changed in place.

    Raises:
        ValueError: naming what the config lacks.
    """
    if cfg.get('default_scope') == 'mmseg':
        pipeline = mmseg0_tta_pipeline(cfg.test_dataloader.dataset.pipeline)
        if 'tta_test_cfg' in cfg:
            cfg.model.test_cfg = copy.deepcopy(cfg.tta_test_cfg)
        cfg.tta_model = cfg.get('tta_model', dict(type='SegTTAModel'))
    else:
        missing = [k for k in ('tta_model', 'tta_pipeline') if k not in cfg]
        if missing:
            raise ValueError(f'--tta needs {" and ".join(missing)} in the config')
        pipeline = copy.deepcopy(cfg.tta_pipeline)
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = pipeline


def dump_predictions(runner, out: str) -> None:
    """Make ``runner.test()`` also dump its predictions to the pickle file
    ``out``, as mmdet's and mmseg's ``--out``.

    Raises:
        ValueError: for a file that is not a pickle file.
    """
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out {out!r}: the dump file must end in .pkl or .pickle')
    if runner.cfg.default_scope == 'mmdet':
        from mmdet.evaluation import DumpDetResults as Dump
    else:
        from mmengine.evaluator import DumpResults as Dump
    runner.test_evaluator.metrics.append(Dump(out_file_path=out))


def end_distributed() -> None:
    """End a distributed run once its work is done: destroy the process group,
    flush the logs, and leave without running C++ static destructors. Call it
    last, from a tool's ``__main__``.

    With gloo on the CPU, a rank sometimes aborts at interpreter exit, after
    everything has been written ("terminate called without an active
    exception", no Python frame; measured in about 1 of 10 two-process runs,
    also before mmplug's third backbone family). ``destroy_process_group``
    alone does not stop it, so a distributed process ends with ``os._exit``.
    A non-distributed run returns normally.
    """
    import logging
    import sys

    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
