"""Helpers shared by the tests."""
import os
import socket
import subprocess
import sys
from pathlib import Path

from mmplug.apis import build_model  # noqa: F401  (the tests build configs with it)

ROOT = Path(__file__).resolve().parents[1]


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

