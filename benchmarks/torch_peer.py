"""The PyTorch peer of bench_train.py: simplenet and resnet20 as a PyTorch user writes them.

Runs in its own environment (``bash benchmarks/setup_torch.sh`` makes ``.venv-torch`` with
``torch==2.13.0``, the CPU build), as a subprocess of bench_train.py, so TensorFlow's and PyTorch's
thread pools never share a process. Reads ``x`` (N,H,W,C float32 in 0..255) and ``y`` from an
``.npz``, trains with Adam 1e-3, batch 128, shuffled each epoch, in eager mode, fp32 or with
``torch.autocast("cpu", dtype=torch.bfloat16)``; prints one JSON line: per-epoch wall and
process-CPU seconds of the training loop (the first epoch is warm-up for the caller to drop).

    .venv-torch/bin/python benchmarks/torch_peer.py DATA.npz --model resnet20 --precision bf16
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class SimpleNet(nn.Module):
    """conv 20@5x5 - pool - conv 50@5x5 - pool - FC 256 - dropout 0.25 - logits: zoo's simplenet."""

    def __init__(self, channels: int, size: int, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        side = ((size - 4) // 2 - 4) // 2
        self.fc1 = nn.Linear(50 * side * side, 256)
        self.drop = nn.Dropout(0.25)
        self.logits = nn.Linear(256, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.logits(self.drop(F.relu(self.fc1(torch.flatten(x, 1)))))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN, option A shortcut (subsample, zero-pad channels): He et al. 2016, Sec. 4.2."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)  # Keras momentum 0.9
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.stride, self.pad = stride, cout - cin

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.stride != 1 or self.pad:
            x = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, 0, self.pad))
        return F.relu(x + y)


class ResNet20(nn.Module):
    def __init__(self, channels: int, classes: int = 10, n: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16, eps=1e-5, momentum=0.1)
        blocks, cin = [], 16
        for stage, cout in enumerate((16, 32, 64)):
            for b in range(n):
                blocks.append(BasicBlock(cin, cout, 2 if (b == 0 and stage > 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.logits = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.logits(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def build(model: str, channels: int, size: int) -> nn.Module:
    if model == "simplenet":
        return SimpleNet(channels, size)
    if model == "resnet20":
        return ResNet20(channels)
    raise SystemExit(f"torch_peer.py knows simplenet and resnet20, not {model!r}")


def gemm_gflops(dtype, n: int = 2048, repeats: int = 10, budget: float = 20.0) -> tuple[float, int]:
    """(best GFLOP/s of an n x n product, n). A CPU without native bf16 runs it emulated and far
    slower: then a smaller n is timed, so the measurement stays within about ``budget`` seconds."""
    probe = 256
    a = torch.randn(probe, probe).to(dtype)
    a @ a
    t0 = time.perf_counter()
    a @ a
    per_flop = (time.perf_counter() - t0) / (2 * probe**3)
    while n > probe and per_flop * 2 * n**3 * (repeats + 2) > budget:
        n //= 2
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9, n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?")
    ap.add_argument("--gemm", action="store_true", help="print the 2048x2048 matmul GFLOP/s (fp32, bf16) and exit")
    ap.add_argument("--model")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="end each epoch after this long (for emulated bf16); img/s use the images done")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.gemm:
        gemm = {name: gemm_gflops(dtype) for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
        print(json.dumps({"gemm_gflops": {k: g for k, (g, _) in gemm.items()},
                          "gemm_n": {k: n for k, (_, n) in gemm.items()},
                          "threads": torch.get_num_threads(), "torch": torch.__version__}))
        return 0
    torch.manual_seed(0)
    with np.load(args.data) as d:
        # NCHW, standardized on the fly as zoo's Rescaling + Normalization layers do
        x = torch.from_numpy(np.ascontiguousarray(d["x"].transpose(0, 3, 1, 2)))
        y = torch.from_numpy(d["y"].astype(np.int64))
        mean = float(np.asarray(d["mean"]).reshape(-1)[0])
        std = float(np.sqrt(np.asarray(d["var"]).reshape(-1)[0]))
    net = build(args.model, x.shape[1], x.shape[2])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    params = sum(p.numel() for p in net.parameters())
    wall, cpu, done = [], [], []
    for _ in range(args.epochs):
        net.train()
        order = torch.randperm(len(x))
        w0, c0 = time.perf_counter(), time.process_time()
        seen = 0
        for i in range(0, len(x), 128):
            if args.max_seconds and time.perf_counter() - w0 > args.max_seconds:
                break
            idx = order[i:i + 128]
            seen += len(idx)
            xb = (x[idx] / 255.0 - mean) / std
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                loss = F.cross_entropy(net(xb).float(), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        done.append(seen)
    print(json.dumps({"model": args.model, "precision": args.precision, "params": params, "images": len(x),
                      "wall": wall, "cpu": cpu, "done": done, "threads": torch.get_num_threads(),
                      "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
