"""The one contract every mmplug backbone keeps.

A backbone is a stem followed by stages. Its possible outputs ("levels") are
known from its arch before anything is built (:meth:`BaseBackbone.levels_of`),
so ``out_indices`` and ``frozen_stages`` are checked first, and the output
metadata can be read without a forward pass. A subclass calls
``super().__init__`` first, then builds ``self.stem`` and ``self.stages``
(spatial convs from ``conv_factory(conv_cfg)``), then calls
:meth:`BaseBackbone._init_outputs` last.
"""
import copy
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..checkpoint import load_pretrained
from ..layers import norm_factory, pad_to_multiple
from ..reparam import fuse_conv_norm_pairs


def take_deprecated(owner: str, kwargs: dict, renames: Dict[str, str]) -> dict:
    """Arguments given under deprecated names, under their new names, with a
    warning each; any other unexpected argument is a TypeError.

    Args:
        owner: The class, for messages.
        kwargs: The arguments ``__init__`` did not take by name.
        renames: Old name -> new name.
    """
    unknown = sorted(set(kwargs) - set(renames))
    if unknown:
        raise TypeError(f'{owner}: unexpected arguments {unknown}')
    for old in kwargs:
        warnings.warn(f'{owner}: argument {old!r} is deprecated; use {renames[old]!r}',
                      FutureWarning, stacklevel=3)
    return {renames[old]: value for old, value in kwargs.items()}


