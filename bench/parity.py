#!/usr/bin/env python3
"""Proof that `trainer`'s networks are `pytorch_reference.py`'s, weight for weight.

    pip install torch safetensors pillow numpy
    python3 bench/parity.py --trainer $CARGO_TARGET_DIR/debug/trainer --data ../shared/hanzi12/train

1. Each of the six networks is trained here for one epoch, exported with
   `trainer export` (also writing Burn's logits of --images validation
   images), loaded by PyTorch into the reference module with
   `load_state_dict(strict=True)`, and run on the same images: the largest
   absolute difference of the logits must be at most --tolerance.
2. A course student's model: the reference trains `cnn_res` for
   --student-epochs epochs and saves `torch.save(model.state_dict())`;
   `trainer import` makes it a run; `trainer predict` and `trainer eval`
   must classify every image of --data as PyTorch does.

Prints one JSON object per check and a summary; exits 1 if a check fails.
"""

import argparse
import csv
import json
import pathlib
import subprocess
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import pytorch_reference as ref  # noqa: E402

NETWORKS = ["mlp", "cnn", "cnn_bn", "cnn_dropout", "cnn_bn_dropout", "cnn_res"]


def run(trainer, *args):
    done = subprocess.run([trainer, *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"trainer {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


def burn_logits(csv_file):
    with open(csv_file, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [row[0] for row in rows], torch.tensor([[float(v) for v in row[1:]] for row in rows])


def probe_images(data, count):
    """`count` validation images (the last 84 of each class), evenly spread."""
    files, labels = ref.labelled(data)
    _, valid = ref.split(files, labels)
    step = len(valid) / count
    return [files[valid[int(i * step)]] for i in range(count)]


def compare(name, files, burn_csv, model):
    paths, ours = burn_logits(burn_csv)
    assert paths == [str(f) for f in files], "the two sides ran different images"
    theirs = ref.logits_of(model, ref.read_images(files, "ink"))
    diff = (ours - theirs).abs()
    return {
        "check": name,
        "images": len(files),
        "max_abs_diff": diff.max().item(),
        "mean_abs_diff": diff.mean().item(),
        "max_abs_logit": theirs.abs().max().item(),
        "same_class": int((ours.argmax(1) == theirs.argmax(1)).sum().item()),
    }


def exported_networks(args, work, files):
    results = []
    for name in NETWORKS:
        run_dir = work / name
        if not (run_dir / "model.bpk").exists():
            # Raw 28x28 boxes, as the reference reads the files (an exported run
            # normalised by mass would need the same normalisation in PyTorch).
            run(args.trainer, "--model", name, "--data", args.data, "--epochs", 1, "--normalise", "none", "--artifacts", run_dir)
        exported = work / f"{name}.safetensors"
        burn_csv = work / f"{name}.burn-logits.csv"
        run(args.trainer, "export", "--checkpoint", run_dir, "--out", exported, "--images", *files, "--logits", burn_csv)
        torch.manual_seed(0)
        model = ref.MODELS[name]()
        ref.load_weights(model, exported)
        results.append(compare(f"{name}: trained here, exported, loaded by PyTorch", files, burn_csv, model))
        print(json.dumps(results[-1]))
    return results


def student(args, work, files):
    torch.manual_seed(0)
    model = ref.MODELS["cnn_res"]()
    ref.train(model, args.data, args.student_epochs, "ink")
    saved = work / "student.pt"
    torch.save(model.state_dict(), saved)

    run_dir = work / "student-run"
    if run_dir.exists():
        for f in sorted(run_dir.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        run_dir.rmdir()
    run(args.trainer, "import", saved, "--model", "cnn_res", "--out", run_dir)

    all_files, labels = ref.labelled(args.data)
    theirs = ref.logits_of(model, ref.read_images(all_files, "ink")).argmax(1)
    predicted_csv = work / "student-predict.csv"
    run(args.trainer, "predict", "--checkpoint", run_dir, args.data, "--csv", predicted_csv)
    with open(predicted_csv, newline="") as f:
        ours = {row["path"]: int(row["class"]) - 1 for row in csv.DictReader(f)}
    ours = torch.tensor([ours[str(p)] for p in all_files])
    evaluation = json.loads(run(args.trainer, "eval", "--checkpoint", run_dir, "--data", args.data, "--json", "--out", work / "student-eval"))

    burn_csv = work / "student.burn-logits.csv"
    run(args.trainer, "export", "--checkpoint", run_dir, "--out", work / "student.safetensors", "--images", *files, "--logits", burn_csv)
    logits = compare("cnn_res: trained by PyTorch, torch.save, imported", files, burn_csv, model)
    result = {
        **logits,
        "epochs": args.student_epochs,
        "all_images": len(all_files),
        "pytorch_accuracy": (theirs == labels).float().mean().item(),
        "trainer_eval_accuracy": evaluation["accuracy"],
        "trainer_predict_accuracy": (ours == labels).float().mean().item(),
        "images_classified_differently": int((ours != theirs).sum().item()),
    }
    print(json.dumps(result))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trainer", required=True, help="the trainer binary")
    parser.add_argument("--data", default="../shared/hanzi12/train")
    parser.add_argument("--work", default="artifacts/parity", help="folder for runs and files (reused)")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--student-epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    files = probe_images(args.data, args.images)
    results = exported_networks(args, work, files) + [student(args, work, files)]
    (work / "parity.json").write_text(json.dumps(results, indent=1))

    failed = [r["check"] for r in results if r["max_abs_diff"] > args.tolerance]
    last = results[-1]
    # Compared as counts of images: eval's accuracy is an f64 of Rust's, predict's a float32 of torch's.
    n = last["all_images"]
    if last["images_classified_differently"] or round(last["trainer_eval_accuracy"] * n) != round(last["trainer_predict_accuracy"] * n):
        failed.append(last["check"] + " (classes)")
    print(f"\n| network | images | max abs logit difference | largest logit | same class |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['check']} | {r['images']} | {r['max_abs_diff']:.2e} | {r['max_abs_logit']:.1f} | {r['same_class']}/{r['images']} |")
    print(
        f"\nstudent model ({last['epochs']} epochs, {last['all_images']} images): PyTorch {100 * last['pytorch_accuracy']:.2f} %, "
        f"trainer eval {100 * last['trainer_eval_accuracy']:.2f} %, {last['images_classified_differently']} images classified differently"
    )
    if failed:
        sys.exit(f"FAILED: {failed}")
    print(f"all within {args.tolerance:g}")


if __name__ == "__main__":
    main()
