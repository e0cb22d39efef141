"""tools/analysis: the claims table, the benchmark's commands, the plot, and
the measuring pieces under them (mmplug.analysis, tools/analysis/timing.py)."""
import csv
import io
import time

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmplug.analysis import PAPER, eval_size, macs, model_macs, n_params
from mmplug.models import EMO, ConvNeXt, FasterNet
from tests.helpers import ROOT, build_model, run_tool
from tools.analysis.timing import Timing, parse_size, peak_memory, time_interleaved
from tools.analysis.twins import TimmFeatures, timm_twin

SMALL = ['configs/cls/fasternet_t0_in1k.py', 'configs/det/emo_1m_ssdlite.py',
         'configs/seg/emo_1m_deeplabv3.py']


def test_claims_tool_over_a_few_configs():
    result = run_tool('tools/analysis/claims.py', *SMALL, '--format', 'csv')
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r['config'] for r in rows] == ['cls/fasternet_t0_in1k', 'det/emo_1m_ssdlite',
                                            'seg/emo_1m_deeplabv3'], result.stderr
    for row, path in zip(rows, SMALL):
        assert float(row['params_m']) == pytest.approx(
            n_params(build_model(ROOT / path)) / 1e6, abs=1e-3)
        figures = PAPER[row['config']]
        assert float(row['paper_flops_g']) == figures.flops_g
        assert (int(row['input_h']), int(row['input_w'])) == figures.size
    # FasterNet-T0 and EMO-1M SSDLite are within 2% of their papers; EMO-1M
    # DeepLabv3 counts 2.47 G against the paper's 2.4 G
    assert [r['over_tolerance'] for r in rows] == ['', '', 'FLOPs']
    assert result.returncode == 1
    assert 'seg/emo_1m_deeplabv3 (FLOPs)' in result.stderr


def test_claims_marks_and_passes_by_tolerance(monkeypatch, capsys):
    from tools.analysis import claims as tool
    assert tool.main(SMALL[:1] + ['--format', 'markdown']) == 0
    table = capsys.readouterr().out
    assert '| `cls/fasternet_t0_in1k` | 3.91 | 3.9 | +0.1% | 0.34 | 0.34 |' in table
    wrong = PAPER['cls/fasternet_t0_in1k']._replace(params_m=3.7)
    monkeypatch.setitem(PAPER, 'cls/fasternet_t0_in1k', wrong)
    assert tool.main(SMALL[:1]) == 1
    assert '+5.6% !' in capsys.readouterr().out
    assert tool.main(SMALL[:1] + ['--tolerance', '6']) == 0


def test_claims_refuses_a_config_without_an_entry(tmp_path):
    with pytest.raises(SystemExit, match='demo/emo_1m_retinanet_shapes has no entry.*known: cls/'):
        from tools.analysis import claims as tool
        tool.main(['configs/demo/emo_1m_retinanet_shapes.py'])


def test_macs_counts_multiply_accumulates():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert macs(conv, (torch.randn(1, 3, 16, 16), )) == 8 * 3 * 9 * 16 * 16
    ssd = build_model(ROOT / 'configs/det/emo_1m_ssdlite.py')
    assert model_macs(ssd, (320, 320)) > 3 * model_macs(ssd, (160, 160))  # about 4x the pixels


def test_cascade_macs_count_every_stage():
    """Cascade Mask R-CNN is counted the papers' way, through mmdet's
    per-stage ``_bbox_forward``/``_mask_forward`` (protected methods: this
    fails if mmdet renames them): each of the three stages' heads on the
    proposals, beyond the backbone, neck and RPN."""
    cascade = build_model(ROOT / 'configs/demo/convnext_t_cascade_shapes.py')
    total = model_macs(cascade, (64, 64))
    features = macs(cascade.backbone, (torch.randn(1, 3, 64, 64), ))
    fc = cascade.roi_head.bbox_head[0].shared_fcs[0]
    per_roi = macs(fc, (torch.randn(1, fc.in_features), ))
    assert total > features + 3 * 100 * per_roi  # three stages, each on 100 or more proposals


def test_peak_memory_sees_the_largest_live_set():
    def three_matrices():
        a, b = torch.randn(500, 500), torch.randn(500, 500)
        return a @ b
    assert peak_memory(three_matrices) == 3 * 500 * 500 * 4


