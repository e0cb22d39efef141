"""The transfer recipes of docs/recipes.md, read off the resolved configs.

Every detection and segmentation config is loaded with ``Config.fromfile``
(its ``mmdet::``/``mmseg::`` bases and our own resolved, no model built) and
the settings that decide its result are compared, exactly, with the audited
values below: an edit to a config or to a base it inherits cannot change a
recipe unnoticed. Change a value here only together with docs/recipes.md.
"""
import inspect

import pytest
from mmengine.config import Config, ConfigDict

import mmplug  # noqa: F401  (registers the backbones the configs name)
import mmplug.models
from tests.helpers import ROOT

DOWNSTREAM = sorted(str(p.relative_to(ROOT / 'configs'))[:-3]
                    for d in ('det', 'seg') for p in (ROOT / 'configs' / d).glob('*.py'))

# Transforms that set the training and test scale, the crop and the
# multi-scale choice; their settings, without the photometric ones.
GEOMETRY = {'Resize', 'RandomResize', 'RandomChoiceResize', 'RandomCrop', 'RandomChoice',
            'Expand', 'MinIoURandomCrop', 'ResizeToMultiple'}
DROPPED = {'backend_args', 'mean', 'to_rgb', '_scope_'}


def _plain(value):
    """ConfigDicts to dicts and lists to tuples, all the way down."""
    if isinstance(value, (dict, ConfigDict)):
        return {k: _plain(v) for k, v in value.items() if k not in DROPPED}
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _geometry(pipeline):
    out = []
    for t in pipeline:
        if t['type'] == 'RandomChoice':
            out.append(('RandomChoice', tuple(_geometry(c) for c in t['transforms'])))
        elif t['type'] in GEOMETRY:
            out.append(_plain(t))
    return tuple(out)


def _dataset(loader):
    ds, repeat = loader.dataset, 1
    while 'pipeline' not in ds:
        repeat *= ds.get('times', 1)
        ds = ds.dataset
    return ds, repeat


def _backbone(bb):
    """The backbone's settings, with the class defaults filled in."""
    if bb['type'] == 'mmplug.Refocus':  # mmdet's ResNet inside, every setting given
        bb = dict(bb['module'], drop_path_rate=None)
    else:
        cls = getattr(mmplug.models, bb['type'].split('.')[-1])
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
        bb = dict(defaults, **bb)
    norms = [bb.get('norm_cfg'), bb.get('conv_norm_cfg'), bb.get('out_norm_cfg'),
             *(bb.get('norm_cfgs') or ())]
    return dict(drop_path=bb['drop_path_rate'], frozen_stages=bb['frozen_stages'],
                norm_eval=bb['norm_eval'], window=bb.get('window_size'),
                norm=tuple(sorted({n['type'] for n in norms if n})))


def recipe(cfg: Config) -> dict:
    """The audited settings of a resolved config."""
    wrapper = cfg.optim_wrapper
    loop = cfg.train_cfg
    train, repeat = _dataset(cfg.train_dataloader)
    test, _ = _dataset(cfg.test_dataloader)
    model_test = cfg.model.get('test_cfg', {})
    return dict(
        wrapper=wrapper.get('type', 'OptimWrapper'),
        constructor=wrapper.get('constructor'),
        optimizer=_plain(wrapper.optimizer),
        paramwise=_plain(wrapper.get('paramwise_cfg', {})),
        batch=cfg.train_dataloader.batch_size,
        base_batch=cfg.get('auto_scale_lr', {}).get('base_batch_size'),
        length=(loop['max_epochs'], 'epochs') if 'max_epochs' in loop else
        (loop['max_iters'], 'iters'),
        repeat=repeat,
        schedulers=_plain(cfg.param_scheduler),
        **_backbone(cfg.model.backbone),
        train=_geometry(train.pipeline),
        test=_geometry(test.pipeline),
        test_mode=_plain(model_test) if cfg.default_scope == 'mmseg' else None,
    )


