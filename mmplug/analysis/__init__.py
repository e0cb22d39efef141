"""Measuring models, under ``tools/analysis/claims.py`` and
``tools/analysis/benchmark.py`` (thin command lines over it):

- :mod:`.complexity`: parameters and FLOPs the papers' way;
- :mod:`.timing`: speed and peak memory on this machine;
- :mod:`.timm`: timm's model of the same architecture as a backbone;
- :mod:`.paper`: what the papers report for each config, and their official
  weights.
"""
from .complexity import (
    TensorForward,
    data_sample,
    eval_size,
    macs,
    model_macs,
    n_params,
    n_tensors,
)
from .paper import (
    COLLECTIONS,
    NOT_IN_A_PAPER,
    PAPER,
    WEIGHTS,
    PaperFigures,
    collection,
    paper_metrics,
)
from .timing import (
    Timing,
    copy_to,
    inference_step,
    make_input,
    parse_size,
    peak_memory,
    predict_step,
    quiet_logs,
    time_alternating,
    training_step,
)
from .timm import (
    TimmFeatures,
    arch_name,
    comparison_note,
    drop_path_of,
    timm_counterpart,
    timm_twin,
)

__all__ = [
    'COLLECTIONS', 'NOT_IN_A_PAPER', 'PAPER', 'PaperFigures', 'TensorForward', 'Timing',
    'TimmFeatures', 'WEIGHTS', 'arch_name', 'collection', 'comparison_note', 'copy_to',
    'data_sample', 'drop_path_of', 'eval_size',
    'inference_step', 'macs', 'make_input', 'model_macs', 'n_params', 'n_tensors',
    'paper_metrics', 'parse_size', 'peak_memory', 'predict_step', 'quiet_logs',
    'time_alternating', 'timm_counterpart', 'timm_twin', 'training_step'
]
