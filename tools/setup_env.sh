#!/usr/bin/env bash
# Creates a virtual environment with one of the two pinned stacks and mmplug in
# editable mode: OpenMMLab's (requirements/stack.txt, in .venv) or its
# maintained fork's (requirements/stack-onedl.txt, in .venv-onedl). mmcv has no
# wheel for these torch versions on the package index, so its source package is
# built once per machine and the wheel is cached outside the clone, keyed by
# the mmcv distribution and version, the torch and Python versions and the CPU
# architecture.
#
# Environment:
#   STACK         openmmlab (default) or onedl
#   PYTHON        interpreter for the virtual environment (default: python3)
#   MMPLUG_CACHE  wheel cache (default: ${XDG_CACHE_HOME:-~/.cache}/mmplug)
#   MAX_JOBS      parallel compile jobs for the mmcv build (default: nproc)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=tools/stack.sh
source tools/stack.sh
at_least() {  # at_least V MIN -> whether version V >= MIN
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}
say() { printf '\n[setup] %s\n' "$*"; }

[ -x "$venv/bin/python" ] || { say "creating $venv"; "${PYTHON:-python3}" -m venv "$venv"; }
py="$root/$venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check)

say "installing torch $(pin torch) and the build tools"
"${pip[@]}" install -q "torch==$(pin torch)" "torchvision==$(pin torchvision)" \
    "setuptools==$(pin setuptools)" "numpy==$(pin numpy)" "ninja==$(pin ninja)" wheel

wheels=$(mmcv_wheels "$py")
key=$(basename "$wheels")
mkdir -p "$cache/wheels"

build_mmcv() {
    local work log
    work=$(mktemp -d "$cache/build.XXXXXX")
    log="$cache/$key.build.log"
    say "building $mmcv $(pin $mmcv) with its ops against torch $(pin torch): once per machine," \
        "about 15 minutes on 2 cores; log: $log"
    "${pip[@]}" download -q --no-deps --no-binary "$mmcv" --no-build-isolation \
        "$mmcv==$(pin $mmcv)" -d "$work"
    tar xzf "$work"/*.tar.gz -C "$work"
    src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name '*mmcv-*')
    # torch >= 2.14 headers need C++20; mmcv asks for C++17 (or 14).
    if at_least "$(pin torch)" 2.14; then
        sed -i 's/-std=c++1[47]/-std=c++20/g' "$src"/setup.py
    fi
    (
        cd "$src"
        MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
            "${pip[@]}" wheel --no-deps --no-build-isolation -w "$work/dist" . >"$log" 2>&1 \
            || { tail -n 40 "$log" >&2; echo "setup_env: mmcv build failed, see $log" >&2; exit 1; }
    )
    mkdir -p "$wheels.tmp" && mv "$work"/dist/*.whl "$wheels.tmp/" && mv "$wheels.tmp" "$wheels"
    rm -rf "$work"
}

# Two set-ups at once on one machine must not build twice.
exec 9>"$cache/wheels/$key.lock"
flock 9
if ! compgen -G "$wheels/*.whl" >/dev/null; then
    build_mmcv
else
    say "using cached $(basename "$wheels"/*.whl) from $wheels"
fi
flock -u 9

say "installing the $STACK stack and mmplug (editable)"
reqs=$(mktemp)
trap 'rm -f "$reqs"' EXIT
write_requirements "$reqs"
"${pip[@]}" install -q "$wheels"/*.whl -r "$reqs" -e ".[$extra,tests,analysis]"
"$py" - <<'EOF'
import mmcv, mmdet, mmengine, mmpretrain, mmseg, torch
from mmcv.ops import nms  # the compiled ops must import
import mmplug
print('[setup] ok: torch', torch.__version__, '| mmcv', mmcv.__version__,
      '| mmdet', mmdet.__version__, '| mmseg', mmseg.__version__,
      '| mmpretrain', mmpretrain.__version__, '| mmengine', mmengine.__version__)
EOF
