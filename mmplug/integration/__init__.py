"""Every change mmplug makes to other libraries, one module per thing it
adapts to; ``import mmplug`` applies them (:func:`apply`, idempotent).

============================  ===================================================
module                        adapts to
============================  ===================================================
:mod:`.registries`            mmdet's, mmseg's and mmpretrain's registries
                              loading their classes (mmplug's join them after)
:mod:`.configs`               ``mmplug::`` and the fork's ``mmseg::`` config
                              names in mmengine's ``Config``
:mod:`.inferencers`           ``mmplug::`` names in the libraries' inferencers
:mod:`.checkpoints`           torch >= 2.6 loading OpenMMLab mmengine's
                              checkpoints (not applied on the fork)
:mod:`.mmdet_heads`           mmdet 3.3's ``SSDHead``, which cannot predict
============================  ===================================================

Each module says what it changes, which private API it touches, why, and the
test that fails without it. Outside this package mmplug changes no other
library's objects, with one scoped exception: while an ONNX export traces a
model, :func:`mmplug.deploy.export.export_rewrites` replaces two forwards by
traceable ones and restores them (as mmdeploy's rewriters do).
"""
from . import checkpoints, configs, inferencers, mmdet_heads, registries


def apply() -> None:
    """Apply every adapter that the running stack needs."""
    checkpoints.apply()
    configs.apply()
    registries.apply()
    mmdet_heads.apply()
    inferencers.apply()
