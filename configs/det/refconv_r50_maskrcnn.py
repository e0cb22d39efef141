# Mask R-CNN 1x on COCO with mmdet's ResNet-50, refocused: every spatial conv
# of the backbone (the 7x7 stem and the 3x3 convs) becomes a RefConv whose
# frozen base is the ImageNet weight and whose map starts at zero, so
# training starts from exactly the pretrained ResNet-50.
# NOT a paper model: the RefConv paper reports no Mask R-CNN figure; the
# baseline is mmdet's mask-rcnn_r50_fpn_1x_coco.
# After training, tools/reparameterize.py folds it into a plain ResNet-50.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmplug'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmplug.Refocus',
        map_kernel_size=3,
        map_init='zero',
        # mmdet's ResNet-50 of the base config, as it is
        module=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=1,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=True,
            style='pytorch',
            init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'))))
