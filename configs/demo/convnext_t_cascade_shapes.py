# ConvNeXt demo: configs/det/convnext_t_cascade_maskrcnn_3x.py (layer-wise lr
# decay included) on the shapes data set, with the FasterNet demo's CPU-sized
# heads and data (one shared conv in each cascade box head, not 4).
# ConvNeXt-T is 28 M parameters: this one checks the pipeline; it is not
# meant for a quick result.
#   python tools/train.py configs/demo/convnext_t_cascade_shapes.py
_base_ = '../det/convnext_t_cascade_maskrcnn_3x.py'

data_root = 'data/mmplug_shapes/'
shapes = dict(splits=dict(train=200, val=50), image_size=(128, 128), max_shapes=4, seed=0)
width = 64
max_epochs = 12

model = dict(
    backbone=dict(drop_path_rate=0.1, init_cfg=None),
    neck=dict(out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width, roi_layer=dict(sampling_ratio=1)),
        bbox_head=[
            dict(type='ConvFCBBoxHead', num_shared_convs=1, num_shared_fcs=1,
                 in_channels=width, conv_out_channels=width, fc_out_channels=256,
                 roi_feat_size=7, num_classes=3, reg_class_agnostic=False,
                 reg_decoded_bbox=True, norm_cfg=dict(type='BN', requires_grad=True),
                 bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                 target_stds=stds),
                 loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
            for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                         [0.033, 0.033, 0.067, 0.067])],
        mask_roi_extractor=dict(out_channels=width, roi_layer=dict(sampling_ratio=1)),
        mask_head=dict(in_channels=width, conv_out_channels=width, num_classes=3)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300)),
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
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **shapes_dataset, ann_file='annotations/train.json',
                 data_prefix=dict(img='train/'), filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **shapes_dataset, ann_file='annotations/val.json',
                 data_prefix=dict(img='val/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric',
                     ann_file=data_root + 'annotations/val.json', metric=['bbox', 'segm'])
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[9]),
]
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=2)
