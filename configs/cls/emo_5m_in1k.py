# EMO-5M on ImageNet-1k with the official head (a channels-first LayerNorm on
# the last stage, average pooling, a linear layer) and the official recipe
# (configs/mobile/cls_emo.py): AdamW lr 1.5e-3 for a total batch of 2048,
# weight decay 0.05, 300 epochs with 20 warm-up epochs, cosine to 2.5e-7,
# label smoothing 0.1, RandAugment m9, EMA 0.9998, no Mixup/CutMix.
# 5.1 M parameters, top-1 78.4 (paper).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmplug.EMO', arch='5m', out_indices=(4, ),
        out_norm_cfg=dict(type='LN2d', eps=1e-6), drop_path_rate=0.05),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=288,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.0)))

train_dataloader = dict(batch_size=128)
optim_wrapper = dict(optimizer=dict(lr=1.5e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=20, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=2.5e-7, by_epoch=True, begin=20),
]
custom_hooks = [dict(type='EMAHook', momentum=2e-4, priority='ABOVE_NORMAL')]
auto_scale_lr = dict(base_batch_size=2048)
