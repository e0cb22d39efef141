"""mmplug's library API over the configs of any OpenMMLab library (the
config's ``default_scope`` says which): building a config's model, loading a
whole-model checkpoint that must fit it exactly, checking that a config's data
sets exist, and building its runner. Errors are exceptions; the command-line
tools turn them into exit messages (:mod:`mmplug.cli`)."""
import copy
import importlib
import os
import os.path as osp
from typing import Iterator, List, Optional, Union

from mmengine.config import Config
from mmengine.runner import Runner
from torch import nn

from .models.checkpoint import load_state_dict_checked, read_checkpoint, unwrap_state_dict


def _registry(cfg: Config, name: str):
    """The registry ``name`` (``'MODELS'``, ``'DATASETS'``, ...) of the
    library that the config's ``default_scope`` names."""
    return getattr(importlib.import_module(f'{cfg.default_scope}.registry'), name)


#: The override that leaves out a config's pretrained backbone weights, as a
#: user gives it: ``--cfg-options model.backbone.init_cfg=None``. It works
#: for every config, wrappers (``mmplug.Refocus``, ``mmplug.Deployed``)
#: included, which merge it into the module they wrap.
NO_PRETRAINED = {'model.backbone.init_cfg': None}


def drop_pretrained(cfg: Config) -> None:
    """Leave out the backbone's pretrained weights (:data:`NO_PRETRAINED`).

    Args:
        cfg: The config, changed in place.
    """
    cfg.merge_from_dict(NO_PRETRAINED)


def build_model(config: Union[str, os.PathLike, Config], pretrained: bool = False) -> nn.Module:
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
    model = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:  # mmpretrain's place for it, as Runner reads it
        model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return _registry(cfg, 'MODELS').build(model)


def load_checkpoint(model: nn.Module, filename: str, checkpoint: Optional[dict] = None) -> dict:
    """Load a whole-model checkpoint that must fit ``model`` key for key, as
    the deploy tools need: :func:`mmplug.models.checkpoint.load_state_dict_checked`
    with no optional keys (it always lets the file lack RefConv maps, which
    keep their start, and leaves a classification head the model lacks).

    Args:
        model: The model of the checkpoint's config.
        filename: Local path or URL of the checkpoint.
        checkpoint: The object already read from ``filename``
            (:func:`read_checkpoint`), if the caller looked into it first.

    Returns:
        The object read from the file (its ``meta``, say).

    Raises:
        FileNotFoundError: when a local file does not exist.
        CheckpointMismatchError: naming the missing and unused keys, or the
            shapes that differ.
    """
    if checkpoint is None:
        checkpoint = read_checkpoint(filename)
    load_state_dict_checked(model, unwrap_state_dict(checkpoint), source=filename)
    return checkpoint


def load_deployed(model: nn.Module, filename: str) -> nn.Module:
    """Load a training checkpoint, or a deploy checkpoint of
    ``tools/reparameterize.py``, into ``model`` (built from the training
    config) and return it in its deploy form (:func:`mmplug.switch_to_deploy`).

    Raises:
        FileNotFoundError, CheckpointMismatchError: as :func:`load_checkpoint`.
    """
    from .deploy.reparam import switch_to_deploy
    checkpoint = read_checkpoint(filename)
    if isinstance(checkpoint, dict) and checkpoint.get('meta', {}).get('mmplug_deploy'):
        switch_to_deploy(model)  # the file holds the folded weights
    load_checkpoint(model, filename, checkpoint)
    return switch_to_deploy(model)


def _dataset_cfgs(dataset: dict) -> List[dict]:
    """The leaf data sets of a (possibly wrapped or concatenated) data set."""
    if 'datasets' in dataset:
        return [leaf for d in dataset['datasets'] for leaf in _dataset_cfgs(d)]
    if 'dataset' in dataset:
        return _dataset_cfgs(dataset['dataset'])
    return [dataset]


