# UPerNet on ADE20K 512x512, 160k iterations, with InceptionNeXt-B:
# InceptionNeXt paper, Table 6: 115 M parameters, 1159 G FLOPs, mIoU 50.6
# (multi-scale). From the paper: drop path 0.4, SyncBN, one extra norm per
# output. The paper publishes no downstream config; assumed (docs/recipes.md):
# the rest is the ConvNeXt UPerNet recipe of convnext_b_upernet.py (AdamW lr
# 1e-4, weight decay 0.05, stage-wise lr decay 0.9 over 12 layers, 2 images x 8
# GPUs, 1500 warm-up iterations, linear decay to 0, sliding-window test).
_base_ = './convnext_b_upernet.py'
pretrained = 'https://github.com/sail-sg/inceptionnext/releases/download/model/inceptionnext_base.pth'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='InceptionNeXt',
        arch='base',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.4,
        norm_cfg=norm_cfg,
        out_norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
