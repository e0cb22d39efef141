"""Time the forms of a block that mmplug chose between, on this CPU, with the
real modules:

1. ConvNeXt's block: mmplug's :class:`MetaNeXtBlock` (channels-first
   LayerNorm and a 1x1-conv MLP on NCHW) against timm's ``ConvNeXtBlock`` in
   the official form (permute, LayerNorm and Linear MLP), both from ConvNeXt-T
   at two stage shapes, in training and inference, NCHW and channels_last;
2. the channels-first LayerNorm with and without its affine part, which
   decides whether deploy mode folds that part into the next conv (it does
   not: without it the norm is slower on this CPU).

Milliseconds per call, median of rounds that alternate the forms
(tools/analysis/timing.py).

    python tools/analysis/block_forms.py
"""
import copy
import sys
from pathlib import Path
from typing import Callable

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools.analysis
from mmplug import ConvNeXt  # noqa: E402
from mmplug.models.layers import LayerNorm2d  # noqa: E402
from tools.analysis.timing import time_interleaved  # noqa: E402


def timm_block(channels: int) -> nn.Module:
    """timm's ConvNeXt block in the official (Linear MLP) form."""
    from timm.models.convnext import ConvNeXtBlock  # a benchmark dependency
    return ConvNeXtBlock(channels, conv_mlp=False, ls_init_value=1e-6)


def median_ms(fns, repeats: int = 5):
    """Median milliseconds per call of each function, in interleaved rounds."""
    timing = time_interleaved(fns, repeats, min_seconds=0.2, threads=2)
    return {k: timing.median(k) * 1e3 for k in fns}


def step(model: nn.Module, x: torch.Tensor, train: bool) -> Callable[[], object]:
    def run():
        if train:
            model(x).sum().backward()
        else:
            with torch.no_grad():
                model(x)
    return run


def main() -> None:
    torch.set_num_threads(2)
    backbone = ConvNeXt('tiny', init_cfg=None)
    for stage, hw in ((0, 56), (2, 14)):
        ours = backbone.stages[stage].blocks[0]
        c = ours.mlp.fc2.out_channels
        for channels_last in (False, True):
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            for train in (False, True):
                forms = {'timm (Linear)': timm_block(c), 'mmplug (1x1 conv)': copy.deepcopy(ours)}
                forms = {k: m.train(train).to(memory_format=fmt) for k, m in forms.items()}
                x = torch.randn(8, c, hw, hw).contiguous(memory_format=fmt).requires_grad_(train)
                ms = median_ms({k: step(m, x, train) for k, m in forms.items()})
                ratio = ms['mmplug (1x1 conv)'] / ms['timm (Linear)']
                print(f'ConvNeXt-T block C={c} {hw}x{hw} channels_last={channels_last} '
                      f'train={train}: ' + ', '.join(f'{k} {v:.1f} ms' for k, v in ms.items())
                      + f', mmplug/timm {ratio:.2f}')

    for c, hw in ((96, 56), (384, 14)):
        x = torch.randn(8, c, hw, hw)
        norms = {'with affine': LayerNorm2d(c),
                 'without': LayerNorm2d(c, elementwise_affine=False)}
        ms = median_ms({k: step(m, x, False) for k, m in norms.items()})
        print(f'LayerNorm2d C={c} {hw}x{hw} inference: '
              + ', '.join(f'{k} {v:.2f} ms' for k, v in ms.items()))


if __name__ == '__main__':
    main()
