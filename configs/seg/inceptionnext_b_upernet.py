# UPerNet on ADE20K 512x512, 160k iterations, with InceptionNeXt-B:
# InceptionNeXt paper, Table 6: 115 M parameters, 1159 G FLOPs, mIoU 50.6
# (multi-scale + flip: `tools/test.py CONFIG CKPT --tta`). The recipe of
# inceptionnext_t_upernet.py (Swin's) with drop path 0.4 (the paper's
# Table 10).
_base_ = './inceptionnext_t_upernet.py'
pretrained = 'https://github.com/sail-sg/inceptionnext/releases/download/model/inceptionnext_base.pth'

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
