# Mask R-CNN 1x on COCO with FasterNet-S whose spatial convs (PConv, stem,
# merging layers) are RefConv layers: the ImageNet weights load into their
# frozen bases and the maps start at zero, so training starts from the
# pretrained FasterNet-S. Recipe of configs/det/fasternet_s_maskrcnn.py.
# NOT a paper model: neither paper reports this pairing.
# After training, tools/reparameterize.py folds it into a plain FasterNet-S.
_base_ = './fasternet_s_maskrcnn.py'

model = dict(backbone=dict(conv_cfg=dict(type='RefConv', map_kernel_size=3, map_init='zero')))