def test_time_interleaved_alternates_rounds_and_tells_slow_from_fast():
    calls, lines = [], []

    def sleeper(name, seconds):
        def call():
            calls.append(name)
            time.sleep(seconds)
        return call
    result = time_interleaved({'a': sleeper('a', 0.001), 'b': sleeper('b', 0.004)}, repeats=2,
                              min_seconds=0.02, threads=1, progress=lines.append)
    # each round times 'a' then 'b', with at least one untimed call first (the warm-up)
    runs = [name for i, name in enumerate(calls) if i == 0 or calls[i - 1] != name]
    assert runs == ['a', 'b', 'a', 'b']
    assert len(result['a']) == len(result['b']) == 2
    assert result['a'][0] >= 0.001 and result.median('b') > 2 * result.median('a')
    assert lines == ['repeat 1/2 done', 'repeat 2/2 done']


def test_timing_median_and_spread():
    figures = Timing(a=[2.0, 1.0, 4.0])
    assert figures.median('a') == 2.0 and figures.spread('a') == 1.5


def test_timm_twin_and_sizes():
    assert timm_twin(FasterNet('t0')) == 'fasternet_t0'
    assert timm_twin(ConvNeXt('tiny')) == 'convnext_tiny'
    assert timm_twin(EMO('1m')) is None
    custom = dict(FasterNet.arch_settings['t0'], depths=[1, 1, 1, 1])
    assert timm_twin(FasterNet(custom)) is None
    assert parse_size('224') == (224, 224) and parse_size('800x1216') == (800, 1216)
    with pytest.raises(ValueError, match="'8x'"):
        parse_size('8x')
    for name, size in (('fasternet_s_maskrcnn', (800, 1333)), ('emo_1m_ssdlite', (320, 320))):
        assert eval_size(Config.fromfile(str(ROOT / f'configs/det/{name}.py'))) == size


def test_benchmark_backbone_deploy_and_timm_in_one_run():
    result = run_tool('tools/analysis/benchmark.py', 'backbone', 'configs/cls/fasternet_t0_in1k.py',
                      '--batch', '2', '--size', '64', '--deploy', '--vs-timm', '--repeats', '2',
                      '--min-seconds', '0.01', '--channels-last')
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith('| ')][2:]
    assert [r.split(' | ')[0] for r in rows] == [
        '| configs/cls/fasternet_t0_in1k.py', '| configs/cls/fasternet_t0_in1k.py (deploy)',
        '| timm fasternet_t0']
    # ours and the deploy form against timm: its time over theirs, from the img/s printed
    timm_s = float(rows[2].split(' | ')[3].split()[0])
    for row in rows[:2]:
        cells = row.strip('| ').split(' | ')
        assert float(cells[-1].split('x')[0]) == pytest.approx(float(cells[3].split()[0]) / timm_s,
                                                             rel=0.1)
    assert 'repeat 2/2 done' in result.stderr


def test_benchmark_model_latency_of_a_detector():
    result = run_tool('tools/analysis/benchmark.py', 'model',
                      'configs/demo/emo_1m_retinanet_shapes.py', '--repeats', '2',
                      '--min-seconds', '0.01', '--deploy')
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith('| configs')]
    assert len(rows) == 2 and '(deploy)' in rows[1]


def test_timm_features_hold_only_what_forward_features_uses():
    ours = build_model(ROOT / 'configs/cls/convnext_t_in1k.py').backbone
    assert n_params(TimmFeatures('convnext_tiny')) == n_params(ours)


def test_plot_draws_ours_and_timms(tmp_path):
    out = tmp_path / 'speed.png'
    result = run_tool('tools/analysis/plot.py', 'configs/cls/fasternet_t0_in1k.py',
                      'configs/cls/emo_1m_in1k.py', '--out', out, '--batch', '2', '--size', '64',
                      '--repeats', '1', '--min-seconds', '0.01')
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    lines = out.with_suffix('.md').read_text().splitlines()
    assert lines[0].startswith('host: ') and lines[0].endswith('GFLOP/s')
    rows = [line for line in lines if line.startswith('| ')][2:]
    assert [r.split(' | ')[0] for r in rows] == ['| mmplug fasternet_t0', '| timm fasternet_t0',
                                                 '| mmplug emo_1m']
