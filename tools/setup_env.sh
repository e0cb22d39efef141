#!/usr/bin/env bash
# Creates .venv with the stack pinned in requirements/stack.txt and mmplug in
# editable mode. mmcv has no wheel for this torch on the package index, so its
# source package is built once per machine and the wheel is cached outside the
# clone, keyed by the mmcv, torch and Python versions and the CPU architecture.
#
# Environment:
#   PYTHON        interpreter for the virtual environment (default: python3)
#   MMPLUG_CACHE  wheel cache (default: ${XDG_CACHE_HOME:-~/.cache}/mmplug)
#   MAX_JOBS      parallel compile jobs for the mmcv build (default: nproc)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
pins=requirements/stack.txt
venv=.venv
cache=${MMPLUG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmplug}

pin() {  # pin NAME -> the version requirements/stack.txt gives NAME
    local v
    v=$(sed -n "s/^$1==\([^ #]*\).*/\1/p" "$pins")
    [ -n "$v" ] || { echo "setup_env: $pins pins no version of $1" >&2; exit 1; }
    echo "$v"
}
say() { printf '\n[setup] %s\n' "$*"; }

[ -x "$venv/bin/python" ] || { say "creating $venv"; "${PYTHON:-python3}" -m venv "$venv"; }
py="$root/$venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check)

say "installing torch $(pin torch) and the build tools"
"${pip[@]}" install -q "torch==$(pin torch)" "torchvision==$(pin torchvision)" \
    "setuptools==$(pin setuptools)" "numpy==$(pin numpy)" "ninja==$(pin ninja)" wheel

tag=$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
key="mmcv-$(pin mmcv)_torch-$(pin torch)_${tag}_$(uname -m)"
wheels="$cache/wheels/$key"
mkdir -p "$cache/wheels"

build_mmcv() {
    local work log
    work=$(mktemp -d "$cache/build.XXXXXX")
    log="$cache/$key.build.log"
    say "building mmcv $(pin mmcv) with its ops against torch $(pin torch): once per machine," \
        "about 18 minutes on 2 cores; log: $log"
    "${pip[@]}" download -q --no-deps --no-binary mmcv --no-build-isolation \
        "mmcv==$(pin mmcv)" -d "$work"
    tar xzf "$work"/mmcv-*.tar.gz -C "$work"
    # torch >= 2.14 headers need C++20; mmcv 2.1.0 asks for C++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$work"/mmcv-*/setup.py
    (
        cd "$work"/mmcv-*/
        MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
            "${pip[@]}" wheel --no-deps --no-build-isolation -w "$work/dist" . >"$log" 2>&1 \
            || { tail -n 40 "$log" >&2; echo "setup_env: mmcv build failed, see $log" >&2; exit 1; }
    )
    mkdir -p "$wheels.tmp" && mv "$work"/dist/mmcv-*.whl "$wheels.tmp/" && mv "$wheels.tmp" "$wheels"
    rm -rf "$work"
}

# Two set-ups at once on one machine must not build twice.
exec 9>"$cache/wheels/$key.lock"
flock 9
if ! compgen -G "$wheels/mmcv-*.whl" >/dev/null; then
    build_mmcv
else
    say "using cached $(basename "$wheels"/mmcv-*.whl) from $wheels"
fi
flock -u 9

say "installing the OpenMMLab stack and mmplug (editable)"
"${pip[@]}" install -q "$wheels"/mmcv-*.whl -r <(grep -v '^mmcv==' "$pins") -e ".[all]"
"$py" - <<'EOF'
import mmcv, mmdet, mmengine, mmpretrain, mmseg, torch
from mmcv.ops import nms  # the compiled ops must import
import mmplug
print('[setup] ok: torch', torch.__version__, '| mmcv', mmcv.__version__,
      '| mmdet', mmdet.__version__, '| mmseg', mmseg.__version__,
      '| mmpretrain', mmpretrain.__version__, '| mmengine', mmengine.__version__)
EOF
