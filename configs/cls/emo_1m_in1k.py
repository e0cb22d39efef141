# EMO-1M on ImageNet-1k: the EMO-5M recipe with drop path 0.04036.
# 1.3 M parameters, top-1 71.5 (paper).
_base_ = './emo_5m_in1k.py'

model = dict(
    backbone=dict(arch='1m', drop_path_rate=0.04036),
    head=dict(in_channels=168))
