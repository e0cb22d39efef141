# A lighter InceptionNeXt-Tiny, proposed in a blog post (seeds/000): band
# kernel 7 instead of 11, branch ratio 1/16 instead of 1/8 and MLP ratio 2 in
# every stage instead of 4,4,4,3. NOT a paper model: docs/backbones.md ("A
# lighter InceptionNeXt-T") holds its measured parameters, FLOPs and speed
# against InceptionNeXt-T (tools/analysis/benchmark.py). The post also shares one 7x7 kernel between
# its two band branches; that changes the mixer, not just its knobs, and is
# not reproduced.
_base_ = './inceptionnext_t_in1k.py'

model = dict(
    backbone=dict(band_kernel_size=7, branch_ratio=1 / 16, mlp_ratios=[2, 2, 2, 2]))
