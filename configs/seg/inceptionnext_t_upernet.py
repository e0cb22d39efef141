# UPerNet on ADE20K 512x512, 160k iterations, with InceptionNeXt-T:
# InceptionNeXt paper, Table 6: 56 M parameters, 933 G FLOPs, mIoU 47.9
# (multi-scale). From the paper: drop path 0.2, SyncBN, one extra norm per
# output. The paper publishes no downstream config; assumed (docs/recipes.md):
# the rest is the ConvNeXt UPerNet recipe of convnext_t_upernet.py (AdamW lr
# 1e-4, weight decay 0.05, stage-wise lr decay 0.9 over 6 layers, 2 images x 8
# GPUs, 1500 warm-up iterations, linear decay to 0, sliding-window test).
_base_ = './convnext_t_upernet.py'
pretrained = 'https://github.com/sail-sg/inceptionnext/releases/download/model/inceptionnext_tiny.pth'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='InceptionNeXt',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2,
        norm_cfg=norm_cfg,
        out_norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
