# The two commands of README.md, and their helpers. Set-up is automatic: the
# first target that needs the virtual environment builds it
# (tools/setup_env.sh), and it is rebuilt when the pinned stack or setup.py
# change. STACK=onedl runs any target on the maintained fork of OpenMMLab
# (requirements/stack-onedl.txt, in .venv-onedl) instead of OpenMMLab's own
# (requirements/stack.txt, in .venv).
STACK ?= openmmlab
ifeq ($(STACK),openmmlab)
VENV := .venv
PINS := requirements/stack.txt
else ifeq ($(STACK),onedl)
VENV := .venv-onedl
PINS := requirements/stack-onedl.txt
else
$(error STACK=$(STACK): choose openmmlab or onedl)
endif
export STACK
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmplug-stamp

.PHONY: setup demo test install-test runtime-test matrix lint docs-check clean-venv

setup: $(STAMP)

$(STAMP): $(PINS) requirements/common.txt setup.py tools/setup_env.sh tools/stack.sh
	bash tools/setup_env.sh
	touch $@

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest tests

# The wheel installed (not editable) in a fresh environment, used from outside
# the clone (tools/install_test.sh).
install-test: $(STAMP)
	bash tools/install_test.sh

# mmplug_runtime installed alone from the wheel into a fresh environment (no
# torch, no OpenMMLab), run from outside the clone on the demo models'
# end-to-end files and checked against PyTorch (tools/runtime_test.sh).
runtime-test: $(STAMP)
	bash tools/runtime_test.sh

# Every config trained, validated, saved, resumed and tested as users run it,
# on stand-in data in the real data sets' layouts (tools/analysis/run_configs.py),
# then one config per head type in two processes (DDP over gloo).
MATRIX := --scale 0.25 --batch 2 --workers 0
DDP_CONFIGS := $(addprefix configs/,det/fasternet_s_maskrcnn.py \
	demo/convnext_t_cascade_shapes.py det/emo_1m_retinanet.py det/emo_1m_ssdlite.py \
	seg/convnext_t_upernet.py seg/inceptionnext_t_fpn.py seg/emo_1m_deeplabv3.py \
	seg/emo_1m_pspnet.py cls/fasternet_t0_in1k.py)

matrix: $(STAMP)
	$(PY) tools/analysis/run_configs.py $(MATRIX) --jobs 2 --out work_dirs/run_configs \
		--output work_dirs/run_configs/matrix.md
	$(PY) tools/analysis/run_configs.py $(DDP_CONFIGS) $(MATRIX) --launcher pytorch --nproc 2 \
		--out work_dirs/run_configs_ddp --output work_dirs/run_configs_ddp/matrix.md

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Every command of README.md and docs/ (about an hour on 2 cores; not part of CI).
docs-check: $(STAMP)
	$(PY) tools/docs_check.py

clean-venv:
	rm -rf $(VENV)
