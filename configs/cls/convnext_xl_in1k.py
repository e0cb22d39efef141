# ConvNeXt-Xlarge on ImageNet-1k with the official head (LayerNorm of the
# pooled feature, then a linear layer) and mmpretrain's copy of the official
# recipe (AdamW lr 4e-3 for a total batch of 4096, weight decay 0.05, 300
# epochs, EMA, Mixup/CutMix, drop path 0.5). 350.197 M parameters; the paper
# reports XLarge only with ImageNet-22k pre-training (top-1 87.0).
# `mmplug.ConvNeXt` because `ConvNeXt` in mmpretrain's scope is mmpretrain's.
_base_ = 'mmpretrain::convnext/convnext-xlarge_64xb64_in1k.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True, type='mmplug.ConvNeXt', arch='xlarge', out_indices=(3, ),
        out_norm_cfg=None, drop_path_rate=0.5),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='NormLinearClsHead', in_channels=2048))