# ------------------------------------------------------------ the recipes
def _warmup(end, start_factor=0.001):
    return dict(type='LinearLR', start_factor=start_factor, by_epoch=False, begin=0, end=end)


def _steps(epochs, milestones):
    return dict(type='MultiStepLR', begin=0, end=epochs, by_epoch=True, milestones=milestones,
                gamma=0.1)


def _cosine(epochs):
    return dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, T_max=epochs,
                end=epochs)


def _poly(iters, power):
    return dict(type='PolyLR', power=power, eta_min=0.0, by_epoch=False, begin=0, end=iters)


ADAMW = 'AdamW'
BETAS = (0.9, 0.999)
COCO_TEST = ({'type': 'Resize', 'scale': (1333, 800), 'keep_ratio': True}, )
COCO_1X = COCO_TEST
_SCALES = tuple((s, 1333) for s in range(480, 801, 32))
CONVNEXT_MS_CROP = (('RandomChoice', (
    ({'type': 'RandomChoiceResize', 'scales': _SCALES, 'keep_ratio': True}, ),
    ({'type': 'RandomChoiceResize', 'scales': ((400, 1333), (500, 1333), (600, 1333)),
      'keep_ratio': True},
     {'type': 'RandomCrop', 'crop_type': 'absolute_range', 'crop_size': (384, 600),
      'allow_negative_crop': True},
     {'type': 'RandomChoiceResize', 'scales': _SCALES, 'keep_ratio': True}))), )
SSD320 = ({'type': 'Expand', 'ratio_range': (1, 4)},
          {'type': 'MinIoURandomCrop', 'min_ious': (0.1, 0.3, 0.5, 0.7, 0.9),
           'min_crop_size': 0.3},
          {'type': 'Resize', 'scale': (320, 320), 'keep_ratio': False})
SSD320_TEST = ({'type': 'Resize', 'scale': (320, 320), 'keep_ratio': False}, )
ADE_TRAIN = ({'type': 'RandomResize', 'scale': (2048, 512), 'ratio_range': (0.5, 2.0),
              'keep_ratio': True},
             {'type': 'RandomCrop', 'crop_size': (512, 512), 'cat_max_ratio': 0.75})
ADE_TEST = ({'type': 'Resize', 'scale': (2048, 512), 'keep_ratio': True}, )
WHOLE = {'mode': 'whole'}
SLIDE = {'mode': 'slide', 'crop_size': (512, 512), 'stride': (341, 341)}
EMO_NORM_KEYS = {'custom_keys': {'norm': {'decay_mult': 0.0},
                                 'stem.0.norm': {'decay_mult': 1.0}}}
LAYER_DECAY = 'mmplug.LayerDecayOptimizerConstructor'

# FasterNet: JierunChen/FasterNet detection/configs/fasternet/*.
FASTERNET = dict(
    wrapper='OptimWrapper', constructor=None,
    optimizer=dict(type=ADAMW, lr=2e-4, weight_decay=1e-4), paramwise={},
    batch=2, base_batch=16, length=(12, 'epochs'), repeat=1,
    schedulers=(_warmup(500), _steps(12, (8, 11))),
    drop_path=0.15, frozen_stages=-1, norm_eval=False, window=None, norm=('BN', ),
    train=COCO_1X, test=COCO_TEST, test_mode=None)
# ConvNeXt: facebookresearch/ConvNeXt object_detection/configs/convnext/*.
CONVNEXT_MASK_RCNN = dict(
    wrapper='OptimWrapper', constructor=LAYER_DECAY,
    optimizer=dict(type=ADAMW, lr=1e-4, betas=BETAS, weight_decay=0.05),
    paramwise=dict(decay_rate=0.95, decay_type='layer_wise', num_layers=6),
    batch=2, base_batch=16, length=(36, 'epochs'), repeat=1,
    schedulers=(_warmup(500), _steps(36, (27, 33))),
    drop_path=0.4, frozen_stages=-1, norm_eval=False, window=None, norm=('LN2d', ),
    train=CONVNEXT_MS_CROP, test=COCO_TEST, test_mode=None)
