# DeepLabv3 on ADE20K 512x512, 80k iterations, with EMO-1M: EMO paper, Table 6:
# 5.6 M parameters, 2.4 G FLOPs, mIoU 33.5 (single scale, as the logs test). The
# official recipe (down-stream-tasks/mmsegmentation and the paper's training
# log, resources/DeepLabv3_EMO_1M/*.log): the head on stage 4 (256 channels),
# the auxiliary head on stage 3, AdamW lr 1.2e-4, weight decay 0.01 (none on
# parameters named 'norm': the backbone's norms; the heads' BNs decay), poly
# decay (power 0.9) to 0 with no warm-up, 4 images x 8 GPUs (batch 32), SyncBN
# in the backbone and heads; window 7. See docs/recipes.md.
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-80k_ade20k-512x512.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_1M/net.pth'

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='EMO',
        arch='1m',
        out_indices=(1, 2, 3, 4),
        frozen_stages=-1,
        norm_eval=False,
        drop_path_rate=0.04036,
        window_size=7,
        # the official backbone converts every BN to SyncBN (sync_bn=True)
        norm_cfgs=(dict(type='SyncBN', eps=1e-6), ) * 2 + (dict(type='LN2d', eps=1e-6), ) * 2,
        conv_norm_cfg=dict(type='SyncBN', eps=1e-6),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=168, channels=256),
    auxiliary_head=dict(in_channels=80))

train_dataloader = dict(batch_size=4)
auto_scale_lr = dict(enable=False, base_batch_size=32)  # lr 1.2e-4 is for 8 GPUs x 4 images
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1.2e-4, betas=(0.9, 0.999),
                   weight_decay=0.01),
    # The official custom key 'norm' matches the official backbone's norms
    # except its stem BN (named stage0.0.convs.0.1), and no BN of the heads
    # (mmcv names those 'bn'); 'stem.0.norm' keeps that stem BN decaying here
    # too.
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.0),
                                    'stem.0.norm': dict(decay_mult=1.0)}))
# official: lr_config poly, power 0.9, min_lr 0 (mmseg's base has eta_min 1e-4)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=80000)]
