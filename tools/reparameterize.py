"""Fold a trained model into its deploy form: RefConv layers become plain
convs, BatchNorms and layer scales fold into convs, PConv takes its inference
form (:func:`mmplug.switch_to_deploy`).

    python tools/reparameterize.py CONFIG CHECKPOINT OUT_DIR

writes ``OUT_DIR/<config>_deploy.pth`` and ``OUT_DIR/<config>_deploy.py``, a
config that builds the deploy model directly, so that

    python tools/test.py OUT_DIR/<config>_deploy.py OUT_DIR/<config>_deploy.pth

gives the metrics of the training form. Before writing, the features
(backbone and neck) of both forms are compared on a random image.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import DictAction

import mmplug  # noqa: F401  (registration and adapters)
from mmplug.analysis import n_params, n_tensors
from mmplug.apis import build_model, drop_pretrained, load_checkpoint
from mmplug.cli import exit_on_error, read_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='the training config')
    parser.add_argument('checkpoint', help='a checkpoint of that config')
    parser.add_argument('out_dir', help='folder for the deploy checkpoint and config')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'),
                        help='size of the random image of the check (default 224 224)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest relative difference of the features allowed')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, as key=value')
    return parser.parse_args()


def features(model: torch.nn.Module, x: torch.Tensor) -> list:
    """The backbone (and neck) outputs of an OpenMMLab model, flattened."""
    out = model.extract_feat(x) if hasattr(model, 'extract_feat') else model(x)
    out = out if isinstance(out, (tuple, list)) else (out, )
    return [t for t in out if isinstance(t, torch.Tensor)]


def main() -> None:
    args = parse_args()
    with exit_on_error('reparameterize.py'):
        cfg = read_config(args.config, args.cfg_options)
        drop_pretrained(cfg)  # the checkpoint holds every weight
        model = build_model(cfg)
        checkpoint = load_checkpoint(model, args.checkpoint)

    model.eval()
    x = torch.randn(1, 3, *args.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = features(model, x)
    n_before = n_params(model), n_tensors(model)
    mmplug.switch_to_deploy(model)
    with torch.no_grad():
        after = features(model, x)
    n_after = n_params(model), n_tensors(model)
    worst = max(((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()
                for a, b in zip(after, before))
    print(f'parameters {n_before[0]:,} -> {n_after[0]:,}; parameters and buffers '
          f'{n_before[1]:,} -> {n_after[1]:,}')
    print(f'features of the two forms on a random {args.shape[0]}x{args.shape[1]} image: '
          f'largest relative difference {worst:.2e}')
    if worst > args.tolerance:
        raise SystemExit(f'the deploy form differs by {worst:.2e} (> {args.tolerance}); '
                         f'nothing written')

    os.makedirs(args.out_dir, exist_ok=True)
    name = osp.splitext(osp.basename(args.config))[0] + '_deploy'
    meta = dict(checkpoint.get('meta', {}))  # a dict: load_checkpoint checked
    meta.update(mmplug_deploy=True, source_checkpoint=args.checkpoint)
    ckpt_path = osp.join(args.out_dir, f'{name}.pth')
    torch.save({'meta': meta, 'state_dict': model.state_dict()}, ckpt_path)

    cfg.model = dict(type='mmplug.Deployed', module=cfg.model.to_dict())
    imports = list(cfg.get('custom_imports', {}).get('imports', []))
    if 'mmplug' not in imports:
        cfg.custom_imports = dict(imports=imports + ['mmplug'], allow_failed_imports=False)
    cfg_path = osp.join(args.out_dir, f'{name}.py')
    cfg.dump(cfg_path)
    print(f'wrote {ckpt_path} and {cfg_path}')


if __name__ == '__main__':
    main()