def per_stage(owner: str, name: str, value, n: int) -> list:
    """``value`` (one value, or one per stage) as a list of ``n``."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f'{owner}: {name} needs one value or one per stage ({n}), got {value}')
    return values


class ShapeSpec(NamedTuple):
    """Channels and stride of one output feature map."""
    channels: int
    stride: int


class BaseBackbone(BaseModule):
    """Multi-scale backbone with OpenMMLab's usual knobs.

    Args:
        arch: A name in ``arch_settings`` or a dict with the same keys.
        out_indices: Output levels, an int or a sequence; negative values
            count from the last level. Outputs come in increasing stride.
        frozen_stages: -1 freezes nothing, 0 the stem, ``i`` the stem and
            stages 1 to ``i``.
        norm_eval: Keep every BatchNorm in eval mode while training.
        with_cp: Use gradient checkpointing in the blocks while training.
        init_cfg: mmengine init config; ``dict(type='Pretrained',
            checkpoint=...)`` loads through the backbone's converter and
            reports every key it did not use.
    """

    #: Variants: name -> dict of plain lists/values, same keys in every one.
    arch_settings: Dict[str, dict] = {}
    #: Keys a checkpoint may lack or have in excess (regexes): the per-output
    #: norms, absent from classification checkpoints.
    optional_keys: Tuple[str, ...] = ()
    #: timm's model of the same architecture per variant name, if timm has one.
    timm_names: Dict[str, str] = {}

    def __init__(self,
                 arch: Union[str, dict],
                 out_indices: Union[int, Sequence[int]],
                 frozen_stages: int,
                 norm_eval: bool,
                 with_cp: bool,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        self.arch = self.parse_arch(arch)
        self.levels = tuple(self.levels_of(self.arch))
        self.out_indices = self._check_out_indices(out_indices, len(self.levels))
        n_stages = len(self.arch['depths'])
        if not (isinstance(frozen_stages, int) and -1 <= frozen_stages <= n_stages):
            raise ValueError(f'{type(self).__name__}: frozen_stages must be an int from -1 '
                             f'(nothing) to {n_stages} (every stage), got {frozen_stages!r}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

    def levels_of(self, arch: dict) -> List[ShapeSpec]:
        """Channels and stride of every possible output of ``arch``, in
        increasing stride: by default one per stage, stride 4 to 32."""
        return [ShapeSpec(c, 4 * 2**i) for i, c in enumerate(arch['channels'])]

    # ------------------------------------------------------------- variants
    @classmethod
    def parse_arch(cls, arch: Union[str, dict]) -> dict:
        """Return the settings of ``arch`` (a known name, or a dict that has
        every key the known variants have)."""
        known = sorted(cls.arch_settings)
        if isinstance(arch, str):
            if arch.lower() not in cls.arch_settings:
                raise ValueError(f'{cls.__name__}: unknown arch {arch!r}; '
                                 f'known archs: {", ".join(known)}')
            return copy.deepcopy(cls.arch_settings[arch.lower()])
        if isinstance(arch, dict):
            required = set(next(iter(cls.arch_settings.values())))
            missing = sorted(required - set(arch))
            extra = sorted(set(arch) - required)
            if missing or extra:
                raise ValueError(
                    f'{cls.__name__}: a custom arch dict needs exactly the keys '
                    f'{sorted(required)}; missing {missing}, unknown {extra}')
            lengths = {k: len(v) for k, v in arch.items() if isinstance(v, (list, tuple))}
            if len(set(lengths.values())) > 1:
                raise ValueError(f'{cls.__name__}: the per-stage lists of a custom arch '
                                 f'must have one length, got {lengths}')
            return copy.deepcopy(dict(arch))
        raise TypeError(f'{cls.__name__}: arch must be a name ({", ".join(known)}) '
                        f'or a dict, got {type(arch).__name__}')

    # -------------------------------------------------------------- outputs
    def _init_outputs(self, out_norm_cfg: Optional[Union[dict, Sequence[dict]]]) -> None:
        """Put a norm on each output (``norm{i}`` for level ``i``), then
        freeze the frozen stages. Call last in ``__init__``.

        Args:
            out_norm_cfg: None for no norm, one norm config for every level,
                or one per level.
        """
        if isinstance(out_norm_cfg, (list, tuple)):
            if len(out_norm_cfg) != len(self.levels):
                raise ValueError(f'{type(self).__name__}: out_norm_cfg needs one config per '
                                 f'output level ({len(self.levels)}), got {len(out_norm_cfg)}')
            cfgs = list(out_norm_cfg)
        else:
            cfgs = [out_norm_cfg] * len(self.levels)
        self.out_norm = out_norm_cfg is not None
        if self.out_norm:
            for i in self.out_indices:
                self.add_module(f'norm{i}', norm_factory(cfgs[i])(self.levels[i].channels))
        self._freeze_stages()

    def _check_out_indices(self, out_indices, n: int) -> Tuple[int, ...]:
        name = type(self).__name__
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        if not indices or not all(isinstance(i, int) for i in indices):
            raise TypeError(f'{name}: out_indices must be an int or a non-empty '
                            f'sequence of ints, got {out_indices!r}')
        resolved = []
        for i in indices:
            if not -n <= i < n:
                raise ValueError(f'{name}: out_indices entry {i} is out of range; '
                                 f'this backbone has {n} output levels, so valid '
                                 f'indices are {-n}..{n - 1}')
            resolved.append(i % n)
        if len(set(resolved)) != len(resolved):
            raise ValueError(f'{name}: out_indices {out_indices!r} name a level twice')
        return tuple(sorted(resolved))

    def output_shape(self) -> Tuple[ShapeSpec, ...]:
        """Channels and stride of each output, in output order, without a
        forward pass."""
        return tuple(self.levels[i] for i in self.out_indices)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        return tuple(s.channels for s in self.output_shape())

    @property
    def out_strides(self) -> Tuple[int, ...]:
        return tuple(s.stride for s in self.output_shape())

    # -------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> tuple:
        """Stem, then the stages in turn, for backbones whose level ``i`` is
        stage ``i``'s output (a patchify stem of stride ``levels[0].stride``,
        to which the input is padded). Others override it."""
        image = x
        x = self.stem(pad_to_multiple(x, self.levels[0].stride))
        outs = []
        for i, stage in enumerate(self.stages[:self.out_indices[-1] + 1]):
            x = stage(x)
            if i in self.out_indices:
                outs.append(self._normed_output(i, x, image))
        return tuple(outs)

    def _normed_output(self, i: int, x: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        # Inside, a map may be laid out as NHWC (LayerNorm2d permutes); what
        # leaves is laid out as the image was, NCHW unless it was
        # channels_last: mmcv's RoIAlign reads its input's memory as NCHW.
        x = getattr(self, f'norm{i}')(x) if self.out_norm else x
        channels_last = image.is_contiguous(memory_format=torch.channels_last) and \
            not image.is_contiguous()
        return x.contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format)

    # ------------------------------------------------------ training modes
    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        return [self.stem] + list(self.stages[:self.frozen_stages])

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'BaseBackbone':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    # --------------------------------------------------------------- deploy
    def switch_to_deploy(self) -> None:
        """Fold each BatchNorm that follows a conv in the stem and the
        downsampling layers (the blocks fold themselves). A norm *before* a
        downsampling conv stays: the input is zero-padded to the stride
        before it, so folding it would change the padded border."""
        for part in [self.stem] + [stage.downsample for stage in self.stages]:
            if isinstance(part, nn.Sequential):
                fuse_conv_norm_pairs(part)

    # -------------------------------------------------------------- weights
    @staticmethod
    def convert_checkpoint(state_dict: Dict[str, torch.Tensor]) -> dict:
        """Map a state dict of a known layout (official, timm, ...) to this
        backbone's; a dict already in this layout comes back unchanged."""
        raise NotImplementedError

    def init_weights(self) -> None:
        init_cfg = self.init_cfg
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            load_pretrained(self, init_cfg['checkpoint'], self.convert_checkpoint,
                            optional=self.optional_keys)
            self._is_init = True
            return
        super().init_weights()
