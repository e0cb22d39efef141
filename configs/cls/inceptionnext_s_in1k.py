# InceptionNeXt-Small on ImageNet-1k: the tiny recipe with drop path 0.3.
# 49.374 M parameters, top-1 83.5 (paper).
_base_ = './inceptionnext_t_in1k.py'

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.3),
    head=dict(in_channels=768))
