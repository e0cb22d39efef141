# SSDLite 320x320 on COCO with EMO-2M: EMO paper, Table 5: 3.3 M parameters,
# 0.9 G FLOPs, AP 25.2. mmdet's SSDLite (depthwise SSD neck and head, 120
# epochs over the set repeated 5 times, batch 192) on the last two EMO
# stages, with the official optimizer: AdamW lr 1.2e-3, weight decay 0.05
# (none on norms), cosine with 500 warm-up iterations; window 7.
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_2M/net.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='EMO',
        arch='2m',
        out_indices=(3, 4),
        norm_eval=True,
        drop_path_rate=0.05,
        window_size=7,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=(120, 200), out_channels=(120, 200, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(120, 200, 512, 256, 256, 128)))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1.2e-3, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, T_max=120, end=120),
]
