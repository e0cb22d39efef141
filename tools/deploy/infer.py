"""Run images through the end-to-end files of a model with numpy, OpenCV,
Pillow and one engine only (:mod:`mmplug_runtime`): neither PyTorch nor
OpenMMLab is needed, or imported.

    python tools/deploy/infer.py DIR IMAGE... [--backend onnxruntime|openvino] \
        [--precision fp32|int8|bf16|auto] [--threads N] [--out preds.json] \
        [--show OUT_DIR]

DIR is what ``tools/deploy/export_onnx.py CONFIG --work-dir DIR`` wrote
(``end2end.onnx``, ``deploy.json``). Each image runs on its own, as
tools/test.py runs a batch of one. ``--precision auto`` takes the engine path
deploy.json records as fastest on this kind of host, or first times them
all, as ``tools/deploy/benchmark.py DIR`` does, and records the result.
``--out`` writes the results as JSON (masks as COCO's uncompressed RLE, see
:mod:`mmplug_runtime.results`); ``--show`` draws them on the images.
"""
import argparse
import json
import os.path as osp
from pathlib import Path
from typing import List, Optional

import cv2

from mmplug_runtime import BACKENDS, PRECISION_CHOICES, Predictor, read_image
from mmplug_runtime.draw import draw
from mmplug_runtime.results import meta_json, to_json

PROG = 'infer.py'


def summary(result: dict, task: str, classes: List[str]) -> str:
    """A short line on one image's result."""
    def name(label: int) -> str:
        return classes[label] if 0 <= label < len(classes) else str(label)

    if task in ('detection', 'instance_segmentation'):
        best = ', '.join(f'{name(int(label))} {score:.2f}'
                         for label, score in zip(result['labels'][:3], result['scores'][:3]))
        return f'{len(result["scores"])} detections' + (f' ({best}, ...)' if best else '')
    if task == 'semantic_segmentation':
        labels = sorted(set(result['sem_seg'].ravel().tolist()))
        return 'classes ' + ', '.join(name(label) for label in labels)
    return f'{name(result["pred_label"])} {result["pred_score"]:.3f}'


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    parser.add_argument('dir', help='folder of end-to-end files (end2end.onnx, deploy.json)')
    parser.add_argument('images', nargs='+', metavar='IMAGE', help='image files')
    parser.add_argument('--backend', choices=BACKENDS,
                        help='engine (default: onnxruntime; openvino for bf16)')
    parser.add_argument('--precision', choices=PRECISION_CHOICES, default='fp32',
                        help='fp32, int8 (end2end.int8.onnx), bf16 (openvino, on a CPU with '
                        'native bfloat16) or auto: the fastest here (default: fp32)')
    parser.add_argument('--threads', type=int, help='engine threads (default: the engine\'s)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--show', metavar='OUT_DIR', help='draw the results into this folder')
    args = parser.parse_args(argv)
    try:  # the set-up, whose errors are the user's (later ones are bugs: tracebacks)
        for image in args.images:
            if not osp.isfile(image):
                raise FileNotFoundError(f'image {image!r} not found')
        predictor = Predictor(args.dir, args.backend, args.precision, args.threads)
    except (OSError, ValueError, ImportError) as error:
        raise SystemExit(f'{PROG}: {error}') from None
    spec = predictor.spec
    task, classes = spec['task'], spec.get('classes') or []
    print(f'{PROG}: {task}, {predictor.backend} {predictor.precision} '
          f'({predictor.path.name}), threads: {args.threads or "default"}')
    if predictor.choice:
        timings = ', '.join(f'{path} {ms:.1f} ms'
                            for path, ms in predictor.choice['timings_ms'].items())
        print(f'{PROG}: the fastest path on this host, timed {predictor.choice["measured"]}: '
              f'{timings}')
    predictions = []
    for image in args.images:
        result = predictor.predict([image])[0]
        print(f'{image}: {summary(result, task, classes)}')
        predictions.append(dict(image=image, **meta_json(result['meta']),
                                **to_json(result, task, classes)))
        if args.show:
            Path(args.show).mkdir(parents=True, exist_ok=True)
            drawn = draw(read_image(image), result, task, classes, spec.get('palette'))
            cv2.imwrite(osp.join(args.show, osp.basename(image)), drawn)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(dir=args.dir, task=task, backend=predictor.backend,
                           precision=predictor.precision, file=predictor.path.name,
                           predictions=predictions), f)
        print(f'{PROG}: results in {args.out}')
    if args.show:
        print(f'{PROG}: drawings in {args.show}')


if __name__ == '__main__':
    main()
