"""The transfer recipes of docs/recipes.md, read off the resolved configs.

Every detection and segmentation config is loaded with ``Config.fromfile``
(its ``mmdet::``/``mmseg::`` bases and our own resolved, no model built) and
the settings that decide its result (optimizer, schedule, data, backbone,
heads and losses, precision, gradient clipping, the test settings) are
compared, exactly, with the audited values below, each with the official
source it was read from: an edit to a config or to a base it inherits cannot
change a recipe unnoticed. Change a value here only together with
docs/recipes.md.
"""

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
        bb = dict(cls.defaults(), **bb)
    norms = [bb.get('norm_cfg'), bb.get('conv_norm_cfg'), bb.get('out_norm_cfg'),
             *(bb.get('norm_cfgs') or ())]
    return dict(drop_path=bb['drop_path_rate'], frozen_stages=bb['frozen_stages'],
                norm_eval=bb['norm_eval'], window=bb.get('window_size'),
                norm=tuple(sorted({n['type'] for n in norms if n})))


# The modules of a model whose settings are audited, and the settings left
# out: those the backbone or the data set decide (checked by building the
# models elsewhere), and initialization.
HEADS = ('neck', 'decode_head', 'auxiliary_head', 'rpn_head', 'roi_head', 'bbox_head',
         'mask_head')
NOT_AUDITED = {'in_channels', 'num_classes', 'init_cfg', 'bbox_roi_extractor',
               'mask_roi_extractor', 'roi_feat_size', 'align_corners', 'act_cfg', '_scope_'}
# SSD's head has its losses built in; their settings are in train_cfg.
SSD_LOSS = ('smoothl1_beta', 'neg_pos_ratio')


def _head(head):
    """A head's settings (its losses included), the norm by type only."""
    if isinstance(head, (list, tuple)):  # one bbox head per cascade stage
        return tuple(_head(h) for h in head)
    out = {}
    for key, value in head.items():
        if key == 'norm_cfg':
            out['norm'] = value['type']
        elif key in HEADS:
            out[key] = _head(value)
        elif key not in NOT_AUDITED:
            out[key] = _plain(value)
    return out


def _heads(model) -> dict:
    out = {key: _head(model[key]) for key in HEADS if model.get(key)}
    train = model.get('train_cfg') or {}
    if any(k in train for k in SSD_LOSS):
        out['bbox_head'].update({k: train[k] for k in SSD_LOSS})
    return out


def recipe(cfg: Config) -> dict:
    """The audited settings of a resolved config."""
    wrapper = cfg.optim_wrapper
    loop = cfg.train_cfg
    train, repeat = _dataset(cfg.train_dataloader)
    test, _ = _dataset(cfg.test_dataloader)
    return dict(
        precision='amp' if wrapper.get('type') == 'AmpOptimWrapper' else 'fp32',
        clip_grad=_plain(wrapper.get('clip_grad')),
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
        heads=_heads(cfg.model),
        test_cfg=_plain(cfg.model.test_cfg),
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


# ------------------------------------------------------------ heads and losses
def _ce(weight=1.0, **kw):
    return dict(type='CrossEntropyLoss', **kw, loss_weight=weight)


def _coder(stds):
    return dict(type='DeltaXYWHBBoxCoder', target_means=(0.0, 0.0, 0.0, 0.0), target_stds=stds)


# Mask R-CNN with FPN: FN detection/configs/_base_/models/mask_rcnn_r50_fpn.py:14-68;
# CX object_detection/configs/_base_/models/mask_rcnn_convnext_fpn.py:22-76
# (MMDET _base_/models/mask-rcnn_r50_fpn.py, which ours inherit, is the same).
RPN_ANCHORS = dict(type='AnchorGenerator', scales=(8, ), ratios=(0.5, 1.0, 2.0),
                   strides=(4, 8, 16, 32, 64))
MASK_HEAD = dict(type='FCNMaskHead', num_convs=4, conv_out_channels=256,
                 loss_mask=_ce(use_mask=True))
MASK_RCNN_HEADS = dict(
    neck=dict(type='FPN', out_channels=256, num_outs=5),
    rpn_head=dict(type='RPNHead', feat_channels=256, anchor_generator=RPN_ANCHORS,
                  bbox_coder=_coder((1.0, 1.0, 1.0, 1.0)), loss_cls=_ce(use_sigmoid=True),
                  loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_head=dict(type='Shared2FCBBoxHead', fc_out_channels=1024,
                       bbox_coder=_coder((0.1, 0.1, 0.2, 0.2)), reg_class_agnostic=False,
                       loss_cls=_ce(use_sigmoid=False),
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_head=MASK_HEAD))
# FN base :110-120, CX base :118-128.
MASK_RCNN_TEST = dict(
    rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
             min_bbox_size=0),
    rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100,
              mask_thr_binary=0.5))


