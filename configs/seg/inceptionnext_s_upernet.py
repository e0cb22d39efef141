# UPerNet on ADE20K 512x512, 160k iterations, with InceptionNeXt-S:
# InceptionNeXt paper, Table 6: 78 M parameters, 1020 G FLOPs, mIoU 50.0
# (multi-scale + flip: `tools/test.py CONFIG CKPT --tta`). The recipe of
# inceptionnext_t_upernet.py (Swin's) with drop path 0.3 (the paper's
# Table 10).
_base_ = './inceptionnext_t_upernet.py'
pretrained = 'https://github.com/sail-sg/inceptionnext/releases/download/model/inceptionnext_small.pth'

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.3,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
