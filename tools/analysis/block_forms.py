"""Time the two equivalent ConvNeXt block forms on this CPU: permute +
LayerNorm + Linear MLP (the official form) against channels-first LayerNorm +
1x1-conv MLP on NCHW (mmplug's MetaNeXtBlock). Prints milliseconds per call,
median of repeats, alternating, at two stage shapes of ConvNeXt-T. Then times
the channels-first LayerNorm with and without its affine part in inference,
which decides whether deploy mode folds that part into the next conv (it
does not: without it the norm is slower on this CPU).

    python tools/analysis/block_forms.py
"""
import statistics
import time

import torch
from torch import nn

from mmplug.models.layers import LayerNorm2d


class LinearForm(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, 1, 3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.fc1, self.act, self.fc2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.ones(c))

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class ConvForm(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, 1, 3, groups=c)
        self.norm = LayerNorm2d(c, eps=1e-6)
        self.fc1, self.act, self.fc2 = nn.Conv2d(c, 4 * c, 1), nn.GELU(), nn.Conv2d(4 * c, c, 1)
        self.gamma = nn.Parameter(torch.ones(c))

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(self.norm(self.dw(x))))) * self.gamma.view(
            1, -1, 1, 1)


def timed(model, x, train):
    start = time.perf_counter()
    if train:
        model(x).sum().backward()
    else:
        with torch.no_grad():
            model(x)
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(2)
    for c, hw in ((96, 56), (384, 14)):
        for channels_last in (False, True):
            for train in (False, True):
                x = torch.randn(8, c, hw, hw, requires_grad=train)
                forms = {'linear': LinearForm(c), 'conv': ConvForm(c)}
                if channels_last:
                    x = x.detach().contiguous(memory_format=torch.channels_last)
                    x.requires_grad_(train)
                    forms = {k: m.to(memory_format=torch.channels_last)
                             for k, m in forms.items()}
                times = {k: [] for k in forms}
                for i in range(8):
                    for k, m in forms.items():
                        t = timed(m, x, train)
                        if i >= 2:
                            times[k].append(t)
                lin, conv = (statistics.median(times[k]) * 1e3 for k in ('linear', 'conv'))
                print(f'C={c} {hw}x{hw} channels_last={channels_last} train={train}: '
                      f'linear {lin:.1f} ms, conv {conv:.1f} ms, conv/linear {conv / lin:.2f}')

    for c, hw in ((96, 56), (384, 14)):
        x = torch.randn(8, c, hw, hw)
        norms = {'affine': LayerNorm2d(c), 'no affine': LayerNorm2d(c, elementwise_affine=False)}
        times = {k: [] for k in norms}
        for i in range(30):
            for k, m in norms.items():
                if i >= 5:
                    times[k].append(timed(m, x, False))
        with_, without = (statistics.median(times[k]) * 1e3 for k in norms)
        print(f'LayerNorm2d C={c} {hw}x{hw} inference: with affine {with_:.2f} ms, '
              f'without {without:.2f} ms')


if __name__ == '__main__':
    main()
