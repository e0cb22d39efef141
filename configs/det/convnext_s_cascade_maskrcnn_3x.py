# Cascade Mask R-CNN 3x on COCO with ConvNeXt-S: ConvNeXt paper, Table 3:
# 108 M parameters, 827 G FLOPs, box AP 51.9. The official recipe for S: drop
# path 0.6, layer-wise lr decay 0.7 over 12 layers; the rest is the recipe of
# convnext_t_cascade_maskrcnn_3x.py.
_base_ = './convnext_t_cascade_maskrcnn_3x.py'
pretrained = 'https://dl.fbaipublicfiles.com/convnext/convnext_small_1k_224.pth'

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.6,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))

optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.7, num_layers=12))
