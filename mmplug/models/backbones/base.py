"""The one contract every mmplug backbone keeps.

A backbone is a stem followed by stages. The arguments every backbone takes
are declared and documented once, in :class:`BaseBackbone`; a subclass's
``__init__`` takes ``arch`` (the only positional argument), its own
arguments, and passes the rest on by keyword (``**kwargs``). Construction is
one template, run by :class:`BaseBackbone` after the whole ``__init__`` chain
(:meth:`BaseBackbone._build`): list the output levels (:meth:`levels_of`) and
check ``out_indices`` against them, call the subclass's
:meth:`build_layers` for the stem and the stages, put a norm on each output,
freeze the frozen stages. So a subclass only stores its arguments, in any
order, and builds nothing in ``__init__``.
"""
import copy
import inspect
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..checkpoint import load_pretrained
from ..layers import ConvLayer, conv_factory, drop_path_rates, norm_factory, pad_to_multiple
from ..reparam import fuse_conv_norm_pairs


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


class _BuildAfterInit(type(BaseModule)):
    """Runs :meth:`BaseBackbone._build` once the outermost ``__init__`` has
    returned, so that every subclass's arguments are stored before anything
    is built."""

    def __call__(cls, *args, **kwargs):
        backbone = super().__call__(*args, **kwargs)
        backbone._build()
        return backbone

    @property
    def __signature__(cls) -> inspect.Signature:
        # what ``inspect.signature(cls)`` shows: ``cls.__init__``'s arguments,
        # not ``__call__``'s ``*args, **kwargs``
        init = inspect.signature(cls.__init__)
        return init.replace(parameters=list(init.parameters.values())[1:])


class BaseBackbone(BaseModule, metaclass=_BuildAfterInit):
    """Multi-scale backbone with OpenMMLab's usual knobs.

    Args:
        arch: A name in ``arch_settings`` (any case) or a dict with the same
            keys.
        in_channels: Input image channels.
        out_indices: Output levels, an int or a sequence; negative values
            count from the last level. Outputs come in increasing stride.
        frozen_stages: -1 freezes nothing, 0 the stem, ``i`` the stem and
            stages 1 to ``i``.
        norm_eval: Keep every BatchNorm in eval mode while training.
        drop_path_rate: Stochastic depth rate of the last block (linear from
            0 over the blocks).
        conv_cfg: Layer of every spatial conv (kernel larger than 1x1: stem,
            downsampling, token mixers), e.g. ``dict(type='RefConv')``; None
            for ``nn.Conv2d``.
        out_norm_cfg: Norm put on each output (``norm{i}`` for level ``i``):
            None for none, one config for every level, or one per level.
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
                 *,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 drop_path_rate: float = 0.0,
                 conv_cfg: Optional[dict] = None,
                 out_norm_cfg: Optional[Union[dict, Sequence[dict]]] = None,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0)):
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        self.arch = self.parse_arch(arch)
        n_stages = len(self.arch['depths'])
        if not (isinstance(frozen_stages, int) and -1 <= frozen_stages <= n_stages):
            raise ValueError(f'{type(self).__name__}: frozen_stages must be an int from -1 '
                             f'(nothing) to {n_stages} (every stage), got {frozen_stages!r}')
        self.in_channels = in_channels
        self.out_indices = out_indices  # checked by _build, against the levels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.drop_path_rate = drop_path_rate
        self.conv_cfg = conv_cfg
        self.out_norm_cfg = out_norm_cfg
        self.with_cp = with_cp

    def levels_of(self, arch: dict) -> List[ShapeSpec]:
        """Channels and stride of every possible output of ``arch``, in
        increasing stride: by default one per stage, stride 4 to 32. Called
        after ``__init__``, so it may read the subclass's arguments."""
        return [ShapeSpec(c, 4 * 2**i) for i, c in enumerate(arch['channels'])]

    def build_layers(self, conv_layer: ConvLayer,
                     drop_path_rates: List[List[float]]) -> Tuple[nn.Module, nn.ModuleList]:
        """Build and return the stem and the stages (one per ``depths``
        entry; stage ``i`` gets the stochastic depth rates
        ``drop_path_rates[i]``, one per block). Every subclass implements it.

        Args:
            conv_layer: Builds every spatial conv (``nn.Conv2d``'s signature).
            drop_path_rates: Per stage, the rate of each block.
        """
        raise NotImplementedError(f'{type(self).__name__} must implement build_layers: '
                                  f'it builds and returns (stem, stages)')

    def _build(self) -> None:
        """The template, run once after ``__init__``: check the output levels,
        build the stem and the stages, the output norms, then freeze."""
        name = type(self).__name__
        self.levels = tuple(self.levels_of(self.arch))
        self.out_indices = self._check_out_indices(self.out_indices, len(self.levels))
        rates = drop_path_rates(self.arch['depths'], self.drop_path_rate)
        stem, stages = self.build_layers(conv_factory(self.conv_cfg), rates)
        if not isinstance(stem, nn.Module) or not isinstance(stages, nn.ModuleList) \
                or len(stages) != len(rates):
            raise TypeError(f'{name}.build_layers must return (stem, stages): an nn.Module and '
                            f'an nn.ModuleList of {len(rates)} stages, got '
                            f'({type(stem).__name__}, {type(stages).__name__})')
        self.stem, self.stages = stem, stages
        self._add_output_norms(self.out_norm_cfg)
        self._freeze_stages()

    @classmethod
    def defaults(cls) -> dict:
        """Every constructor argument with a default, and the default this
        class gives it: its own ``__init__``'s over its bases' (the shared
        arguments are declared in :class:`BaseBackbone` only)."""
        found = {}
        for klass in reversed(cls.__mro__):
            if issubclass(klass, BaseBackbone) and '__init__' in vars(klass):
                found.update({name: p.default for name, p in
                              inspect.signature(vars(klass)['__init__']).parameters.items()
                              if p.default is not inspect.Parameter.empty})
        return found

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
    def _add_output_norms(self, out_norm_cfg: Optional[Union[dict, Sequence[dict]]]) -> None:
        """Put a norm on each output: ``norm{i}`` for level ``i``."""
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
