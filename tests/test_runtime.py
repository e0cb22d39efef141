"""The runtime without PyTorch (mmplug_runtime, tools/deploy/infer.py and
benchmark.py) and the deploy.json parts read from configs
(mmplug.deploy.meta): preprocessing equal to OpenMMLab's pipelines and data
preprocessors, mask pasting and rescaling equal to mmdet's, label maps equal
to mmseg's, a spec for every config, both engines, the choice of the fastest
path, and the tools' imports and errors. The graphs here are tiny ones made
with onnx's helper API, with the inputs and outputs of the end-to-end files;
tools/runtime_test.sh runs the real exports."""
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmplug.apis import _registry
from mmplug.deploy.meta import data_preprocessor, deploy_meta, deployed_dataset
from mmplug_runtime import Predictor, choose, host_info, preprocess, read_spec
from mmplug_runtime.postprocess import detection_results, paste_masks, segmentation_results
from mmplug_runtime.preprocess import ImageMeta
from mmplug_runtime.results import decode_mask, encode_mask, label_map, to_json
from mmplug_runtime.selection import candidates, recorded
from tests.helpers import ROOT

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

#: What the runtime must not import.
TRAINING_STACK = ('torch', 'mmcv', 'mmengine', 'mmdet', 'mmseg', 'mmpretrain', 'mmplug')
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def write_images(folder: Path, sizes, suffix='.png'):
    """Textured colour images of the given (height, width), written as files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(sizes))
    paths = []
    for i, (h, w) in enumerate(sizes):
        coarse = rng.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3), dtype=np.uint8)
        img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        paths.append(folder / f'{i}_{h}x{w}{suffix}')
        cv2.imwrite(str(paths[-1]), img)
    return paths


# ------------------------------------------------------------- preprocessing
def openmmlab_batch(cfg: Config, paths):
    """The batch as test_step makes it: the config's test pipeline (without
    its annotations) and the model's data preprocessor."""
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.default_scope)
    pipeline = Compose([t for t in deployed_dataset(cfg)['pipeline']
                        if t['type'] != 'LoadAnnotations'])
    data = pseudo_collate([pipeline(dict(img_path=str(p), img_id=i)) for i, p in enumerate(paths)])
    dp = data_preprocessor(cfg)
    dp.setdefault('type', 'ClsDataPreprocessor')  # mmpretrain's classifiers' default
    out = _registry(cfg, 'MODELS').build(dp)(data, False)
    return out['inputs'].numpy(), out['data_samples']


#: Configs and overrides covering every transform and padding rule, and
#: whether the library takes images of different sizes in one batch.
PIPELINES = {
    'maskrcnn_demo': ('demo/fasternet_t0_maskrcnn_shapes', {}, True),
    'maskrcnn_coco': ('det/fasternet_s_maskrcnn', {}, True),
    'ssdlite_no_keep_ratio': ('det/emo_1m_ssdlite', {}, True),
    'det_pillow_resize': ('demo/emo_1m_retinanet_shapes', {'test_dataloader.dataset.pipeline': [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(50, 40), keep_ratio=True, backend='pillow',
             interpolation='bicubic'),
        dict(type='PackDetInputs')]}, True),
    'fpn_resize_to_multiple': ('seg/inceptionnext_t_fpn', {}, False),
    'upernet_pad_divisor': ('demo/inceptionnext_atto_upernet_shapes', {
        'model.data_preprocessor.test_cfg': dict(size_divisor=32)}, False),
    'upernet_pad_size': ('demo/inceptionnext_atto_upernet_shapes', {
        'model.data_preprocessor.test_cfg': dict(size=(64, 96))}, False),
    'cls_pillow_bicubic': ('cls/fasternet_t0_in1k', {}, True),
    'cls_long_edge_cv2': ('cls/emo_1m_in1k', {'test_dataloader.dataset.pipeline': [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=40, edge='long', backend='cv2', interpolation='bilinear'),
        dict(type='CenterCrop', crop_size=(48, 27)),
        dict(type='PackInputs')]}, True),
}


