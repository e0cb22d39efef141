"""``benchmark.py targets`` and ``backbone --vs-timm`` compare like with
like: timm's counterpart (:func:`mmplug.analysis.timm_counterpart`) computes
the backbone's outputs, output norms and drop path, the header says what each
side computes, and the CPU that others used while timing is reported."""
import pytest
import torch
from torch import nn

from mmplug.analysis import (
    TimmFeatures,
    comparison_note,
    drop_path_of,
    n_params,
    timm_counterpart,
)
from mmplug.models import EMO, FasterNet, InceptionNeXt
from tests.helpers import ROOT, build_model, run_tool


def _shapes(model: nn.Module, x: torch.Tensor) -> list:
    model.eval()
    with torch.no_grad():
        return [tuple(o.shape) for o in model(x)]


def test_counterpart_outputs_what_the_backbone_outputs():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    for ours in (FasterNet('t0'), FasterNet('t0', out_indices=(1, 3), drop_path_rate=0.1),
                 InceptionNeXt('atto', out_indices=(3, ), out_norm_cfg=None)):
        twin = timm_counterpart(ours)
        assert _shapes(twin, x) == _shapes(ours, x), comparison_note(ours, twin)
        assert n_params(twin) == n_params(ours)
        assert drop_path_of(twin) == drop_path_of(ours)
    # per-output norms: copies of ours, one per output, not shared modules
    ours = FasterNet('t0', out_indices=(0, 2))
    twin = timm_counterpart(ours)
    assert [type(n) for n in twin.out_norms] == [type(ours.norm0), type(ours.norm2)]
    assert twin.out_norms[0] is not ours.norm0
    assert timm_counterpart(EMO('1m')) is None


def test_counterpart_of_a_config_matches_its_drop_path_and_forward_features():
    ours = build_model(ROOT / 'configs/cls/convnext_t_in1k.py').backbone
    twin = timm_counterpart(ours)
    # timm's convnext_tiny has no drop path by default; the config's has 0.1
    assert drop_path_of(TimmFeatures('convnext_tiny')) == 0.0
    assert drop_path_of(ours) == drop_path_of(twin) == pytest.approx(0.1)
    assert twin.levels == (3, ) and twin.out_norms is None
    twin.eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():  # its last stage is what forward_features returns
        assert torch.equal(twin(x)[0], twin.model.forward_features(x))
    note = comparison_note(ours, twin)
    assert note == ('ours ConvNeXt: out_indices=(3,), no output norm, drop path 0.1; '
                    'timm convnext_tiny: feature_info levels (3,) (forward_intermediates), '
                    'no output norm, drop path 0.1')


def test_timm_features_checks_its_levels_and_norms():
    with pytest.raises(ValueError, match=r'levels \(7,\) out of range.*0\.\.3'):
        TimmFeatures('fasternet_t0', levels=(7, ))
    with pytest.raises(ValueError, match='one norm per level'):
        TimmFeatures('fasternet_t0', levels=(2, 3), out_norms=[nn.Identity()])


def test_busy_warning_and_cpu_elsewhere():
    from tools.analysis.benchmark import CpuElsewhere, busy_warning
    with CpuElsewhere() as elsewhere:
        sum(range(10000))
    assert elsewhere.share is None or 0.0 <= elsewhere.share <= 1.0
    assert busy_warning([0.02, None, 0.05]) == ('CPU used elsewhere while timing: at most 5% of '
                                                'the machine')
    assert 'WARNING: above 10%' in busy_warning([0.02, 0.4])
    assert busy_warning([None]).endswith('unknown (no /proc/stat)')


def test_machine_note_measures_the_matrix_product_and_page_faults():
    import re

    from tools.analysis.benchmark import machine_note
    note = machine_note()
    found = re.fullmatch(r'machine now: 2048x2048 matrix product at (\d+) GFLOP/s; (\d+) page '
                         r'faults to fill a new 64 MB tensor(, [\d.]+ µs each)?', note)
    assert found, note
    assert int(found.group(1)) > 0 and int(found.group(2)) <= 2 * 2**26 // 4096


def test_targets_says_what_it_compares(capsys):
    from tools.analysis import benchmark
    benchmark.main(['targets', str(ROOT / 'configs/cls/fasternet_t0_in1k.py'), '--batches', '2',
                    '--sizes', '64', '--repeats', '1', '--min-seconds', '0.001',
                    '--threads', '1'])
    out = capsys.readouterr().out
    assert ('fasternet_t0_in1k.py: ours FasterNet: out_indices=(3,), no output norm, drop path '
            '0; timm fasternet_t0: feature_info levels (3,) (forward_intermediates), no output '
            'norm, drop path 0') in out
    rows = [line for line in out.splitlines() if line.startswith('| ')]
    assert rows[0].endswith('| CPU elsewhere (train; infer) |') and len(rows) == 3
    assert rows[2].split(' | ')[1:4] == ['fasternet_t0', '2', '64x64']
    assert 'CPU used elsewhere while timing: ' in out


def test_backbone_vs_timm_gives_each_config_its_own_timm_model(capsys):
    from tools.analysis import benchmark
    det, cls = 'configs/demo/fasternet_t0_maskrcnn_shapes.py', 'configs/cls/fasternet_t0_in1k.py'
    benchmark.main(['backbone', det, cls, '--vs-timm', '--no-train', '--batch', '1', '--size',
                    '32', '--repeats', '1', '--min-seconds', '0.001', '--threads', '1'])
    out = capsys.readouterr().out
    rows = [line.split(' | ') for line in out.splitlines() if line.startswith('| ')][2:]
    # the detector's backbone has four outputs with norms, the classifier's one: two timm models
    assert [r[0] for r in rows] == [f'| {det}', f'| timm fasternet_t0 (for {det})', f'| {cls}',
                                    f'| timm fasternet_t0 (for {cls})']
    assert [r[1] for r in rows] == ['2.22', '2.22', '2.21', '2.21']  # params (M)
    assert f'- {det}: ours FasterNet: out_indices=(0, 1, 2, 3), BatchNorm2d on each output' in out


def test_convnext_gap_tool_runs_both_setups_and_counts_kernels():
    result = run_tool('tools/analysis/convnext_gap.py', '--rounds', '1', '--priorities', 'normal',
                      '--batch', '1', '--size', '64', '--threads', '1')
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    rows = [line.split(' | ') for line in out.splitlines() if line.startswith('| ')][2:]
    assert [(r[0], r[1], r[2]) for r in rows] == [('| issue', 'normal', 'infer'),
                                                  ('| targets', 'normal', 'infer')]
    kernels = {line.split(':')[0]: int(line.split(': ')[1].split()[0])
               for line in out.splitlines() if line.startswith('- ')}
    # the deploy form fuses GELU, layer scale and the residual add into its convs
    assert kernels['- issue, ours'] < kernels['- issue, timm']
    assert kernels['- targets, ours'] < kernels['- targets, timm']


def test_a_backbone_without_arch_has_no_twin():
    """mmdet's ResNet has ``arch_settings`` but no ``arch`` attribute."""
    from mmdet.models.backbones import ResNet

    from mmplug.analysis.timm import timm_twin
    assert timm_twin(ResNet(depth=18)) is None
