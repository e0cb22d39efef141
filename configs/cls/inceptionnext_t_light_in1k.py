# A lighter InceptionNeXt-Tiny. NOT a paper model: InceptionNeXt-T (Yu et
# al., CVPR 2024; official code sail-sg/inceptionnext) with three of its
# settings changed: band kernel 7 instead of 11, branch ratio 1/16 instead of
# 1/8, and MLP ratio 2 in every stage instead of 4, 4, 4, 3; the token mixer
# and every other setting are the official ones. docs/backbones.md ("A lighter
# InceptionNeXt-T") holds its measured parameters, FLOPs and speed against
# InceptionNeXt-T (tools/analysis/benchmark.py); its accuracy is unknown.
_base_ = './inceptionnext_t_in1k.py'

model = dict(
    backbone=dict(band_kernel_size=7, branch_ratio=1 / 16, mlp_ratio=2))
