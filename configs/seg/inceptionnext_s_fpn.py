# Semantic FPN on ADE20K 512x512 with InceptionNeXt-S: InceptionNeXt paper,
# Table 7: 50 M parameters, 65 G FLOPs, mIoU 45.6 (single scale assumed). The
# recipe of inceptionnext_t_fpn.py with drop path 0.2 (the paper's Table 10).
_base_ = './inceptionnext_t_fpn.py'
pretrained = 'https://github.com/sail-sg/inceptionnext/releases/download/model/inceptionnext_small.pth'

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.2,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
