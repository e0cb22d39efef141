"""Re-parameterization: the folds that deploy forms are made of, and conv
surgery.

A fold rewrites a conv's weight and bias so that one layer computes what two
did: a BatchNorm into the conv before it or the 1x1 conv after it, a
per-channel scale (a layer scale) into the conv before it. Every fold is exact
in eval mode (BatchNorm's running statistics). :func:`replace_spatial_convs`
swaps the spatial convs of any model, which :func:`mmplug.refocus` uses.
"""
from typing import Callable, List, Optional, Tuple

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def is_spatial_conv(module: nn.Module) -> bool:
    """Whether ``module`` is a 2-D convolution with a kernel larger than 1x1
    (the convolutions that RefConv and ``conv_cfg`` apply to)."""
    return isinstance(module, nn.Conv2d) and max(module.kernel_size) > 1


def replace_spatial_convs(module: nn.Module, make: Callable[[nn.Conv2d], nn.Module],
                          select: Optional[Callable[[str, nn.Conv2d], bool]] = None
                          ) -> List[str]:
    """Replace each spatial conv of ``module`` (see :func:`is_spatial_conv`)
    that ``select(qualified_name, conv)`` accepts (all when None) by
    ``make(conv)``, in place. The backbones' ``conv_cfg`` and
    :func:`mmplug.refocus` both go through it.

    Returns:
        The qualified names of the replaced convolutions.
    """
    chosen = [(name, m) for name, m in module.named_modules()
              if is_spatial_conv(m) and (select is None or select(name, m))]
    for name, conv in chosen:
        parent_name, _, attr = name.rpartition('.')
        setattr(module.get_submodule(parent_name), attr, make(conv))
    return [name for name, _ in chosen]


# ------------------------------------------------------------------- folds
def as_plain_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """``conv`` with one ``weight`` parameter: a re-parameterized conv
    (RefConv) is switched to its deploy form first."""
    switch = getattr(conv, 'switch_to_deploy', None)
    if switch is not None:
        switch()
    if not isinstance(conv, nn.Conv2d) or not isinstance(conv.weight, nn.Parameter):
        raise TypeError(f'cannot fold into {type(conv).__name__}: not a plain conv')
    return conv


def batch_norm_affine(norm: _BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` with ``norm(x) == x * scale + shift`` per channel, in
    eval mode (running statistics)."""
    if norm.running_var is None:
        raise ValueError(f'{type(norm).__name__} without running statistics cannot be '
                         f'folded (track_running_stats=False)')
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale.detach(), shift.detach()


@torch.no_grad()
def fold_norm_into_prev_conv(conv: nn.Conv2d, norm: nn.Module) -> nn.Module:
    """Fold an eval-mode BatchNorm that follows ``conv`` into its weight and
    bias, in place (``conv`` then has a bias). Exact for any kernel, stride,
    padding and groups.

    Returns:
        What takes the norm's place: ``nn.Identity`` for a BatchNorm,
        ``norm`` unchanged otherwise.
    """
    if not isinstance(norm, _BatchNorm):
        return norm
    conv = as_plain_conv(conv)
    scale, shift = batch_norm_affine(norm)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
    conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1))
    conv.bias = nn.Parameter(bias * scale + shift)
    return nn.Identity()


@torch.no_grad()
def fold_affine_into_next_conv(scale: torch.Tensor, shift: Optional[torch.Tensor],
                               conv: nn.Conv2d) -> nn.Conv2d:
    """Fold ``x * scale + shift`` (per input channel) into the 1x1 conv that
    follows it, in place. Only a 1x1 conv without padding or groups is
    exact: a padded or larger kernel would also see the shift where the
    input is padded.

    Returns:
        ``conv``, which now has a bias when ``shift`` is given.
    """
    conv = as_plain_conv(conv)
    if max(conv.kernel_size) != 1 or max(conv.padding) != 0 or conv.groups != 1:
        raise ValueError(f'only a 1x1 conv without padding or groups can absorb the norm '
                         f'before it, got {conv}')
    weight = conv.weight
    if shift is not None:
        bias = conv.bias if conv.bias is not None else weight.new_zeros(weight.shape[0])
        conv.bias = nn.Parameter(bias + weight.flatten(1) @ shift)
    conv.weight = nn.Parameter(weight * scale.view(1, -1, 1, 1))
    return conv


def fold_norm_into_next_conv(norm: nn.Module, conv: nn.Conv2d) -> nn.Module:
    """Fold an eval-mode BatchNorm into the 1x1 ``conv`` after it, with
    nothing nonlinear between them.

    A LayerNorm is left whole: its affine part could fold too, but PyTorch's
    CPU layer norm measured slower without weight and bias than with them
    (2.77 vs 1.96 ms on an 8x96x56x56 map, 2 threads;
    ``tools/analysis/block_forms.py``), so that fold would slow
    the model down.

    Returns:
        What takes the norm's place: ``nn.Identity`` for a BatchNorm,
        ``norm`` unchanged otherwise.
    """
    if isinstance(norm, _BatchNorm):
        fold_affine_into_next_conv(*batch_norm_affine(norm), conv)
        return nn.Identity()
    return norm


@torch.no_grad()
def scale_conv_output(conv: nn.Conv2d, scale: torch.Tensor) -> nn.Conv2d:
    """Fold a per-output-channel ``scale`` (a layer scale) into ``conv``, in
    place."""
    conv = as_plain_conv(conv)
    scale = scale.detach()
    conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1))
    if conv.bias is not None:
        conv.bias = nn.Parameter(conv.bias * scale)
    return conv


def fuse_conv_norm_pairs(seq: nn.Sequential) -> None:
    """In a ``Sequential``, fold each BatchNorm that directly follows a conv
    into it and leave ``nn.Identity`` in its place (so the other keys keep
    their indices)."""
    for i in range(len(seq) - 1):
        if isinstance(seq[i], nn.Conv2d):
            seq[i + 1] = fold_norm_into_prev_conv(seq[i], seq[i + 1])
