# InceptionNeXt-Atto on ImageNet-1k: the tiny recipe with drop path 0.0.
# 4.157 M parameters, top-1 75.3 (paper).
_base_ = './inceptionnext_t_in1k.py'

model = dict(
    backbone=dict(arch='atto', drop_path_rate=0.0),
    head=dict(in_channels=320))