def check_data(cfg: Config, loaders: List[str]) -> None:
    """Fail at once, naming the config key and the path, when a data set the
    run needs is missing, instead of failing after the model is built.
    Remote paths (``s3://``) and data sets generated on first use are not
    checked.

    Args:
        cfg: The loaded config.
        loaders: Names of the dataloaders the run uses, e.g.
            ``['train_dataloader', 'val_dataloader']``.

    Raises:
        FileNotFoundError: for the first missing folder or file.
    """
    datasets = _registry(cfg, 'DATASETS')
    for loader in loaders:
        if not cfg.get(loader):
            continue
        for dataset in _dataset_cfgs(cfg[loader]['dataset']):
            dataset_cls = datasets.get(dataset['type']) if isinstance(dataset['type'], str) \
                else dataset['type']
            if getattr(dataset_cls, 'generates_data', False):
                continue
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
                if '://' not in path and not osp.exists(path):
                    raise FileNotFoundError(
                        f'{loader}.dataset.{key}: {path!r} does not exist.\n'
                        f'Put the data set there (see the config for the layout it '
                        f'expects) or point the config at it with --cfg-options '
                        f'{loader}.dataset.{key}=...\n'
                        f'To try mmplug without any download, run `make demo`, which '
                        f'trains configs/demo/ on a generated data set.')


def check_optimizer(cfg: Config) -> None:
    """Check that the config's optimizer type is registered in its scope.

    mmengine's constructor would fail on a misspelt type with "None is not a
    callable object".

    Raises:
        ValueError: naming the type and the known ones.
    """
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    name = optimizer.get('type')
    if not isinstance(name, str):
        return
    registry = _registry(cfg, 'OPTIMIZERS')
    if registry.get(name) is None:
        known, node = set(), registry
        while node is not None:
            known.update(node.module_dict)
            node = node.parent
        raise ValueError(f'optim_wrapper.optimizer.type {name!r} is not registered in '
                         f'{cfg.default_scope}; known: {", ".join(sorted(known))}')


def config_dicts(node) -> Iterator[dict]:
    """Every dict of a nested config (dicts, lists and tuples), each before
    the dicts inside it; a caller may change the values of one it is given.

    Args:
        node: A config, or any part of one.
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
    """Turn every SyncBN of a config into BN, in place.

    Args:
        node: A config, or any part of one (dicts and lists).

    Returns:
        How many norm configs were turned.
    """
    count = 0
    for d in config_dicts(node):
        if d.get('type') in SYNC_BN:
            d['type'] = 'BN'
            count += 1
    return count


def _init_cpu_process_group(launcher: str) -> None:
    """Start the process group over gloo for a launcher's environment, as
    mmengine's ``init_dist`` does on GPUs (which sets a CUDA device first and
    so fails without one)."""
    import subprocess

    import torch.distributed as dist
    env = os.environ
    if launcher == 'slurm':
        env.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in env:
            env['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {env["SLURM_NODELIST"]} | head -n1')
        env.update(RANK=env['SLURM_PROCID'], WORLD_SIZE=env['SLURM_NTASKS'],
                   LOCAL_RANK=env.get('SLURM_LOCALID', '0'))
    elif launcher == 'mpi':
        env.setdefault('MASTER_ADDR', '127.0.0.1')
        env.setdefault('MASTER_PORT', '29500')
        env.update(RANK=env['OMPI_COMM_WORLD_RANK'], WORLD_SIZE=env['OMPI_COMM_WORLD_SIZE'],
                   LOCAL_RANK=env['OMPI_COMM_WORLD_LOCAL_RANK'])
    dist.init_process_group('gloo')


def build_runner(cfg: Config) -> Runner:
    """The config's runner (``runner_type`` if it names one).

    A distributed run without CUDA (``launcher`` other than ``'none'``) runs
    over gloo: the process group is started here (the runner then uses it),
    the model is wrapped without device ids (DDP refuses them for a CPU
    module), and its SyncBN layers train as BatchNorm (PyTorch's
    SyncBatchNorm refuses CPU tensors in a distributed run, and mmengine
    reverts it only in non-distributed runs). GPU runs keep all of it.

    Args:
        cfg: The loaded config (its ``launcher`` set).
    """
    import torch
    import torch.distributed as dist
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        if not dist.is_initialized():
            _init_cpu_process_group(cfg.launcher)
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        cfg.model_wrapper_cfg = dict(wrapper, device_ids=None)
        count = revert_sync_bn(cfg.model)
        if count:
            from mmengine.logging import print_log
            print_log(f'{count} SyncBN norm configs of the model are BN in this distributed run '
                      'on the CPU (SyncBatchNorm needs CUDA); each process normalises over its '
                      'own batch', logger='current')
    if 'runner_type' in cfg:
        return _registry(cfg, 'RUNNERS').build(cfg)
    return Runner.from_cfg(cfg)
