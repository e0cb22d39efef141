"""timm's model of the same architecture as a backbone (its "twin"), for the
speed comparisons of benchmark.py and plot.py (timm is in mmplug's
``analysis`` extra, not a requirement): each backbone class names its twins
in ``timm_names`` (arch name -> timm model name). :func:`timm_counterpart`
builds the twin so that it does the work the backbone does (the same
outputs, per-output norms and stochastic depth), and :func:`comparison_note`
says what that is."""
import copy
from typing import Optional, Sequence, Tuple

import torch
from torch import nn


def arch_name(backbone: nn.Module) -> Optional[str]:
    """The name in ``arch_settings`` whose settings the backbone was built
    with, or None for a custom arch (or a backbone without ``arch``, such
    as mmdet's ResNet)."""
    arch = getattr(backbone, 'arch', None)
    for name, settings in getattr(type(backbone), 'arch_settings', {}).items():
        if arch is not None and settings == arch:
            return name
    return None


def timm_twin(backbone: nn.Module) -> Optional[str]:
    """timm's name for the same architecture as ``backbone``, or None (EMO
    and custom archs have none)."""
    return getattr(type(backbone), 'timm_names', {}).get(arch_name(backbone))


def drop_path_of(model: nn.Module) -> float:
    """The largest stochastic-depth rate of ``model``'s ``DropPath`` layers
    (mmplug's or timm's; with the papers' linear schedule, the rate the model
    was built with), 0.0 if it has none."""
    return max((float(m.drop_prob) for m in model.modules()
                if type(m).__name__ == 'DropPath'), default=0.0)


class TimmFeatures(nn.Module):
    """A timm classifier without its head, the part that compares with a
    backbone: by default ``forward_features`` (every stage, no head), else
    the outputs of the stages in ``levels``, each through its norm in
    ``out_norms``.

    Args:
        name: timm model name.
        levels: Indices into the model's ``feature_info`` to output, computed
            by ``forward_intermediates`` (which stops after the last one);
            None for ``forward_features``.
        out_norms: One module per level, applied to that output (copies of a
            backbone's per-output norms), or None for none.
        drop_path_rate: Stochastic depth rate of the last block, given to
            ``timm.create_model`` (timm's linear schedule is mmplug's); None
            keeps the model's default (0.0 for ``convnext_tiny``, 0.1 for
            ``fasternet_s``).

    Raises:
        ValueError: for a level outside ``feature_info`` or ``out_norms``
            without ``levels`` or of another length.
    """

    def __init__(self, name: str, levels: Optional[Sequence[int]] = None,
                 out_norms: Optional[Sequence[nn.Module]] = None,
                 drop_path_rate: Optional[float] = None):
        super().__init__()
        import timm
        self.name = name
        extra = {} if drop_path_rate is None else dict(drop_path_rate=drop_path_rate)
        self.model = timm.create_model(name, pretrained=False, num_classes=0, **extra)
        for head in ('head', 'conv_head', 'classifier', 'fc'):  # unused: out of the count
            if isinstance(getattr(self.model, head, None), nn.Module):
                setattr(self.model, head, nn.Identity())
        self.set_outputs(levels, out_norms)

    def set_outputs(self, levels: Optional[Sequence[int]],
                    out_norms: Optional[Sequence[nn.Module]] = None) -> None:
        """Choose the outputs (``levels``, ``out_norms``: as in the class).

        Raises:
            ValueError: as the class does.
        """
        n = len(self.model.feature_info)
        levels = None if levels is None else tuple(levels)
        if levels is not None and not all(0 <= i < n for i in levels):
            raise ValueError(f'TimmFeatures({self.name!r}): levels {levels} out of range; '
                             f'its feature_info has levels 0..{n - 1}')
        if out_norms is not None and (levels is None or len(out_norms) != len(levels)):
            raise ValueError(f'TimmFeatures({self.name!r}): out_norms needs one norm per level '
                             f'in levels ({levels}), got {len(out_norms)}')
        self.levels = levels
        self.out_norms = None if out_norms is None else nn.ModuleList(out_norms)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.levels is None:
            return (self.model.forward_features(x), )
        outs = self.model.forward_intermediates(x, indices=list(self.levels),
                                                intermediates_only=True, stop_early=True)
        if self.out_norms is not None:
            outs = [norm(out) for norm, out in zip(self.out_norms, outs)]
        return tuple(outs)

    def describe(self) -> str:
        """What this module computes, in a few words for a table's header."""
        if self.levels is None:
            what = 'forward_features (every stage, no head)'
        else:
            what = f'feature_info levels {self.levels} (forward_intermediates)'
        norms = (f'{type(self.out_norms[0]).__name__} on each output'
                 if self.out_norms is not None else 'no output norm')
        return f'timm {self.name}: {what}, {norms}, drop path {drop_path_of(self):g}'


def _levels_of(backbone: nn.Module, feature_info: list) -> Tuple[int, ...]:
    """Indices into timm's ``feature_info`` with the channels and stride of
    each of ``backbone``'s outputs."""
    index = {(f['num_chs'], f['reduction']): i for i, f in enumerate(feature_info)}
    levels = []
    for spec in backbone.output_shape():
        if (spec.channels, spec.stride) not in index:
            raise ValueError(f'{type(backbone).__name__}: timm has no output with '
                             f'{spec.channels} channels at stride {spec.stride}; its levels '
                             f'are {sorted(index)} (channels, stride)')
        levels.append(index[(spec.channels, spec.stride)])
    return tuple(levels)


def timm_counterpart(backbone: nn.Module) -> Optional[TimmFeatures]:
    """timm's twin of ``backbone`` doing the same work: the outputs at the
    same strides (``out_indices``), each through a copy of the backbone's
    own output norm where it has them (timm's models have none), and the
    same stochastic-depth rate (it costs time in training). None when timm
    has no twin (:func:`timm_twin`).

    Raises:
        ValueError: if timm's twin has no output matching one of the
            backbone's (channels, stride).
    """
    name = timm_twin(backbone)
    if name is None:
        return None
    twin = TimmFeatures(name, drop_path_rate=drop_path_of(backbone))
    norms = [copy.deepcopy(getattr(backbone, f'norm{i}')) for i in backbone.out_indices] \
        if getattr(backbone, 'out_norm', False) else None
    twin.set_outputs(_levels_of(backbone, twin.model.feature_info), norms)
    return twin


def comparison_note(backbone: nn.Module, twin: TimmFeatures) -> str:
    """One line on what ``backbone`` and ``twin`` each compute, for the
    header of a comparison table."""
    norms = (f'{type(getattr(backbone, f"norm{backbone.out_indices[0]}")).__name__} on each '
             f'output' if getattr(backbone, 'out_norm', False) else 'no output norm')
    indices = getattr(backbone, 'out_indices', None)
    return (f'ours {type(backbone).__name__}: out_indices={indices}, {norms}, drop path '
            f'{drop_path_of(backbone):g}; {twin.describe()}')