@pytest.fixture(scope='module')
def odd_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp('images')
    return (write_images(folder, [(37, 53), (61, 29), (50, 50)])
            + write_images(folder, [(33, 47)], suffix='.jpg'))


@pytest.mark.parametrize('name', list(PIPELINES))
def test_preprocessing_equals_the_pipeline_and_data_preprocessor(name, odd_images):
    """Exactly: the same OpenCV and Pillow calls on the same sizes, then
    float32 arithmetic in PyTorch's order."""
    config, overrides, mixed_sizes = PIPELINES[name]
    cfg = Config.fromfile(str(ROOT / 'configs' / f'{config}.py'))
    cfg.merge_from_dict(overrides)
    spec = deploy_meta(cfg)['preprocess']
    for batch in [odd_images] if mixed_sizes else [[p] for p in odd_images]:
        inputs, samples = openmmlab_batch(cfg, batch)
        ours = preprocess(batch, spec)
        assert ours.image.shape == inputs.shape and np.array_equal(ours.image, inputs), name
        for meta, sample, row in zip(ours.metas, samples, ours.img_shape):
            assert meta.ori_shape == tuple(sample.ori_shape)
            assert meta.img_shape == tuple(sample.img_shape) == tuple(row)
            if 'scale_factor' in sample:
                assert meta.scale_factor == tuple(sample.scale_factor)


def test_segmentor_batches_of_different_sizes_need_a_pad_rule(odd_images):
    cfg = Config.fromfile(str(ROOT / 'configs/demo/inceptionnext_atto_upernet_shapes.py'))
    with pytest.raises(ValueError, match=r'images of sizes .* must have one size'):
        preprocess(odd_images[:2], deploy_meta(cfg)['preprocess'])


# -------------------------------------------------------------- deploy_meta
CONFIGS = sorted(p.relative_to(ROOT / 'configs').as_posix()
                 for p in (ROOT / 'configs').rglob('*.py'))
TASK_OF_FOLDER = {'cls': {'classification'}, 'seg': {'semantic_segmentation'},
                  'det': {'detection', 'instance_segmentation'},
                  'demo': {'detection', 'instance_segmentation', 'semantic_segmentation'}}


def num_classes(model: dict) -> int:
    head = (model.get('roi_head') or {}).get('bbox_head') or model.get('bbox_head') \
        or model.get('decode_head') or model.get('head')
    return (head[0] if isinstance(head, list) else head)['num_classes']


@pytest.mark.parametrize('config', CONFIGS)
def test_deploy_meta_of_every_config(config):
    cfg = Config.fromfile(str(ROOT / 'configs' / config))
    meta = deploy_meta(cfg)
    assert meta['task'] in TASK_OF_FOLDER[config.split('/')[0]]
    assert len(meta['classes']) == num_classes(cfg.model)
    spec = meta['preprocess']
    assert spec['pipeline'][0]['type'] == 'LoadImageFromFile'
    assert len(spec['mean']) == len(spec['std']) == 3 and spec['bgr_to_rgb']
    json.dumps(meta)  # plain types only
    if meta['task'] == 'instance_segmentation':
        assert meta['postprocess']['mask_thr_binary'] == 0.5
    if meta['task'] in ('detection', 'instance_segmentation'):
        assert meta['postprocess']['max_per_img'] > 0 and meta['postprocess']['score_thr'] > 0


def test_deploy_meta_names_what_it_cannot_run():
    cfg = Config.fromfile(str(ROOT / 'configs/demo/fasternet_t0_maskrcnn_shapes.py'))
    pipeline = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = pipeline[:1] + [dict(type='RandomFlip', prob=1.0)]
    with pytest.raises(ValueError, match=r'RandomFlip is not supported .* supported: '
                       r'LoadImageFromFile, Resize, ResizeEdge, CenterCrop'):
        deploy_meta(cfg)
    cfg.test_dataloader.dataset.pipeline = pipeline[:1] + [dict(type='Resize', scale_factor=0.5)]
    with pytest.raises(ValueError, match=r'Resize option\(s\) scale_factor not supported; '
                       r'supported: scale, keep_ratio'):
        deploy_meta(cfg)
    cfg.test_dataloader.dataset.pipeline = pipeline
    cfg.default_scope = 'mmocr'
    with pytest.raises(ValueError, match="default_scope 'mmocr'"):
        deploy_meta(cfg)


