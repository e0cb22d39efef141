# PSPNet on ADE20K 512x512 with EMO-5M: EMO paper, Table 6: 8.5 M parameters,
# 5.3 G FLOPs, mIoU 38.2 (single scale, as the logs test). The recipe of
# emo_1m_pspnet.py (official log: resources/PSPNet_EMO_5M/*.log): drop path
# 0.05, window 16.
_base_ = './emo_1m_pspnet.py'
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_5M/net.pth'

model = dict(
    backbone=dict(arch='5m', drop_path_rate=0.05, window_size=16,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=288),
    auxiliary_head=dict(in_channels=160))
