"""What a runtime needs of a config besides the graph: the parts of
``deploy.json`` read from the config (:func:`deploy_meta`).

- ``preprocess``: the test pipeline's transforms that change the image, and
  the data preprocessor's channel order, mean, std and padding rule, as
  :mod:`mmplug_runtime.preprocess` computes them;
- ``postprocess``: the test settings the runtime applies (the mask
  threshold) or that the graph applied (score threshold, detections per
  image), from ``model.test_cfg`` (``.rcnn`` for two-stage detectors);
- ``classes`` and ``palette``: the test data set's, from its class's
  ``METAINFO`` and the config's ``metainfo``, without reading its files;
- ``task``: from ``default_scope`` and whether the RoI head has a mask head.
"""
import copy
from typing import Any, Dict, List, Optional

from mmengine.config import Config

from mmplug_runtime.preprocess import LOAD_OPTIONS, TRANSFORMS, check_pipeline

from ..apis import _dataset_cfgs, _registry

#: Test-pipeline steps that leave the image as it is: dropped.
IMAGE_UNCHANGED = ('LoadAnnotations', 'PackDetInputs', 'PackSegInputs', 'PackInputs',
                   'PackClsInputs')
#: The data preprocessors whose arithmetic the runtime repeats.
DATA_PREPROCESSORS = ('DetDataPreprocessor', 'SegDataPreProcessor', 'ClsDataPreprocessor',
                      'ImgDataPreprocessor')


def _type_name(step: dict) -> str:
    """A pipeline step's type without its scope (``'mmdet.Resize'``), also
    where the config gives the class itself."""
    kind = step.get('type')
    return getattr(kind, '__name__', str(kind)).split('.')[-1]


