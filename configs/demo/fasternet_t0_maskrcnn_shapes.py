# The demo: configs/det/fasternet_s_maskrcnn.py made CPU-sized. FasterNet-T0,
# trained from scratch (no download) on the generated shapes data set
# (mmplug.datasets.shapes: 3 classes, 128x128 images, written on first use),
# with heads narrowed from 256 to 64 channels, one RoIAlign sample per bin
# (objects here are small; its CPU backward is the costliest op), and a
# schedule of minutes.
# `make demo` runs it; tools/train.py and tools/test.py take it as any config.
_base_ = '../det/fasternet_s_maskrcnn.py'

data_root = 'data/mmplug_shapes/'
shapes = dict(splits=dict(train=200, val=50), image_size=(128, 128), max_shapes=4, seed=0)
num_classes = 3
width = 64
max_epochs = 20

model = dict(
    backbone=dict(arch='t0', drop_path_rate=0.0, init_cfg=None),
    neck=dict(in_channels=[40, 80, 160, 320], out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width, roi_layer=dict(sampling_ratio=1)),
        bbox_head=dict(in_channels=width, fc_out_channels=256, num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=width, roi_layer=dict(sampling_ratio=1)),
        mask_head=dict(in_channels=width, conv_out_channels=width, num_classes=num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=shapes['image_size'], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=shapes['image_size'], keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
shapes_dataset = dict(type='ShapesCocoDataset', data_root=data_root, generate=shapes)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        **shapes_dataset,
        ann_file='annotations/train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        **shapes_dataset,
        ann_file='annotations/val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs,
         milestones=[max_epochs * 3 // 4], gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=4)
