"""torch.compile: a compiled backbone computes what the eager one does, in
training (loss, gradients, BatchNorm statistics) and inference, deploy form
included; a config's ``compile`` trains through tools/train.py and writes a
checkpoint that loads into an eager model with the same keys; the options
and the inference hook.

Inductor's C++ compilation takes tens of seconds per graph on a small CPU,
so one small model goes through inductor; the other families go through
dynamo and AOT autograd without code generation (``backend='aot_eager'``),
where the errors and graph breaks of our code paths show."""
import copy
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmplug import switch_to_deploy
from mmplug.engine.compile import (
    CompileInferenceHook,
    compile_options,
    compile_step,
    enable_compile,
)
from mmplug.models import EMO, ConvNeXt, FasterNet, InceptionNeXt
from tests.helpers import ROOT, run_tool

TINY = {
    FasterNet: dict(arch=dict(depths=[1, 1, 2, 1], channels=[8, 16, 32, 64], act='GELU'),
                    conv_cfg=dict(type='RefConv'), layer_scale_init_value=0.1),
    InceptionNeXt: dict(arch=dict(depths=[1, 1, 2, 1], channels=[8, 16, 32, 64],
                                  mlp_ratios=[4, 4, 4, 3], band_kernel_size=9,
                                  branch_ratio=0.25)),
    ConvNeXt: dict(arch=dict(depths=[1, 1, 2, 1], channels=[8, 16, 32, 64], mlp_ratios=[4] * 4)),
    EMO: dict(arch=dict(depths=[1, 1, 2, 2], channels=[16, 24, 40, 80], exp_ratios=[2, 2, 3, 3],
                        head_dims=[8, 8, 20, 20]), stem_channels=16, window_size=2,
              out_indices=(0, 1, 2, 3, 4)),
}


def _tiny(cls, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    model = cls(**dict(TINY[cls], **kwargs), drop_path_rate=0.1, init_cfg=None)
    with torch.no_grad():  # running statistics far from the start, as a trained model's
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
            if hasattr(m, 'convmap') and m.convmap is not None:  # a RefConv map off zero
                m.convmap.weight.normal_(0, 0.1)
    return model


def _train_step(model, x, weights):
    model.train()
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)  # the same drop-path masks (inductor draws them as eager does)
    loss = sum((o * w).sum() for o, w in zip(model(x), weights))
    loss.backward()
    return loss.detach()


def _assert_compiled_equals_eager(cls, backend: str, deploy: bool = True, **kwargs):
    x = torch.randn(2, 3, 64, 64)
    eager = _tiny(cls, **kwargs)
    ours = copy.deepcopy(eager)
    compiled = torch.compile(ours, backend=backend)
    with torch.no_grad():
        shapes = [o.shape for o in eager.eval()(x)]
    g = torch.Generator().manual_seed(2)
    weights = [torch.randn(s, generator=g) for s in shapes]

    # training: loss, every gradient, the BatchNorm statistics it updates
    loss = _train_step(eager, x, weights)
    torch.testing.assert_close(_train_step(compiled, x, weights), loss, rtol=1e-5, atol=1e-4)
    scale = max(p.grad.abs().max() for p in eager.parameters() if p.grad is not None)
    for (name, p), q in zip(eager.named_parameters(), ours.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5 * scale,
                                       msg=lambda m, name=name: f'{name}: {m}')
    for (name, a), b in zip(eager.named_buffers(), ours.buffers()):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=lambda m, n=name: f'{n}: {m}')

    # inference, and the deploy form compiled (its fused convs take the plain path)
    with torch.no_grad():
        expected = eager.eval()(x)
        torch.testing.assert_close(compiled.eval()(x), expected, rtol=1e-5, atol=1e-5)
        if deploy:
            deployed = torch.compile(switch_to_deploy(copy.deepcopy(eager)), backend=backend)
            torch.testing.assert_close(deployed(x), expected, rtol=1e-4, atol=1e-4)
    assert list(ours.state_dict()) == list(eager.state_dict())  # the module is not renamed


def test_inductor_compiled_backbone_equals_eager():
    """A one-stage FasterNet with RefConv (partial conv in both forms, the
    refocusing map, layer scale, drop path) through inductor: training and
    inference, three graphs (the deploy form would be a fourth: its tracing
    is checked below). Each generated kernel is a C++ compilation: the
    smaller the model, the fewer kernels."""
    import torch._inductor.config as inductor_config
    # inductor draws the drop-path masks with ATen's generator, in eager's
    # order, instead of its own
    with inductor_config.patch(fallback_random=True):
        _assert_compiled_equals_eager(
            FasterNet, 'inductor', deploy=False, out_indices=0,
            arch=dict(depths=[2], channels=[16], act='GELU'))


@pytest.mark.parametrize('cls', list(TINY), ids=lambda c: c.__name__)
def test_traced_backbone_equals_eager(cls):
    _assert_compiled_equals_eager(cls, 'aot_eager')