def _plain(value):
    """A config value in JSON's types (tuples as lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def deployed_dataset(cfg: Config) -> dict:
    """The config of the data set ``test_dataloader`` reads, or
    ``val_dataloader`` where there is none (its first leaf when wrapped or
    concatenated).

    Raises:
        ValueError: when the config has neither.
    """
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not loader:
        raise ValueError('the config has neither test_dataloader nor val_dataloader: no test '
                         'pipeline to deploy')
    return _dataset_cfgs(loader['dataset'])[0]


def pipeline_spec(pipeline: List[dict]) -> List[dict]:
    """The steps of a test pipeline that change the image, in JSON's types.

    Raises:
        ValueError: naming a transform the runtime does not compute, and the
            ones it does.
    """
    steps = []
    for step in pipeline:
        kind = _type_name(step)
        if kind in IMAGE_UNCHANGED:
            continue
        options = {k: _plain(v) for k, v in step.items() if k != 'type'}
        if kind == 'LoadImageFromFile':
            options = {k: v for k, v in options.items() if k in LOAD_OPTIONS}
        elif kind not in TRANSFORMS:
            raise ValueError(f'test pipeline: {kind} is not supported by the deploy runtime; '
                             f'supported: LoadImageFromFile, {", ".join(TRANSFORMS)}, and '
                             f'{", ".join(IMAGE_UNCHANGED)} (which leave the image as it is)')
        steps.append(dict(type=kind, **options))
    check_pipeline(steps)
    return steps


def model_cfg(cfg: Config) -> dict:
    """The config's model, also inside the ``mmplug.Deployed`` wrapper of a
    deploy config (tools/reparameterize.py)."""
    model = cfg.model
    while _type_name(model) == 'Deployed':
        model = model['module']
    return model


def data_preprocessor(cfg: Config) -> dict:
    """The model's data preprocessor config: ``model.data_preprocessor``, or
    the top-level ``data_preprocessor`` that mmengine's runner gives a model
    without one (mmpretrain's configs)."""
    return dict(model_cfg(cfg).get('data_preprocessor') or cfg.get('data_preprocessor') or {})


def preprocess_spec(cfg: Config) -> Dict[str, Any]:
    """deploy.json's ``preprocess`` entry of a config.

    Raises:
        ValueError: for an unsupported transform or data preprocessor.
    """
    dp = data_preprocessor(cfg)
    kind = _type_name(dp) if dp.get('type') else None
    if kind is not None and kind not in DATA_PREPROCESSORS:
        raise ValueError(f'data preprocessor {kind} is not supported by the deploy runtime; '
                         f'supported: {", ".join(DATA_PREPROCESSORS)}')
    spec = dict(pipeline=pipeline_spec(deployed_dataset(cfg)['pipeline']),
                mean=_plain(dp.get('mean')), std=_plain(dp.get('std')),
                bgr_to_rgb=bool(dp.get('bgr_to_rgb') or dp.get('rgb_to_bgr')
                                or dp.get('to_rgb')))
    if cfg.default_scope == 'mmseg':
        # mmseg pads test batches only as data_preprocessor.test_cfg says
        # (its `size` is for training crops).
        test_cfg = dp.get('test_cfg') or {}
        spec.update(pad_size_divisor=test_cfg.get('size_divisor'),
                    pad_size=_plain(test_cfg.get('size')), pad_value=dp.get('pad_val', 0))
    else:
        spec.update(pad_size_divisor=dp.get('pad_size_divisor', 1), pad_size=None,
                    pad_value=dp.get('pad_value', 0))
    return spec


def task_of_config(cfg: Config) -> str:
    """The deploy task of a config: from its ``default_scope`` and, for
    mmdet, whether its RoI head has a mask head.

    Raises:
        ValueError: for a scope other than mmdet, mmseg and mmpretrain.
    """
    scope = cfg.get('default_scope')
    if scope == 'mmdet':
        masks = (model_cfg(cfg).get('roi_head') or {}).get('mask_head')
        return 'instance_segmentation' if masks else 'detection'
    tasks = {'mmseg': 'semantic_segmentation', 'mmpretrain': 'classification'}
    if scope not in tasks:
        raise ValueError(f'default_scope {scope!r}: the deploy runtime serves mmdet, mmseg and '
                         f'mmpretrain configs')
    return tasks[scope]


def postprocess_spec(cfg: Config, task: str) -> Dict[str, Any]:
    """deploy.json's ``postprocess`` entry: ``score_thr``, ``max_per_img``
    and, with masks, ``mask_thr_binary`` of a detector's test settings
    (empty for other tasks)."""
    if task not in ('detection', 'instance_segmentation'):
        return {}
    test_cfg = model_cfg(cfg).get('test_cfg') or {}
    test_cfg = test_cfg.get('rcnn') or test_cfg
    spec = dict(score_thr=test_cfg.get('score_thr'), max_per_img=test_cfg.get('max_per_img'))
    if task == 'instance_segmentation':
        spec['mask_thr_binary'] = test_cfg.get('mask_thr_binary', 0.5)
    return spec


def dataset_metainfo(cfg: Config) -> Dict[str, Any]:
    """The test data set's meta information, as its class would give it,
    without building it (no annotation file is read, none generated): the
    class's ``METAINFO``, mmpretrain's ``classes`` argument, then the
    config's ``metainfo``.

    Raises:
        ValueError: when the data set's type is not in the scope's registry.
    """
    dataset = deployed_dataset(cfg)
    kind = dataset['type']
    dataset_cls = kind if isinstance(kind, type) else _registry(cfg, 'DATASETS').get(kind)
    if dataset_cls is None:
        raise ValueError(f'data set type {kind!r} is not registered in {cfg.default_scope}')
    metainfo = copy.deepcopy(dict(dataset.get('metainfo') or {}))
    if dataset.get('classes') is not None:
        metainfo.setdefault('classes', dataset['classes'])
    return dataset_cls._load_metainfo(metainfo)


def deploy_meta(cfg: Config) -> Dict[str, Any]:
    """The parts of deploy.json that come from a config: ``task``,
    ``preprocess``, ``postprocess``, ``classes`` and ``palette`` (None where
    the data set has none).

    Args:
        cfg: The loaded config.

    Raises:
        ValueError: naming what the runtime cannot reproduce (a transform of
            the test pipeline, a data preprocessor, a scope).
    """
    task = task_of_config(cfg)
    meta = dataset_metainfo(cfg)
    palette: Optional[list] = meta.get('palette')
    return dict(task=task, preprocess=preprocess_spec(cfg), postprocess=postprocess_spec(cfg, task),
                classes=list(meta.get('classes') or []),
                palette=_plain(palette) if palette else None)
