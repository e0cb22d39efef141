# Mask R-CNN 1x on COCO with FasterNet-M (FasterNet paper, Table 4: 71.2 M
# params, box AP 43.0, mask AP 39.1): the S recipe with lr 1e-4, drop path 0.2.
_base_ = './fasternet_s_maskrcnn.py'

pretrained = ('https://github.com/JierunChen/FasterNet/releases/download/v1.0/'
              'fasternet_m-epoch.291-val_acc1.82.9620.pth')

model = dict(
    backbone=dict(arch='m', drop_path_rate=0.2,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[144, 288, 576, 1152]))

optim_wrapper = dict(optimizer=dict(lr=1e-4))