# ---------------------------------------------------------- post-processing
def random_boxes(rng, n, height, width):
    """Boxes inside an image as mmdet gives them (clipped), some tiny, some
    of zero width."""
    x0, y0 = rng.uniform(0, width - 1, n), rng.uniform(0, height - 1, n)
    size = np.where(rng.random((2, n)) < 0.2, rng.uniform(0.1, 3, (2, n)),
                    rng.uniform(3, 60, (2, n)))
    boxes = np.stack([x0, y0, np.minimum(x0 + size[0], width), np.minimum(y0 + size[1], height)],
                     1).astype(np.float32)
    boxes[:3, 2] = boxes[:3, 0]
    return boxes


def test_mask_pasting_equals_mmdets():
    """Pixel for pixel, and the probabilities to the bit on a CPU with FMA
    (every x86-64 CPU PyTorch vectorizes for)."""
    from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
    rng = np.random.default_rng(0)
    height, width, n = 71, 97, 120
    masks = rng.random((n, 28, 28)).astype(np.float32)
    boxes = random_boxes(rng, n, height, width)
    theirs = torch.zeros(n, height, width)
    for k in range(n):  # one box at a time, as mmdet on the CPU
        pasted, region = _do_paste_mask(torch.from_numpy(masks[k:k + 1, None]),
                                        torch.from_numpy(boxes[k:k + 1].copy()), height, width)
        theirs[(torch.tensor([k]), ) + region] = pasted
    theirs = theirs.numpy()
    assert np.array_equal(paste_masks(masks, boxes, height, width, threshold=None), theirs)
    binary = paste_masks(masks, boxes, height, width, threshold=0.5)
    assert binary.any() and np.array_equal(binary, theirs >= 0.5)


def test_detections_equal_mmdets_rescaling_and_mask_head():
    from mmdet.models.roi_heads.mask_heads import FCNMaskHead
    from mmdet.structures.bbox import scale_boxes
    from mmengine.config import ConfigDict
    rng = np.random.default_rng(1)
    n, classes, ori_shape, scale = 30, 3, (57, 83), (128 / 83, 88 / 57)
    boxes = random_boxes(rng, n, 88, 128)
    labels = rng.integers(0, classes, n)
    probs = rng.random((n, classes, 28, 28)).astype(np.float32)
    dets = np.concatenate([boxes, rng.random((n, 1), np.float32)], 1)
    outputs = dict(dets=np.concatenate([dets, np.zeros((5, 5), np.float32)])[None],
                   labels=np.concatenate([labels, -np.ones(5, np.int64)])[None],
                   masks=np.concatenate([probs[np.arange(n), labels],
                                         np.zeros((5, 28, 28), np.float32)])[None])
    meta = ImageMeta(ori_shape, (88, 128), scale)
    ours = detection_results(outputs, [meta], mask_thr_binary=0.5)[0]
    # mmdet's loss, whichever library's scope an earlier test left as the default
    head = FCNMaskHead(num_convs=0, num_classes=classes,
                       loss_mask=dict(type='mmdet.CrossEntropyLoss', use_mask=True))
    bboxes = torch.from_numpy(boxes.copy())
    masks = head._predict_by_feat_single(
        torch.from_numpy(probs), bboxes, torch.from_numpy(labels),
        dict(scale_factor=scale, ori_shape=ori_shape), ConfigDict(mask_thr_binary=0.5),
        rescale=True, activate_map=True)
    assert np.array_equal(ours['bboxes'], bboxes.numpy())  # rescaled in place by mmdet
    assert np.array_equal(ours['masks'], masks.numpy()) and ours['masks'].any()
    assert np.array_equal(ours['labels'], labels) and np.array_equal(ours['scores'], dets[:, 4])
    del outputs['masks']  # a detector without masks: mmdet multiplies by the inverse
    ours = detection_results(outputs, [meta])[0]
    theirs = scale_boxes(torch.from_numpy(boxes), [1 / s for s in scale]).numpy()
    assert 'masks' not in ours and np.array_equal(ours['bboxes'], theirs)


