"""int8 end-to-end files: the network of ``end2end.onnx`` quantized
statically with onnxruntime (QDQ: QuantizeLinear/DequantizeLinear pairs
around float ops, which onnxruntime and OpenVINO both run as int8 kernels),
calibrated on real images read as the test pipeline reads them.

Only the learned layers are quantized: the backbone, neck and heads. Box
decoding, NMS, pooling and the final argmax stay in float32, where a
quantized coordinate would move boxes by a whole quantization step.
"""
import os.path as osp
import tempfile
from typing import Dict, Iterable, Iterator, Optional, Sequence

import numpy as np

#: Where the learned layers of the end-to-end modules sit (their ONNX node
#: names start with the module path; :mod:`mmplug.deploy.end2end`).
NETWORK_SCOPES = ('/backbone/', '/neck/', '/head/', '/rpn/head/', '/bbox_heads.', '/mask_heads.')
INT8_GRAPH = 'end2end.int8.onnx'


class _Calibration:
    """onnxruntime's CalibrationDataReader over dicts of arrays."""

    def __init__(self, inputs: Iterable[Dict[str, np.ndarray]]):
        self.inputs = iter(inputs)

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        item = next(self.inputs, None)
        if item is None:
            return None
        return {k: np.ascontiguousarray(v, dtype=np.float32) if v.dtype.kind == 'f' else v
                for k, v in item.items()}


def _onnxruntime_quantization():
    try:
        from onnxruntime import quantization
    except ImportError:
        raise ImportError('int8 quantization needs onnxruntime: pip install onnxruntime') \
            from None
    return quantization


def quantize_onnx(src: str, dst: str, calibration: Iterable[Dict[str, np.ndarray]],
                  scopes: Optional[Sequence[str]] = None) -> str:
    """Quantize the float32 ONNX file ``src`` statically to int8 with
    onnxruntime, into ``dst``: QDQ nodes (which onnxruntime and OpenVINO both
    run), uint8 activations and int8 weights (what VNNI multiplies), a scale
    per output channel of each weight (trained weights, with BatchNorm folded
    in, differ in range across channels), ranges calibrated by MinMax.

    Args:
        src: The float32 model.
        dst: The int8 model to write.
        calibration: Inputs to calibrate the activations' ranges on: dicts
            of input name -> array, as ``session.run`` takes them (a few
            real images are enough).
        scopes: Quantize only nodes whose names start with one of these
            (default: every node onnxruntime can).

    Returns:
        ``dst``.

    Raises:
        ImportError: when onnxruntime is not installed, saying how to.
        ValueError: for empty calibration data.
    """
    q = _onnxruntime_quantization()
    calibration = list(calibration)
    if not calibration:
        raise ValueError('quantize_onnx: no calibration inputs')
    import onnx
    with tempfile.TemporaryDirectory() as tmp:
        model = osp.join(tmp, 'preprocessed.onnx')
        q.quant_pre_process(src, model, skip_symbolic_shape=True)
        exclude = None
        if scopes:
            exclude = [n.name for n in onnx.load(model).graph.node
                       if not n.name.startswith(tuple(scopes))]
        q.quantize_static(
            model, dst, _Calibration(calibration), quant_format=q.QuantFormat.QDQ,
            per_channel=True, activation_type=q.QuantType.QUInt8,
            weight_type=q.QuantType.QInt8, calibrate_method=q.CalibrationMethod.MinMax,
            nodes_to_exclude=exclude)
    return dst


def calibration_loader(cfg) -> dict:
    """The config's training split read as its test split is (no
    augmentation), one image per batch, in order.

    Raises:
        ValueError: for a training set without a pipeline of its own (a
            wrapper such as RepeatDataset).
    """
    train = cfg.train_dataloader.dataset
    if 'pipeline' not in train:
        raise ValueError(f'int8 calibration: the training set ({train.type}) has no pipeline '
                         f'of its own to replace with the test pipeline')
    return dict(cfg.train_dataloader, batch_size=1, num_workers=0, persistent_workers=False,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(train, pipeline=cfg.test_dataloader.dataset.pipeline))


def graph_inputs(batch: dict, task: str) -> Dict[str, np.ndarray]:
    """The end-to-end graph's inputs for a batch as the model's data
    preprocessor makes it: the images and, for detectors, each image's
    valid size."""
    from .end2end import input_names
    feed = {'image': batch['inputs'].numpy().astype(np.float32)}
    if 'img_shape' in input_names(task):
        feed['img_shape'] = np.array([s.img_shape[:2] for s in batch['data_samples']],
                                     dtype=np.float32)
    return feed


def calibration_inputs(cfg, model, n: int) -> Iterator[Dict[str, np.ndarray]]:
    """The graph inputs of the first ``n`` images of :func:`calibration_loader`."""
    from mmengine.runner import Runner

    from .end2end import task_of
    task = task_of(model)
    loader = Runner.build_dataloader(calibration_loader(cfg), seed=0)
    for i, data in enumerate(loader):
        if i == n:
            return
        yield graph_inputs(model.data_preprocessor(data, False), task)


def quantize_dir(work_dir: str, calibration: Iterable[Dict[str, np.ndarray]],
                 source: Dict[str, object]) -> str:
    """Write ``work_dir/end2end.int8.onnx``, the network of
    ``work_dir/end2end.onnx`` quantized (:data:`NETWORK_SCOPES`), and name it
    in deploy.json with where its calibration came from.

    Args:
        work_dir: The export's folder.
        calibration: The graph's inputs to calibrate on.
        source: What the calibration images were, for deploy.json.
    """
    import json

    from .export import GRAPH, META
    dst = osp.join(work_dir, INT8_GRAPH)
    quantize_onnx(osp.join(work_dir, GRAPH), dst, calibration, scopes=NETWORK_SCOPES)
    meta_path = osp.join(work_dir, META)
    with open(meta_path) as f:
        meta = json.load(f)
    meta['files']['int8'] = INT8_GRAPH
    meta['int8_calibration'] = dict(source, method='minmax', per_channel=True)
    with open(meta_path, 'w') as f:
        json.dump(meta, f, indent=1)
    return dst


def quantize_end2end(cfg, model, work_dir: str, n: int) -> str:
    """:func:`quantize_dir` calibrated on the first ``n`` training images of
    ``cfg`` (:func:`calibration_loader`).

    Args:
        cfg: The model's config (its data sets).
        model: The model the file was exported from (its data preprocessor).
        work_dir: The export's folder.
        n: How many images to calibrate on.
    """
    from mmplug.apis import check_data
    check_data(cfg, ['train_dataloader'])
    return quantize_dir(work_dir, calibration_inputs(cfg, model, n),
                        dict(images=n, source='training split, test pipeline'))
