# InceptionNeXt-Base on ImageNet-1k: the tiny recipe with drop path 0.4.
# 86.672 M parameters, top-1 84.0 (paper).
_base_ = './inceptionnext_t_in1k.py'

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4),
    head=dict(in_channels=1024))
