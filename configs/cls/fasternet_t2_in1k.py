# FasterNet-T2 on ImageNet-1k with the official head and recipe (official
# cfg/fasternet_t2.yaml): the S recipe with weight decay 0.02, ReLU, drop path 0.05,
# Mixup 0.1 and RandAugment m5. 14.983 M parameters, top-1 78.9.
_base_ = './fasternet_s_in1k.py'

model = dict(
    backbone=dict(arch='t2', drop_path_rate=0.05),
    head=dict(in_channels=768, act_cfg=dict(type='ReLU', inplace=True)),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.1), dict(type='CutMix', alpha=1.0)]))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=5, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='PackInputs'),
]))
optim_wrapper = dict(optimizer=dict(weight_decay=0.02))