def _giou_stage(stds):
    return dict(type='ConvFCBBoxHead', num_shared_convs=4, num_shared_fcs=1,
                conv_out_channels=256, fc_out_channels=1024, bbox_coder=_coder(stds),
                reg_class_agnostic=False, reg_decoded_bbox=True, norm='SyncBN',
                loss_cls=_ce(use_sigmoid=False), loss_bbox=dict(type='GIoULoss', loss_weight=10.0))


# Cascade Mask R-CNN, 4conv1fc GIoU box heads: CX
# object_detection/configs/_base_/models/cascade_mask_rcnn_convnext_fpn.py:22-117
# (the RPN's smooth L1, beta 1/9: :42) with the box heads of
# cascade_mask_rcnn_convnext_*_giou_4conv1f_adamw_3x_coco_in1k.py:25-84; test: base :196-208
# (mmdet 2's nms_across_levels=False and nms_post are mmdet 3's behaviour).
CASCADE_HEADS = dict(
    MASK_RCNN_HEADS,
    rpn_head=dict(MASK_RCNN_HEADS['rpn_head'],
                  loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(type='CascadeRoIHead', num_stages=3, stage_loss_weights=(1, 0.5, 0.25),
                  bbox_head=(_giou_stage((0.1, 0.1, 0.2, 0.2)),
                             _giou_stage((0.05, 0.05, 0.1, 0.1)),
                             _giou_stage((0.033, 0.033, 0.067, 0.067))),
                  mask_head=MASK_HEAD))
# RetinaNet: EMO RetinaNet logs :67-96 (1M: 20221102_234131.log); test :107-112.
RETINANET_HEADS = dict(
    neck=dict(type='FPN', out_channels=256, start_level=1, add_extra_convs='on_input',
              num_outs=5),
    bbox_head=dict(type='RetinaHead', stacked_convs=4, feat_channels=256,
                   anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                         scales_per_octave=3, ratios=(0.5, 1.0, 2.0),
                                         strides=(8, 16, 32, 64, 128)),
                   bbox_coder=_coder((1.0, 1.0, 1.0, 1.0)),
                   loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                 loss_weight=1.0),
                   loss_bbox=dict(type='L1Loss', loss_weight=1.0)))
RETINANET_TEST = dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)
# SSDLite: EMO SSDLite logs :216-245 (1M: 20221030_213236.log), the built-in
# losses' settings :254, :257 (train_cfg); test :259-264.
_SSD_NORM = 'BN'  # eps 1e-3, momentum 0.03


def _ssd_neck(c3, c4):
    """The neck on the backbone's last two stages (``c3``, ``c4`` channels)."""
    return dict(type='SSDNeck', out_channels=(c3, c4, 512, 256, 256, 128),
                level_strides=(2, 2, 2, 2), level_paddings=(1, 1, 1, 1), l2_norm_scale=None,
                use_depthwise=True, norm=_SSD_NORM)


SSDLITE_HEADS = dict(
    neck=_ssd_neck(80, 168),
    bbox_head=dict(type='SSDHead', use_depthwise=True, norm=_SSD_NORM,
                   anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False,
                                         strides=(16, 32, 64, 107, 160, 320),
                                         ratios=((2, 3), ) * 6,
                                         min_sizes=(48, 100, 150, 202, 253, 304),
                                         max_sizes=(100, 150, 202, 253, 304, 320)),
                   bbox_coder=_coder((0.1, 0.1, 0.2, 0.2)), smoothl1_beta=1.0, neg_pos_ratio=3))
