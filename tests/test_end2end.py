"""Whole models to one end-to-end ONNX file (mmplug.deploy,
tools/deploy/export_onnx.py) and evaluated on a data set through it
(tools/deploy/onnx_test.py): every head family of configs/, against what
mmdet, mmseg and mmpretrain predict in PyTorch, at another batch and image
size than the export's, with padded images in the batch."""
import json
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmplug.apis import build_model
from mmplug.deploy.compare import check_end2end, match_detections
from mmplug.deploy.end2end import end2end
from mmplug.deploy.export import adaptive_avg_pool2d, export_end2end
from mmplug.deploy.quantize import NETWORK_SCOPES, quantize_dir
from tests.helpers import ROOT, run_tool, write_demo_config
from tests.test_deploy import randomize

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

#: One config per head family, with every backbone family (the demo's
#: FasterNet with RefConv layers), at a size for seconds.
MODELS = {
    'maskrcnn_fasternet_refconv': ('demo/fasternet_t0_maskrcnn_shapes', {
        'model.backbone.conv_cfg': dict(type='RefConv', map_init='random')}),
    'cascade_convnext': ('demo/convnext_t_cascade_shapes', {
        'model.backbone.arch': dict(_delete_=True, depths=[1, 1, 1, 1],
                                    channels=[16, 32, 64, 128], mlp_ratios=[4, 4, 4, 4]),
        'model.neck.in_channels': [16, 32, 64, 128]}),
    'retinanet_emo': ('demo/emo_1m_retinanet_shapes', {}),
    'ssdlite_emo': ('det/emo_1m_ssdlite', {}),
    'upernet_inceptionnext': ('demo/inceptionnext_atto_upernet_shapes', {}),
    'fpn_inceptionnext': ('seg/inceptionnext_t_fpn', {
        'model.backbone.arch': 'atto', 'model.neck.in_channels': [40, 80, 160, 320]}),
    'deeplabv3_emo': ('seg/emo_1m_deeplabv3', {'model.decode_head.channels': 64}),
    'pspnet_emo': ('seg/emo_1m_pspnet', {'model.decode_head.channels': 64}),
    'classifier_fasternet': ('cls/fasternet_t0_in1k', {}),
}


def small_model(name: str):
    config, overrides = MODELS[name]
    cfg = Config.fromfile(str(ROOT / 'configs' / f'{config}.py'))
    cfg.merge_from_dict(overrides)
    return cfg, randomize(build_model(cfg))


@pytest.mark.parametrize('shape', [(2, 3, 17, 23), (1, 4, 6, 6), (1, 2, 5, 9)])
def test_exportable_adaptive_pool_equals_pytorch(shape):
    x = torch.randn(shape)
    for size in (1, 2, 3, 6, (2, 4)):
        torch.testing.assert_close(adaptive_avg_pool2d(x, size), F.adaptive_avg_pool2d(x, size))


@pytest.mark.parametrize('name', list(MODELS))
def test_end2end_file_predicts_what_pytorch_predicts(tmp_path, name):
    cfg, model = small_model(name)
    meta = export_end2end(model, cfg, str(tmp_path), torch.randn(1, 3, 64, 64))
    path = str(tmp_path / 'end2end.onnx')
    assert json.loads((tmp_path / 'deploy.json').read_text()) == meta
    graph = onnx.load(path).graph
    assert {node.domain for node in graph.node} <= {'', 'ai.onnx'}  # standard operators only
    # the weights of inference (no auxiliary heads), once, and little else
    state = end2end(model).state_dict()
    weights = sum(t.numel() * t.element_size()
                  for t in {t.data_ptr(): t for t in state.values()}.values())
    assert 0.95 * weights < (tmp_path / 'end2end.onnx').stat().st_size < 1.06 * weights + 200_000
    # a batch of two 96x128 images, the second padded by 16 pixels each way
    found = check_end2end(model, path)
    task = meta['task']
    if task in ('detection', 'instance_segmentation'):
        ops = {node.op_type for node in graph.node}
        assert 'NonMaxSuppression' in ops
        assert found['matched'] > 0 and found['unmatched'] == found['ref_unmatched'] == 0, found
        assert found['score_diff'] < 1e-4, found
        if name.startswith(('maskrcnn', 'cascade')):
            assert 'RoiAlign' in ops
        if task == 'instance_segmentation':
            assert found['mask_agreement'] > 0.999, found
    elif task == 'semantic_segmentation':
        assert found['label_agreement'] > 0.9999, found
    else:
        assert found['score_error'] < 1e-4, found


