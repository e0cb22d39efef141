"""Whole-model latency, from a decoded image to final results, of PyTorch
against the end-to-end files on each engine path, interleaved in one run on
this machine (docs/deploy.md's table).

    python tools/analysis/deploy_speed.py CONFIG [CONFIG ...] [--threads N] \
        [--repeats R] [--calib N] [--image H W] [--out-dir DIR]

Per config, with random weights (BatchNorm statistics and layer scales set
as a trained model's would be, so nothing folds to nothing): one image of
``--image`` size (default 480x640, a COCO photograph's) goes through

- PyTorch: the config's test pipeline and ``test_step`` of the training
  form, then of the deploy form (fp32, eager);
- mmplug_runtime's Predictor on end2end.onnx: onnxruntime and OpenVINO in
  fp32, int8 (the network quantized, calibrated on ``--calib`` generated
  images) and, on OpenVINO where the CPU has native bfloat16, bf16.

The host (CPU model and flags, matrix-product GFLOP/s, load) heads the
table; the ratios compare paths timed in the same rounds. Speed only: the
accuracy of each path is onnx_test.py's (docs/deploy.md).
"""
import argparse
import copy
import os
import os.path as osp
import sys
import tempfile
from pathlib import Path
from typing import Dict

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools.analysis
import mmplug  # noqa: F401, E402  (registration and adapters)
from mmplug import switch_to_deploy  # noqa: E402
from mmplug.apis import build_model  # noqa: E402
from mmplug.cli import exit_on_error, read_config  # noqa: E402
from mmplug.deploy.export import export_end2end  # noqa: E402
from mmplug.deploy.quantize import quantize_dir  # noqa: E402
from mmplug_runtime import Predictor, host_info, preprocess, read_spec  # noqa: E402
from mmplug_runtime.host import describe  # noqa: E402
from mmplug_runtime.selection import candidates, installed_backends  # noqa: E402
from tools.analysis.timing import quiet_logs, time_interleaved  # noqa: E402

#: The target of the deploy issue: the best path against PyTorch's training form.
TARGET = 2.5


def make_image(h: int, w: int, seed: int) -> np.ndarray:
    """A BGR uint8 image of textured background with a few filled boxes:
    something for a detector's post-processing to find."""
    rng = np.random.default_rng(seed)
    img = (rng.normal(120, 40, (h, w, 3)) + np.linspace(0, 60, w)[None, :, None])
    for _ in range(6):
        y, x = rng.integers(0, h - 40), rng.integers(0, w - 40)
        dy, dx = rng.integers(20, h // 3), rng.integers(20, w // 3)
        img[y:y + dy, x:x + dx] = rng.integers(0, 256, 3)
    return np.clip(img, 0, 255).astype(np.uint8)


def randomize(model: torch.nn.Module) -> torch.nn.Module:
    """BatchNorm statistics and layer scales away from their start, as
    training leaves them (at 1e-6 the layer scales would zero whole blocks
    in every path alike)."""
    from torch.nn.modules.batchnorm import _BatchNorm
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    for name, p in model.named_parameters():
        if name.endswith('gamma'):
            p.data.fill_(1.0)
    return model.eval()


def pytorch_step(model: torch.nn.Module, cfg, image: np.ndarray):
    """The config's test pipeline (without annotations) and ``test_step`` on
    ``image``, which the first step hands over as LoadImageFromFile would."""
    from mmengine.dataset import Compose, pseudo_collate

    def load(results: dict) -> dict:
        results.update(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2])
        return results
    pipeline = Compose([load] + [t for t in cfg.test_dataloader.dataset.pipeline[1:]
                                 if t['type'].split('.')[-1] != 'LoadAnnotations'])

    def step():
        with torch.no_grad():
            return model.test_step(pseudo_collate([pipeline(dict(img_path=None))]))
    return step


def measure(config: str, args: argparse.Namespace, work: str) -> Dict[str, float]:
    cfg = read_config(config)
    model = randomize(build_model(cfg))
    image = make_image(*args.image, seed=0)
    fns = {'PyTorch training form': pytorch_step(model, cfg, image)}
    deploy = switch_to_deploy(copy.deepcopy(model))
    fns['PyTorch deploy form'] = pytorch_step(deploy, cfg, image)
    out = osp.join(work, osp.splitext(osp.basename(config))[0])
    export_end2end(deploy, cfg, out, torch.randn(1, 3, 64, 64))
    spec = read_spec(out)
    if args.calib:
        images = [make_image(*args.image, seed=s) for s in range(1, args.calib + 1)]
        feeds = [preprocess([im], spec['preprocess']).feeds(list(spec['inputs']))
                 for im in images]
        quantize_dir(out, feeds, dict(images=args.calib, source='generated'))
    paths = candidates(read_spec(out), host_info(measure=False), installed_backends())  # int8 too
    for backend, precision in paths:
        predictor = Predictor(out, backend, precision, threads=args.threads)
        fns[f'{backend} {precision}'] = (lambda p=predictor: p.predict([image]))
    timing = time_interleaved(fns, args.repeats, min_seconds=0.5, threads=args.threads)
    return {name: timing.median(name) for name in fns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+', help='mmdet, mmseg or mmpretrain configs')
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='threads of every path (default: one per core)')
    parser.add_argument('--repeats', type=int, default=3, help='rounds (default: 3)')
    parser.add_argument('--calib', type=int, default=4, metavar='N',
                        help='images to calibrate int8 on; 0: no int8 (default: 4)')
    parser.add_argument('--image', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'),
                        help='size of the decoded image (default: 480 640)')
    parser.add_argument('--out-dir', help='folder for the exports (default: a temporary one)')
    args = parser.parse_args()
    quiet_logs()
    torch.set_num_threads(args.threads)
    print(f'host: {describe(host_info())}; {args.threads} threads; load average '
          f'{os.getloadavg()[0]:.1f}')
    print(f'decoded {args.image[0]}x{args.image[1]} image to final results, median of '
          f'{args.repeats} interleaved rounds; ms (speed-up against the training form)\n')
    work = args.out_dir or tempfile.mkdtemp(prefix='deploy_speed_')
    names = None  # the columns: the first config's paths (this host runs the same for all)
    for config in args.configs:
        with exit_on_error('deploy_speed.py'):
            times = measure(config, args, work)
        if names is None:
            names = sorted(times, key=lambda n: (not n.startswith('PyTorch'), n))
            print('| config | ' + ' | '.join(names) + f' | best | target {TARGET}x |')
            print('|' + ' --- |' * (len(names) + 3))
        if set(times) != set(names):
            raise SystemExit(f'deploy_speed.py: {config} ran the paths {sorted(times)}, the '
                             f'table has columns for {names}')
        base = times['PyTorch training form']
        cells = [f'{times[n] * 1e3:.0f} ({base / times[n]:.2f}x)' for n in names]
        best = min(times, key=times.get)
        ok = 'ok' if base / times[best] >= TARGET else 'MISSED'
        print(f'| {osp.basename(config)} | ' + ' | '.join(cells) +
              f' | {best} | {base / times[best]:.2f}x {ok} |', flush=True)


if __name__ == '__main__':
    main()
