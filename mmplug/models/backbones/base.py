"""The one contract every mmplug backbone keeps.

A backbone is a stem followed by stages. Its possible outputs ("levels") are
listed once, with their channels and strides, so that ``out_indices`` can be
checked and the output metadata read before any forward pass. Subclasses
build ``self.stem`` and ``self.stages`` and call :meth:`_init_outputs`.
"""
import copy
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..checkpoint import load_pretrained
from ..layers import (
    conv_factory,
    fuse_conv_norm_pairs,
    pad_to_multiple,
    replace_spatial_convs,
)


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

    def __init__(self,
                 arch: Union[str, dict],
                 out_indices: Union[int, Sequence[int]],
                 frozen_stages: int,
                 norm_eval: bool,
                 with_cp: bool,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        self.arch = self.parse_arch(arch)
        self._out_indices_arg = out_indices
        self._frozen_stages_arg = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

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
    def _init_outputs(self, levels: Sequence[ShapeSpec]) -> None:
        """Record the possible output levels, then check ``out_indices`` and
        ``frozen_stages`` against them. Call at the end of ``__init__``."""
        self.levels = tuple(levels)
        self.out_indices = self._check_out_indices(self._out_indices_arg, len(self.levels))
        n_stages = len(self.stages)
        if not (isinstance(self._frozen_stages_arg, int)
                and -1 <= self._frozen_stages_arg <= n_stages):
            raise ValueError(f'{type(self).__name__}: frozen_stages must be an int '
                             f'from -1 (nothing) to {n_stages} (every stage), '
                             f'got {self._frozen_stages_arg!r}')
        self.frozen_stages = self._frozen_stages_arg
        self._freeze_stages()

    def _apply_conv_cfg(self, conv_cfg: Optional[dict]) -> None:
        """Rebuild every spatial conv (kernel > 1) from ``conv_cfg`` (e.g.
        ``dict(type='RefConv')``); None keeps ``nn.Conv2d``. Call before
        :meth:`_init_outputs`, so that frozen stages freeze the new layers."""
        if conv_cfg is not None:
            replace_spatial_convs(self, conv_factory(conv_cfg))

    def _init_out_norms(self, make_norm: Optional[Callable[[int], nn.Module]]) -> None:
        """Put ``make_norm(i)`` on each output level ``i``, as ``norm{i}``;
        None puts none. Call after :meth:`_init_outputs`."""
        self.out_norm = make_norm is not None
        if self.out_norm:
            for i in self.out_indices:
                self.add_module(f'norm{i}', make_norm(i))

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
        x = self.stem(pad_to_multiple(x, self.levels[0].stride))
        outs = []
        for i, stage in enumerate(self.stages[:self.out_indices[-1] + 1]):
            x = stage(x)
            if i in self.out_indices:
                outs.append(self._normed_output(i, x))
        return tuple(outs)

    def _normed_output(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, f'norm{i}')(x) if self.out_norm else x

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
