"""The run matrix (tools/analysis/run_configs.py) and the results check
(tools/analysis/claims.py --results): the short schedule, the scaled
pipelines, one config run end to end, a failing config, and a transfer
claim read off the work dir the matrix wrote."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR, MultiStepLR, PolyLR

from tests.helpers import ROOT, run_tool
from tools.analysis import run_configs as matrix


def lrs(schedulers, steps):
    """The learning rate at each of ``steps`` steps of a one-parameter SGD
    under the given scheduler configs (mmengine's classes, as built)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    kinds = dict(LinearLR=LinearLR, CosineAnnealingLR=CosineAnnealingLR,
                 MultiStepLR=MultiStepLR, PolyLR=PolyLR)
    built = [kinds[s.pop('type')](opt, **s) for s in schedulers]
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in built:
            s.step()
    return out


def test_cosine_after_a_long_warm_up_keeps_both_phases():
    # mmpretrain's recipe: 20 warm-up epochs, then a cosine to epoch 300
    short = matrix.squeeze_schedulers(
        [dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=20),
         dict(type='CosineAnnealingLR', T_max=280, eta_min=0.1, by_epoch=True, begin=20,
              end=300)], old_length=300, new_length=2, by_epoch_loop=True)
    assert [(s['begin'], s['end']) for s in short] == [(0, 1), (1, 2)]
    assert short[1]['T_max'] == 1 and short[1]['eta_min'] == 0.1
    # both build and step through the short run; the warm-up's start applies
    assert lrs(short, 3)[0] == pytest.approx(0.01)


def test_steps_and_iteration_warm_up_in_an_epoch_loop():
    short = matrix.squeeze_schedulers(
        [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
         dict(type='MultiStepLR', gamma=0.1, by_epoch=True, begin=0, end=12,
              milestones=[8, 11])], old_length=12, new_length=2, by_epoch_loop=True)
    assert short[0]['end'] == 500  # counted in iterations: the short run is inside it
    assert short[1]['milestones'] == [1] and short[1]['end'] == 2


def test_iteration_schedule_poly_after_warm_up():
    short = matrix.squeeze_schedulers(
        [dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
         dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=160000)],
        old_length=160000, new_length=3, by_epoch_loop=False)
    assert [(s['begin'], s['end']) for s in short] == [(0, 1), (1, 3)]
    rates = lrs(short, 4)  # one step past the end too
    assert rates[0] == pytest.approx(1e-6) and rates[3] <= rates[1]


def test_scale_multiplies_every_size_and_keeps_every_transform():
    cfg = Config.fromfile(str(ROOT / 'configs/seg/convnext_t_upernet.py'))
    before = Config.fromfile(str(ROOT / 'configs/seg/convnext_t_upernet.py'))
    changed = matrix.scale_pipelines(cfg, 0.25)
    train, old = cfg.train_dataloader.dataset.pipeline, before.train_dataloader.dataset.pipeline
    assert [t['type'] for t in train] == [t['type'] for t in old]
    resize = next(t for t in train if t['type'] == 'RandomResize')
    assert tuple(resize['scale']) == (512, 128)  # 2048x512
    assert tuple(next(t for t in train if t['type'] == 'RandomCrop')['crop_size']) == (128, 128)
    assert tuple(cfg.model.data_preprocessor['size']) == (128, 128)
    assert changed >= 5


def test_short_run_config_points_at_standin_data_without_pretrained(tmp_path):
    cfg = Config.fromfile(str(ROOT / 'configs/det/refconv_r50_maskrcnn.py'))
    resumed = matrix.short_run_config(cfg, iters=2, batch=1, scale=None, data_overrides={})
    assert resumed == dict(max_epochs=2)
    assert cfg.train_cfg.max_epochs == 1 and cfg.train_dataloader.batch_size == 1
    # the override reaches the ResNet inside mmplug.Refocus
    assert cfg.model.backbone['type'] == 'mmplug.Refocus'
    assert 'init_cfg' in cfg.model.backbone and cfg.model.backbone.init_cfg is None


