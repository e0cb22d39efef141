# Mask R-CNN 1x on COCO with FasterNet-L (FasterNet paper, Table 4: 110.9 M
# params, box AP 44.0, mask AP 39.9): the S recipe with lr 1e-4, drop path 0.3.
_base_ = './fasternet_s_maskrcnn.py'

pretrained = ('https://github.com/JierunChen/FasterNet/releases/download/v1.0/'
              'fasternet_l-epoch.299-val_acc1.83.5060.pth')

model = dict(
    backbone=dict(arch='l', drop_path_rate=0.3,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[192, 384, 768, 1536]))

optim_wrapper = dict(optimizer=dict(lr=1e-4))
