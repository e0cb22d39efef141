#!/usr/bin/env bash
# mmplug_runtime as a deploy target installs it: build the wheel, install only
# mmplug[runtime,openvino] from it into a fresh virtual environment (numpy,
# OpenCV, Pillow, onnxruntime, OpenVINO: no torch, no OpenMMLab), then, from a
# folder outside the clone, run the installed tools/deploy/infer.py with both
# engines on the end-to-end files of the two demo models (Mask R-CNN, UPerNet;
# random weights) and on generated images of two sizes, and compare its
# results with PyTorch's test_step. The files, the images and PyTorch's
# results are made in the development environment.
# `make runtime-test` runs it (CI does); about two minutes on 2 cores.
#
# Environment:
#   STACK   openmmlab (default) or onedl: the development environment
#   KEEP=1  keep the temporary folder (printed) for a look afterwards
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=tools/stack.sh
source tools/stack.sh
[ -x "$venv/bin/python" ] || { echo "runtime_test: run 'make setup STACK=$STACK' first" >&2; exit 1; }
dev="$root/$venv/bin/python"

work=$(mktemp -d "${TMPDIR:-/tmp}/mmplug-runtime.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "[runtime-test] keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
say() { printf '\n[runtime-test] %s\n' "$*"; }
fail() { echo "runtime_test: $*" >&2; exit 1; }
start=$(date +%s)

say "building the wheel"
whl=$(build_wheel "$dev" "$work/dist")
unzip -l "$whl" >"$work/wheel.txt"
for f in mmplug_runtime/__init__.py mmplug/.mim/tools/deploy/infer.py \
    mmplug/.mim/tools/deploy/benchmark.py; do
    grep -q " $f\$" "$work/wheel.txt" || fail "the wheel carries no $f"
done
! grep -q 'runtime_test.sh' "$work/wheel.txt" || fail "the wheel carries the developer's tools"

say "installing $(basename "$whl")[runtime,openvino] alone into a fresh environment"
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
# The pins of the development environment; its opencv-python's version for
# the GUI-less build of the same OpenCV.
printf '%s\n' "numpy==$(pin numpy)" "Pillow==$(pin Pillow)" \
    "opencv-python-headless==$(pin opencv-python)" "onnxruntime==$(pin onnxruntime)" \
    "openvino==$(pin openvino)" >"$work/constraints.txt"
"$py" -m pip install -q --disable-pip-version-check -c "$work/constraints.txt" \
    "$whl[runtime,openvino]" 2>&1 | grep -v -e '^WARNING: Location' || true
"$py" -m pip list -q --format=freeze --disable-pip-version-check >"$work/installed.txt"
if grep -i -E '^(torch|torchvision|mmcv|mmengine|mmdet|mmsegmentation|mmpretrain|opencv-python)==' \
    "$work/installed.txt"; then
    fail "mmplug[runtime,openvino] installed the packages above"
fi

say "the demo models' end-to-end files, images and PyTorch's results (development environment)"
mkdir "$work/dev"
cat >"$work/dev/det.py" <<EOF
_base_ = '$root/configs/demo/fasternet_t0_maskrcnn_shapes.py'
# random weights score every class alike: keep every box, to compare them all
model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))
EOF
echo "_base_ = '$root/configs/demo/inceptionnext_atto_upernet_shapes.py'" >"$work/dev/seg.py"
"$dev" - "$work/dev" <<'EOF' 2>&1 | grep -v -i -e warning -e pkg_resources -e _bootstrap || true
import os
import sys
import torch
import mmplug  # noqa: F401
from mmplug.apis import build_model
from mmplug.datasets.shapes import generate_shapes
work = sys.argv[1]
for name in ('det', 'seg'):
    torch.manual_seed(0)
    model = build_model(f'{work}/{name}.py')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, f'{work}/{name}.pth')
for k, size in enumerate([(96, 80), (70, 113)]):  # (height, width), neither a multiple of 32
    generate_shapes(f'{work}/shapes{k}', splits={'img': 2}, image_size=size, max_shapes=3, seed=k)
    for i in range(2):
        os.renames(f'{work}/shapes{k}/img/{i:05d}.png', f'{work}/images/{k}_{i}.png')
