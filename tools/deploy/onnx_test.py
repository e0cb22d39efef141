"""Evaluate the end-to-end ONNX file of a model on the test split of its
config, with the config's metrics, as tools/test.py evaluates the PyTorch
model.

    python tools/deploy/onnx_test.py CONFIG CHECKPOINT [--export-dir DIR] \
        [--backend onnxruntime|openvino] [--precision fp32|int8|bf16] \
        [--int8 N] [--compare] [--out results.pkl]

The data set is read by the config's own pipeline and data preprocessor;
the graph runs on the chosen engine, and its outputs are turned into
results by mmplug_runtime's post-processing, the code a deploy target runs
(boxes scaled back, masks pasted, label maps resized). Without an
end2end.onnx in ``--export-dir`` (default: ``<work dir>/end2end``) the
deploy form of CONFIG with CHECKPOINT is exported there first
(tools/deploy/export_onnx.py). ``--int8 N`` quantizes it, calibrated on N
training images, if there is no int8 file yet, and tests that.
``--compare`` also tests the PyTorch deploy form and prints both.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch

import mmplug  # noqa: F401  (registration and adapters)
from mmplug.apis import build_runner, check_data, load_deployed
from mmplug.cli import (
    add_common_args,
    dump_predictions,
    end_distributed,
    exit_on_error,
    load_config,
)
from mmplug.deploy.export import GRAPH, export_end2end
from mmplug.deploy.quantize import INT8_GRAPH, graph_inputs, quantize_end2end
from mmplug_runtime import Predictor
from mmplug_runtime.postprocess import postprocess
from mmplug_runtime.preprocess import ImageMeta


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (training or deploy)')
    parser.add_argument('--export-dir', help='folder of end2end.onnx and deploy.json '
                        '(default: <work dir>/end2end; exported there when missing)')
    parser.add_argument('--backend', default='onnxruntime', choices=['onnxruntime', 'openvino'])
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'int8', 'bf16'],
                        help='int8: the file end2end.int8.onnx; bf16: OpenVINO only')
    parser.add_argument('--int8', type=int, default=0, metavar='N',
                        help='quantize to int8 on N training images (when there is no int8 '
                        'file yet) and test that')
    parser.add_argument('--compare', action='store_true',
                        help='also test the PyTorch deploy form')
    parser.add_argument('--out', help='dump the engine\'s predictions to this pickle file')
    add_common_args(parser)
    return parser.parse_args(argv)


def _meta(sample) -> ImageMeta:
    scale = sample.metainfo.get('scale_factor', (1.0, 1.0))
    return ImageMeta(tuple(sample.ori_shape[:2]), tuple(sample.img_shape[:2]),
                     (float(scale[0]), float(scale[1])))


def _pack(task: str, result: dict, sample):
    """Put one image's runtime results into its data sample, as the
    PyTorch model's ``predict`` does."""
    if task in ('detection', 'instance_segmentation'):
        from mmengine.structures import InstanceData
        pred = InstanceData()
        for key in ('bboxes', 'scores', 'labels', 'masks'):
            if key in result:
                pred[key] = torch.from_numpy(np.ascontiguousarray(result[key]))
        sample.pred_instances = pred
    elif task == 'semantic_segmentation':
        from mmengine.structures import PixelData
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(result['sem_seg'])[None])
    else:
        scores = torch.from_numpy(result['scores'])
        sample.set_pred_score(scores).set_pred_label(scores.argmax(0, keepdim=True))
    return sample


def use_engine(model: torch.nn.Module, export_dir: str, backend: str, precision: str) -> None:
    """Make ``model.test_step`` run the end-to-end file of ``export_dir`` on
    ``backend`` after the model's own data preprocessor, then mmplug_runtime's
    post-processing."""
    predictor = Predictor(export_dir, backend, precision)
    task, settings = predictor.spec['task'], predictor.spec.get('postprocess') or {}

    def test_step(data: dict) -> list:
        batch = model.data_preprocessor(data, False)
        outputs = predictor.engine.run(graph_inputs(batch, task))
        metas = [_meta(s) for s in batch['data_samples']]
        results = postprocess(task, outputs, metas, settings)
        return [_pack(task, r, s) for r, s in zip(results, batch['data_samples'])]

    model.test_step = test_step


def run(args: argparse.Namespace) -> Dict[str, Dict[str, float]]:
    """Test as ``args`` say; returns the metrics by path."""
    with exit_on_error('onnx_test.py'):
        cfg = load_config(args)
        if args.launcher != 'none':
            raise ValueError('onnx_test.py runs in one process (--launcher none)')
        check_data(cfg, ['test_dataloader'] + (['train_dataloader'] if args.int8 else []))
        cfg.load_from = None
        runner = build_runner(cfg)
        load_deployed(runner.model, args.checkpoint)
        export_dir = args.export_dir or osp.join(cfg.work_dir, 'end2end')
        precision = 'int8' if args.int8 else args.precision
    results = {}
    if args.compare:
        results['PyTorch'] = runner.test()
    if not osp.isfile(osp.join(export_dir, GRAPH)):
        data = next(iter(runner.test_dataloader))
        image = runner.model.data_preprocessor(data, False)['inputs'][:1]
        export_end2end(runner.model, cfg, export_dir, image, config=args.config)
        print(f'exported {osp.join(export_dir, GRAPH)}')
    if args.int8 and not osp.isfile(osp.join(export_dir, INT8_GRAPH)):
        quantize_end2end(cfg, runner.model, export_dir, args.int8)
        print(f'quantized to {osp.join(export_dir, INT8_GRAPH)} on {args.int8} training images')
    with exit_on_error('onnx_test.py'):
        use_engine(runner.model, export_dir, args.backend, precision)
    if args.out:
        dump_predictions(runner, args.out)
    results[f'{args.backend} {precision}'] = runner.test()
    print_table(results)
    return results


def print_table(results: Dict[str, Dict[str, float]]) -> None:
    names = list(results)
    keys = [k for k, v in results[names[-1]].items() if np.ndim(v) == 0 and not isinstance(v, str)]
    head = names + (['difference'] if len(names) == 2 else [])
    print('| metric | ' + ' | '.join(head) + ' |')
    print('| --- |' + ' --- |' * len(head))
    for k in keys:
        values = [None if results[n].get(k) is None else float(results[n][k]) for n in names]
        cells = [f'{v:.4f}' if v is not None else '-' for v in values]
        if len(names) == 2 and None not in values:
            cells.append(f'{values[1] - values[0]:+.4f}')
        print(f'| {k} | ' + ' | '.join(cells) + ' |')


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    return run(parse_args(argv))


if __name__ == '__main__':
    main()
    end_distributed()
