"""Small building blocks shared by every mmplug backbone.

Each piece lives here once: stochastic depth and its schedule, the 1x1-conv
MLP, padding for patchify layers, the translation of OpenMMLab's
``norm_cfg``/``act_cfg``/``conv_cfg`` dicts into plain layer factories (so
that blocks take callables and never look anything up in a registry
themselves), and the folds that deploy mode is made of: a norm into the conv
before or after it, and a per-channel scale into a conv.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (ConvNeXt's
    "channels_first" LayerNorm), with the parameters of ``nn.LayerNorm``.

    Permuting to NHWC for ``F.layer_norm`` and back measured faster on CPU than
    computing mean and variance over dim 1, and autograd handles it natively.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)


def norm_factory(norm_cfg: dict) -> NormLayer:
    """Turn a ``norm_cfg`` (``dict(type='BN')``, ``'SyncBN'``, ``'LN2d'``, ...)
    into a factory ``channels -> nn.Module``. ``'LN2d'`` is
    :class:`LayerNorm2d` (``eps`` defaults to 1e-6, as in every paper here);
    other types go to mmcv's ``build_norm_layer``."""
    cfg = dict(norm_cfg)
    if cfg.get('type') in ('LN2d', 'LayerNorm2d'):
        unknown = set(cfg) - {'type', 'eps', 'requires_grad'}
        if unknown:
            raise ValueError(f'LN2d takes eps and requires_grad, not {sorted(unknown)}')
        eps, requires_grad = cfg.get('eps', 1e-6), cfg.get('requires_grad', True)

        def build(channels: int) -> nn.Module:
            norm = LayerNorm2d(channels, eps=eps)
            norm.requires_grad_(requires_grad)
            return norm
        return build
    return lambda channels: build_norm_layer(cfg, channels)[1]


