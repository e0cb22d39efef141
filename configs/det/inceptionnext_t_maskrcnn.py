# Mask R-CNN 3x on COCO with InceptionNeXt-T. NOT a paper model: the
# InceptionNeXt paper has no detection results. This swaps the backbone of
# convnext_t_maskrcnn_3x.py (same recipe, layer-wise lr decay included) for
# InceptionNeXt-T, to compare the two backbones under one recipe. Assumed, as
# in configs/seg/inceptionnext_t_upernet.py (the paper gives no such detail):
# SyncBN in the blocks and one extra SyncBN on each output; drop path 0.2 (the
# paper's UPerNet value for T, its Table 10).
_base_ = './convnext_t_maskrcnn_3x.py'
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
