# The two commands of README.md, and their helpers. Set-up is automatic: the
# first target that needs .venv builds it (tools/setup_env.sh), and it is
# rebuilt when the pinned stack or setup.py change.
PY := .venv/bin/python
STAMP := .venv/.mmplug-stamp

.PHONY: setup demo test lint docs-check clean-venv

setup: $(STAMP)

$(STAMP): requirements/stack.txt setup.py tools/setup_env.sh
	bash tools/setup_env.sh
	touch $@

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest tests

lint: $(STAMP)
	.venv/bin/ruff check .

# Every command of README.md and docs/ (about an hour on 2 cores; not part of CI).
docs-check: $(STAMP)
	$(PY) tools/docs_check.py

clean-venv:
	rm -rf .venv
