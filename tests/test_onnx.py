"""Whole models to ONNX (mmplug.onnx_model, tools/deploy/export_onnx.py)
and evaluated with onnxruntime (tools/deploy/onnx_test.py): every kind of
model head the configs use, at another batch and image size than the
export's; partial convolution as a conv on a slice; file sizes; the test
tool's metrics and predictions against PyTorch's."""
import pickle

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmplug.apis import build_model
from mmplug.onnx_model import (
    adaptive_avg_pool2d,
    check_onnx,
    export_onnx,
    onnxruntime_model,
    part_modules,
)
from tests.helpers import ROOT, run_tool, write_demo_config
from tests.test_deploy import randomize

pytest.importorskip('onnxruntime')

#: One config per kind of head on the feature maps and of RoI head, with
#: every backbone family (the demo's FasterNet with RefConv layers).
MODELS = {
    'maskrcnn_fasternet_refconv': ('demo/fasternet_t0_maskrcnn_shapes', {
        'model.backbone.conv_cfg': dict(type='RefConv', map_init='random')}),
    'cascade_convnext': ('demo/convnext_t_cascade_shapes', {
        'model.backbone.arch': dict(_delete_=True, depths=[1, 1, 1, 1],
                                    channels=[16, 32, 64, 128], mlp_ratios=[4, 4, 4, 4]),
        'model.neck.in_channels': [16, 32, 64, 128]}),
    'retinanet_emo': ('demo/emo_1m_retinanet_shapes', {}),
    'upernet_inceptionnext': ('demo/inceptionnext_atto_upernet_shapes', {}),
    'fpn_inceptionnext': ('seg/inceptionnext_t_fpn', {
        'model.backbone.arch': 'atto', 'model.neck.in_channels': [40, 80, 160, 320]}),
    'classifier_fasternet': ('cls/fasternet_t0_in1k', {}),
}


def small_model(name: str):
    config, overrides = MODELS[name]
    cfg = Config.fromfile(str(ROOT / 'configs' / f'{config}.py'))
    cfg.merge_from_dict(overrides)
    return randomize(build_model(cfg))


@pytest.mark.parametrize('shape', [(2, 3, 17, 23), (1, 4, 6, 6), (1, 2, 5, 9)])
def test_exportable_adaptive_pool_equals_pytorch(shape):
    x = torch.randn(shape)
    for size in (1, 2, 3, 6, (2, 4)):
        torch.testing.assert_close(adaptive_avg_pool2d(x, size), F.adaptive_avg_pool2d(x, size))


@pytest.mark.parametrize('name', list(MODELS))
def test_whole_model_export_matches_pytorch_at_any_batch_and_size(tmp_path, name):
    model = small_model(name)
    parts = export_onnx(model, str(tmp_path / 'model.onnx'), torch.randn(1, 3, 64, 64))
    roi_heads = [p.part for p in parts[1:]]
    if name == 'maskrcnn_fasternet_refconv':
        assert roi_heads == ['roi_head.bbox_head', 'roi_head.mask_head']
    elif name == 'cascade_convnext':
        assert roi_heads == [f'roi_head.{k}_head.{i}' for k in ('bbox', 'mask') for i in range(3)]
    else:
        assert roi_heads == []
    # the example, then a batch of 2 images of 96x96 (RoI heads: 4 RoIs)
    assert check_onnx(parts, part_modules(model)) < 1e-4
    for p in parts:  # the weights, once, and little else
        assert 0.95 * p.tensor_bytes < p.file_bytes < 1.06 * p.tensor_bytes + 100_000, p


def test_partial_conv_exports_as_a_conv_on_a_slice(tmp_path):
    import onnx
    model = small_model('classifier_fasternet')
    out = str(tmp_path / 'fasternet.onnx')
    export_onnx(model, out, torch.randn(1, 3, 64, 64))
    ops = [node.op_type for node in onnx.load(out).graph.node]
    n_pconv = sum(m.__class__.__name__ == 'PartialConv' for m in model.modules())
    assert n_pconv and 'ScatterND' not in ops and 'ScatterElements' not in ops
    # each partial conv: the input split in two, a conv on the first part,
    # the two joined again
    assert ops.count('Split') + ops.count('Slice') >= n_pconv
    assert ops.count('Concat') >= n_pconv


