# SSDLite 320x320 on COCO with EMO-5M: EMO paper, Table 5: 6.0 M parameters,
# 1.8 G FLOPs, AP 27.9. The recipe of emo_1m_ssdlite.py (official log:
# resources/SSDLite_EMO_5M/*.log): drop path 0.05, window 10.
_base_ = './emo_1m_ssdlite.py'
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_5M/net.pth'

model = dict(
    backbone=dict(arch='5m', drop_path_rate=0.05, window_size=10,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=(160, 288), out_channels=(160, 288, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(160, 288, 512, 256, 256, 128)))
