# PSPNet on ADE20K 512x512, 80k iterations, with EMO-5M: EMO paper,
# Table 6: 8.5 M parameters, 5.3 G FLOPs, mIoU 38.2. The official recipe
# (down-stream-tasks/mmsegmentation): the head on stage 4 (256 channels),
# the auxiliary head on stage 3, AdamW lr 1.2e-4, weight decay 0.01 (none on
# norms), poly decay, batch 16; window 16.
_base_ = 'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_5M/net.pth'

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='EMO',
        arch='5m',
        out_indices=(1, 2, 3, 4),
        drop_path_rate=0.05,
        window_size=16,
        conv_norm_cfg=dict(type='SyncBN', eps=1e-6),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=288, channels=256),
    auxiliary_head=dict(in_channels=160))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1.2e-4, betas=(0.9, 0.999),
                   weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0))