def test_only_the_network_is_quantized(tmp_path):
    cfg, model = small_model('maskrcnn_fasternet_refconv')
    export_end2end(model, cfg, str(tmp_path), torch.randn(1, 3, 64, 64))
    nodes = onnx.load(str(tmp_path / 'end2end.onnx')).graph.node
    names = [n.name for n in nodes if n.op_type in ('Conv', 'Gemm', 'MatMul')]
    assert names and all(n.startswith(NETWORK_SCOPES) for n in names)
    boxes = [n.name for n in nodes if n.op_type in ('NonMaxSuppression', 'RoiAlign', 'TopK')]
    assert boxes and not any(n.startswith(NETWORK_SCOPES) for n in boxes)


def test_int8_file_quantizes_the_network_and_runs_on_both_engines(tmp_path):
    from mmplug_runtime import Predictor
    cfg, model = small_model('maskrcnn_fasternet_refconv')
    export_end2end(model, cfg, str(tmp_path), torch.randn(1, 3, 64, 64))
    gen = torch.Generator().manual_seed(2)
    calibration = [{'image': torch.randn(1, 3, 64, 96, generator=gen).numpy(),
                    'img_shape': np.array([[64.0, 96.0]], np.float32)} for _ in range(2)]
    quantize_dir(str(tmp_path), calibration, dict(images=2, source='random'))
    meta = json.loads((tmp_path / 'deploy.json').read_text())
    assert meta['files']['int8'] == 'end2end.int8.onnx' and meta['int8_calibration']['images'] == 2
    nodes = onnx.load(str(tmp_path / 'end2end.int8.onnx')).graph.node
    made_by = {out: n for n in nodes for out in n.output}
    assert sum(n.op_type == 'QuantizeLinear' for n in nodes) > 10
    for n in nodes:  # boxes and scores stay float32 (RoiAlign pools quantized features)
        if n.op_type in ('NonMaxSuppression', 'RoiAlign', 'TopK'):
            boxes = n.input[1:] if n.op_type == 'RoiAlign' else n.input
            assert all(made_by[i].op_type != 'DequantizeLinear' for i in boxes if i in made_by)
    image = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    for backend in ('onnxruntime', 'openvino'):
        result = Predictor(tmp_path, backend, 'int8').predict([image])[0]
        assert result['bboxes'].shape[1:] == (4, ) and result['masks'].shape[1:] == (70, 90)


def test_partial_conv_exports_as_a_conv_on_a_slice(tmp_path):
    cfg, model = small_model('classifier_fasternet')
    export_end2end(model, cfg, str(tmp_path), torch.randn(1, 3, 64, 64))
    ops = [node.op_type for node in onnx.load(str(tmp_path / 'end2end.onnx')).graph.node]
    n_pconv = sum(m.__class__.__name__ == 'PartialConv' for m in model.modules())
    assert n_pconv and 'ScatterND' not in ops and 'ScatterElements' not in ops
    assert ops.count('Split') + ops.count('Slice') >= n_pconv
    assert ops.count('Concat') >= n_pconv


def test_detections_are_matched_by_class_and_overlap():
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    same = match_detections(boxes, [0.9, 0.5], [1, 2], boxes, [0.9, 0.5], [1, 2])
    assert same['matched'] == 2 and same['score_diff'] == 0
    other = match_detections(boxes, [0.9, 0.5], [1, 1], boxes, [0.9, 0.5], [1, 2])
    assert other['matched'] == 1 and other['unmatched'] == other['ref_unmatched'] == 1
    assert other['unmatched_max_score'] == 0.5


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
    assert (tmp / 'o/end2end/end2end.onnx').is_file()
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
        m = match_detections(a['bboxes'].numpy(), a['scores'].numpy(), a['labels'].numpy(),
                             b['bboxes'].numpy(), b['scores'].numpy(), b['labels'].numpy())
        assert m['unmatched'] == m['ref_unmatched'] == 0 and m['score_diff'] < 1e-3, m


def test_onnx_test_evaluates_a_segmentor_as_pytorch(tmp_path):
    base = ROOT / 'configs/demo/inceptionnext_atto_upernet_shapes.py'
    cfg = write_demo_config(tmp_path, base=base, train=2, val=2, seg=True)
    model = randomize(build_model(str(cfg)))
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'random.pth')
    result = run_tool('tools/deploy/onnx_test.py', cfg, tmp_path / 'random.pth', '--work-dir',
                      tmp_path / 'o', '--compare', '--backend', 'openvino')
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split('|') for line in result.stdout.splitlines() if line.startswith('| mIoU')]
    assert rows and abs(float(rows[0][4])) < 0.01  # mIoU in percent


def test_onnx_test_says_what_is_missing(tmp_path):
    result = run_tool('tools/deploy/onnx_test.py', ROOT / 'configs/demo/emo_1m_retinanet_shapes.py',
                      tmp_path / 'none.pth')
    assert result.returncode != 0 and 'none.pth' in result.stderr
    assert 'Traceback' not in result.stderr
