# Mask R-CNN 1x on COCO with FasterNet-S: the FasterNet paper's recipe
# (Table 4: 49.0 M params, box AP 39.9, mask AP 36.9), as the official
# detection/configs/fasternet/mask_rcnn_fasternet_s_fpn_1x_coco.py: AdamW
# lr 2e-4, wd 1e-4, 12 epochs with steps at 8 and 11 after 500 warm-up
# iterations, drop path 0.15, 2 images x 8 GPUs.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)

# ImageNet-1k weights; the official, timm and mmplug layouts all load.
pretrained = ('https://github.com/JierunChen/FasterNet/releases/download/v1.0/'
              'fasternet_s-epoch.299-val_acc1.81.2840.pth')

model = dict(
    backbone=dict(
        _delete_=True,
        type='FasterNet',
        arch='s',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.15,
        # The official backbone neither freezes nor fixes its BatchNorms.
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))

optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=2e-4, weight_decay=1e-4))
