# RetinaNet 1x on COCO with EMO-2M: EMO paper, Table 5: 11.5 M parameters,
# 167 G FLOPs, AP 36.2. The official recipe (down-stream-tasks/mmdetection):
# AdamW lr 2e-4, weight decay 0.05 (none on norms), cosine with 500 warm-up
# iterations, batch 16; stem and stage 1 frozen, BN in eval mode; window 7.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_2M/net.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='EMO',
        arch='2m',
        out_indices=(1, 2, 3, 4),
        frozen_stages=1,
        norm_eval=True,
        drop_path_rate=0.05,
        window_size=7,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[32, 48, 120, 200], start_level=1, add_extra_convs='on_input'))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, end=12),
]
