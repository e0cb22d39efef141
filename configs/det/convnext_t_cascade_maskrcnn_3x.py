# Cascade Mask R-CNN 3x on COCO with ConvNeXt-T (4conv1fc box heads, GIoU):
# ConvNeXt paper, Table 3: 86 M parameters, 741 G FLOPs, box AP 50.4.
# The official recipe (facebookresearch/ConvNeXt, object_detection/configs),
# through mmdet's port of it, which this inherits: AdamW lr 2e-4, weight decay
# 0.05 (none on 1-D parameters and biases), layer-wise lr decay 0.7 over 6
# layers, drop path 0.4, 2 images x 8 GPUs (batch 16), 36 epochs with steps at
# 27 and 33 after 500 warm-up iterations. See docs/recipes.md.
# Kept: OptimWrapper where the official and mmdet configs train with mixed
# precision, so that the config runs on the CPU; on a GPU add --amp.
_base_ = 'mmdet::convnext/cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco.py'  # noqa: E501
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://dl.fbaipublicfiles.com/convnext/convnext_tiny_1k_224.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmplug.ConvNeXt',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))

optim_wrapper = dict(
    type='OptimWrapper',
    constructor='mmplug.LayerDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.7, decay_type='layer_wise', num_layers=6))

# The official schedule (ConvNeXt's configs on Swin's _base_/schedules/
# schedule_1x.py): 500 linear warm-up iterations (mmdet's port: 1000), steps at
# epochs 27 and 33 of 36.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
