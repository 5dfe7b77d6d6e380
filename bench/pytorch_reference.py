#!/usr/bin/env python3
"""PyTorch peer of `trainer bench`: the same networks, inputs and figures.

Run by hand (CI does not install PyTorch):

    pip install torch
    python3 bench/pytorch_reference.py --model cnn_res --threads 2 --json

Prints one JSON object per model with the keys `trainer bench --json` uses,
so the two can be compared line by line on the same machine.
"""

import argparse
import json
import resource
import time

import torch
from torch import nn

PIXELS = 28 * 28


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 256), nn.LeakyReLU(0.01), nn.Linear(256, 12))


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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cnn_res", help="comma-separated names, or all")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

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