def act_factory(act_cfg: Optional[dict]) -> ActLayer:
    """Turn an ``act_cfg`` (``dict(type='GELU')``, ...) into a factory;
    ``None`` gives the identity."""
    if act_cfg is None:
        return nn.Identity
    cfg = dict(act_cfg)
    return lambda: build_activation_layer(cfg)


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch per sample.

    Args:
        drop_prob: Probability of dropping the branch in training.
    """

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f'drop_prob must be in [0, 1), got {drop_prob}')
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0], ) + (1, ) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


def drop_path_rates(depths: Sequence[int], rate: float) -> List[List[float]]:
    """The linear stochastic-depth schedule of the papers, split per stage:
    block ``k`` of ``n`` in the whole network gets ``rate * k / (n - 1)``."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f'drop_path_rate must be in [0, 1), got {rate}')
    flat = torch.linspace(0, rate, sum(depths)).tolist()
    out, start = [], 0
    for depth in depths:
        out.append(flat[start:start + depth])
        start += depth
    return out


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom and right of an NCHW tensor to a multiple of
    ``multiple``, so that a stride-``multiple`` patchify layer sees every
    pixel and the output is ``ceil(size / multiple)``."""
    pad_h = -x.shape[-2] % multiple
    pad_w = -x.shape[-1] % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return x


# oneDNN's names for the activations it can apply to a conv's output
_ONEDNN_ACTS = {nn.ReLU: 'relu', nn.GELU: 'gelu', nn.SiLU: 'swish', nn.Hardswish: 'hardswish',
                nn.Sigmoid: 'sigmoid', nn.Tanh: 'tanh', nn.Hardsigmoid: 'hardsigmoid'}


def _can_fuse(x: torch.Tensor, conv: nn.Module, act: Optional[nn.Module]) -> bool:
    if act is not None and type(act) not in _ONEDNN_ACTS and not isinstance(act, nn.Identity):
        return False
    return (type(conv) is nn.Conv2d and conv.padding_mode == 'zeros'
            and not isinstance(conv.padding, str) and x.device.type == 'cpu'
            and x.dtype == torch.float32 and torch.backends.mkldnn.is_available()
            and not (torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad))
            and not (torch.jit.is_tracing() or torch.jit.is_scripting()
                     or torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()))


class _PackedWeight:
    """A conv weight in oneDNN's blocked layout for one input shape, kept on
    the conv between calls; never copied or pickled (it is rebuilt)."""

    def __init__(self):
        self.key, self.weight = None, None

    def get(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        key = (conv.weight.data_ptr(), conv.weight._version, tuple(x.shape))
        if key != self.key:
            self.weight = torch.ops.mkldnn._reorder_convolution_weight(
                conv.weight.detach(), list(conv.padding), list(conv.stride),
                list(conv.dilation), conv.groups, list(x.shape))
            self.key = key
        return self.weight

    def __deepcopy__(self, memo) -> '_PackedWeight':
        return _PackedWeight()

    def __reduce__(self):
        return (_PackedWeight, ())


def fused_conv(x: torch.Tensor,
               conv: nn.Conv2d,
               act: Optional[nn.Module] = None,
               residual: Optional[torch.Tensor] = None,
               packed: bool = False) -> torch.Tensor:
    """``act(conv(x))`` or ``conv(x) + residual`` (not both).

    In inference on CPU (no gradients, fp32, a plain ``nn.Conv2d``) this is
    one oneDNN call with the activation or the add as a post-op, so the conv's
    output is written once instead of being written, read and written again:
    a 1x1 conv + GELU at 8x96x56x56 -> 384 channels measured 21 ms against 36
    ms unfused (2 threads). With ``packed`` and a channels_last input the
    weight is also kept in oneDNN's layout between calls instead of being
    reordered at every call (deploy mode: it costs a second copy of the
    weight, and pays most at batch 1, up to a quarter of a stage-4 conv's
    time). Only for channels_last inputs, as torch.compile does it: with NCHW
    inputs the demo detector's predictions changed (its backbone features did
    not), which is not understood, so it is not done. Anywhere else
    (training, tracing, export, other devices) it is the plain composition.
    """
    if act is not None and residual is not None:
        raise ValueError('fused_conv takes an activation or a residual, not both')
    if not _can_fuse(x, conv, act):
        y = conv(x)
        if act is not None:
            y = act(y)
        return y if residual is None else y + residual
    weight = conv.weight
    if packed and x.is_contiguous(memory_format=torch.channels_last):
        weight = conv.__dict__.setdefault('_mmplug_packed', _PackedWeight()).get(conv, x)
    args = (weight, conv.bias, list(conv.padding), list(conv.stride), list(conv.dilation),
            conv.groups)
    if residual is not None:
        return torch.ops.mkldnn._convolution_pointwise(x, residual, *args, 'add', 1.0, None, [],
                                                       None)
    if act is None or isinstance(act, nn.Identity):
        return torch.ops.mkldnn._convolution_pointwise(x, *args, 'none', [], None)
    algorithm = act.approximate if isinstance(act, nn.GELU) else None
    return torch.ops.mkldnn._convolution_pointwise(x, *args, _ONEDNN_ACTS[type(act)], [],
                                                   algorithm)


class ConvMlp(nn.Module):
    """Channel MLP on NCHW maps: 1x1 conv, optional norm, activation, 1x1
    conv.

    Args:
        in_channels: Input and output channels.
        hidden_channels: Channels of the hidden layer.
        act_layer: Activation factory.
        norm_layer: Norm factory for the hidden layer, or None.
        bias: Whether the 1x1 convs have a bias.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: int,
                 act_layer: ActLayer,
                 norm_layer: Optional[NormLayer] = None,
                 bias: bool = True):
        super().__init__()
        self.fc1 = nn.Conv2d(in_channels, hidden_channels, 1, bias=bias)
        self.norm = norm_layer(hidden_channels) if norm_layer else nn.Identity()
        self.act = act_layer()
        self.fc2 = nn.Conv2d(hidden_channels, in_channels, 1, bias=bias)
        self.deployed = False

    def forward(self, x: torch.Tensor,
                residual: Optional[torch.Tensor] = None,
                scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``fc2(act(norm(fc1(x)))) * scale + residual``, ``scale`` (a layer
        scale, per output channel) and ``residual`` optional.

        The scale multiplies ``fc2``'s weight and bias rather than its output,
        which saves a pass over the output and the tensor autograd would keep
        for it; in inference the add is fused into ``fc2`` (:func:`fused_conv`).
        """
        if isinstance(self.norm, nn.Identity):
            x = fused_conv(x, self.fc1, act=self.act, packed=self.deployed)
        else:
            x = self.act(self.norm(self.fc1(x)))
        if scale is None:
            return fused_conv(x, self.fc2, residual=residual, packed=self.deployed)
        fc2 = self.fc2
        bias = None if fc2.bias is None else fc2.bias * scale
        y = F.conv2d(x, fc2.weight * scale.view(-1, 1, 1, 1), bias, fc2.stride, fc2.padding,
                     fc2.dilation, fc2.groups)
        return y if residual is None else y + residual

    def switch_to_deploy(self) -> None:
        """Fold a BatchNorm of the hidden layer into ``fc1``; keep the convs'
        weights in oneDNN's layout between calls (:func:`fused_conv`)."""
        self.norm = fold_norm_into_prev_conv(self.fc1, self.norm)
        self.deployed = True


class Stage(nn.Module):
    """One backbone stage: an optional downsampling layer, then blocks.

    Args:
        blocks: The blocks, applied in order.
        downsample: Layer applied first (stride ``downsample_stride``), or
            None.
        downsample_stride: Stride of ``downsample``; the input is padded to a
            multiple of it so that no row or column is dropped.
        with_cp: Checkpoint each block while gradients are needed, trading
            compute for memory.
    """

    def __init__(self,
                 blocks: Sequence[nn.Module],
                 downsample: Optional[nn.Module] = None,
                 downsample_stride: int = 2,
                 with_cp: bool = False):
        super().__init__()
        self.downsample = downsample
        self.downsample_stride = downsample_stride
        self.blocks = nn.Sequential(*blocks)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(pad_to_multiple(x, self.downsample_stride))
        if self.with_cp and self.training and torch.is_grad_enabled():
            for block in self.blocks:
                x = checkpoint(block, x, use_reentrant=False)
            return x
        return self.blocks(x)


# ------------------------------------------------------------- conv layers
def is_spatial_conv(module: nn.Module) -> bool:
    """Whether ``module`` is a 2-D convolution with a kernel larger than 1x1
    (the convolutions that RefConv and ``conv_cfg`` apply to)."""
    return isinstance(module, nn.Conv2d) and max(module.kernel_size) > 1


def conv_factory(conv_cfg: dict) -> Callable[[nn.Conv2d], nn.Module]:
    """Turn a ``conv_cfg`` (``dict(type='RefConv')``, ...) into a function
    that builds, through mmcv's ``build_conv_layer``, a fresh layer with the
    arguments of a given conv."""
    def build(conv: nn.Conv2d) -> nn.Module:
        return build_conv_layer(
            conv_cfg, conv.in_channels, conv.out_channels, conv.kernel_size,
            stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
            groups=conv.groups, bias=conv.bias is not None)
    return build


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