CONVNEXT_CASCADE = dict(
    CONVNEXT_MASK_RCNN, optimizer=dict(type=ADAMW, lr=2e-4, betas=BETAS, weight_decay=0.05),
    paramwise=dict(decay_rate=0.7, decay_type='layer_wise', num_layers=6))
# EMO: zhangzjn/EMO down-stream-tasks configs and resources/*/*.log.
EMO_RETINANET = dict(
    wrapper='OptimWrapper', constructor=None,
    optimizer=dict(type=ADAMW, lr=2e-4, betas=BETAS, weight_decay=0.05),
    paramwise=EMO_NORM_KEYS,
    batch=4, base_batch=32, length=(12, 'epochs'), repeat=1,
    schedulers=(_warmup(500), _cosine(12)),
    drop_path=0.04036, frozen_stages=1, norm_eval=True, window=7, norm=('BN', 'LN2d'),
    train=COCO_1X, test=COCO_TEST, test_mode=None)
EMO_SSDLITE = dict(
    EMO_RETINANET, optimizer=dict(type=ADAMW, lr=1.2e-3, betas=BETAS, weight_decay=0.05),
    batch=24, base_batch=192, length=(120, 'epochs'), repeat=5,
    schedulers=(_warmup(500), _cosine(120)), frozen_stages=-1,
    train=SSD320, test=SSD320_TEST)
EMO_SEG = dict(
    wrapper='OptimWrapper', constructor=None,
    optimizer=dict(type=ADAMW, lr=1.2e-4, betas=BETAS, weight_decay=0.01),
    paramwise=EMO_NORM_KEYS,
    batch=4, base_batch=32, length=(80000, 'iters'), repeat=1,
    schedulers=(_poly(80000, 0.9), ),
    drop_path=0.04036, frozen_stages=-1, norm_eval=False, window=7, norm=('LN2d', 'SyncBN'),
    train=ADE_TRAIN, test=ADE_TEST, test_mode=WHOLE)
# ConvNeXt: facebookresearch/ConvNeXt semantic_segmentation/configs/convnext/*_ss.py.
CONVNEXT_UPERNET = dict(
    wrapper='OptimWrapper', constructor=LAYER_DECAY,
    optimizer=dict(type=ADAMW, lr=1e-4, betas=BETAS, weight_decay=0.05),
    paramwise=dict(decay_rate=0.9, decay_type='stage_wise', num_layers=6),
    batch=2, base_batch=16, length=(160000, 'iters'), repeat=1,
    schedulers=(_warmup(1500, start_factor=1e-6), _poly(160000, 1.0)),
    drop_path=0.4, frozen_stages=-1, norm_eval=False, window=None, norm=('LN2d', ),
    train=ADE_TRAIN, test=ADE_TEST, test_mode=SLIDE)
# InceptionNeXt (paper: drop path, SyncBN, output norms) on the ConvNeXt
# UPerNet recipe and on PoolFormer's Semantic FPN recipe (sail-sg/poolformer
# segmentation/configs/sem_fpn/PoolFormer/*).
INCEPTIONNEXT_UPERNET = dict(CONVNEXT_UPERNET, drop_path=0.2, norm=('SyncBN', ))
INCEPTIONNEXT_FPN = dict(
    wrapper='OptimWrapper', constructor=None,
    optimizer=dict(type=ADAMW, lr=2e-4, weight_decay=1e-4), paramwise={},
    batch=4, base_batch=32, length=(40000, 'iters'), repeat=1,
    schedulers=(_poly(40000, 0.9), ),
    drop_path=0.1, frozen_stages=-1, norm_eval=False, window=None, norm=('SyncBN', ),
    train=ADE_TRAIN,
    test=ADE_TEST + ({'type': 'ResizeToMultiple', 'size_divisor': 32}, ), test_mode=WHOLE)


def _num_layers(base, n, **kw):
    return dict(base, paramwise=dict(base['paramwise'], num_layers=n), **kw)


