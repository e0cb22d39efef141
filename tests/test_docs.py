"""The docs' commands are all accounted for: `make docs-check` runs every
```bash block (tools/docs_check.py) except those a test runs or that cannot
run here, which say so, and what they say holds; and the generated model zoo
is current."""
import re
import shutil
from typing import List

import pytest
import torch

from mmplug.analysis import NOT_IN_A_PAPER, PAPER
from tests.helpers import ROOT
from tools.docs_check import DOCS, blocks, has_test

#: What a skipped block may say it needs (``skip needs A and B (...); ...``),
#: each with how to tell whether a machine has it: a reason that names
#: anything else is not one a test can check.
REQUIREMENTS = {
    'a CUDA GPU': torch.cuda.is_available,
    'the CUDA toolkit': lambda: shutil.which('nvcc') is not None,
    'a Slurm cluster': lambda: shutil.which('sbatch') is not None,
}


def _needs(reason: str) -> List[str]:
    """The requirements a ``needs ...`` reason names, up to a ';' or '('."""
    said = re.split(r'[;(]', reason[len('needs '):])[0]
    return [n.strip() for n in re.split(r',|\band\b', said) if n.strip()]


def _commands(code: str) -> List[str]:
    """The command lines of a bash block, without comments."""
    return [c for c in (line.split('#')[0].strip() for line in code.splitlines()) if c]


def _assert_test_runs(block):
    """The test that a block names runs the block's tool with its options."""
    path, _, name = block.reason.partition('::')
    source = (ROOT / path).read_text()
    body = re.search(rf'^def {name}\(.*?(?=^\S)', source + '\nEND', re.M | re.S).group(0)
    for command in _commands(block.code):
        words = command.split()
        tool = next(w for w in words if w.endswith('.py'))
        for word in [tool] + [w for w in words if w.startswith('--')]:
            assert f"'{word}'" in body, (block.doc, block.line, word, block.reason)


def _assert_skip_is_explained(block):
    """A skipped block says what it needs that this machine lacks, or where
    each of its commands runs instead; a file it names as running a command
    runs it (a line of a script, or an unmarked block of a page)."""
    if block.reason.startswith('needs '):
        needs = _needs(block.reason)
        assert needs and set(needs) <= set(REQUIREMENTS), (block.doc, block.line, needs)
        return
    covered = set()
    for clause in block.reason.split(';'):
        where = re.search(r'(\.ci/run|docs/\w+\.md|README\.md)', clause)
        said = re.findall(r'`([^`]+)`', clause)
        assert where and said, (block.doc, block.line, clause)
        file = where.group(1)
        if file.endswith('.md'):
            runs = {c for b in blocks(file) if b.mark is None for c in _commands(b.code)}
        else:
            runs = set(_commands((ROOT / file).read_text()))
        assert set(said) <= runs, (block.doc, block.line, file, set(said) - runs)
        covered |= set(said)
    assert set(_commands(block.code)) <= covered, (block.doc, block.line)


def test_docs_check_covers_every_page_and_every_marked_block_is_explained():
    pages = {'README.md'} | {str(p.relative_to(ROOT)) for p in (ROOT / 'docs').glob('*.md')}
    with_commands = {p for p in pages if '```bash' in (ROOT / p).read_text()}
    assert with_commands <= set(DOCS) <= pages
    found = [b for doc in DOCS for b in blocks(doc)]
    assert len(found) > 10
    for b in found:
        if b.mark == 'tested by':
            assert has_test(b.reason), (b.doc, b.line, b.reason)
            _assert_test_runs(b)
        elif b.mark == 'skip':
            _assert_skip_is_explained(b)


def test_a_block_skipped_for_what_it_needs_needs_what_this_machine_lacks():
    """A block is skipped for a requirement only where one is missing: on a
    machine that has all it names, docs-check could run it, so the test says
    so (skipped, not failed: the commands install into the environment)."""
    needing = [b for doc in DOCS for b in blocks(doc)
               if b.mark == 'skip' and b.reason.startswith('needs ')]
    runnable = []
    for b in needing:
        needs = _needs(b.reason)
        assert needs and set(needs) <= set(REQUIREMENTS), (b.doc, b.line, needs)
        if all(REQUIREMENTS[n]() for n in needs):
            runnable.append(f'{b.doc}:{b.line}')
    if runnable:
        pytest.skip(f'this machine has what {runnable} need: run them by hand')


def test_docs_link_to_pages_that_exist():
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        for target in re.findall(r'\]\(([^)#:]+\.(?:md|png))\)', text):
            assert (ROOT / doc).parent.joinpath(target).exists(), (doc, target)


def test_model_zoo_has_a_row_per_table_entry_with_its_paper_figures():
    zoo = (ROOT / 'docs/model_zoo.md').read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r'^\| `([a-z]+/\w+)` \|.*$', zoo, re.M)}
    assert set(rows) == set(PAPER) | set(NOT_IN_A_PAPER)
    for name, figures in PAPER.items():
        assert figures.result in rows[name] and figures.source in rows[name], name