SSDLITE_TEST = dict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                    score_thr=0.02, max_per_img=200)
# The FCN auxiliary head on stage 3 of the segmentors: CX
# semantic_segmentation/configs/_base_/models/upernet_convnext.py:34-46, SW
# configs/_base_/models/upernet_swin.py:34-46, EMO seg logs :84-96 (PSPNet :83-95).
AUX_HEAD = dict(type='FCNHead', in_index=2, channels=256, num_convs=1, concat_input=False,
                dropout_ratio=0.1, norm='SyncBN', loss_decode=_ce(0.4, use_sigmoid=False))
# UPerNet: CX upernet_convnext.py:22-33, SW upernet_swin.py:22-33.
UPERNET_HEADS = dict(
    decode_head=dict(type='UPerHead', in_index=(0, 1, 2, 3), pool_scales=(1, 2, 3, 6),
                     channels=512, dropout_ratio=0.1, norm='SyncBN',
                     loss_decode=_ce(use_sigmoid=False)),
    auxiliary_head=AUX_HEAD)
# DeepLabv3 and PSPNet on EMO's stage 4: EMO seg logs :72-83 (DeepLabv3),
# :71-82 (PSPNet).
_EMO_DECODE = dict(in_index=3, channels=256, dropout_ratio=0.1, norm='SyncBN',
                   loss_decode=_ce(use_sigmoid=False))
DEEPLABV3_HEADS = dict(decode_head=dict(type='ASPPHead', dilations=(1, 12, 24, 36),
                                        **_EMO_DECODE), auxiliary_head=AUX_HEAD)
PSPNET_HEADS = dict(decode_head=dict(type='PSPHead', pool_scales=(1, 2, 3, 6), **_EMO_DECODE),
                    auxiliary_head=AUX_HEAD)
# Semantic FPN: PF segmentation/configs/_base_/models/fpn_r50.py:17-33.
SEM_FPN_HEADS = dict(
    neck=dict(type='FPN', out_channels=256, num_outs=4),
    decode_head=dict(type='FPNHead', in_index=(0, 1, 2, 3), feature_strides=(4, 8, 16, 32),
                     channels=128, dropout_ratio=0.1, norm='SyncBN',
                     loss_decode=_ce(use_sigmoid=False)))


# ------------------------------------------------------------ the recipes
# Precision: only the ConvNeXt recipes train in mixed precision officially (CX
# detection :77-88, segmentation :51-62); ours run in fp32 on the CPU (kept:
# `--amp` on a GPU; docs/recipes.md). No official recipe clips gradients
# (FN `grad_clip=None`, config :22; CX DistOptimizerHook `grad_clip=None`; EMO
# logs `optimizer_config`; SW and PF `optimizer_config = dict()`).
# FasterNet: JierunChen/FasterNet detection/configs/fasternet/*.
FASTERNET = dict(
    precision='fp32', clip_grad=None, constructor=None,
    optimizer=dict(type=ADAMW, lr=2e-4, weight_decay=1e-4), paramwise={},
    batch=2, base_batch=16, length=(12, 'epochs'), repeat=1,
    schedulers=(_warmup(500), _steps(12, (8, 11))),
    drop_path=0.15, frozen_stages=-1, norm_eval=False, window=None, norm=('BN', ),
    train=COCO_1X, test=COCO_TEST, heads=MASK_RCNN_HEADS, test_cfg=MASK_RCNN_TEST)
# ConvNeXt: facebookresearch/ConvNeXt object_detection/configs/convnext/*.
CONVNEXT_MASK_RCNN = dict(
    precision='fp32', clip_grad=None, constructor=LAYER_DECAY,
    optimizer=dict(type=ADAMW, lr=1e-4, betas=BETAS, weight_decay=0.05),
    paramwise=dict(decay_rate=0.95, decay_type='layer_wise', num_layers=6),
    batch=2, base_batch=16, length=(36, 'epochs'), repeat=1,
    schedulers=(_warmup(500), _steps(36, (27, 33))),
    drop_path=0.4, frozen_stages=-1, norm_eval=False, window=None, norm=('LN2d', ),
    train=CONVNEXT_MS_CROP, test=COCO_TEST, heads=MASK_RCNN_HEADS, test_cfg=MASK_RCNN_TEST)
