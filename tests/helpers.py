"""Helpers shared by the tests."""
import os
import socket
import subprocess
import sys
from pathlib import Path

from mmplug.apis import build_model  # noqa: F401  (the tests build configs with it)

ROOT = Path(__file__).resolve().parents[1]

#: The demo of README.md: Mask R-CNN with FasterNet-T0 on generated shapes.
DEMO = ROOT / 'configs/demo/fasternet_t0_maskrcnn_shapes.py'


def write_demo_config(tmp_path: Path, base: Path = DEMO, train: int = 8, val: int = 4,
                      seg: bool = False, **extra) -> Path:
    """A configs/demo/ config on a tiny shapes set of its own (64x64 images
    under ``tmp_path``, batches of 2, a log line per iteration), written to
    ``tmp_path / 'demo_tiny.py'``.

    Args:
        tmp_path: Folder for the config and its data set.
        base: The demo config it inherits.
        train: Training images.
        val: Validation images, also the test split.
        seg: ``base`` is a segmentor: the data set has label maps and the
            evaluator is the config's own (a detector's reads the COCO file).
        **extra: Top-level entries, as Python source, written last (so that
            they replace the ones above: ``default_hooks='dict(...)'``).
    """
    root = f'{tmp_path}/shapes/'
    shapes = (f'dict(splits=dict(train={train}, val={val}), image_size=(64, 64), max_shapes=2, '
              f'seed=1{", label_maps=True" if seg else ""})')
    lines = [
        f'_base_ = {str(base)!r}',
        f'shapes = {shapes}',
        f'train_dataloader = dict(batch_size=2, dataset=dict(data_root={root!r}, generate=shapes))',
        f'val_dataloader = dict(batch_size=2, dataset=dict(data_root={root!r}, generate=shapes))',
        'test_dataloader = val_dataloader',
        'default_hooks = dict(logger=dict(interval=1))',
    ]
    if seg:
        lines.append('model = dict(data_preprocessor=dict(size=(64, 64)))')
    else:
        lines += [f"val_evaluator = dict(ann_file={root + 'annotations/val.json'!r})",
                  'test_evaluator = val_evaluator']
    lines += [f'{k} = {v}' for k, v in extra.items()]
    path = tmp_path / 'demo_tiny.py'
    path.write_text('\n'.join(lines) + '\n')
    return path


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_tool(*args, env=None, timeout=900, cwd=ROOT) -> subprocess.CompletedProcess:
    """Run a command from the repository root and capture its output. A
    ``.py`` script (``tools/train.py``) or ``'python'`` runs with the suite's
    interpreter."""
    args = [sys.executable if a == 'python' else str(a) for a in args]
    if args[0].endswith('.py'):
        args.insert(0, sys.executable)
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))

