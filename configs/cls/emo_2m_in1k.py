# EMO-2M on ImageNet-1k: the EMO-5M recipe with drop path 0.05.
# 2.3 M parameters, top-1 75.1 (paper).
_base_ = './emo_5m_in1k.py'

model = dict(
    backbone=dict(arch='2m', drop_path_rate=0.05),
    head=dict(in_channels=200))
