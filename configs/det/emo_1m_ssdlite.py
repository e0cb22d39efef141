# SSDLite 320x320 on COCO with EMO-1M: EMO paper, Table 5: 2.3 M parameters,
# 0.6 G FLOPs, AP 22.0. mmdet's SSDLite (depthwise SSD neck and head, 120
# epochs over the set repeated 5 times, 24 images x 8 GPUs = batch 192) on
# the last two EMO stages, with the official recipe (down-stream-tasks/
# mmdetection and the paper's training log, resources/SSDLite_EMO_1M/*.log):
# AdamW lr 1.2e-3, weight decay 0.05 (none on parameters named 'norm': the
# backbone's norms; the neck's and head's BNs decay), cosine to 0 by epoch
# after 500 linear warm-up iterations; BN of the backbone in eval mode, no
# stage frozen; window 7. See docs/recipes.md.
# Kept: plain BN where the official backbone converts to SyncBN (sync_bn=True);
# with norm_eval=True the backbone's BNs use their running statistics, so the
# two train the same.
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_1M/net.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='EMO',
        arch='1m',
        out_indices=(3, 4),
        frozen_stages=-1,
        norm_eval=True,
        drop_path_rate=0.04036,
        window_size=7,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=(80, 168), out_channels=(80, 168, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(80, 168, 512, 256, 256, 128)))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1.2e-3, betas=(0.9, 0.999),
                   weight_decay=0.05),
    # The official custom key 'norm' matches the official backbone's norms
    # except its stem BN (named stage0.0.convs.0.1), and no BN of the SSD neck
    # or head (mmcv names those 'bn'); 'stem.0.norm' keeps that stem BN
    # decaying here too.
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.0),
                                    'stem.0.norm': dict(decay_mult=1.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, T_max=120, end=120),
]
