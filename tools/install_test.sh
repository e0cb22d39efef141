#!/usr/bin/env bash
# mmplug as a user installs it: build the wheel, install it (not editable) into
# a fresh virtual environment beside a pinned stack, then, from a folder
# outside the clone, train a config that inherits `mmplug::` for two epochs on
# the demo data and test it, then train it in two processes, with the tools the
# installed package carries.
# `make install-test` runs it (CI does); the mmcv wheel comes from the cache
# tools/setup_env.sh fills, so it takes minutes.
#
# Environment:
#   STACK         openmmlab (default) or onedl: the pins to install
#   MMPLUG_CACHE  the wheel cache of tools/setup_env.sh
#   KEEP=1        keep the temporary folder (printed) for a look afterwards
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=tools/stack.sh
source tools/stack.sh
[ -x "$venv/bin/python" ] || { echo "install_test: run 'make setup STACK=$STACK' first" >&2; exit 1; }
wheels=$(mmcv_wheels "$venv/bin/python")
compgen -G "$wheels/*.whl" >/dev/null \
    || { echo "install_test: no cached $mmcv wheel in $wheels; run 'make setup STACK=$STACK'" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mmplug-install.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "[install-test] keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
say() { printf '\n[install-test] %s\n' "$*"; }
start=$(date +%s)

say "building the wheel"
whl=$(build_wheel "$venv/bin/python" "$work/dist")
unzip -l "$whl" >"$work/wheel.txt"
n_configs=$(grep -c 'mmplug/.mim/configs/.*\.py$' "$work/wheel.txt")
n_local=$(find configs -name '*.py' | wc -l)
[ "$n_configs" = "$n_local" ] \
    || { echo "install_test: the wheel carries $n_configs configs, the clone $n_local" >&2; exit 1; }
grep -q 'mmplug/.mim/model-index.yml' "$work/wheel.txt" \
    || { echo "install_test: the wheel carries no model-index.yml" >&2; exit 1; }
if grep -q -e 'setup_env.sh' -e 'stack.sh' -e 'docs_check.py' -e 'install_test.sh' "$work/wheel.txt"; then
    echo "install_test: the wheel carries the developer's tools" >&2; exit 1
fi

say "installing $(basename "$whl")[$extra] into a fresh environment with the $STACK stack"
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
write_requirements "$work/pins.txt"
"$py" -m pip install -q --disable-pip-version-check "$wheels"/*.whl -r "$work/pins.txt" \
    "$whl[$extra]" 2>&1 | grep -v -e '^WARNING: Location' || true

mkdir "$work/user" && cd "$work/user"
say "from $PWD: a user config inheriting mmplug::, the installed package's tools"
cat >my_demo.py <<'EOF'
_base_ = 'mmplug::demo/fasternet_t0_maskrcnn_shapes.py'
small = dict(splits=dict(train=16, val=8), image_size=(96, 96), max_shapes=3, seed=3)
train_dataloader = dict(batch_size=4, dataset=dict(generate=small))
val_dataloader = dict(batch_size=4, dataset=dict(generate=small))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=2))
EOF
"$py" - <<'EOF'
import os, sys
import mmplug, mmplug.mim
from mmengine.hub import get_config
from mmplug.analysis import WEIGHTS
site = os.path.dirname(os.path.dirname(mmplug.__file__))
assert site.startswith(sys.prefix) and 'site-packages' in site, f'mmplug from {site}'
assert not (mmplug.mim.MIM / 'configs').is_symlink()
cfg = get_config('mmplug::cls/fasternet_t0_in1k.py', pretrained=True)  # mmengine's own lookup
assert cfg.model_path == WEIGHTS['cls/fasternet_t0_in1k'], cfg.model_path
print('[install-test] mmplug', mmplug.__version__, 'from', mmplug.__file__)
print('[install-test] configs and tools in', mmplug.mim.MIM)
EOF
tools=$("$py" -c 'import mmplug.mim; print(mmplug.mim.MIM / "tools")')
"$py" "$tools/train.py" my_demo.py --work-dir run >train.log 2>&1 \
    || { tail -n 40 train.log >&2; echo "install_test: training failed" >&2; exit 1; }
"$py" "$tools/test.py" my_demo.py run/epoch_2.pth --work-dir run/test >test.log 2>&1 \
    || { tail -n 40 test.log >&2; echo "install_test: testing failed" >&2; exit 1; }
PYTHON="$py" PORT=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
    bash "$tools/dist_train.sh" my_demo.py 2 --work-dir run_ddp --cfg-options train_cfg.max_epochs=1 \
    >dist_train.log 2>&1 \
    || { tail -n 40 dist_train.log >&2; echo "install_test: two-process training failed" >&2; exit 1; }
[ -f run_ddp/epoch_1.pth ] || { echo "install_test: dist_train.sh wrote no checkpoint" >&2; exit 1; }
grep -h -o 'coco/bbox_mAP: [0-9.]*' train.log | tail -n 1 | sed 's/^/[install-test] validation /'
grep -h -o 'coco/segm_mAP: [0-9.]*' test.log | tail -n 1 | sed 's/^/[install-test] test /'
say "ok in $(( $(date +%s) - start )) s"