@pytest.fixture(scope='module')
def matrix_run(tmp_path_factory):
    """The matrix over the smallest classifier and a broken copy of it."""
    tmp = tmp_path_factory.mktemp('matrix')
    broken = tmp / 'broken_in1k.py'
    broken.write_text(f"_base_ = {str(ROOT / 'configs/cls/fasternet_t0_in1k.py')!r}\n"
                      "optim_wrapper = dict(optimizer=dict(type='NoSuchOptimizer'))\n")
    result = run_tool('tools/analysis/run_configs.py', 'configs/cls/fasternet_t0_in1k.py', broken,
                      '--data', tmp / 'data', '--out', tmp / 'out', '--batch', 2,
                      '--scale', 0.25, timeout=1200)
    return tmp, result


def test_matrix_runs_every_step_and_reports_a_failure(matrix_run):
    tmp, result = matrix_run
    assert result.returncode == 1, result.stderr[-3000:]  # the broken config
    rows = {line.split('|')[1].strip(' `'): [c.strip() for c in line.split('|')[2:-1]]
            for line in result.stdout.splitlines() if line.startswith('| `')}
    assert rows['cls/fasternet_t0_in1k'][:5] == ['ok'] * 5, result.stdout
    assert float(rows['cls/fasternet_t0_in1k'][5]) > 0  # s/iter
    assert rows['broken_in1k'][:5] == ['FAILED'] + ['skipped'] * 4
    assert "optimizer.type 'NoSuchOptimizer' is not registered" in rows['broken_in1k'][-1]
    assert '1 of 2 configs ok' in result.stdout


def test_results_of_a_matrix_run_beside_the_paper(matrix_run):
    tmp, _ = matrix_run
    work = tmp / 'out/cls/fasternet_t0_in1k/work'
    result = run_tool('tools/analysis/claims.py', '--results', work)
    assert result.returncode == 0, result.stderr[-3000:]
    row = next(line for line in result.stdout.splitlines() if 'accuracy/top1' in line)
    cells = [c.strip() for c in row.split('|')[1:-1]]
    assert cells[0] == '`cls/fasternet_t0_in1k`' and cells[3] == '71.9'
    assert float(cells[4]) == pytest.approx(float(cells[2]) - 71.9, abs=0.06)
    assert cells[5] == 'epoch 2 of 2'


def test_results_refuses_a_missing_or_unfinished_run(matrix_run, tmp_path):
    tmp, _ = matrix_run
    missing = run_tool('tools/analysis/claims.py', '--results', tmp_path / 'nothing')
    assert missing.returncode != 0 and 'is not a folder' in missing.stderr
    work = tmp / 'out/cls/fasternet_t0_in1k/work'
    dumped = work / 'fasternet_t0_in1k.py'
    dumped.write_text(dumped.read_text().replace('max_epochs=2', 'max_epochs=300'))
    unfinished = run_tool('tools/analysis/claims.py', '--results', work)
    assert unfinished.returncode != 0
    assert 'unfinished' in unfinished.stderr and 'epoch 2 of 300' in unfinished.stderr


def test_configs_are_prepared_safely_from_threads(tmp_path):
    """The matrix reads configs in two threads; in a fresh process (where
    pkg_resources, which resolves ``mmdet::`` bases, is not imported yet)
    every one must still load."""
    code = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import mmplug
from tools.analysis import run_configs as rc
args = rc.parse_args(['--scale', '0.25', '--out', {str(tmp_path)!r}])
paths = [p for p in rc.all_configs() if p.parent.name in ('det', 'seg')][:8]
def one(i):
    out = Path({str(tmp_path)!r}) / str(i)
    out.mkdir()
    return rc.prepare_config(args, paths[i], out)[0].is_file()
with ThreadPoolExecutor(2) as pool:
    print(all(pool.map(one, range(len(paths)))))
"""
    result = run_tool('python', '-c', code)
    assert result.returncode == 0 and result.stdout.strip().endswith('True'), result.stderr[-2000:]
