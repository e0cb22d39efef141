"""Parameters, FLOPs and throughput of the backbones of configs, measured in
one process, alternating between models.

    python tools/analysis/benchmark.py configs/cls/inceptionnext_t_in1k.py \
        configs/cls/inceptionnext_t_light_in1k.py
    python tools/analysis/benchmark.py configs/cls/fasternet_s_in1k.py --deploy

With ``--deploy`` each backbone is also timed in its deploy form
(:func:`mmplug.switch_to_deploy`), for inference, which is what it is for.

FLOPs are multiply-accumulates at the input size (mmengine's analysis, the
way the papers count them). Throughput is images per second of the backbone
alone, fp32, on ``--threads`` CPU threads, in rounds that alternate the
models (this machine is noisy); the table gives the median over rounds and
the speed relative to the first config.
"""
import argparse
import copy
import logging
import statistics
import time

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.logging import MMLogger

from mmplug import switch_to_deploy
from mmplug.apis import build_model

DEPLOY = ' (deploy)'


def throughput(model: torch.nn.Module, x: torch.Tensor, train: bool, iters: int) -> float:
    """Images per second over ``iters`` forward (and backward) passes."""
    model.train(train)
    start = time.perf_counter()
    for _ in range(iters):
        if train:
            sum(o.sum() for o in model(x)).backward()
        else:
            with torch.no_grad():
                model(x)
    return x.shape[0] * iters / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--deploy', action='store_true',
                        help='also time each backbone in its deploy form (inference)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    models = {}
    for path in args.configs:
        backbone = build_model(path).backbone
        backbone.eval()  # not chained: mmdet's ResNet.train() returns None
        if args.channels_last:
            backbone = backbone.to(memory_format=torch.channels_last)
        models[path] = backbone
        if args.deploy:
            models[path + DEPLOY] = switch_to_deploy(copy.deepcopy(backbone))
    x = torch.randn(args.batch, 3, args.size, args.size)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    speeds = {p: {'infer': [], 'train': []} for p in models}
    modes = {p: ('infer', ) if p.endswith(DEPLOY) else ('infer', 'train') for p in models}
    for path, model in models.items():  # warm-up
        for mode in modes[path]:
            throughput(model, x, mode == 'train', 1)
    for r in range(args.rounds):
        for path, model in models.items():
            for mode in modes[path]:
                speeds[path][mode].append(throughput(model, x, mode == 'train', args.iters))
        print(f'round {r + 1}/{args.rounds} done', flush=True)

    print(f'\nbatch {args.batch}, {args.size}x{args.size}, {args.threads} threads, fp32'
          f'{", channels_last" if args.channels_last else ""}; median of {args.rounds} rounds\n')
    print('| config | params (M) | FLOPs (G) | inference (img/s) | training (img/s) |')
    print('| --- | --- | --- | --- | --- |')
    first = None
    for path, model in models.items():
        model.eval()
        logger = MMLogger.get_current_instance()
        level, _ = logger.level, logger.setLevel(logging.ERROR)  # "unsupported op" notes
        info = get_model_complexity_info(model, (3, args.size, args.size),
                                         show_table=False,
                                         show_arch=False)
        logger.setLevel(level)
        infer = statistics.median(speeds[path]['infer'])
        first = first or (infer, statistics.median(speeds[path]['train']))
        if 'train' in modes[path]:
            train = statistics.median(speeds[path]['train'])
            train = f'{train:.1f} ({train / first[1]:.2f}x)'
        else:
            train = '-'
        vs = ''
        if path.endswith(DEPLOY):
            vs = f'; {infer / statistics.median(speeds[path[:-len(DEPLOY)]]["infer"]):.2f}x ' \
                 'the training form'
        print(f'| {path} | {info["params"] / 1e6:.2f} | {info["flops"] / 1e9:.2f} | '
              f'{infer:.1f} ({infer / first[0]:.2f}x{vs}) | {train} |')


if __name__ == '__main__':
    main()
