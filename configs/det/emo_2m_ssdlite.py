# SSDLite 320x320 on COCO with EMO-2M: EMO paper, Table 5: 3.3 M parameters,
# 0.9 G FLOPs, AP 25.2. The recipe of emo_1m_ssdlite.py (official log:
# resources/SSDLite_EMO_2M/*.log): drop path 0.05, window 7.
_base_ = './emo_1m_ssdlite.py'
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_2M/net.pth'

model = dict(
    backbone=dict(arch='2m', drop_path_rate=0.05, window_size=7,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=(120, 200), out_channels=(120, 200, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(120, 200, 512, 256, 256, 128)))
