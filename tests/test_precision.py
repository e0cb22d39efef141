"""Low-precision inference (mmplug.precision): bf16 backbones of every
family and the fused convs in bf16, a bf16 detector, int8 quantization of
an exported backbone with onnxruntime, the errors, and
``tools/test.py --precision bf16``."""
import copy
import pickle
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmplug import EMO, ConvNeXt, FasterNet, InceptionNeXt, precision, switch_to_deploy
from mmplug.models.fusion import ConvAct, ConvAdd
from mmplug.precision import (
    LowPrecision,
    apply_precision,
    export_features,
    quantize_onnx,
    relative_error,
    sample_images,
    to_bf16,
)
from tests.helpers import DEMO, build_model, run_tool, write_demo_config

needs_bf16 = pytest.mark.skipif(not precision.bf16_supported(),
                                reason='this CPU has no native bfloat16')

# Relative errors of the features (relative_error): bfloat16 keeps 8 bits of
# mantissa; these models measured 0.5-0.8% from fp32 (the paper-scale ones
# 0.5-1.6%, tools/analysis/benchmark.py precision)
BF16_ERROR = 0.02
# int8 (uint8 activations, int8 weights): these measured 2.1-3.6% (the
# paper-scale ones, random weights, 3-8%)
INT8_ERROR = 0.08

SMALL = [
    (FasterNet, dict(arch='t0')),
    (EMO, dict(arch='1m')),
    (InceptionNeXt, dict(arch='atto')),
    (ConvNeXt, dict(arch=dict(depths=[1, 1, 2, 1], channels=[16, 32, 64, 128],
                              mlp_ratios=[4, 4, 4, 4]))),
]


