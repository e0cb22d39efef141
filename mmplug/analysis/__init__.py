"""What the papers claim and how this package counts it:

- :mod:`.complexity`: parameters and FLOPs the papers' way;
- :mod:`.paper`: what the papers report for each config, and their official
  weights (``tools/analysis/claims.py`` checks one against the other and
  writes the model index).

Timing and timm's models for speed comparisons are the tools' own
(``tools/analysis/timing.py``, ``tools/analysis/twins.py``).
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

__all__ = [
    'COLLECTIONS', 'NOT_IN_A_PAPER', 'PAPER', 'PaperFigures', 'TensorForward', 'WEIGHTS',
    'collection', 'data_sample', 'eval_size', 'macs', 'model_macs', 'n_params', 'n_tensors',
    'paper_metrics'
]