CONVNEXT_CASCADE = dict(
    CONVNEXT_MASK_RCNN, optimizer=dict(type=ADAMW, lr=2e-4, betas=BETAS, weight_decay=0.05),
    paramwise=dict(decay_rate=0.7, decay_type='layer_wise', num_layers=6),
    heads=CASCADE_HEADS)
# EMO: zhangzjn/EMO down-stream-tasks configs and resources/*/*.log.
EMO_RETINANET = dict(
    precision='fp32', clip_grad=None, constructor=None,
    optimizer=dict(type=ADAMW, lr=2e-4, betas=BETAS, weight_decay=0.05),
    paramwise=EMO_NORM_KEYS,
    batch=4, base_batch=32, length=(12, 'epochs'), repeat=1,
    schedulers=(_warmup(500), _cosine(12)),
    drop_path=0.04036, frozen_stages=1, norm_eval=True, window=7, norm=('BN', 'LN2d'),
    train=COCO_1X, test=COCO_TEST, heads=RETINANET_HEADS, test_cfg=RETINANET_TEST)
EMO_SSDLITE = dict(
    EMO_RETINANET, optimizer=dict(type=ADAMW, lr=1.2e-3, betas=BETAS, weight_decay=0.05),
    batch=24, base_batch=192, length=(120, 'epochs'), repeat=5,
    schedulers=(_warmup(500), _cosine(120)), frozen_stages=-1,
    train=SSD320, test=SSD320_TEST, heads=SSDLITE_HEADS, test_cfg=SSDLITE_TEST)
EMO_SEG = dict(
    precision='fp32', clip_grad=None, constructor=None,
    optimizer=dict(type=ADAMW, lr=1.2e-4, betas=BETAS, weight_decay=0.01),
    paramwise=EMO_NORM_KEYS,
    batch=4, base_batch=32, length=(80000, 'iters'), repeat=1,
    schedulers=(_poly(80000, 0.9), ),
    drop_path=0.04036, frozen_stages=-1, norm_eval=False, window=7, norm=('LN2d', 'SyncBN'),
    train=ADE_TRAIN, test=ADE_TEST, heads=DEEPLABV3_HEADS, test_cfg=WHOLE)  # log :98
# ConvNeXt: facebookresearch/ConvNeXt semantic_segmentation/configs/convnext/*_ss.py.
CONVNEXT_UPERNET = dict(
    precision='fp32', clip_grad=None, constructor=LAYER_DECAY,
    optimizer=dict(type=ADAMW, lr=1e-4, betas=BETAS, weight_decay=0.05),
    paramwise=dict(decay_rate=0.9, decay_type='stage_wise', num_layers=6),
    batch=2, base_batch=16, length=(160000, 'iters'), repeat=1,
    schedulers=(_warmup(1500, start_factor=1e-6), _poly(160000, 1.0)),
    drop_path=0.4, frozen_stages=-1, norm_eval=False, window=None, norm=('LN2d', ),
    train=ADE_TRAIN, test=ADE_TEST, heads=UPERNET_HEADS, test_cfg=SLIDE)  # CX *_ss.py:33
# InceptionNeXt UPerNet, trained following Swin (the paper's appendix): SW
# configs/swin/upernet_swin_tiny_patch4_window7_512x512_160k_ade20k.py:25-38 and
# its _base_ files (batch: :37-38; schedule: schedule_160k.py:7; test:
# upernet_swin.py:49). Swin's custom keys for its position embeddings match no
# InceptionNeXt parameter; 'norm' matches the blocks' and outputs' norms.
# Drop path: the paper's Table 10. SyncBN in the backbone: assumed.
SWIN_NORM_KEYS = {'custom_keys': {'absolute_pos_embed': {'decay_mult': 0.0},
                                  'relative_position_bias_table': {'decay_mult': 0.0},
                                  'norm': {'decay_mult': 0.0}}}
