# Mask R-CNN 3x on COCO with InceptionNeXt-T. NOT a paper model: the
# InceptionNeXt paper has no detection results. This swaps the backbone of
# convnext_t_maskrcnn_3x.py (same recipe, layer-wise lr decay included) for
# InceptionNeXt-T with a BN on each output, to compare the two backbones
# under one recipe.
_base_ = './convnext_t_maskrcnn_3x.py'
pretrained = 'https://github.com/sail-sg/inceptionnext/releases/download/model/inceptionnext_tiny.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='InceptionNeXt',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2,
        out_norm_cfg=dict(type='SyncBN'),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
