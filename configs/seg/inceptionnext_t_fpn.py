# Semantic FPN on ADE20K 512x512 with InceptionNeXt-T: InceptionNeXt paper,
# Table 7: 28 M parameters, 44 G FLOPs, mIoU 43.1 (single scale assumed, as
# this config tests: PoolFormer's Semantic FPN results, whose recipe this takes,
# are single scale). The paper gives drop path 0.1 (its Table 10) and publishes no
# downstream config; assumed (docs/recipes.md): the recipe of PoolFormer's
# Semantic FPN (sail-sg/poolformer, segmentation/configs/sem_fpn/PoolFormer):
# 4 images x 8 GPUs (batch 32), 40k iterations, AdamW lr 2e-4, weight decay
# 1e-4, poly decay (power 0.9) to 0 with no warm-up, test images resized to a
# multiple of 32; and SyncBN for the backbone's BNs with an extra SyncBN on
# each output, as inceptionnext_t_upernet.py.
_base_ = 'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://github.com/sail-sg/inceptionnext/releases/download/model/inceptionnext_tiny.pth'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='InceptionNeXt',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        norm_cfg=norm_cfg,
        out_norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))

train_dataloader = dict(batch_size=4)
auto_scale_lr = dict(enable=False, base_batch_size=32)  # lr 2e-4 is for 8 GPUs x 4 images
# PoolFormer tests with AlignResize (the (2048, 512) resize, then each side to
# a multiple of 32); mmseg's PoolFormer configs write it as ResizeToMultiple.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0,
                        end=40000)]
train_cfg = dict(max_iters=40000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
