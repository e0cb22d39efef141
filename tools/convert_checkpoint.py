"""Convert an official (or timm) checkpoint to mmplug's layout.

    python tools/convert_checkpoint.py FasterNet fasternet_s-epoch.299-val_acc1.81.2840.pth \
        fasternet_s_in1k.pth --arch s

The output is an mmpretrain classifier checkpoint (``backbone.*`` and
``head.*``): tools/test.py evaluates it with configs/cls/, and a backbone's
``init_cfg=dict(type='Pretrained', checkpoint=...)`` loads its backbone part.
With ``--arch`` the converted backbone is loaded into that variant first, and
every key it does not use is listed. Backbones also load the original files
directly; converting once only saves the conversion at each start.
"""
import argparse

import torch
from mmengine.runner.checkpoint import CheckpointLoader

import mmplug  # noqa: F401  (registration and adapters)
from mmplug.models.backbones import BACKBONES
from mmplug.models.checkpoint import load_state_dict_checked, unwrap_state_dict

NAMES = {cls.__name__: cls for cls in BACKBONES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('backbone', choices=sorted(NAMES), help='backbone family')
    parser.add_argument('src', help='checkpoint to convert (path or URL)')
    parser.add_argument('dst', help='output file')
    parser.add_argument('--arch', help='check the result against this variant')
    args = parser.parse_args()

    cls = NAMES[args.backbone]
    state_dict = cls.convert_checkpoint(
        unwrap_state_dict(CheckpointLoader.load_checkpoint(args.src, map_location='cpu')))
    backbone = {k: v for k, v in state_dict.items() if not k.startswith('head.')}
    head = {k: v for k, v in state_dict.items() if k.startswith('head.')}
    if args.arch:
        report = load_state_dict_checked(cls(arch=args.arch), backbone,
                                         optional=cls.optional_keys, source=args.src)
        print(f'{args.backbone} {args.arch}: loads {len(report.loaded)} tensors; '
              f'left for the backbone to initialise: {report.missing or "none"}')
    out = {f'backbone.{k}': v for k, v in backbone.items()}
    out.update(head)
    torch.save({'state_dict': out, 'meta': dict(mmplug_backbone=args.backbone, arch=args.arch)},
               args.dst)
    print(f'wrote {args.dst}: {len(backbone)} backbone and {len(head)} head tensors')


if __name__ == '__main__':
    main()