INCEPTIONNEXT_UPERNET = dict(
    precision='fp32', clip_grad=None, constructor=None,
    optimizer=dict(type=ADAMW, lr=6e-5, betas=BETAS, weight_decay=0.01),
    paramwise=SWIN_NORM_KEYS,
    batch=2, base_batch=16, length=(160000, 'iters'), repeat=1,
    schedulers=(_warmup(1500, start_factor=1e-6), _poly(160000, 1.0)),
    drop_path=0.2, frozen_stages=-1, norm_eval=False, window=None, norm=('SyncBN', ),
    train=ADE_TRAIN, test=ADE_TEST, heads=UPERNET_HEADS, test_cfg=WHOLE)
# InceptionNeXt Semantic FPN on PoolFormer's recipe (sail-sg/poolformer
# segmentation/configs/sem_fpn/PoolFormer/*; test: _base_/models/fpn_r50.py:36).
INCEPTIONNEXT_FPN = dict(
    precision='fp32', clip_grad=None, constructor=None,
    optimizer=dict(type=ADAMW, lr=2e-4, weight_decay=1e-4), paramwise={},
    batch=4, base_batch=32, length=(40000, 'iters'), repeat=1,
    schedulers=(_poly(40000, 0.9), ),
    drop_path=0.1, frozen_stages=-1, norm_eval=False, window=None, norm=('SyncBN', ),
    train=ADE_TRAIN,
    test=ADE_TEST + ({'type': 'ResizeToMultiple', 'size_divisor': 32}, ),
    heads=SEM_FPN_HEADS, test_cfg=WHOLE)


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
    'det/emo_2m_ssdlite': dict(EMO_SSDLITE, drop_path=0.05,
                               heads=dict(SSDLITE_HEADS, neck=_ssd_neck(120, 200))),
    'det/emo_5m_ssdlite': dict(EMO_SSDLITE, drop_path=0.05, window=10,
                               heads=dict(SSDLITE_HEADS, neck=_ssd_neck(160, 288))),
    'seg/convnext_t_upernet': CONVNEXT_UPERNET,
    'seg/convnext_s_upernet': _num_layers(CONVNEXT_UPERNET, 12, drop_path=0.3),
    'seg/convnext_b_upernet': _num_layers(CONVNEXT_UPERNET, 12),
    'seg/inceptionnext_t_upernet': INCEPTIONNEXT_UPERNET,
    'seg/inceptionnext_s_upernet': dict(INCEPTIONNEXT_UPERNET, drop_path=0.3),
    'seg/inceptionnext_b_upernet': dict(INCEPTIONNEXT_UPERNET, drop_path=0.4),
    'seg/inceptionnext_t_fpn': INCEPTIONNEXT_FPN,
    'seg/inceptionnext_s_fpn': dict(INCEPTIONNEXT_FPN, drop_path=0.2),
    'seg/inceptionnext_b_fpn': dict(INCEPTIONNEXT_FPN, drop_path=0.2),
    'seg/emo_1m_deeplabv3': EMO_SEG,
    'seg/emo_2m_deeplabv3': dict(EMO_SEG, drop_path=0.05),
    'seg/emo_5m_deeplabv3': dict(EMO_SEG, drop_path=0.05, window=16),
    'seg/emo_1m_pspnet': dict(EMO_SEG, heads=PSPNET_HEADS),
    'seg/emo_2m_pspnet': dict(EMO_SEG, heads=PSPNET_HEADS, drop_path=0.05),
    'seg/emo_5m_pspnet': dict(EMO_SEG, heads=PSPNET_HEADS, drop_path=0.05, window=16),
}


def test_every_downstream_config_has_an_audited_recipe():
    assert sorted(EXPECTED) == DOWNSTREAM


@pytest.mark.parametrize('name', DOWNSTREAM)
def test_recipe(name):
    got = recipe(Config.fromfile(str(ROOT / 'configs' / f'{name}.py')))
    assert got == _plain(EXPECTED[name])