def test_label_maps_equal_mmsegs_where_the_pipeline_does_not_resize():
    from mmseg.models.segmentors.base import BaseSegmentor
    from mmseg.structures import SegDataSample
    rng = np.random.default_rng(2)
    logits = torch.from_numpy(rng.normal(size=(2, 5, 40, 48)).astype(np.float32))
    shapes = [(40, 48), (33, 41)]  # the second padded at the bottom and right
    samples = [SegDataSample(metainfo=dict(img_shape=s, ori_shape=s,
                                           padding_size=[0, 48 - s[1], 0, 40 - s[0]]))
               for s in shapes]
    theirs = BaseSegmentor.postprocess_result(SimpleNamespace(align_corners=False), logits,
                                              samples)
    ours = segmentation_results(dict(labels=logits.argmax(1).numpy()),
                                [ImageMeta(s, s) for s in shapes])
    for a, b in zip(ours, theirs):
        assert np.array_equal(a['sem_seg'], b.pred_sem_seg.data[0].numpy())


def test_label_maps_resize_by_nearest_neighbour():
    labels = np.arange(6).reshape(1, 2, 3)
    padded = np.pad(labels, ((0, 0), (0, 1), (0, 2)), constant_values=9)
    out = segmentation_results(dict(labels=padded), [ImageMeta((4, 6), (2, 3))])[0]['sem_seg']
    assert np.array_equal(out, labels[0].repeat(2, 0).repeat(2, 1))


def test_masks_as_cocos_uncompressed_rle():
    from pycocotools import mask as coco_mask
    rng = np.random.default_rng(3)
    for mask in [rng.random((7, 9)) < 0.3, np.ones((4, 5), bool), np.zeros((3, 2), bool)]:
        rle = encode_mask(mask)
        assert np.array_equal(decode_mask(rle), mask)
        coco = coco_mask.frPyObjects(rle, *mask.shape)
        assert np.array_equal(coco_mask.decode(coco).astype(bool), mask)
    sem_seg = rng.integers(0, 4, (6, 5))
    assert np.array_equal(label_map(to_json(dict(sem_seg=sem_seg), 'semantic_segmentation',
                                            [])['sem_seg']), sem_seg)


# ------------------------------------------------- tiny end-to-end graphs
K, M = 4, 8


