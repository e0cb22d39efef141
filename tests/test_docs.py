"""The docs' commands are all accounted for: `make docs-check` runs every
```bash block (tools/docs_check.py) except those a test runs or that cannot
run here, which say so; and the generated model zoo is current."""
import re

from mmplug.claims import NOT_IN_A_PAPER, PAPER
from tests.helpers import ROOT
from tools.docs_check import DOCS, blocks, has_test


def test_docs_check_covers_every_page_and_every_marked_block_is_explained():
    pages = {'README.md'} | {str(p.relative_to(ROOT)) for p in (ROOT / 'docs').glob('*.md')}
    with_commands = {p for p in pages if '```bash' in (ROOT / p).read_text()}
    assert with_commands <= set(DOCS) <= pages
    found = [b for doc in DOCS for b in blocks(doc)]
    assert len(found) > 10
    for b in found:
        if b.mark == 'tested by':
            assert has_test(b.reason), (b.doc, b.line, b.reason)
        elif b.mark == 'skip':
            assert len(b.reason) > 20, (b.doc, b.line)  # a reason, not a shrug
    skipped = [b for b in found if b.mark == 'skip']
    assert len(skipped) <= 3, [(b.doc, b.line) for b in skipped]


def test_docs_link_to_pages_that_exist():
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        for target in re.findall(r'\]\(([^)#:]+\.(?:md|png))\)', text):
            assert (ROOT / doc).parent.joinpath(target).exists(), (doc, target)


def test_model_zoo_lists_every_config_with_its_paper_figures():
    zoo = (ROOT / 'docs/model_zoo.md').read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r'^\| `([a-z]+/\w+)` \|.*$', zoo, re.M)}
    assert set(rows) == set(PAPER) | set(NOT_IN_A_PAPER)
    for name, claim in PAPER.items():
        assert claim.result in rows[name] and claim.source in rows[name], name
