"""Layer-wise and stage-wise learning-rate decay for mmplug backbones.

The ConvNeXt recipes (Mask R-CNN / Cascade Mask R-CNN: layer-wise 0.95 over
6 or 12 layers; UPerNet: stage-wise 0.9) scale each backbone parameter's
learning rate by ``decay_rate ** (num_layers + 1 - layer_id)``. mmdet's and
mmseg's ``LearningRateDecayOptimizerConstructor`` compute the layer ids from
mmpretrain's parameter names; this one reads the names every mmplug backbone
shares (``backbone.stem``, ``backbone.stages.{i}.downsample``,
``backbone.stages.{i}.blocks.{j}``), so it serves all of them and gives the
official ids for ConvNeXt.
"""
import re
from typing import List, Sequence

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

DECAY_TYPES = ('layer_wise', 'stage_wise')


def layer_id(name: str, decay_type: str, num_layers: int, depths: Sequence[int]) -> int:
    """The decay id of parameter ``name`` of a model with an mmplug backbone.

    Layer-wise (4 stages, as the official ConvNeXt code): the stem is 0,
    stage 1 is 1, stage 2 is 2, stage 3's blocks spread over 3 to
    ``num_layers - 1`` (block ``j`` of ``d``: ``3 + j * (num_layers - 3) // d``,
    which is the official ``3 + j // 3`` for ConvNeXt's 9 and 27 blocks with
    6 and 12 layers), stage 4 is ``num_layers``; downsampling layers take the
    id of the stage they start (stage 4's: ``num_layers``). Stage-wise: the
    stem and downsampling layers are 0, stage ``i``'s blocks ``i + 1``.
    Everything else (output norms, neck, heads) gets the full rate.

    Args:
        name: Parameter name in the whole model (``backbone.stages.2...``).
        decay_type: ``'layer_wise'`` or ``'stage_wise'``.
        num_layers: The recipe's ``num_layers``.
        depths: Blocks per backbone stage.
    """
    top = num_layers + 1
    if name.startswith('backbone.stem.'):
        return 0
    m = re.match(r'backbone\.stages\.(\d+)\.(downsample|blocks)\.(\d+)?', name)
    if not m:
        return top
    stage, part = int(m.group(1)), m.group(2)
    if decay_type == 'stage_wise':
        return 0 if part == 'downsample' else stage + 1
    if len(depths) != 4:
        raise ValueError(f'layer_wise decay is defined for 4-stage backbones; this one has '
                         f'depths {list(depths)}; use decay_type="stage_wise"')
    if stage == 3:
        return num_layers
    if stage < 2:
        return 2 if part == 'downsample' else stage + 1
    if part == 'downsample':
        return 3
    return 3 + int(m.group(3)) * (num_layers - 3) // depths[2]


class LayerDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """Optimizer wrapper constructor with learning-rate decay over the depth
    of an mmplug backbone.

    ``paramwise_cfg``: ``decay_rate`` (float), ``decay_type``
    (``'layer_wise'`` or ``'stage_wise'``) and ``num_layers`` (int). As the
    official recipes, 1-D parameters and biases get no weight decay.
    """

    def add_params(self, params: List[dict], module: nn.Module, **kwargs) -> None:
        cfg = dict(self.paramwise_cfg)
        missing = sorted({'decay_rate', 'num_layers'} - set(cfg))
        decay_type = cfg.get('decay_type', 'layer_wise')
        if missing or decay_type not in DECAY_TYPES:
            raise ValueError(
                'LayerDecayOptimizerConstructor: paramwise_cfg needs decay_rate, num_layers '
                f'and decay_type in {DECAY_TYPES}; got {cfg}')
        backbone = getattr(module, 'backbone', None)
        if backbone is None or not hasattr(backbone, 'stem') or not hasattr(backbone, 'stages'):
            raise ValueError('LayerDecayOptimizerConstructor needs a model whose backbone is an '
                             f'mmplug backbone (stem + stages); got {type(backbone).__name__}')
        depths = [len(stage.blocks) for stage in backbone.stages]
        num_layers, rate = cfg['num_layers'], cfg['decay_rate']
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            no_decay = param.ndim == 1 or name.endswith('.bias')
            lid = layer_id(name, decay_type, num_layers, depths)
            key = (lid, no_decay)
            if key not in groups:
                scale = rate**(num_layers + 1 - lid)
                groups[key] = dict(params=[], param_names=[], lr=self.base_lr * scale,
                                   lr_scale=scale, weight_decay=0.0 if no_decay else self.base_wd)
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)
        for (lid, no_decay), group in sorted(groups.items()):
            print_log(f'lr decay group {lid}{" (no weight decay)" if no_decay else ""}: '
                      f'lr scale {group["lr_scale"]:.4f}, {len(group["params"])} tensors',
                      logger='current')
        params.extend(group for _, group in sorted(groups.items()))
