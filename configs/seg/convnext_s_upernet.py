# UPerNet on ADE20K 512x512, 160k iterations, with ConvNeXt-S: 82 M parameters, 1027 G FLOPs,
# mIoU 48.7 single scale and 49.6 multi-scale + flip (`tools/test.py CONFIG CKPT --tta`):
# the ConvNeXt README (semantic_segmentation/README.md); the paper's Table 4
# gives the multi-scale + flip figure. The recipe of convnext_t_upernet.py with
# drop path 0.3 and the stage-wise lr decay over 12 layers, as the official
# ConvNeXt-S config (and mmseg's port of it).
_base_ = './convnext_t_upernet.py'
pretrained = 'https://dl.fbaipublicfiles.com/convnext/convnext_small_1k_224.pth'

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.3,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)))

optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
