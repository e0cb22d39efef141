# DeepLabv3 on ADE20K 512x512 with EMO-5M: EMO paper, Table 6: 10.3 M
# parameters, 5.8 G FLOPs, mIoU 37.8 (single scale, as the logs test). The
# recipe of emo_1m_deeplabv3.py (official log:
# resources/DeepLabv3_EMO_5M/*.log): drop path 0.05, window 16.
_base_ = './emo_1m_deeplabv3.py'
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_5M/net.pth'

model = dict(
    backbone=dict(arch='5m', drop_path_rate=0.05, window_size=16,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=288),
    auxiliary_head=dict(in_channels=160))
