"""``benchmark.py targets`` and ``backbone --vs-timm`` compare like with
like: timm's counterpart (:func:`tools.analysis.twins.timm_counterpart`)
computes the backbone's outputs, output norms and drop path, the header says
what each side computes, and the ratios and marks are those of the timings."""
import re

import pytest
import torch
from torch import nn

from mmplug.analysis import n_params
from mmplug.models import EMO, FasterNet, InceptionNeXt
from tests.helpers import ROOT, build_model
from tools.analysis.twins import TimmFeatures, comparison_note, drop_path_of, timm_counterpart


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
    # the note names what each side computes, from the modules themselves
    ours_part, timm_part = comparison_note(ours, twin).split('; ')
    assert f'out_indices={ours.out_indices}' in ours_part and 'drop path 0.1' in ours_part
    assert f'levels {twin.levels}' in timm_part and 'drop path 0.1' in timm_part
    for part in (ours_part, timm_part):
        assert 'no output norm' in part
    with_norms = FasterNet('t0', out_indices=(1, 3))
    assert comparison_note(with_norms, timm_counterpart(with_norms)).count(
        'BatchNorm2d on each output') == 2


def test_timm_features_checks_its_levels_and_norms():
    with pytest.raises(ValueError, match=r'levels \(7,\) out of range.*0\.\.3'):
        TimmFeatures('fasternet_t0', levels=(7, ))
    with pytest.raises(ValueError, match='one norm per level'):
        TimmFeatures('fasternet_t0', levels=(2, 3), out_norms=[nn.Identity()])


def _img_s(cell: str) -> float:
    """``'12.3 ±4%'`` -> 12.3."""
    return float(cell.split()[0])


def test_targets_says_what_it_compares_and_marks_by_the_timings(capsys):
    from tools.analysis import benchmark
    config = str(ROOT / 'configs/cls/fasternet_t0_in1k.py')
    benchmark.main(['targets', config, '--batches', '2', '--sizes', '64', '--repeats', '1',
                    '--min-seconds', '0.001', '--threads', '1'])
    out = capsys.readouterr().out
    assert re.search(r'^host: .*GFLOP/s$', out, re.M), out  # the host heads the table
    ours = build_model(config).backbone
    assert f'- {config}: {comparison_note(ours, timm_counterpart(ours))}' in out
    rows = [line.strip('| ').split(' | ') for line in out.splitlines() if line.startswith('| ')]
    assert len(rows) == 3
    cells = rows[2]
    assert cells[1:4] == ['fasternet_t0', '2', '64x64']
    for (pair, mark), target in (((cells[4], cells[5]), 1.0), ((cells[6], cells[7]), 1.10)):
        ours_s, timm_s = (_img_s(c) for c in pair.split(' / '))
        value = float(mark.split('x')[0])
        # ours / timm in img/s, each printed to 0.1
        assert value == pytest.approx(ours_s / timm_s, rel=0.1 / min(ours_s, timm_s) + 0.01)
        assert mark.endswith('ok' if value >= target else 'MISSED')


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


def test_a_backbone_without_arch_has_no_twin():
    """mmdet's ResNet has ``arch_settings`` but no ``arch`` attribute."""
    from mmdet.models.backbones import ResNet

    from tools.analysis.twins import timm_twin
    assert timm_twin(ResNet(depth=18)) is None
