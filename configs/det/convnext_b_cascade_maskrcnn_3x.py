# Cascade Mask R-CNN 3x on COCO with ConvNeXt-B: ConvNeXt paper, Table 3:
# 146 M parameters, 964 G FLOPs, box AP 52.7. The official recipe for B: drop
# path 0.7, layer-wise lr decay 0.8 over 12 layers; the rest is the recipe of
# convnext_t_cascade_maskrcnn_3x.py.
_base_ = './convnext_t_cascade_maskrcnn_3x.py'
pretrained = 'https://dl.fbaipublicfiles.com/convnext/convnext_base_1k_224.pth'

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.7,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))

optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8, num_layers=12))
