"""Runs `trainer bench` and the PyTorch reference back to back, `--repeats`
times each, interleaved, and prints a Markdown table of the ratios (best of
the runs of each, so a burst of load from another process counts less).

    cargo build --workspace          # the dev build, which `cargo run` and the tests use
    python3 bench/compare.py --trainer $CARGO_TARGET_DIR/debug/trainer --model cnn_res,cnn,mlp --repeats 3

PyTorch must be installed in the Python that runs this script.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_json(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {row["model"]: row for row in map(json.loads, filter(None, out.splitlines()))}


def best(runs, model, key):
    return max(run[model][key] for run in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trainer", required=True, help="path of the trainer binary")
    parser.add_argument("--model", default="cnn_res,cnn,mlp")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (the machine's cores)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    ours_command = [args.trainer, "bench", "--model", args.model, "--batch", str(args.batch), "--json"]
    peer_command = [sys.executable, str(HERE / "pytorch_reference.py"), "--model", args.model,
                    "--batch", str(args.batch), "--threads", str(args.threads), "--json"]
    ours, peer = [], []
    for _ in range(args.repeats):
        ours.append(run_json(ours_command))
        peer.append(run_json(peer_command))

    print(f"| model | train img/s, batch {args.batch}: ours / PyTorch (ratio) "
          "| inference img/s, batch 256 (ratio) | batch-1 latency ms |")
    print("|---|---|---|---|")
    for model in args.model.split(","):
        train = (best(ours, model, "train_img_per_s"), best(peer, model, "train_img_per_s"))
        infer = (best(ours, model, "infer_img_per_s"), best(peer, model, "infer_img_per_s"))
        latency = (min(r[model]["latency_ms"] for r in ours), min(r[model]["latency_ms"] for r in peer))
        print(f"| `{model}` | {train[0]:,.0f} / {train[1]:,.0f} (**{train[0] / train[1]:.2f}x**) "
              f"| {infer[0]:,.0f} / {infer[1]:,.0f} ({infer[0] / infer[1]:.2f}x) "
              f"| {latency[0]:.2f} / {latency[1]:.2f} |")


if __name__ == "__main__":
    main()