def test_onnxruntime_model_runs_no_learned_layer_in_pytorch(tmp_path):
    model = small_model('maskrcnn_fasternet_refconv')
    out = str(tmp_path / 'model.onnx')
    export_onnx(model, out, torch.randn(1, 3, 64, 64))
    onnxruntime_model(model, out)
    from mmplug.analysis.complexity import data_sample
    data = dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)],
                data_samples=[data_sample(model, (64, 64))])
    with torch.no_grad(), torch.profiler.profile() as prof:
        model.test_step(data)
    ops = {e.name for e in prof.events()}
    assert not ops & {'aten::conv2d', 'aten::linear', 'aten::conv_transpose2d', 'aten::addmm'}
    assert {'RoIAlignFunction', 'NMSop'} <= ops  # the post-processing, in PyTorch


def test_a_file_of_another_part_is_refused(tmp_path):
    model = small_model('maskrcnn_fasternet_refconv')
    out = tmp_path / 'model.onnx'
    export_onnx(model, str(out), torch.randn(1, 3, 64, 64))
    (tmp_path / 'model.roi_head.bbox_head.onnx').write_bytes(
        (tmp_path / 'model.roi_head.mask_head.onnx').read_bytes())
    with pytest.raises(ValueError, match="holds the part 'roi_head.mask_head'"):
        onnxruntime_model(model, str(out))
    with pytest.raises(FileNotFoundError, match='not found'):
        onnxruntime_model(model, str(tmp_path / 'missing.onnx'))


# ------------------------------------------------------ the tools, end to end
@pytest.fixture(scope='module')
def demo_checkpoint(tmp_path_factory):
    """The tiny demo Mask R-CNN with random weights and norm statistics,
    keeping every box (boxes and masks to compare), with its config and
    checkpoint."""
    tmp = tmp_path_factory.mktemp('onnx_demo')
    cfg = write_demo_config(tmp, train=2, val=2,
                            model='dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))')
    torch.manual_seed(0)
    model = randomize(build_model(str(cfg)))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp / 'model.pth')
    return tmp, cfg, tmp / 'model.pth'


def test_onnx_test_gives_pytorchs_metrics_and_predictions(demo_checkpoint):
    tmp, cfg, ckpt = demo_checkpoint
    torch_run = run_tool('tools/test.py', cfg, ckpt, '--work-dir', tmp / 't', '--out',
                         tmp / 'torch.pkl')
    assert torch_run.returncode == 0, torch_run.stderr[-3000:]
    ort_run = run_tool('tools/deploy/onnx_test.py', cfg, ckpt, '--work-dir', tmp / 'o',
                       '--compare', '--out', tmp / 'ort.pkl')
    assert ort_run.returncode == 0, ort_run.stderr[-3000:]
    assert (tmp / 'o/demo_tiny.onnx').is_file()
    rows = {line.split('|')[1].strip(): line.split('|')[2:-1]
            for line in ort_run.stdout.splitlines() if line.startswith('| coco/')}
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(rows)
    for name, (torch_value, ort_value, diff) in rows.items():
        assert abs(float(diff)) < 0.005, (name, torch_value, ort_value)
    ours = pickle.loads((tmp / 'ort.pkl').read_bytes())
    theirs = pickle.loads((tmp / 'torch.pkl').read_bytes())
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        a, b = a['pred_instances'], b['pred_instances']
        assert len(b['scores']) > 0
        torch.testing.assert_close(a['scores'], b['scores'], rtol=1e-3, atol=1e-4)
        torch.testing.assert_close(a['bboxes'], b['bboxes'], rtol=1e-3, atol=1e-2)


def test_onnx_test_evaluates_a_segmentor_as_pytorch(tmp_path):
    base = ROOT / 'configs/demo/inceptionnext_atto_upernet_shapes.py'
    cfg = write_demo_config(tmp_path, base=base, train=2, val=2, seg=True)
    model = randomize(build_model(str(cfg)))
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'random.pth')
    result = run_tool('tools/deploy/onnx_test.py', cfg, tmp_path / 'random.pth', '--work-dir',
                      tmp_path / 'o', '--compare')
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split('|') for line in result.stdout.splitlines() if line.startswith('| mIoU')]
    assert rows and abs(float(rows[0][4])) < 0.05  # mIoU in percent


def test_onnx_test_says_what_is_missing(tmp_path):
    result = run_tool('tools/deploy/onnx_test.py', ROOT / 'configs/demo/emo_1m_retinanet_shapes.py',
                      tmp_path / 'none.pth', '--onnx', tmp_path / 'none.onnx')
    assert result.returncode != 0 and "--onnx" in result.stderr and 'not found' in result.stderr
