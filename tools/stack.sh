# The stack STACK names (openmmlab, the default, or onedl) and what the
# scripts that install it need of it; sourced from the repository root by
# tools/setup_env.sh and tools/install_test.sh. Defines:
#   pins, common, venv, mmcv, extra   its pins (and those both stacks share),
#                                     its environment, its mmcv distribution,
#                                     mmplug's extra for it
#   cache                             the wheel cache (MMPLUG_CACHE)
#   pin NAME                          the version the stack's pins give NAME
#   mmcv_wheels PYTHON                the cache folder of the mmcv wheel built
#                                     for PYTHON's version
#   write_requirements FILE           the stack's pins but mmcv's (installed
#                                     from the cached wheel), as one file
#   build_wheel PYTHON DIR            build mmplug's wheel into DIR with
#                                     PYTHON; prints its path
case ${STACK:=openmmlab} in
    openmmlab) pins=requirements/stack.txt; venv=.venv; mmcv=mmcv; extra=openmmlab ;;
    onedl) pins=requirements/stack-onedl.txt; venv=.venv-onedl; mmcv=onedl-mmcv; extra=onedl ;;
    *) echo "${0##*/}: unknown STACK=$STACK; choose openmmlab or onedl" >&2; exit 1 ;;
esac
common=requirements/common.txt
cache=${MMPLUG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmplug}

pin() {
    local v
    v=$(sed -n "s/^$1==\([^ #]*\).*/\1/p" "$pins" "$common")
    [ -n "$v" ] || { echo "${0##*/}: $pins and $common pin no version of $1" >&2; exit 1; }
    echo "$v"
}
mmcv_wheels() {
    local tag
    tag=$("$1" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
    echo "$cache/wheels/$mmcv-$(pin "$mmcv")_torch-$(pin torch)_${tag}_$(uname -m)"
}
write_requirements() {
    grep -h -v -e '^-r ' -e "^$mmcv==" "$common" "$pins" >"$1"
}
build_wheel() {
    "$1" -m pip wheel -q --no-deps --no-build-isolation -w "$2" . 2>&1 \
        | grep -v -e '^WARNING: Location' >&2 || true
    ls "$2"/mmplug-*.whl
}
