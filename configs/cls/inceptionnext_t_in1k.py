# InceptionNeXt-Tiny on ImageNet-1k with the official head (linear to 3x the
# width, GELU, LayerNorm, linear) and the official recipe, which is ConvNeXt's
# (AdamW lr 4e-3 for a total batch of 4096, weight decay 0.05, 20 warm-up
# epochs, 300 epochs, EMA, Mixup 0.8 / CutMix 1.0, RandAugment, drop path
# 0.1), taken from mmpretrain's ConvNeXt config. 28.056 M parameters, top-1
# 82.3 (paper).
_base_ = 'mmpretrain::convnext/convnext-tiny_32xb128_in1k.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True, type='mmplug.InceptionNeXt', arch='tiny', out_indices=(3, ),
        out_norm_cfg=None, drop_path_rate=0.1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='MlpClsHead', in_channels=768, mlp_ratio=3.0))
