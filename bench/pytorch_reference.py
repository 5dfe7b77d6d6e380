#!/usr/bin/env python3
"""PyTorch peer of `trainer`: the same networks, their weights, inputs and figures.

Run by hand (CI does not install PyTorch):

    pip install torch safetensors pillow numpy
    python3 bench/pytorch_reference.py --model cnn_res --threads 2 --json

Prints one JSON object per model with the keys `trainer bench --json` uses,
so the two can be compared line by line on the same machine.

Weights, with `trainer export` / `trainer import` (the state_dict names
below are the ones those commands use):

    # a run of ours, in PyTorch: logits of images (one JSON line each)
    python3 bench/pytorch_reference.py --model cnn_res --load run.safetensors --logits img.bmp folder/
    # a course student's model: train the reference, save its state_dict
    python3 bench/pytorch_reference.py --model cnn_res --train ../shared/hanzi12/train --epochs 3 --save student.pt

`--save` writes `torch.save(model.state_dict(), FILE)` for .pt/.pth, or a
.safetensors file. Images are fed as `trainer` feeds them: 28x28 grey,
`--convention ink` (ink 1.0, paper 0.0; the default) or `raw` (as in the files).
"""

import argparse
import json
import pathlib
import resource
import time

import torch
from torch import nn

PIXELS = 28 * 28


