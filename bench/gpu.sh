#!/usr/bin/env bash
# GPU training speed against PyTorch: `trainer bench --backend wgpu` and
# `bench/pytorch_reference.py --device cuda`, for cnn_res at batch 64, 256
# and 1024, interleaved, REPEATS times each; prints the best of each and the
# ratios. On a machine with an NVIDIA GPU, its Vulkan driver and PyTorch with
# CUDA, from the repository root:
#
#   bench/gpu.sh                            # builds the dev binary first (cargo build -p trainer)
#   TRAINER=path/to/trainer bench/gpu.sh    # or uses a prebuilt one
#
# Settings (environment): BATCHES="64 256 1024" REPEATS=2 STEPS=20
# MODEL=cnn_res DEVICE=cuda PYTHON=python3. Every `trainer` process compiles
# and autotunes its kernels in its warm-up steps (Burn keeps no cache between
# runs in this build), which the timed steps exclude.
set -euo pipefail
cd "$(dirname "$0")/.."
BATCHES=${BATCHES:-"64 256 1024"}
REPEATS=${REPEATS:-2}
STEPS=${STEPS:-20}
MODEL=${MODEL:-cnn_res}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}

if [ -z "${TRAINER:-}" ]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hanzi12-target}"
    cargo build -p trainer ${FEATURES:+--features "$FEATURES"} >&2
    TRAINER="$CARGO_TARGET_DIR/debug/trainer"
fi
# Which adapter `--backend wgpu` takes (and a one-line reason where none).
"$TRAINER" devices >&2
"$PYTHON" - "$DEVICE" <<'PY' >&2
import sys
try:
    import torch
except ImportError:
    sys.exit(f"error: PyTorch is not installed for {sys.executable} (pip install torch)")
if sys.argv[1] == "cuda" and not torch.cuda.is_available():
    sys.exit("error: PyTorch finds no CUDA device")
print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name() if sys.argv[1] == 'cuda' else sys.argv[1]}")
PY

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for repeat in $(seq "$REPEATS"); do
    for batch in $BATCHES; do
        echo "run $repeat/$REPEATS, batch $batch" >&2
        "$TRAINER" bench --backend wgpu --model "$MODEL" --batch "$batch" --steps "$STEPS" --json \
            >>"$results/wgpu.jsonl"
        "$PYTHON" bench/pytorch_reference.py --device "$DEVICE" --model "$MODEL" --batch "$batch" \
            --steps "$STEPS" --json >>"$results/pytorch.jsonl"
    done
done

"$PYTHON" - "$results" "$MODEL" <<'PY'
import json, sys
from pathlib import Path

def best(file, key):
    rows = [json.loads(line) for line in Path(file).read_text().splitlines() if line]
    out = {}
    for row in rows:
        out[row["batch"]] = max(out.get(row["batch"], 0.0), row[key])
    return out

folder, model = sys.argv[1], sys.argv[2]
ours = {k: best(f"{folder}/wgpu.jsonl", k) for k in ("train_img_per_s", "infer_img_per_s")}
peer = {k: best(f"{folder}/pytorch.jsonl", k) for k in ("train_img_per_s", "infer_img_per_s")}
# Kernel launches do not vary from run to run: the last run's of each batch.
launches = {}
for line in Path(f"{folder}/wgpu.jsonl").read_text().splitlines():
    if line:
        row = json.loads(line)
        launches[row["batch"]] = (row.get("train_launches_per_step"), row.get("infer_launches_per_batch"))
print(f"| {model}, batch | train img/s: wgpu / PyTorch (ratio) | inference img/s, batch 256 (ratio) | kernel launches per step / per inference batch |")
print("|---|---|---|---|")
for batch in sorted(ours["train_img_per_s"]):
    t = (ours["train_img_per_s"][batch], peer["train_img_per_s"][batch])
    i = (ours["infer_img_per_s"][batch], peer["infer_img_per_s"][batch])
    l = launches.get(batch, (None, None))
    print(f"| {batch} | {t[0]:,.0f} / {t[1]:,.0f} (**{t[0] / t[1]:.2f}x**) | {i[0]:,.0f} / {i[1]:,.0f} ({i[0] / i[1]:.2f}x) | {l[0]} / {l[1]} |")
PY
