# PSPNet on ADE20K 512x512 with EMO-2M: EMO paper, Table 6: 5.5 M parameters,
# 3.1 G FLOPs, mIoU 34.5 (single scale, as the logs test). The recipe of
# emo_1m_pspnet.py (official log: resources/PSPNet_EMO_2M/*.log): drop path
# 0.05, window 7.
_base_ = './emo_1m_pspnet.py'
pretrained = 'https://github.com/zhangzjn/EMO/raw/main/resources/EMO_2M/net.pth'

model = dict(
    backbone=dict(arch='2m', drop_path_rate=0.05, window_size=7,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=200),
    auxiliary_head=dict(in_channels=120))
