"""Run every command of the docs: each ```bash block of README.md and
docs/*.md, in the order of ``DOCS``, from the repository root with .venv/bin
first on PATH, stopping at the first that fails (``make docs-check``).

A block may say, in an HTML comment on the line before it, why docs-check
does not run it:

- ``<!-- docs-check: tested by tests/test_x.py::test_name -->``: a test of
  the suite runs it (checked: the test must exist);
- ``<!-- docs-check: skip REASON -->``: it cannot run on this machine (a
  CUDA install, a Slurm cluster); listed at the end with the reason.

Blocks in other languages (```text for a synopsis with placeholders,
```python for a config) are not commands. A test checks that every ```bash
block is either run here or has one of these comments.
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import List, NamedTuple, Optional

ROOT = Path(__file__).resolve().parents[1]
#: Order matters: later docs use what earlier ones make (the demo's checkpoint).
DOCS = ['README.md', 'docs/get_started.md', 'docs/own_config.md', 'docs/convert_weights.md',
        'docs/deploy.md', 'docs/model_zoo.md', 'docs/recipes.md', 'docs/run_configs.md',
        'docs/benchmarks.md', 'docs/adding_a_backbone.md', 'docs/backbones.md']
_MARK = re.compile(r'<!--\s*docs-check:\s*(tested by|skip)\s+(.*?)\s*-->')


class Block(NamedTuple):
    doc: str
    line: int
    code: str
    mark: Optional[str]  # 'tested by' or 'skip'
    reason: str


def blocks(doc: str) -> List[Block]:
    """The ```bash blocks of ``doc`` with the docs-check comment before each."""
    lines = (ROOT / doc).read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == '```bash':
            start, j = i, i + 1
            while lines[j].strip() != '```':
                j += 1
            prev = lines[start - 1] if start else ''
            m = _MARK.search(prev)
            out.append(Block(doc, start + 1, '\n'.join(lines[start + 1:j]),
                             m.group(1) if m else None, m.group(2) if m else ''))
            i = j
        i += 1
    return out


def has_test(ref: str) -> bool:
    path, _, name = ref.partition('::')
    file = ROOT / path
    return file.is_file() and re.search(rf'^def {re.escape(name)}\(', file.read_text(),
                                        re.M) is not None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('docs', nargs='*', help=f'default: {" ".join(DOCS)}')
    parser.add_argument('--list', action='store_true', help='list the blocks, run nothing')
    args = parser.parse_args(argv)
    env = dict(os.environ, PATH=f'{ROOT / ".venv/bin"}{os.pathsep}{os.environ["PATH"]}')
    skipped, started = [], time.perf_counter()
    for doc in args.docs or DOCS:
        for b in blocks(doc):
            where = f'{b.doc}:{b.line}'
            if b.mark == 'tested by':
                if not has_test(b.reason):
                    print(f'{where}: the test {b.reason} does not exist', file=sys.stderr)
                    return 1
                print(f'{where}: run by {b.reason}')
                continue
            if b.mark == 'skip':
                skipped.append(f'{where}: {b.reason}')
                continue
            print(f'{where}: running\n{b.code}', flush=True)
            if args.list:
                continue
            t = time.perf_counter()
            result = subprocess.run(['bash', '-e', '-o', 'pipefail', '-c', b.code], cwd=ROOT,
                                    env=env)
            if result.returncode != 0:
                print(f'{where}: FAILED with exit status {result.returncode}', file=sys.stderr)
                return 1
            print(f'{where}: ok in {time.perf_counter() - t:.0f} s', flush=True)
    for s in skipped:
        print(f'skipped {s}')
    print(f'docs-check passed in {(time.perf_counter() - started) / 60:.1f} min')
    return 0


if __name__ == '__main__':
    sys.exit(main())
