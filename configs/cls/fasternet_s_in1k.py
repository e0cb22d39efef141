# FasterNet-S on ImageNet-1k with the official head and recipe (official
# cfg/fasternet_s.yaml): 300 epochs, AdamW lr 4e-3 for a total batch of 4096
# (scale with --auto-scale-lr), weight decay 0.03 on every parameter, 20
# warm-up epochs from 1e-6, cosine to 1e-5, label smoothing 0.1, RandAugment
# m7, Mixup 0.3 / CutMix 1.0, drop path 0.1, test crop ratio 0.9.
# Not reproduced: the official runs train at 192 px until epoch 280, then 224.
# 31.181 M parameters, top-1 81.3 (paper).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='FasterNet', arch='s', out_indices=(3, ), out_norm_cfg=None, drop_path_rate=0.1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='FasterNetClsHead',
        num_classes=1000,
        in_channels=1024,
        feature_dim=1280,
        act_cfg=dict(type='ReLU', inplace=True),
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        cal_acc=False),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.3), dict(type='CutMix', alpha=1.0)]))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=7, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=248, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(lr=4e-3, weight_decay=0.03),
    paramwise_cfg=dict(_delete_=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 4e-3, by_epoch=True, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=20),
]
auto_scale_lr = dict(base_batch_size=4096)
