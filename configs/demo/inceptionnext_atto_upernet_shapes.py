# Semantic-segmentation demo: UPerNet with InceptionNeXt-Atto (the UPerNet of
# configs/seg/inceptionnext_t_upernet.py, CPU-sized), trained from scratch
# on the shapes data set with label maps (mmplug.datasets.ShapesSegDataset:
# background + 3 classes, 128x128, written on first use). Heads are narrowed
# from 512 to 64 channels, plain BN instead of SyncBN.
#   python tools/train.py configs/demo/inceptionnext_atto_upernet_shapes.py
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)

data_root = 'data/mmplug_shapes_seg/'
shapes = dict(splits=dict(train=200, val=50), image_size=(128, 128), max_shapes=4, seed=0)
crop_size = (128, 128)
width = 64
max_iters = 2000
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='InceptionNeXt', arch='atto', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1, out_norm_cfg=norm_cfg, init_cfg=None),
    decode_head=dict(in_channels=[40, 80, 160, 320], channels=width, num_classes=4,
                     norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=160, channels=width, num_classes=4, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
shapes_dataset = dict(type='ShapesSegDataset', data_root=data_root, generate=shapes)
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**shapes_dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**shapes_dataset, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=100, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=500)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