def test_compile_options():
    assert compile_options(None) is None and compile_options(False) is None
    assert compile_options(True) == {}
    assert compile_options(dict(mode='max-autotune')) == dict(mode='max-autotune')
    with pytest.raises(ValueError, match=r"takes no \['target'\]; valid keys: .*mode"):
        compile_options(dict(target='forward'))
    with pytest.raises(ValueError, match="got 'yes'"):
        compile_options('yes')
    with pytest.raises(ValueError, match='unknown steps'):
        CompileInferenceHook(steps=['train_step'])


def test_inference_hook_compiles_each_step_once():
    from mmengine.config import Config

    class Model(nn.Module):
        def val_step(self, data):
            return data * 2

        def test_step(self, data):
            return data + 1

    model = Model()
    runner = types.SimpleNamespace(model=model, cfg=Config(dict(compile=dict(backend='eager'))))
    hook = CompileInferenceHook(steps=['val_step'])
    eager = model.val_step
    hook.before_val(runner)
    compiled = model.val_step
    assert compiled != eager and compiled.compiled_by_mmplug
    hook.before_val(runner)
    assert model.val_step is compiled  # not compiled twice
    hook.before_test(runner)
    assert not hasattr(model.test_step, 'compiled_by_mmplug')  # not asked for
    assert torch.equal(model.val_step(torch.ones(2)), torch.full((2, ), 2.0))
    with pytest.raises(ValueError, match="no method 'predict_step'"):
        compile_step(model, 'predict_step')

    cfg = Config(dict(compile=dict(mode='max-autotune'), custom_hooks=[]))
    enable_compile(cfg)
    enable_compile(cfg)
    assert cfg.compile == dict(mode='max-autotune')  # the config's options stay
    assert [h['type'] for h in cfg.custom_hooks] == ['CompileInferenceHook']
    cfg = Config(dict())
    enable_compile(cfg, train=False)
    assert 'compile' not in cfg and len(cfg.custom_hooks) == 1


def _tiny_classifier_config(tmp_path: Path) -> Path:
    """FasterNet-T0's classification config with a tiny FasterNet (RefConv)
    on 32x32 images of two classes, one epoch of two iterations."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for label in ('class_a', 'class_b'):
        folder = tmp_path / 'images' / label
        folder.mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
                folder / f'{i}.png')
    pipeline = "[dict(type='LoadImageFromFile'), dict(type='PackInputs')]"
    lines = [
        f"_base_ = {str(ROOT / 'configs/cls/fasternet_t0_in1k.py')!r}",
        "model = dict(backbone=dict(arch=dict(_delete_=True, depths=[1, 1, 1, 1], "
        "channels=[8, 16, 32, 64], act='GELU'), conv_cfg=dict(type='RefConv')), "
        "head=dict(in_channels=64, num_classes=2), data_preprocessor=dict(num_classes=2))",
        'train_cfg = dict(max_epochs=1)',
        "param_scheduler = [dict(type='ConstantLR', factor=1.0)]",
        'default_hooks = dict(logger=dict(interval=1))',
        "compile = dict(backend='aot_eager')",
        "val_evaluator = dict(type='Accuracy', topk=(1, ))",
        'test_evaluator = val_evaluator',
    ]
    for loader in ('train', 'val', 'test'):
        lines.append(
            f'{loader}_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
            f"dataset=dict(_delete_=True, type='CustomDataset', "
            f"data_root={str(tmp_path / 'images')!r}, pipeline={pipeline}))")
    cfg = tmp_path / 'cls_tiny.py'
    cfg.write_text('\n'.join(lines) + '\n')
    return cfg


def test_compiled_training_run_writes_an_eager_checkpoint(tmp_path):
    """tools/train.py --compile on a config with compile options: mmengine
    compiles train_step, the hook val_step, with those options; the
    checkpoint has the eager model's keys and loads into it."""
    from mmplug.apis import build_model, load_checkpoint
    from mmplug.models.checkpoint import read_checkpoint
    cfg = _tiny_classifier_config(tmp_path)
    work = tmp_path / 'work'
    result = run_tool('tools/train.py', cfg, '--work-dir', work, '--compile')
    assert result.returncode == 0, result.stderr[-4000:]
    assert 'Model has been "compiled"' in result.stdout  # mmengine: train_step
    assert "val_step is compiled (torch.compile {'backend': 'aot_eager'})" in result.stdout
    assert 'Epoch(train) [1][2/2]' in result.stdout and 'accuracy/top1' in result.stdout
    state = read_checkpoint(str(work / 'epoch_1.pth'))['state_dict']
    model = build_model(cfg)
    assert list(state) == list(model.state_dict())  # no _orig_mod. prefix
    before = model.backbone.stem[0].convmap.weight.detach().clone()
    load_checkpoint(model, str(work / 'epoch_1.pth'))
    assert not torch.equal(model.backbone.stem[0].convmap.weight, before)  # it trained