EXPECTED = {
    'det/fasternet_s_maskrcnn': FASTERNET,
    'det/fasternet_m_maskrcnn': dict(
        FASTERNET, optimizer=dict(type=ADAMW, lr=1e-4, weight_decay=1e-4), drop_path=0.2),
    'det/fasternet_l_maskrcnn': dict(
        FASTERNET, optimizer=dict(type=ADAMW, lr=1e-4, weight_decay=1e-4), drop_path=0.3),
    'det/fasternet_s_refconv_maskrcnn': FASTERNET,  # not a paper model: FasterNet-S's recipe
    # not a paper model: mmdet's mask-rcnn_r50_fpn_1x_coco
    'det/refconv_r50_maskrcnn': dict(
        FASTERNET, optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
        drop_path=None, frozen_stages=1, norm_eval=True),
    'det/convnext_t_maskrcnn_3x': CONVNEXT_MASK_RCNN,
    'det/convnext_t_cascade_maskrcnn_3x': CONVNEXT_CASCADE,
    'det/convnext_s_cascade_maskrcnn_3x': _num_layers(CONVNEXT_CASCADE, 12, drop_path=0.6),
    'det/convnext_b_cascade_maskrcnn_3x': dict(
        CONVNEXT_CASCADE, paramwise=dict(decay_rate=0.8, decay_type='layer_wise', num_layers=12),
        drop_path=0.7),
    # not a paper model: ConvNeXt-T's Mask R-CNN recipe
    'det/inceptionnext_t_maskrcnn': dict(CONVNEXT_MASK_RCNN, drop_path=0.2, norm=('SyncBN', )),
    'det/emo_1m_retinanet': EMO_RETINANET,
    'det/emo_2m_retinanet': dict(EMO_RETINANET, drop_path=0.05),
    'det/emo_5m_retinanet': dict(EMO_RETINANET, drop_path=0.05, window=10),
    'det/emo_1m_ssdlite': EMO_SSDLITE,
    'det/emo_2m_ssdlite': dict(EMO_SSDLITE, drop_path=0.05),
    'det/emo_5m_ssdlite': dict(EMO_SSDLITE, drop_path=0.05, window=10),
    'seg/convnext_t_upernet': CONVNEXT_UPERNET,
    'seg/convnext_s_upernet': _num_layers(CONVNEXT_UPERNET, 12, drop_path=0.3),
    'seg/convnext_b_upernet': _num_layers(CONVNEXT_UPERNET, 12),
    'seg/inceptionnext_t_upernet': INCEPTIONNEXT_UPERNET,
    'seg/inceptionnext_s_upernet': _num_layers(INCEPTIONNEXT_UPERNET, 12, drop_path=0.3),
    'seg/inceptionnext_b_upernet': _num_layers(INCEPTIONNEXT_UPERNET, 12, drop_path=0.4),
    'seg/inceptionnext_t_fpn': INCEPTIONNEXT_FPN,
    'seg/inceptionnext_s_fpn': dict(INCEPTIONNEXT_FPN, drop_path=0.2),
    'seg/inceptionnext_b_fpn': dict(INCEPTIONNEXT_FPN, drop_path=0.2),
    'seg/emo_1m_deeplabv3': EMO_SEG,
    'seg/emo_2m_deeplabv3': dict(EMO_SEG, drop_path=0.05),
    'seg/emo_5m_deeplabv3': dict(EMO_SEG, drop_path=0.05, window=16),
    'seg/emo_1m_pspnet': EMO_SEG,
    'seg/emo_2m_pspnet': dict(EMO_SEG, drop_path=0.05),
    'seg/emo_5m_pspnet': dict(EMO_SEG, drop_path=0.05, window=16),
}


def test_every_downstream_config_has_an_audited_recipe():
    assert sorted(EXPECTED) == DOWNSTREAM


@pytest.mark.parametrize('name', DOWNSTREAM)
def test_recipe(name):
    got = recipe(Config.fromfile(str(ROOT / 'configs' / f'{name}.py')))
    assert got == _plain(EXPECTED[name])
