# Detection demo with EMO: configs/det/emo_1m_retinanet.py made CPU-sized,
# trained from scratch on the shapes data set (3 classes, 128x128, written
# on first use), with the RetinaNet head narrowed from 256 to 64 channels and
# two convs per branch instead of four.
#   python tools/train.py configs/demo/emo_1m_retinanet_shapes.py
_base_ = '../det/emo_1m_retinanet.py'

data_root = 'data/mmplug_shapes/'
shapes = dict(splits=dict(train=200, val=50), image_size=(128, 128), max_shapes=4, seed=0)
width = 64
max_epochs = 20

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(out_channels=width),
    bbox_head=dict(num_classes=3, in_channels=width, feat_channels=width, stacked_convs=2))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=shapes['image_size'], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=shapes['image_size'], keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
shapes_dataset = dict(type='ShapesCocoDataset', data_root=data_root, generate=shapes)
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **shapes_dataset, ann_file='annotations/train.json',
                 data_prefix=dict(img='train/'), filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **shapes_dataset, ann_file='annotations/val.json',
                 data_prefix=dict(img='val/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric',
                     ann_file=data_root + 'annotations/val.json', metric='bbox')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, end=max_epochs),
]
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=4)
