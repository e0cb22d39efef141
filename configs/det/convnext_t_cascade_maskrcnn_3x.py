# Cascade Mask R-CNN 3x on COCO with ConvNeXt-T (4conv1fc box heads, GIoU):
# ConvNeXt paper, Table 3: 86 M parameters, 741 G FLOPs, box AP 50.4.
# Recipe of mmdet's ConvNeXt config (the official one): AdamW lr 2e-4, weight
# decay 0.05, layer-wise lr decay 0.7 over 6 layers, drop path 0.4. mmdet
# trains it with AMP; on a GPU add --amp.
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
    constructor='LayerDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.7, decay_type='layer_wise', num_layers=6))
