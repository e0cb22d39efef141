"""What ``tools/train.py`` and ``tools/test.py`` share: loading a config of any
OpenMMLab library (its ``default_scope`` says which), checking its data before
anything slow happens, and building the runner."""
import argparse
import copy
import importlib
import os
import os.path as osp
from typing import Iterator, List, Optional, Union

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The arguments that train and test share, named as in mmdet."""
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, as key=value (e.g. '
        'train_dataloader.batch_size=4 model.backbone.arch=t0)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Load ``args.config`` and apply the common command-line arguments."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file {args.config!r} not found')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise SystemExit(f'{args.config}: default_scope is {scope!r}; mmplug tools run '
                         f'configs of {", ".join(SCOPES)}')
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif not cfg.get('work_dir'):
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def _registry(cfg: Config, name: str):
    """The registry ``name`` of the config's library."""
    return getattr(importlib.import_module(f'{cfg.default_scope}.registry'), name)


#: The override that leaves out a config's pretrained backbone weights, as a
#: user gives it: ``--cfg-options model.backbone.init_cfg=None``. It works
#: for every config, wrappers (``mmplug.Refocus``, ``mmplug.Deployed``)
#: included, which merge it into the module they wrap.
NO_PRETRAINED = {'model.backbone.init_cfg': None}


def drop_pretrained(cfg: Config) -> None:
    """Leave out the backbone's pretrained weights (:data:`NO_PRETRAINED`)."""
    cfg.merge_from_dict(NO_PRETRAINED)


def build_model(config: Union[str, os.PathLike, Config], pretrained: bool = False):
    """The model of a config, built in its library's scope; the backbone's
    pretrained weights are left out (no download) unless asked for.

    Args:
        config: Path of the config file, or a loaded config (left unchanged).
        pretrained: Keep the backbone's ``init_cfg``.
    """
    from mmengine.registry import init_default_scope
    cfg = copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(str(config))
    if not pretrained:
        drop_pretrained(cfg)
    init_default_scope(cfg.default_scope)
    return _registry(cfg, 'MODELS').build(cfg.model)


def load_checkpoint_exactly(model, checkpoint: dict, source: str) -> None:
    """Load a whole-model checkpoint (the object read from file ``source``)
    that must fit ``model`` key for key, as the deploy tools need: no key may
    be missing or left unused.

    Raises:
        SystemExit: naming the missing and unused keys.
    """
    from .models.checkpoint import unwrap_state_dict
    result = model.load_state_dict(unwrap_state_dict(checkpoint), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise SystemExit(f'{source} does not fit the {type(model).__name__} of the config: '
                         f'missing {result.missing_keys[:20]}, '
                         f'unexpected {result.unexpected_keys[:20]}')


def _dataset_cfgs(dataset: dict) -> List[dict]:
    """The leaf data sets of a (possibly wrapped or concatenated) data set."""
    if 'datasets' in dataset:
        return [leaf for d in dataset['datasets'] for leaf in _dataset_cfgs(d)]
    if 'dataset' in dataset:
        return _dataset_cfgs(dataset['dataset'])
    return [dataset]


def check_data(cfg: Config, loaders: List[str]) -> None:
    """Stop at once, with a message naming the folder, when a data set the
    run needs is missing, instead of failing after the model is built.

    Args:
        cfg: The loaded config.
        loaders: Names of the dataloaders the run uses, e.g.
            ``['train_dataloader', 'val_dataloader']``.
    """
    registry = _registry(cfg, 'DATASETS')
    for loader in loaders:
        if not cfg.get(loader):
            continue
        for dataset in _dataset_cfgs(cfg[loader]['dataset']):
            dataset_cls = registry.get(dataset['type']) if isinstance(dataset['type'], str) \
                else dataset['type']
            if getattr(dataset_cls, 'generates_data', False):
                continue  # written on first use
            root = dataset.get('data_root') or ''
            paths = [('data_root', root)] if root else []
            if dataset.get('ann_file'):
                paths.append(('ann_file', osp.join(root, dataset['ann_file'])))
            prefixes = dataset.get('data_prefix') or {}
            if isinstance(prefixes, str):  # mmpretrain allows a plain folder
                prefixes = {'': prefixes}
            for name, prefix in prefixes.items():
                if prefix:
                    paths.append((f'data_prefix.{name}'.rstrip('.'), osp.join(root, prefix)))
            for key, path in paths:
                if '://' not in path and not osp.exists(path):  # remote storage is not checked
                    raise SystemExit(
                        f'{loader}.dataset.{key}: {path!r} does not exist.\n'
                        f'Put the data set there (see the config for the layout it '
                        f'expects) or point the config at it with --cfg-options '
                        f'{loader}.dataset.{key}=...\n'
                        f'To try mmplug without any download, run `make demo`, which '
                        f'trains configs/demo/ on a generated data set.')


def enable_visualization(cfg: Config, show: bool, show_dir: Optional[str],
                         wait_time: float) -> None:
    """Turn on the library's visualization hook for a test run."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise SystemExit('--show/--show-dir need default_hooks.visualization in the config')
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


def wrap_tta(cfg: Config) -> None:
    """Replace the model and test pipeline by the config's test-time
    augmentation (``tta_model``, ``tta_pipeline``)."""
    missing = [k for k in ('tta_model', 'tta_pipeline') if k not in cfg]
    if missing:
        raise SystemExit(f'--tta needs {" and ".join(missing)} in the config')
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = copy.deepcopy(cfg.tta_pipeline)


def end_distributed() -> None:
    """End a distributed run once its work is done: destroy the process group,
    flush the logs, and leave without running C++ static destructors.

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


def config_dicts(node) -> Iterator[dict]:
    """Every dict of a nested config (dicts, lists and tuples), each before
    the dicts inside it; a caller may change the values of one it is given.
    """
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from config_dicts(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from config_dicts(value)


SYNC_BN = ('SyncBN', 'MMSyncBN', 'SyncBatchNorm')


def revert_sync_bn(node) -> int:
    """Turn every SyncBN of a config (dicts and lists, in place) into BN;
    returns how many were turned."""
    count = 0
    for d in config_dicts(node):
        if d.get('type') in SYNC_BN:
            d['type'] = 'BN'
            count += 1
    return count


def build_runner(cfg: Config) -> Runner:
    """The config's runner (``runner_type`` if it names one).

    A distributed run without CUDA trains its SyncBN layers as BatchNorm:
    PyTorch's SyncBatchNorm refuses CPU tensors in a distributed run, and
    mmengine reverts it only in non-distributed runs. GPU runs keep it.
    """
    import torch
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        count = revert_sync_bn(cfg.model)
        if count:
            from mmengine.logging import print_log
            print_log(f'{count} SyncBN norm configs of the model are BN in this distributed run '
                      'on the CPU (SyncBatchNorm needs CUDA); each process normalises over its '
                      'own batch', logger='current')
    if 'runner_type' in cfg:
        return _registry(cfg, 'RUNNERS').build(cfg)
    return Runner.from_cfg(cfg)
