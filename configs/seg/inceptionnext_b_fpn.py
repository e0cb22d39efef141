# Semantic FPN on ADE20K 512x512 with InceptionNeXt-B: InceptionNeXt paper,
# Table 7: 85 M parameters, 100 G FLOPs, mIoU 46.4 (single scale assumed). The
# recipe of inceptionnext_t_fpn.py with drop path 0.2 (the paper's Table 10).
_base_ = './inceptionnext_t_fpn.py'
pretrained = 'https://github.com/sail-sg/inceptionnext/releases/download/model/inceptionnext_base.pth'

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.2,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
