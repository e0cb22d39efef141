# FasterNet-T0 on ImageNet-1k with the official head and recipe (official
# cfg/fasternet_t0.yaml): the S recipe with weight decay 0.005, GELU, no
# drop path, Mixup 0.05 and no RandAugment. 3.905 M parameters, top-1 71.9.
_base_ = './fasternet_s_in1k.py'

model = dict(
    backbone=dict(arch='t0', drop_path_rate=0.0),
    head=dict(in_channels=320, act_cfg=dict(_delete_=True, type='GELU')),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.05), dict(type='CutMix', alpha=1.0)]))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]))
optim_wrapper = dict(optimizer=dict(weight_decay=0.005))
