"""The demo: train Mask R-CNN with a FasterNet-T0 backbone on the generated
shapes data set on this CPU, evaluate bbox and segm mAP on held-out images,
and draw the predictions.

    make demo                     # = python tools/demo.py
    python tools/demo.py --work-dir work_dirs/demo --cfg-options train_cfg.max_epochs=2

Writes, under the work dir: the checkpoint, the log, and predictions.png
(ground truth left, prediction right, for validation images).
"""
import argparse
import glob
import os.path as osp
import time

import mmcv
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate

import mmplug  # noqa: F401  (registration and adapters)
from mmplug.apis import build_runner
from mmplug.cli import exit_on_error, load_config

DEFAULT_CONFIG = 'mmplug::demo/fasternet_t0_maskrcnn_shapes.py'  # the package's copy: runs anywhere


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, as key=value')
    parser.add_argument('--num-images', type=int, default=8,
                        help='validation images to draw')
    args = parser.parse_args()
    args.launcher, args.local_rank = 'none', 0  # what load_config expects of a tool
    return args


def draw_predictions(runner, num_images: int, out_file: str, score_thr: float = 0.5) -> None:
    """Draw ground truth and predictions of the first validation images into
    one PNG, two image pairs per row."""
    dataset = runner.test_dataloader.dataset
    visualizer = runner.visualizer
    visualizer.dataset_meta = dataset.metainfo
    model = runner.model.eval()
    panels = []
    for start in range(0, min(num_images, len(dataset)), 4):
        batch = pseudo_collate([dataset[i] for i in range(start, min(start + 4, num_images))])
        with torch.no_grad():
            results = model.test_step(batch)
        for result in results:
            image = mmcv.imread(result.img_path, channel_order='rgb')
            visualizer.add_datasample(osp.basename(result.img_path), image, data_sample=result,
                                      draw_gt=True, show=False, pred_score_thr=score_thr)
            panels.append(visualizer.get_image())
    if len(panels) % 2:
        panels.append(np.zeros_like(panels[0]))
    rows = [np.concatenate(panels[i:i + 2], axis=1) for i in range(0, len(panels), 2)]
    grid = np.concatenate(rows, axis=0)
    grid = grid.repeat(2, axis=0).repeat(2, axis=1)  # small images: show them twice as large
    mmcv.imwrite(grid[..., ::-1], out_file)  # RGB -> BGR


def main() -> None:
    args = parse_args()
    start = time.time()
    with exit_on_error('demo.py'):
        cfg = load_config(args)
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.test()
    png = osp.join(cfg.work_dir, 'predictions.png')
    draw_predictions(runner, args.num_images, png)
    checkpoints = sorted(glob.glob(osp.join(cfg.work_dir, 'epoch_*.pth')), key=osp.getmtime)
    print('\n' + '=' * 72)
    print(f'demo finished in {(time.time() - start) / 60:.1f} min')
    print(f'  bbox mAP {metrics["coco/bbox_mAP"]:.3f} (AP50 {metrics["coco/bbox_mAP_50"]:.3f})'
          f'   segm mAP {metrics["coco/segm_mAP"]:.3f} (AP50 {metrics["coco/segm_mAP_50"]:.3f})'
          f'   on {len(runner.test_dataloader.dataset)} held-out images')
    print(f'  checkpoint   {checkpoints[-1] if checkpoints else "(none)"}')
    print(f'  log          {osp.join(runner.log_dir, runner.timestamp + ".log")}')
    print(f'  predictions  {png}')
    print('=' * 72)


if __name__ == '__main__':
    main()
