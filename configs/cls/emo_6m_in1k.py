# EMO-6M on ImageNet-1k: the EMO-5M recipe with drop path 0.05.
# 6.1 M parameters, top-1 79.0 (paper).
_base_ = './emo_5m_in1k.py'

model = dict(
    backbone=dict(arch='6m', drop_path_rate=0.05),
    head=dict(in_channels=320))