def tiny_graph(task: str, path: Path) -> None:
    """A graph with the end-to-end inputs and outputs of ``task``: a
    detector's first detection is the whole image (x1, y1, x2, y2 from
    ``img_shape``, score 0.9, class 0), its second one fixed (class 1), the
    rest padding; a segmentor labels each pixel with its largest channel; a
    classifier scores the channels' means."""
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    inputs = [helper.make_tensor_value_info('image', f32, ['N', 3, 'H', 'W'])]
    if task == 'classification':
        axes = const('axes', np.array([2, 3]))
        node('Softmax', [node('ReduceMean', ['image', axes], 'mean', keepdims=0)], 'scores',
             axis=1)
        outputs = [helper.make_tensor_value_info('scores', f32, ['N', 3])]
    elif task == 'semantic_segmentation':
        node('ArgMax', ['image'], 'labels', axis=1, keepdims=0)
        outputs = [helper.make_tensor_value_info('labels', i64, ['N', 'H', 'W'])]
    else:
        inputs.append(helper.make_tensor_value_info('img_shape', f32, ['N', 2]))
        one, two, axis1 = const('one', np.array([1])), const('two', np.array([2])), 'one'
        w = node('Slice', ['img_shape', one, two, axis1], 'w')
        h = node('Slice', ['img_shape', const('zero', np.array([0])), one, axis1], 'h')
        zero = node('Mul', [w, const('f0', np.float32(0))], 'z')
        score = node('Add', [zero, const('f09', np.float32(0.9))], 'score')
        first = node('Concat', [zero, zero, w, h, score], 'first', axis=1)
        first = node('Unsqueeze', [first, one], 'first3')
        zero3 = node('Unsqueeze', [zero, two], 'z3')
        rest = np.zeros((1, K - 1, 5), np.float32)
        rest[0, 0] = [5, 6, 20, 30, 0.8]
        rest = node('Add', [zero3, const('rest', rest)], 'rest3')
        node('Concat', [first, rest], 'dets', axis=1)
        labels = np.array([[0, 1] + [-1] * (K - 2)])
        node('Add', [node('Cast', [zero], 'zi', to=i64), const('labels0', labels)], 'labels')
        outputs = [helper.make_tensor_value_info('dets', f32, ['N', K, 5]),
                   helper.make_tensor_value_info('labels', i64, ['N', K])]
        if task == 'instance_segmentation':
            masks = np.random.default_rng(0).random((1, K, M, M)).astype(np.float32)
            zero4 = node('Unsqueeze', [zero3, const('three', np.array([3]))], 'z4')
            node('Add', [zero4, const('masks0', masks)], 'masks')
            outputs.append(helper.make_tensor_value_info('masks', f32, ['N', K, M, M]))
    graph = helper.make_graph(nodes, 'tiny', inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 20)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def tiny_dir(tmp_path: Path, task: str, int8: bool = False) -> Path:
    """A folder of end-to-end files of a tiny graph, as the export writes it."""
    folder = tmp_path / task
    folder.mkdir()
    tiny_graph(task, folder / 'end2end.onnx')
    files = dict(fp32='end2end.onnx')
    if int8:  # the same graph stands in for a quantized one
        (folder / 'end2end.int8.onnx').write_bytes((folder / 'end2end.onnx').read_bytes())
        files['int8'] = 'end2end.int8.onnx'
    pipeline = [dict(type='LoadImageFromFile')]
    if task == 'classification':
        pipeline += [dict(type='ResizeEdge', scale=40, edge='short', backend='pillow',
                          interpolation='bicubic'), dict(type='CenterCrop', crop_size=32)]
    else:
        pipeline.append(dict(type='Resize', scale=[48, 40], keep_ratio=True))
    spec = dict(format='mmplug-end2end', version=1, task=task, model='end2end.onnx',
                files=files, classes=['circle', 'square', 'triangle'],
                palette=[[220, 20, 60], [0, 128, 255], [255, 200, 0]],
                preprocess=dict(pipeline=pipeline, mean=MEAN, std=STD, bgr_to_rgb=True,
                                pad_size_divisor=None if task == 'classification' else 8,
                                pad_size=None, pad_value=0),
                postprocess=dict(score_thr=0.05, max_per_img=K, mask_thr_binary=0.5),
                engine=None)
    (folder / 'deploy.json').write_text(json.dumps(spec))
    return folder


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_predictor_on_each_engine(tmp_path, backend, odd_images):
    if backend == 'openvino':
        pytest.importorskip('openvino')
    folder = tiny_dir(tmp_path, 'instance_segmentation')
    results = Predictor(folder, backend, threads=1).predict(odd_images[:2])
    for result, path in zip(results, odd_images):
        height, width = result['meta'].ori_shape
        assert (height, width) == cv2.imread(str(path)).shape[:2]
        ws, hs = result['meta'].scale_factor
        assert result['labels'].tolist() == [0, 1]  # padding dropped
        np.testing.assert_allclose(result['bboxes'], [[0, 0, width, height],
                                                      [5 / ws, 6 / hs, 20 / ws, 30 / hs]],
                                   rtol=1e-6)
        masks = np.random.default_rng(0).random((K, M, M)).astype(np.float32)[:2]
        assert np.array_equal(result['masks'], paste_masks(masks, result['bboxes'], height,
                                                           width))
    folder = tiny_dir(tmp_path, 'semantic_segmentation')
    result = Predictor(folder, backend).predict(odd_images[:1])[0]
    batch = preprocess(odd_images[:1], read_spec(folder)['preprocess'])
    h, w = batch.metas[0].img_shape
    expected = segmentation_results(dict(labels=batch.image.argmax(1)), batch.metas)[0]
    assert (h, w) != result['sem_seg'].shape and np.array_equal(result['sem_seg'],
                                                                  expected['sem_seg'])


