# UPerNet on ADE20K 512x512, 160k iterations, with ConvNeXt-B: ConvNeXt paper,
# Table 4: 122 M parameters, 1170 G FLOPs, mIoU 49.1 (single scale).
# Recipe of mmseg's ConvNeXt config (the official one): AdamW lr 1e-4, weight
# decay 0.05, stage-wise lr decay 0.9 (num_layers 12), drop path 0.4, batch 16. mmseg trains it
# with AMP; on a GPU add --amp.
_base_ = 'mmseg::convnext/convnext-base_upernet_8xb2-amp-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)
pretrained = 'https://dl.fbaipublicfiles.com/convnext/convnext_base_1k_224.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmplug.ConvNeXt',
        arch='base',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='LayerDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', num_layers=12))
