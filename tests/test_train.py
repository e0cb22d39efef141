"""End to end: a Mask R-CNN step, the demo through the tools, kill and resume,
two-process training on the CPU, and the errors a user meets first."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader

from tests.helpers import DEMO, ROOT, free_port, run_tool, write_demo_config


def test_maskrcnn_training_step_with_fasternet_t0():
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    cfg = Config.fromfile(str(ROOT / 'configs/det/fasternet_s_maskrcnn.py'))
    cfg.model.backbone.update(arch='t0', init_cfg=None)
    cfg.model.neck.in_channels = [40, 80, 160, 320]
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = demo_mm_inputs(2, [[3, 128, 160], [3, 96, 128]], num_items=[3, 2], num_classes=80,
                          with_mask=True)
    before = model.backbone.stem[0].weight.detach().clone()
    model.train()
    losses = model.train_step(data, optim_wrapper)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert not torch.equal(before, model.backbone.stem[0].weight)


def test_demo_trains_evaluates_draws_and_tests(tmp_path):
    cfg = write_demo_config(tmp_path, train_cfg='dict(max_epochs=1, val_interval=1)')
    work = tmp_path / 'work'
    demo = run_tool('tools/demo.py', '--config', cfg, '--work-dir', work, '--num-images', 3)
    assert demo.returncode == 0, demo.stderr[-4000:]
    assert 'coco/bbox_mAP' in demo.stdout and 'coco/segm_mAP' in demo.stdout
    assert (work / 'predictions.png').stat().st_size > 1000
    assert (work / 'epoch_1.pth').is_file()

    test = run_tool('tools/test.py', cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 'test',
                    '--out', tmp_path / 'preds.pkl', '--show-dir', 'vis')
    assert test.returncode == 0, test.stderr[-4000:]
    line = [x for x in demo.stdout.splitlines() if 'bbox_mAP_copypaste' in x][-1]
    assert line.split('copypaste:')[1] in test.stdout  # same metrics from the checkpoint
    assert (tmp_path / 'preds.pkl').stat().st_size > 0
    assert len(list((tmp_path / 'test').glob('*/vis/*.png'))) == 4  # every validation image


def test_classification_config_trains_and_tests(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for label in ('class_a', 'class_b'):
            folder = tmp_path / 'images' / split / label
            folder.mkdir(parents=True)
            for i in range(4):
                Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(
                    folder / f'{i}.png')
    lines = [f"_base_ = {str(ROOT / 'configs/cls/fasternet_t0_in1k.py')!r}",
             'train_cfg = dict(max_epochs=1)',
             # the recipe's schedule needs 20 epochs and more
             "param_scheduler = [dict(type='ConstantLR', factor=1.0)]",
             'default_hooks = dict(logger=dict(interval=1))']
    for loader, split in (('train', 'train'), ('val', 'val'), ('test', 'val')):
        lines.append(
            f'{loader}_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, '
            f"dataset=dict(_delete_=True, type='CustomDataset', "
            f"data_root={str(tmp_path / 'images' / split)!r}, "
            'pipeline={{_base_.test_pipeline}}))')
    cfg = tmp_path / 'cls_tiny.py'
    cfg.write_text('\n'.join(lines) + '\n')
    work = tmp_path / 'work'
    train = run_tool('tools/train.py', cfg, '--work-dir', work)
    assert train.returncode == 0, train.stderr[-4000:]
    assert 'Epoch(train) [1][2/2]' in train.stdout and 'accuracy/top1' in train.stdout
    test = run_tool('tools/test.py', cfg, work / 'epoch_1.pth', '--work-dir', work)
    assert test.returncode == 0, test.stderr[-4000:]
    assert 'accuracy/top1' in test.stdout


def test_kill_and_resume_keeps_epoch_and_optimizer_state(tmp_path):
    cfg = write_demo_config(tmp_path, train=16, val=2,
                            train_cfg='dict(max_epochs=3, val_interval=10)',
                            default_hooks='dict(checkpoint=dict(interval=1, max_keep_ckpts=5))')
    work = tmp_path / 'work'
    cmd = [sys.executable, 'tools/train.py', str(cfg), '--work-dir', str(work)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while not (work / 'last_checkpoint').exists():  # written after a checkpoint is complete
        assert proc.poll() is None and time.time() < deadline, 'training ended before a checkpoint'
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = (work / 'last_checkpoint').read_text().strip()
    saved_epoch = int(Path(saved).stem.split('_')[1])
    assert saved_epoch < 3, 'the first run finished before it could be killed'

    resumed = run_tool('tools/train.py', cfg, '--work-dir', work, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    iters_per_epoch = 16 // 2
    assert f'resumed epoch: {saved_epoch}, iter: {saved_epoch * iters_per_epoch}' in resumed.stdout
    # mmengine's own loader, as --resume reads them (plain torch.load needs
    # mmplug's shim on OpenMMLab's mmengine, which the fork does without)
    before = CheckpointLoader.load_checkpoint(saved, map_location='cpu')
    after = CheckpointLoader.load_checkpoint(str(work / 'epoch_3.pth'), map_location='cpu')
    assert after['meta']['epoch'] == 3 and after['meta']['iter'] == 3 * iters_per_epoch
    # AdamW counts its steps per parameter: a fresh optimizer would have fewer.
    steps_before = {int(s['step']) for s in before['optimizer']['state'].values()}
    steps_after = {int(s['step']) for s in after['optimizer']['state'].values()}
    assert steps_before == {saved_epoch * iters_per_epoch}
    assert steps_after == {3 * iters_per_epoch}


def test_two_process_training_on_cpu(tmp_path):
    cfg = write_demo_config(tmp_path, train=8, val=2,
                            train_cfg='dict(max_epochs=1, val_interval=10)')
    result = run_tool('bash', 'tools/dist_train.sh', cfg, 2, '--work-dir', tmp_path / 'work',
                      env=dict(PORT=str(free_port()), PYTHON=sys.executable))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log
    assert 'Epoch(train) [1][2/2]' in log  # 8 images / (2 per batch x 2 processes)
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


def test_clear_errors_before_anything_is_built(tmp_path):
    start = time.time()
    result = run_tool('tools/train.py', 'configs/det/fasternet_s_maskrcnn.py',
                      '--work-dir', tmp_path, '--cfg-options',
                      'train_dataloader.dataset.data_root=no/such/coco/')
    assert result.returncode != 0
    assert "train_dataloader.dataset.data_root: 'no/such/coco/' does not exist" in result.stderr
    assert 'make demo' in result.stderr
    assert time.time() - start < 60

    missing_ckpt = run_tool('tools/test.py', DEMO, tmp_path / 'nope.pth')
    assert missing_ckpt.returncode != 0 and "checkpoint '" in missing_ckpt.stderr
    assert 'nope.pth' in missing_ckpt.stderr

    ckpt = tmp_path / 'any.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, ckpt)
    no_tta = run_tool('tools/test.py', DEMO, ckpt, '--tta')
    assert no_tta.returncode != 0 and '--tta needs tta_model and tta_pipeline' in no_tta.stderr

    whole = ckpt.read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(whole[:len(whole) // 2])
    corrupt = tmp_path / 'corrupt.pth'
    at = whole.index(b'\x00' * 64)  # inside the tensor's zeros
    corrupt.write_bytes(whole[:at] + b'\x01' + whole[at + 1:])
    for bad, what in ((truncated, 'is not a complete checkpoint'), (corrupt, 'fails its CRC')):
        for tool, args in (('tools/test.py', [bad]), ('tools/train.py', ['--resume', bad])):
            result = run_tool(tool, DEMO, *args, '--work-dir', tmp_path)
            last = result.stderr.strip().splitlines()[-1]
            assert result.returncode != 0 and 'Traceback' not in result.stderr, (tool, last)
            assert str(bad) in last and what in last, (tool, last)

    optimizer = run_tool('tools/train.py', DEMO, '--work-dir', tmp_path, '--cfg-options',
                         'optim_wrapper.optimizer.type=AdamWW')
    assert optimizer.returncode != 0
    assert "optim_wrapper.optimizer.type 'AdamWW' is not registered in mmdet" in optimizer.stderr
    assert 'AdamW, ' in optimizer.stderr and 'SGD' in optimizer.stderr
    if not torch.cuda.is_available():
        amp = run_tool('tools/train.py', DEMO, '--amp', '--work-dir', tmp_path)
        assert amp.returncode != 0 and '--amp needs a CUDA device' in amp.stderr
