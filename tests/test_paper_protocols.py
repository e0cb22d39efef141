"""Every paper result with the protocol it was tested with, and
``tools/analysis/claims.py --results`` comparing a run only with the results
tested as it validated."""
import json

import pytest

from mmplug.analysis import PAPER
from mmplug.analysis.paper import MULTI_SCALE_FLIP, SINGLE_SCALE
from tests.helpers import run_tool


def test_every_result_says_how_it_was_tested():
    for name, figures in PAPER.items():
        assert figures.protocol.startswith((SINGLE_SCALE, MULTI_SCALE_FLIP)), name
        assert 'scale' not in figures.result, (name, 'the protocol goes in .protocol')


@pytest.mark.parametrize('name,single,multi', [
    # ConvNeXt's semantic_segmentation README: mIoU and mIoU (ms+flip)
    ('seg/convnext_t_upernet', None, 'mIoU 46.7'),
    ('seg/convnext_s_upernet', None, 'mIoU 49.6'),
    ('seg/convnext_b_upernet', None, 'mIoU 49.9'),
    # InceptionNeXt's Table 6 is multi-scale + flip only
    ('seg/inceptionnext_t_upernet', 'mIoU 47.9', None),
])
def test_multi_scale_results(name, single, multi):
    figures = PAPER[name]
    assert figures.multi_scale == (single is not None)
    assert figures.ms_flip_result == multi


def _run(tmp_path, name, miou, iters=4):
    """A finished training run's work dir as mmengine leaves it: the dumped
    config, the validation scalars and the last checkpoint's name."""
    work = tmp_path / name
    (work / '20240101_000000/vis_data').mkdir(parents=True)
    (work / f'{name}.py').write_text(f'train_cfg = dict(max_iters={iters})\n')
    (work / '20240101_000000/vis_data/scalars.json').write_text(
        json.dumps({'mIoU': miou, 'step': iters}) + '\n')
    (work / 'last_checkpoint').write_text(f'{work}/iter_{iters}.pth')
    return work


def test_results_compare_only_like_with_like(tmp_path):
    convnext = _run(tmp_path, 'convnext_t_upernet', 45.0)
    inx = _run(tmp_path, 'inceptionnext_t_upernet', 45.0)
    result = run_tool('tools/analysis/claims.py', '--results', convnext, inx)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split('|')[1].strip(' `'): [c.strip() for c in line.split('|')[2:-1]]
            for line in result.stdout.splitlines() if line.startswith('| `')}
    # single scale against the README's single-scale 46.0
    assert rows['seg/convnext_t_upernet'][1:4] == ['45.0', '46.0', '-1.0']
    # no difference against a multi-scale + flip result
    assert rows['seg/inceptionnext_t_upernet'][1:4] == ['45.0', '47.9', 'n/a']
    assert MULTI_SCALE_FLIP in rows['seg/inceptionnext_t_upernet'][-1]
    # and the command for the papers' protocol, on the run's last checkpoint
    for work, name, paper in ((convnext, 'convnext_t_upernet', 'mIoU 46.7'),
                              (inx, 'inceptionnext_t_upernet', 'mIoU 47.9')):
        command = (f'python tools/test.py configs/seg/{name}.py {work}/iter_4.pth --tta')
        assert f'`seg/{name}`, {paper} ({MULTI_SCALE_FLIP}): {command}' in result.stdout


def test_results_of_a_single_scale_paper_print_no_test_command(tmp_path):
    work = _run(tmp_path, 'emo_1m_deeplabv3', 33.0)
    result = run_tool('tools/analysis/claims.py', '--results', work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '| 33.0 | 33.5 | -0.5 |' in result.stdout
    assert '--tta' not in result.stdout
