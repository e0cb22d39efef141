# FasterNet-L on ImageNet-1k with the official head and recipe (official
# cfg/fasternet_l.yaml): the S recipe with weight decay 0.05, drop path 0.3,
# Mixup 0.7, gradient clipping at 0.01, and lr 2e-3 for a total batch of 2048.
# 93.465 M parameters, top-1 83.5.
_base_ = './fasternet_s_in1k.py'

model = dict(
    backbone=dict(arch='l', drop_path_rate=0.3),
    head=dict(in_channels=1536),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.7), dict(type='CutMix', alpha=1.0)]))
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=0.05), clip_grad=dict(max_norm=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 2e-3, by_epoch=True, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=20),
]
auto_scale_lr = dict(base_batch_size=2048)
