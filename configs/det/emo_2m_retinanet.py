# RetinaNet 1x on COCO with EMO-2M: EMO paper, Table 5: 11.5 M parameters,
# 167 G FLOPs, AP 36.2. The recipe of emo_1m_retinanet.py (official log:
# resources/RetinaNet_EMO_2M/*.log): drop path 0.05, window 7.
_base_ = './emo_1m_retinanet.py'
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_2M/net.pth'

model = dict(
    backbone=dict(arch='2m', drop_path_rate=0.05, window_size=7,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[32, 48, 120, 200]))
