# RetinaNet 1x on COCO with EMO-1M: EMO paper, Table 5: 10.4 M parameters,
# 163 G FLOPs, AP 34.4. The official recipe (down-stream-tasks/mmdetection and
# the paper's training log, resources/RetinaNet_EMO_1M/*.log): AdamW lr 2e-4,
# weight decay 0.05 (none on parameters named 'norm': the backbone's norms),
# cosine to 0 by epoch over 12 epochs after 500 linear warm-up iterations,
# 4 images x 8 GPUs (batch 32); stem and stage 1 frozen, BN in eval mode;
# window 7. See docs/recipes.md.
# Kept: plain BN where the official backbone converts to SyncBN (sync_bn=True);
# with norm_eval=True every BN normalizes with its running statistics, so the
# two train the same, and BN also runs on one device or the CPU.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_1M/net.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='EMO',
        arch='1m',
        out_indices=(1, 2, 3, 4),
        frozen_stages=1,
        norm_eval=True,
        drop_path_rate=0.04036,
        window_size=7,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[32, 48, 80, 168], start_level=1, add_extra_convs='on_input'))

train_dataloader = dict(batch_size=4)
auto_scale_lr = dict(base_batch_size=32)  # lr 2e-4 is for 8 GPUs x 4 images
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    # The official custom key 'norm' matches the official backbone's norms
    # except its stem BN (named stage0.0.convs.0.1), and no norm of the neck
    # or the heads (mmcv names those 'bn'); 'stem.0.norm' keeps that stem BN
    # decaying here too.
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.0),
                                    'stem.0.norm': dict(decay_mult=1.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, T_max=12, end=12),
]
