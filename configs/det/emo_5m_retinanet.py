# RetinaNet 1x on COCO with EMO-5M: EMO paper, Table 5: 14.4 M parameters,
# 178 G FLOPs, AP 38.9. The recipe of emo_1m_retinanet.py (official log:
# resources/RetinaNet_EMO_5M/*.log): drop path 0.05, window 10.
_base_ = './emo_1m_retinanet.py'
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_5M/net.pth'

model = dict(
    backbone=dict(arch='5m', drop_path_rate=0.05, window_size=10,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[48, 72, 160, 288]))
