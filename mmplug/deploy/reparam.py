"""Deploy mode: the one walker to the inference form of a whole model.

Each layer or block that has an inference form has a ``switch_to_deploy()``
method that produces it in place (idempotent): RefConv folds into a plain
conv, a BatchNorm into the conv before it or the 1x1 conv after it, a layer
scale into the projection before it, FasterNet's partial conv switches to its
slicing form. The deploy form is the folded model in plain PyTorch layers;
speed on a deploy target comes from the engines it is exported to
(:mod:`mmplug.deploy.export`). :func:`switch_to_deploy` walks a whole model
(a backbone, a detector, a segmentor), children first, so a block folds into
convs that are already plain.
"""
import torch
from torch import nn

from ..registry import build_wrapped


def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Switch every part of ``model`` that has a ``switch_to_deploy()`` method
    to its deploy form, children before parents, in place.

    The folds use BatchNorm's running statistics, so the model is put in eval
    mode first; the deploy model is for inference.

    Args:
        model: Any ``nn.Module``: mmplug's and mmpretrain's re-parameterizable
            layers and blocks (RepVGG, MobileOne, ...) are all switched.

    Returns:
        ``model``, in eval mode.
    """
    model.eval()
    with torch.no_grad():
        _switch(model)
    return model


def _switch(module: nn.Module) -> None:
    for child in list(module.children()):
        _switch(child)
    switch = getattr(module, 'switch_to_deploy', None)
    if callable(switch):
        switch()


def build_deployed(module: dict, **overrides) -> nn.Module:
    """Config form of :func:`switch_to_deploy`: build ``module`` (a whole
    model, in the config's scope) and switch it, so that a deploy checkpoint
    loads into it. ``tools/reparameterize.py`` writes configs that use it:
    ``model = dict(type='mmplug.Deployed', module=<the training model>)``.
    Other keys (``--cfg-options`` aimed at the model) are merged into
    ``module`` (:func:`mmplug.registry.build_wrapped`).
    """
    return switch_to_deploy(build_wrapped(module, overrides))

