# FasterNet-T1 on ImageNet-1k with the official head and recipe (official
# cfg/fasternet_t1.yaml): the S recipe with weight decay 0.01, GELU, drop path 0.02,
# Mixup 0.1 and RandAugment m3. 7.595 M parameters, top-1 76.2.
_base_ = './fasternet_s_in1k.py'

model = dict(
    backbone=dict(arch='t1', drop_path_rate=0.02),
    head=dict(in_channels=512, act_cfg=dict(_delete_=True, type='GELU')),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.1), dict(type='CutMix', alpha=1.0)]))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=3, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='PackInputs'),
]))
optim_wrapper = dict(optimizer=dict(weight_decay=0.01))