def run_tool_alone(tool: Path, *args, cwd: Path) -> subprocess.CompletedProcess:
    """Run a tool in a fresh interpreter, then print which packages of the
    training stack it imported (``LOADED [...]``)."""
    argv = [str(tool), *map(str, args)]
    code = (f'import runpy, sys\nsys.argv = {argv!r}\n'
            f'runpy.run_path({str(tool)!r}, run_name="__main__")\n'
            f'print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in '
            f'{TRAINING_STACK!r}))\n')
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_infer_imports_no_training_package_and_writes_json_and_drawings(tmp_path, odd_images,
                                                                        backend):
    if backend == 'openvino':
        pytest.importorskip('openvino')
    folder = tiny_dir(tmp_path, 'instance_segmentation')
    out, show = tmp_path / 'preds.json', tmp_path / 'show'
    result = run_tool_alone(ROOT / 'tools/deploy/infer.py', folder, *odd_images[:2], '--backend',
                            backend, '--precision', 'fp32', '--threads', '1', '--out', out,
                            '--show', show, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'LOADED []' in result.stdout
    assert '2 detections (circle 0.90, square 0.80, ...)' in result.stdout
    preds = json.loads(out.read_text())
    assert preds['backend'] == backend and preds['precision'] == 'fp32'
    first = preds['predictions'][0]
    assert first['classes'] == ['circle', 'square'] and len(first['masks']) == 2
    assert decode_mask(first['masks'][0]).shape == tuple(first['ori_shape'])
    assert sorted(p.name for p in show.iterdir()) == sorted(p.name for p in odd_images[:2])


def test_benchmark_records_the_fastest_path_that_auto_takes(tmp_path, odd_images):
    folder = tiny_dir(tmp_path, 'classification', int8=True)
    result = run_tool_alone(ROOT / 'tools/deploy/benchmark.py', folder, '--seconds', '0.3',
                            '--threads', '1', cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'LOADED []' in result.stdout
    entry = read_spec(folder)['engine']
    host = host_info(measure=False)
    assert entry['host']['cpu'] == host['cpu'] and entry['host']['matmul_fp32_gflops'] > 0
    assert entry['threads'] == 1
    assert set(entry['timings_ms']) == {f'{b}/{p}' for b, p in candidates(read_spec(folder),
                                                                         host)}
    assert f'{entry["backend"]}/{entry["precision"]}' == min(entry['timings_ms'],
                                                             key=entry['timings_ms'].get)
    assert result.stdout.startswith(f'host: {host["cpu"]}')
    assert f'| {entry["backend"]} | {entry["precision"]} |' in result.stdout
    # auto takes the record on this host and these threads; other threads time anew
    assert recorded(read_spec(folder), host, 1) == entry
    assert recorded(read_spec(folder), host, 2) is None
    result = run_tool_alone(ROOT / 'tools/deploy/infer.py', folder, odd_images[0], '--precision',
                            'auto', '--threads', '1', cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'{entry["backend"]} {entry["precision"]}' in result.stdout
    assert f'the fastest path on this host, timed {entry["measured"]}' in result.stdout
    assert read_spec(folder)['engine'] == entry


def test_candidates_follow_the_files_and_the_host(tmp_path):
    spec = read_spec(tiny_dir(tmp_path, 'classification', int8=True))
    plain = dict(cpu='x', flags=['avx2'], threads=2)
    assert candidates(spec, plain) == [('onnxruntime', 'fp32'), ('onnxruntime', 'int8'),
                                       ('openvino', 'fp32'), ('openvino', 'int8')]
    bf16 = dict(plain, flags=['avx512f', 'avx512_bf16'])
    assert ('openvino', 'bf16') in candidates(spec, bf16)
    assert ('onnxruntime', 'bf16') not in candidates(spec, bf16)
    del spec['files']['int8']
    assert candidates(spec, plain, ['onnxruntime']) == [('onnxruntime', 'fp32')]


def test_choose_times_every_candidate_in_interleaved_rounds(tmp_path):
    folder = tiny_dir(tmp_path, 'semantic_segmentation', int8=True)
    entry = choose(folder, ['onnxruntime'], seconds=0.2, record=False)
    assert entry['rounds'] >= 1 and set(entry['timings_ms']) == {'onnxruntime/fp32',
                                                                 'onnxruntime/int8'}
    assert read_spec(folder)['engine'] is None  # not recorded


# ------------------------------------------------------------------- errors
def run_infer(*args, cwd: Path) -> subprocess.CompletedProcess:
    tool = ROOT / 'tools/deploy/infer.py'
    return subprocess.run([sys.executable, str(tool), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_infer_errors_name_the_bad_value_and_the_choices(tmp_path, odd_images):
    folder = tiny_dir(tmp_path, 'detection')
    image = odd_images[0]
    cases = [
        ((tmp_path / 'none', image), 'is not a folder of end-to-end files'),
        ((tmp_path, image), 'holds no deploy.json'),
        ((folder, tmp_path / 'missing.png'), 'missing.png\' not found'),
        ((folder, image, '--backend', 'tensorrt'),
         "invalid choice: 'tensorrt' (choose from 'onnxruntime', 'openvino')"),
        ((folder, image, '--precision', 'fp16'),
         "invalid choice: 'fp16' (choose from 'fp32', 'int8', 'bf16', 'auto')"),
        ((folder, image, '--precision', 'int8'),
         "holds no int8 file for precision 'int8'; it has: bf16, fp32"),
        ((folder, image, '--backend', 'onnxruntime', '--precision', 'bf16'),
         'precision bf16 runs on the openvino backend only'),
    ]
    for args, message in cases:
        result = run_infer(*args, cwd=tmp_path)
        assert result.returncode != 0 and 'Traceback' not in result.stderr, args
        # argparse quotes the choices in some Python versions only
        assert message.replace("'", '') in result.stderr.replace("'", ''), (args, result.stderr)


def test_bf16_is_refused_on_a_host_without_it(tmp_path, monkeypatch):
    import mmplug_runtime.predictor
    folder = tiny_dir(tmp_path, 'classification')
    monkeypatch.setattr(mmplug_runtime.predictor, 'host_info',
                        lambda measure: dict(cpu='Old CPU', flags=['avx2']))
    with pytest.raises(ValueError, match=r'precision bf16: this CPU \(Old CPU\) has none of '
                       r'avx512_bf16, amx_bf16'):
        Predictor(folder, precision='bf16')


def test_a_missing_engine_names_its_package(tmp_path, monkeypatch):
    import mmplug_runtime.engines as engines

    def missing(name):
        raise ImportError(f'No module named {name!r}')
    monkeypatch.setattr(engines.importlib, 'import_module', missing)
    folder = tiny_dir(tmp_path, 'classification')
    with pytest.raises(ImportError, match=r'needs the package openvino: pip install openvino '
                       r'\(or mmplug\[openvino\]\)'):
        Predictor(folder, 'openvino')
    with pytest.raises(ImportError, match=r'pip install onnxruntime \(or mmplug\[runtime\]\)'):
        Predictor(folder)
