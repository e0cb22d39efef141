# UPerNet on ADE20K 512x512, 160k iterations, with InceptionNeXt-T:
# InceptionNeXt paper, Table 6: 56 M parameters, 933 G FLOPs, mIoU 47.9
# (multi-scale + flip: `tools/test.py CONFIG CKPT --tta` tests so; the
# validation during training is single scale). The paper trains UperNet
# following Swin (its appendix) and gives drop path 0.2 (its Table 10). So
# this is Swin's official recipe (SwinTransformer/Swin-Transformer-Semantic-
# Segmentation, configs/swin/upernet_swin_tiny_patch4_window7_512x512_160k_
# ade20k.py), through mmseg's port of it, which it inherits: AdamW lr 6e-5,
# weight decay 0.01, none on parameters named 'norm' (here the blocks' and
# the outputs' BNs), no layer-wise lr decay, 2 images x 8 GPUs (batch 16),
# fp32, 1500 linear warm-up iterations from 1e-6 and a linear (poly, power 1)
# decay to 0 over the whole 160k iterations, whole-image test at (2048, 512).
# Assumed, as the paper does not say: SyncBN for the backbone's BNs, and an
# extra SyncBN on each output (see docs/recipes.md).
_base_ = 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
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

auto_scale_lr = dict(enable=False, base_batch_size=16)  # lr 6e-5 is for 8 GPUs x 2 images
# The official poly decay counts from iteration 0, under the warm-up (mmcv's
# warm-up scales the poly rate); mmseg's port starts it at 1500.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=160000),
]
