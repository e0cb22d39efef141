# UPerNet on ADE20K 512x512, 160k iterations, with ConvNeXt-S: ConvNeXt paper,
# Table 4: 82 M parameters, 1027 G FLOPs, mIoU 48.7 (single scale).
# Recipe of mmseg's ConvNeXt config (the official one): AdamW lr 1e-4, weight
# decay 0.05, stage-wise lr decay 0.9 (num_layers 12), drop path 0.3, batch 16. mmseg trains it
# with AMP; on a GPU add --amp.
_base_ = 'mmseg::convnext/convnext-small_upernet_8xb2-amp-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://dl.fbaipublicfiles.com/convnext/convnext_small_1k_224.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmplug.ConvNeXt',
        arch='small',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='LayerDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', num_layers=12))
