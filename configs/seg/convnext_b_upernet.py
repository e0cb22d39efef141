# UPerNet on ADE20K 512x512, 160k iterations, with ConvNeXt-B: 122 M parameters, 1170 G FLOPs,
# mIoU 49.1 single scale and 49.9 multi-scale + flip (`tools/test.py CONFIG CKPT --tta`):
# the ConvNeXt README (semantic_segmentation/README.md); the paper's Table 4
# gives the multi-scale + flip figure. The recipe of convnext_t_upernet.py with
# drop path 0.4 and the stage-wise lr decay over 12 layers, as the official
# ConvNeXt-B config (and mmseg's port of it).
_base_ = './convnext_t_upernet.py'
pretrained = 'https://dl.fbaipublicfiles.com/convnext/convnext_base_1k_224.pth'

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))

optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
