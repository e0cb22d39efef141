"""The configs build the models the papers describe: parameter counts of the
detectors within 1% of the FasterNet paper, and of the classifiers equal to
the official networks to the parameter."""
import pytest
import timm

from tests.helpers import ROOT, build_model

# FasterNet paper, Table 4 (Mask R-CNN 1x on COCO), millions of parameters.
PAPER_DET_PARAMS = {'s': 49.0, 'm': 71.2, 'l': 110.9}
# Official classification networks (REFERENCE.md §2), millions.
OFFICIAL_CLS_PARAMS = {'t0': 3.905, 't1': 7.595, 't2': 14.983, 's': 31.181, 'm': 53.521,
                       'l': 93.465}


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('variant', sorted(PAPER_DET_PARAMS))
def test_fasternet_maskrcnn_params_match_paper(variant):
    model = build_model(ROOT / f'configs/det/fasternet_{variant}_maskrcnn.py')
    millions = n_params(model) / 1e6
    assert abs(millions / PAPER_DET_PARAMS[variant] - 1) < 0.01, millions


@pytest.mark.parametrize('variant', sorted(OFFICIAL_CLS_PARAMS))
def test_fasternet_classifier_params_are_official(variant):
    model = build_model(ROOT / f'configs/cls/fasternet_{variant}_in1k.py')
    official = n_params(timm.create_model(f'fasternet_{variant}'))
    assert n_params(model) == official
    assert round(official / 1e6, 3) == OFFICIAL_CLS_PARAMS[variant]