ACTIVATIONS = {"leakyrelu": lambda: nn.LeakyReLU(0.01), "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def mlp(hidden=(256,), activation="leakyrelu", dropout=0.0):
    """mlp: Flatten, then per hidden layer Linear, activation [, Dropout], then Linear 12.

    `trainer export`/`import` number the linear layers as this Sequential does
    (1, 3, 5... without dropout; 1, 4, 7... with it)."""
    layers, width = [nn.Flatten()], PIXELS
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    return nn.Sequential(*layers, nn.Linear(width, 12))


class Cnn(nn.Module):
    """cnn, cnn_bn, cnn_dropout, cnn_bn_dropout: as in crates/models/src/cnn.rs."""

    def __init__(self, batch_norm=False, dropout=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.norm1 = nn.BatchNorm2d(32) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.norm2 = nn.BatchNorm2d(64) if batch_norm else nn.Identity()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.pool = nn.AvgPool2d(4)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 12)

    def forward(self, x):
        x = self.drop(torch.relu(self.norm1(self.conv1(x))))
        x = torch.relu(self.norm2(self.conv2(x)))
        x = self.drop(torch.flatten(self.pool(x), 1))
        return self.fc2(torch.relu(self.fc1(x)))


class CnnRes(nn.Module):
    """cnn_res: as in crates/models/src/cnn_res.rs."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.norm1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.norm2 = nn.BatchNorm2d(64)
        self.shortcut = nn.Conv2d(1, 64, 1, bias=False)
        self.shortcut_norm = nn.BatchNorm2d(64)
        self.pool = nn.AvgPool2d(4)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 12)

    def forward(self, x):
        skip = self.shortcut_norm(self.shortcut(x))
        y = self.norm2(self.conv2(torch.relu(self.norm1(self.conv1(x)))))
        y = torch.flatten(self.pool(torch.relu(y + skip)), 1)
        return self.fc2(torch.relu(self.fc1(y)))


MODELS = {
    "mlp": mlp,
    "cnn": lambda: Cnn(),
    "cnn_bn": lambda: Cnn(batch_norm=True),
    "cnn_dropout": lambda: Cnn(dropout=0.25),
    "cnn_bn_dropout": lambda: Cnn(batch_norm=True, dropout=0.25),
    "cnn_res": CnnRes,
}


def random_batch(size, device, generator):
    images = (torch.rand(size, 1, 28, 28, generator=generator) < 0.11).float().to(device)
    targets = torch.randint(0, 12, (size,), generator=generator).to(device)
    return images, targets


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_throughput(model, device, batch, steps):
    generator = torch.Generator().manual_seed(1)
    batches = [random_batch(batch, device, generator) for _ in range(4)]
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step(i):
        images, targets = batches[i % len(batches)]
        optim.zero_grad(set_to_none=True)
        loss_fn(model(images), targets).backward()
        optim.step()

    for i in range(3):
        step(i)
    sync(device)
    started = time.perf_counter()
    for i in range(steps):
        step(i)
    sync(device)
    return steps * batch / (time.perf_counter() - started)


@torch.no_grad()
def infer_throughput(model, device, batch, seconds):
    model.eval()
    images, _ = random_batch(batch, device, torch.Generator().manual_seed(2))
    for _ in range(3):
        model(images).cpu()
    started, done = time.perf_counter(), 0
    while time.perf_counter() - started < seconds or done == 0:
        model(images).cpu()
        done += batch
    return done / (time.perf_counter() - started)


def image_files(paths):
    """Image files named by `paths`: files as given, folders searched
    recursively for .bmp and .png in numeric-then-text order (as `trainer predict`)."""
    out = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            entries = sorted(path.iterdir(), key=lambda p: (int(p.stem) if p.stem.isdigit() else 2**64, str(p)))
            for entry in entries:
                if entry.is_dir():
                    out += image_files([entry])
                elif entry.suffix.lower() in (".bmp", ".png"):
                    out.append(entry)
        else:
            out.append(path)
    return out


def read_images(files, convention):
    """[N, 1, 28, 28] float32 as `trainer` computes it: 1 - grey / 255 (ink), or its complement (raw)."""
    import numpy as np
    from PIL import Image

    images = []
    for file in files:
        with Image.open(file) as img:
            grey = img.convert("L")
            if grey.size != (28, 28):
                grey = grey.resize((28, 28), Image.BILINEAR)
            ink = np.float32(1.0) - np.asarray(grey, dtype=np.float32) / np.float32(255.0)
        images.append(ink if convention == "ink" else np.float32(1.0) - ink)
    return torch.from_numpy(np.stack(images)[:, None, :, :].astype(np.float32))


def labelled(root):
    """(files, labels) of a class-folder root <root>/<k>/<n>.bmp, k = 1..12."""
    files, labels = [], []
    for k in range(1, 13):
        found = image_files([pathlib.Path(root) / str(k)])
        files += found
        labels += [k - 1] * len(found)
    return files, torch.tensor(labels)


def split(files, labels, valid_ratio=100 / 620):
    """The last round(n * ratio) files of each class are validation, as in `trainer`."""
    train, valid = [], []
    for k in range(12):
        idx = [i for i, label in enumerate(labels.tolist()) if label == k]
        n_valid = round(len(idx) * valid_ratio)
        train += idx[: len(idx) - n_valid]
        valid += idx[len(idx) - n_valid :]
    return train, valid


def load_weights(model, file):
    if str(file).endswith(".safetensors"):
        from safetensors.torch import load_file

        state = load_file(file)
    else:
        state = torch.load(file, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)


def save_weights(model, file):
    if str(file).endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, file, metadata={"format": "pt"})
    else:
        torch.save(model.state_dict(), file)


@torch.no_grad()
def logits_of(model, images, batch=256):
    model.eval()
    return torch.cat([model(images[i : i + batch]) for i in range(0, len(images), batch)])


def train(model, root, epochs, convention, seed=42):
    """Adam 1e-3, batch 64, cross-entropy: a course student's training, no augmentation."""
    files, labels = labelled(root)
    images = read_images(files, convention)
    train_idx, valid_idx = split(files, labels)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.tensor(train_idx)[torch.randperm(len(train_idx), generator=generator)]
        for i in range(0, len(order), 64):
            batch = order[i : i + 64]
            optim.zero_grad(set_to_none=True)
            loss_fn(model(images[batch]), labels[batch]).backward()
            optim.step()
        predicted = logits_of(model, images[valid_idx]).argmax(1)
        accuracy = (predicted == labels[valid_idx]).float().mean().item()
        print(json.dumps({"epoch": epoch, "valid_accuracy": accuracy, "valid_images": len(valid_idx)}))


def weights_mode(args):
    torch.manual_seed(0)
    hidden = [int(h) for h in args.hidden.split(",")]
    model = mlp(hidden, args.activation) if args.model == "mlp" else MODELS[args.model]()
    if args.load:
        load_weights(model, args.load)
    if args.train:
        train(model, args.train, args.epochs, args.convention)
    if args.save:
        save_weights(model, args.save)
    if args.logits:
        files = image_files(args.logits)
        for file, row in zip(files, logits_of(model, read_images(files, args.convention)).tolist()):
            print(json.dumps({"path": str(file), "logits": row}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cnn_res", help="comma-separated names, or all")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    weights = parser.add_argument_group("weights (instead of the bench; one --model)")
    weights.add_argument("--load", help="state_dict to load: .safetensors (trainer export) or .pt/.pth")
    weights.add_argument("--train", metavar="DIR", help="train on the class-folder root DIR first")
    weights.add_argument("--epochs", type=int, default=3)
    weights.add_argument("--save", help="write the state_dict: .pt/.pth (torch.save) or .safetensors")
    weights.add_argument("--logits", nargs="+", metavar="IMAGE", help="print the logits of images or folders")
    weights.add_argument("--convention", choices=["ink", "raw"], default="ink")
    weights.add_argument("--hidden", default="256", help="mlp hidden sizes, e.g. 256,128")
    weights.add_argument("--activation", choices=list(ACTIVATIONS), default="leakyrelu")
    args = parser.parse_args()
    if args.load or args.train or args.save or args.logits:
        torch.set_num_threads(args.threads)
        return weights_mode(args)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    names = list(MODELS) if args.model == "all" else args.model.split(",")
    for name in names:
        torch.manual_seed(0)
        model = MODELS[name]().to(device)
        figures = {
            "model": name,
            "backend": f"pytorch-{torch.__version__}-{device.type}-{args.threads}threads",
            "batch": args.batch,
            "params": sum(p.numel() for p in model.parameters()),
            "train_img_per_s": train_throughput(model, device, args.batch, args.steps),
            "infer_img_per_s": infer_throughput(model, device, 256, 2.0),
            "infer_batch": 256,
            "infer_batch1_img_per_s": infer_throughput(model, device, 1, 1.0),
        }
        figures["latency_ms"] = 1000.0 / figures["infer_batch1_img_per_s"]
        figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        if args.json:
            print(json.dumps(figures))
        else:
            print(
                f"{name} ({figures['params']} parameters): train {figures['train_img_per_s']:.0f} img/s "
                f"(batch {args.batch}), inference {figures['infer_img_per_s']:.0f} img/s (batch 256), "
                f"{figures['infer_batch1_img_per_s']:.0f} img/s at batch 1, peak RSS {figures['peak_rss_mb']:.0f} MB"
            )


if __name__ == "__main__":
    main()