EOF
images=$(ls "$work"/dev/images/*.png)
for name in det seg; do
    "$dev" tools/deploy/export_onnx.py "$work/dev/$name.py" --checkpoint "$work/dev/$name.pth" \
        --work-dir "$work/$name" >"$work/dev/export_$name.log" 2>&1 \
        || { tail -n 40 "$work/dev/export_$name.log" >&2; fail "exporting $name failed"; }
    # shellcheck disable=SC2086
    "$dev" - "$work/dev/$name.py" "$work/dev/$name.pth" "$work/$name.torch.json" $images \
        >"$work/dev/torch_$name.log" 2>&1 <<'EOF' \
        || { tail -n 40 "$work/dev/torch_$name.log" >&2; fail "PyTorch's $name results failed"; }
# The deploy form's test_step on each image alone, read by the config's test
# pipeline (its annotations left out), in infer.py's JSON.
import json
import sys
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmplug.apis import build_model, load_deployed
from mmplug.cli import read_config
from mmplug.deploy.meta import deploy_meta, deployed_dataset
from mmplug_runtime.results import to_json
config, checkpoint, out, *images = sys.argv[1:]
cfg = read_config(config)
model = load_deployed(build_model(cfg), checkpoint)  # switched to its deploy form
meta = deploy_meta(cfg)
init_default_scope(cfg.default_scope)
pipeline = Compose([t for t in deployed_dataset(cfg)['pipeline'] if t['type'] != 'LoadAnnotations'])
predictions = []
with torch.no_grad():
    for i, image in enumerate(images):
        sample = model.test_step(pseudo_collate([pipeline(dict(img_path=image, img_id=i))]))[0]
        if 'pred_instances' in sample:
            result = {k: v.numpy() for k, v in sample.pred_instances.items()}
        else:
            result = dict(sem_seg=sample.pred_sem_seg.data[0].numpy())
        predictions.append(dict(image=image, **to_json(result, meta['task'], meta['classes'])))
with open(out, 'w') as f:
    json.dump(dict(task=meta['task'], predictions=predictions), f)
EOF
done

mkdir "$work/user" && cd "$work/user"
say "from $PWD: the installed infer.py, with each engine, against PyTorch"
# the package's folder, found without importing mmplug (which needs torch)
tools=$("$py" -c 'import importlib.util, os; spec = importlib.util.find_spec("mmplug")
print(os.path.join(spec.submodule_search_locations[0], ".mim", "tools"))')
for name in det seg; do
    for backend in onnxruntime openvino; do
        # shellcheck disable=SC2086
        "$py" "$tools/deploy/infer.py" "$work/$name" $images --backend "$backend" \
            --out "$name.$backend.json" --show "show_$name" >"infer_$name.log" 2>&1 \
            || { cat "infer_$name.log" >&2; fail "infer.py on $name with $backend failed"; }
        "$py" - "$name.$backend.json" "$work/$name.torch.json" "$name $backend" <<'EOF' \
            || fail "$name with $backend differs from PyTorch"
# Detections: each of PyTorch's (but those within 1e-3 of its lowest score,
# which ties may swap at the cut) matched by one of the same class with IoU
# >= 0.99 and a score within 1e-3; masks of matched detections alike but for
# 0.1% of their pixels. Label maps: equal but for 0.1% of the pixels (the
# argmax of random weights' near-equal logits).
import json
import sys
import numpy as np
from mmplug_runtime.results import decode_mask, label_map
ours, theirs = (json.load(open(path))['predictions'] for path in sys.argv[1:3])
def iou(a, b):
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    return inter / (np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter)
matched = total = mask_pixels = mask_diff = 0
worst_score = worst_box = 0.0
agreement = []
for a, b in zip(ours, theirs, strict=True):
    if 'sem_seg' in b:
        agreement.append((label_map(a['sem_seg']) == label_map(b['sem_seg'])).mean())
        continue
    boxes, scores = np.array(a['bboxes']).reshape(-1, 4), np.array(a['scores'])
    cut = min(b['scores'], default=0) + 1e-3
    for k, (box, score, label) in enumerate(zip(b['bboxes'], b['scores'], b['labels'])):
        total += 1
        same = [j for j, other in enumerate(a['labels']) if other == label
                and iou(boxes[j], np.array(box)) >= 0.99 and abs(scores[j] - score) <= 1e-3]
        if not same:
            assert score <= cut, f'{b["image"]}: no match for {label} {score:.4f} {box}'
            continue
        j = max(same, key=lambda j: iou(boxes[j], np.array(box)))
        matched += 1
        worst_score = max(worst_score, abs(scores[j] - score))
        worst_box = max(worst_box, np.abs(boxes[j] - box).max())
        if 'masks' in b:
            mask, ref = decode_mask(a['masks'][j]), decode_mask(b['masks'][k])
            mask_pixels, mask_diff = mask_pixels + ref.size, mask_diff + (mask != ref).sum()
assert mask_diff <= 1e-3 * max(mask_pixels, 1), f'{mask_diff} of {mask_pixels} mask pixels differ'
if agreement:
    print(f'[runtime-test] {sys.argv[3]}: label maps agree on '
          f'{", ".join(f"{100 * x:.3f}%" for x in agreement)} of the pixels')
    assert min(agreement) >= 0.999
else:
    print(f'[runtime-test] {sys.argv[3]}: {matched} of {total} detections matched, scores '
          f'within {worst_score:.1e}, boxes within {worst_box:.1e} px, {mask_diff} of '
          f'{mask_pixels} mask pixels differ')
EOF
    done
done
[ "$(ls show_det | wc -l)" = 4 ] || fail "infer.py --show drew $(ls show_det | wc -l) of 4 images"

say "the installed benchmark.py, then infer.py --precision auto"
"$py" "$tools/deploy/benchmark.py" "$work/det" --seconds 2 \
    || fail "benchmark.py failed"
# shellcheck disable=SC2086
"$py" "$tools/deploy/infer.py" "$work/det" $images --precision auto >auto.log 2>&1 \
    || { cat auto.log >&2; fail "infer.py --precision auto failed"; }
grep -q 'fastest path on this host' auto.log || fail "infer.py --precision auto did not take the recorded choice"
say "ok in $(( $(date +%s) - start )) s"