def realistic(model: nn.Module) -> nn.Module:
    """Make every block count: layer scales 1 (they start at 1e-6), random
    BatchNorm statistics."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
        for name, p in model.named_parameters():
            if name.split('.')[-1] == 'gamma':
                p.fill_(1.0)
    return model.eval()


def small(cls, kwargs, refconv=False) -> nn.Module:
    torch.manual_seed(0)
    conv_cfg = dict(type='RefConv', map_init='random') if refconv else None
    return realistic(cls(**kwargs, conv_cfg=conv_cfg, init_cfg=None))


# -------------------------------------------------------------------- bf16
@needs_bf16
@pytest.mark.parametrize('refconv', [False, True], ids=['conv', 'refconv'])
@pytest.mark.parametrize('cls,kwargs', SMALL, ids=[c.__name__ for c, _ in SMALL])
def test_bf16_features_are_close_to_fp32(cls, kwargs, refconv):
    model = small(cls, kwargs, refconv)
    x = sample_images(2, 64, seed=3)
    with torch.no_grad():
        expected = switch_to_deploy(model)(x)
        wrapped = to_bf16(model)
        outs = wrapped(x)
    assert isinstance(wrapped, LowPrecision) and wrapped.module is model
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert len(outs) == len(expected)
    for out, ref in zip(outs, expected):
        assert out.dtype == torch.float32 and out.is_contiguous() and out.shape == ref.shape
    err = relative_error(outs, expected)
    assert 1e-4 < err < BF16_ERROR, err  # rounded, and only by rounding


def _ops(fn):
    from torch.profiler import profile
    with profile() as prof:
        fn()
    return {e.key for e in prof.key_averages()}


@needs_bf16
@pytest.mark.parametrize('channels_last', [True, False], ids=['channels_last', 'nchw'])
def test_fused_convs_run_in_bf16_and_other_dtypes_take_the_plain_path(channels_last):
    torch.manual_seed(0)
    conv_act = ConvAct.from_conv(nn.Conv2d(16, 32, 1), act=nn.GELU()).eval()
    conv_add = ConvAdd.from_conv(nn.Conv2d(16, 32, 1)).eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(2, 16, 8, 8).contiguous(memory_format=fmt)
    other = torch.randn(2, 32, 8, 8)
    with torch.no_grad():
        ref_act = F.gelu(F.conv2d(x, conv_act.weight, conv_act.bias))
        ref_add = F.conv2d(x, conv_add.weight, conv_add.bias) + other
        for m in (conv_act, conv_add):
            m.to(torch.bfloat16)
        xb, ob = x.bfloat16(), other.bfloat16()
        ops = _ops(lambda: (conv_act(xb), conv_add(xb, ob)))
        assert 'mkldnn::_convolution_pointwise' in ops and 'aten::gelu' not in ops
        assert conv_act(xb).dtype == torch.bfloat16
        assert relative_error(conv_act(xb), ref_act) < 1e-2
        assert relative_error(conv_add(xb, ob), ref_add) < 1e-2
        # float64: no oneDNN fusion; the plain composition, exactly
        for m in (conv_act, conv_add):
            m.double()
        xd, od = x.double(), other.double()
        ops = _ops(lambda: (conv_act(xd), conv_add(xd, od)))
        assert 'mkldnn::_convolution_pointwise' not in ops
        torch.testing.assert_close(conv_act(xd), F.gelu(F.conv2d(xd, conv_act.weight,
                                                                 conv_act.bias)))
        torch.testing.assert_close(conv_add(xd, od),
                                   F.conv2d(xd, conv_add.weight, conv_add.bias) + od)


@needs_bf16
def test_apply_precision_runs_backbone_and_neck_in_bf16_and_heads_in_fp32():
    detector = realistic(build_model(DEMO))
    x = sample_images(1, 64, seed=4)
    with torch.no_grad():
        expected = switch_to_deploy(detector).extract_feat(x)
        assert apply_precision(detector, 'bf16') is detector
        feats = detector.extract_feat(x)
    assert isinstance(detector.backbone, LowPrecision) and isinstance(detector.neck, LowPrecision)
    assert detector.backbone.out_indices == detector.backbone.module.out_indices  # stands in
    assert {p.dtype for p in detector.rpn_head.parameters()} == {torch.float32}
    assert {p.dtype for p in detector.backbone.parameters()} == {torch.bfloat16}
    assert all(f.dtype == torch.float32 for f in feats)
    assert 1e-4 < relative_error(feats, expected) < BF16_ERROR
    # applying it again changes nothing; a copy computes the same
    assert apply_precision(detector, 'bf16').backbone.module is detector.backbone.module
    with torch.no_grad():
        torch.testing.assert_close(copy.deepcopy(detector).extract_feat(x), feats)


# --------------------------------------------------------------------- int8
@pytest.mark.parametrize('cls,kwargs', SMALL[:2], ids=[c.__name__ for c, _ in SMALL[:2]])
def test_int8_quantization_of_an_exported_backbone(tmp_path, cls, kwargs):
    """Exported with a dynamic batch and image size (as a detector's image
    graph is), calibrated on other images of other sizes (a generator, as
    tools/deploy/onnx_test.py passes) than it is evaluated on."""
    pytest.importorskip('onnxruntime')
    import onnx
    model = switch_to_deploy(small(cls, kwargs))
    src, dst = str(tmp_path / 'fp32.onnx'), str(tmp_path / 'int8.onnx')
    export_features(model, sample_images(1, 64), src, dynamic_batch=True, dynamic_size=True)
    calibration = ({'image': sample_images(n, hw, seed=s).numpy()}
                   for s, n, hw in ((1, 3, (64, 64)), (2, 1, (96, 64))))
    assert quantize_onnx(src, dst, calibration) == dst
    ops = {n.op_type for n in onnx.load(dst).graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear'} <= ops
    x = sample_images(2, (64, 96), seed=100)
    with torch.no_grad():
        expected = model(x)
    fp32 = precision.ort_session(src, threads=1).run(None, {'image': x.numpy()})
    int8 = precision.ort_session(dst, threads=1).run(None, {'image': x.numpy()})
    assert relative_error(fp32, expected) < 1e-5
    err = relative_error(int8, expected)
    assert 1e-3 < err < INT8_ERROR, err
    # per op type, where the time goes: quantized convs
    times = precision.ort_op_times(dst, {'image': x.numpy()}, threads=1, runs=1)
    assert times['QLinearConv'] > 0 and 'Conv' not in times


def test_depthwise_convs_of_an_export_are_found(tmp_path):
    pytest.importorskip('onnxruntime')
    model = switch_to_deploy(small(*SMALL[2]))  # InceptionNeXt: depthwise token mixers
    path = str(tmp_path / 'm.onnx')
    export_features(model, torch.randn(1, 3, 64, 64), path)
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1
                 and m.groups == m.in_channels]
    assert len(precision.depthwise_conv_nodes(path)) == len(depthwise) > 0


# ------------------------------------------------------------------- errors
def test_unknown_precisions_and_formats_name_the_valid_ones(tmp_path):
    detector = build_model(DEMO)
    with pytest.raises(ValueError, match=r"'fp16'.*fp32, bf16.*quantize_onnx"):
        apply_precision(detector, 'fp16')
    with pytest.raises(ValueError, match='has no backbone'):
        apply_precision(nn.Conv2d(1, 1, 1), 'bf16')
    with pytest.raises(ValueError, match=r"'int4'.*qdq, qoperator"):
        quantize_onnx('a.onnx', 'b.onnx', [{}], quant_format='int4')
    with pytest.raises(ValueError, match='no calibration inputs'):
        quantize_onnx('a.onnx', 'b.onnx', [])
    with pytest.raises(ValueError, match=r"'fp16'"):
        precision.PrecisionHook('fp16')
    with pytest.raises(TypeError, match='already wrapped'):
        to_bf16(to_bf16(nn.Conv2d(3, 3, 1)))


def test_missing_onnxruntime_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import fails
    with pytest.raises(ImportError, match='pip install onnxruntime'):
        quantize_onnx('a.onnx', 'b.onnx', [{'image': np.zeros(1)}])
    with pytest.raises(ImportError, match='pip install onnxruntime'):
        precision.ort_session('a.onnx')


# -------------------------------------------------------------- the tool
@needs_bf16
def test_test_tool_in_bf16_predicts_as_in_fp32(tmp_path):
    """tools/test.py on the demo detector (initial weights, random
    BatchNorm statistics, every box kept): with ``--precision fp32`` it
    predicts what the model as configured does (so the switch to the deploy
    form came after the checkpoint was loaded), and with ``--precision
    bf16`` the same up to bfloat16's rounding."""
    cfg = write_demo_config(tmp_path, train=2, val=2,
                            model="dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))")
    torch.manual_seed(0)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': realistic(build_model(str(cfg))).state_dict(), 'meta': {}}, ckpt)
    results = {}
    for p in ('as configured', 'fp32', 'bf16'):
        extra = [] if p == 'as configured' else ['--precision', p]
        run = run_tool('tools/test.py', cfg, ckpt, *extra, '--work-dir', tmp_path / p[:4],
                       '--out', tmp_path / f'{p[:4]}.pkl')
        assert run.returncode == 0, run.stderr[-3000:]
        assert ('testing the deploy form' in run.stdout + run.stderr) == bool(extra)
        results[p] = [r['pred_instances'] for r in
                      pickle.loads((tmp_path / f'{p[:4]}.pkl').read_bytes())]
    assert len(results['bf16']) == 2
    for plain, fp32, bf16 in zip(*results.values()):
        assert len(plain['scores']) > 5
        torch.testing.assert_close(fp32['scores'], plain['scores'], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(fp32['bboxes'], plain['bboxes'], rtol=1e-4, atol=1e-3)
        # the best boxes' scores within bfloat16's rounding
        top = min(len(fp32['scores']), len(bf16['scores']), 10)
        torch.testing.assert_close(bf16['scores'][:top], fp32['scores'][:top], atol=0.03, rtol=0)
        assert not torch.equal(bf16['scores'][:top], fp32['scores'][:top])


def test_benchmark_precision_command_prints_speeds_errors_and_breakdowns(capsys):
    """A tiny run of ``benchmark.py precision`` (no speed is asserted: the
    targets live in the command)."""
    pytest.importorskip('onnxruntime')
    from tools.analysis import benchmark
    benchmark.main(['precision', 'configs/cls/fasternet_t0_in1k.py', '--batch', '1', '--size',
                    '64', '--repeats', '1', '--min-seconds', '0.01', '--calib-batches', '1',
                    '--threads', str(torch.get_num_threads()), '--profile', '3',
                    '--profile-all'])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith('| configs/'))
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert len(cells) == 12 and cells[-1].endswith(('ok', 'MISSED'))
    assert all(float(c.split()[0]) > 0 for c in cells[1:6])  # five speeds, timm's too
    bf16_error, int8_error = (float(c.rstrip('%')) / 100 for c in cells[9:11])
    assert 1e-4 < bf16_error < BF16_ERROR and 1e-3 < int8_error < INT8_ERROR
    assert 'where bf16 time goes' in out and 'where int8 time goes' in out
    assert 'QLinearConv' in out
