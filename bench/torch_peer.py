#!/usr/bin/python3
"""PyTorch side of bench/webgpu.ts: the same workloads, timed the same way, one JSON line.

    python3 bench/torch_peer.py [--device cuda|cpu] [--tiny]

fp32 throughout, TF32 off (torch.backends.cuda.matmul.allow_tf32 = False and
cudnn.allow_tf32 = False), so the comparison is with tsgrad's fp32 WGSL kernels.
GEMM: TFLOP/s of n x n fp32 matmuls; LeNet-5 and the CIFAR-style net: training
samples/s with SGD (lr 0.01, momentum 0.9), one warm-up step, then `steps` steps
and a synchronize.
"""

import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def cifar_net():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 512), nn.ReLU(), nn.Linear(512, 10),
    )  # fmt: skip


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def gemm(n, reps, device):
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    (a @ b).sum().item()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        c = a @ b
    c.sum().item()
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e12


def train(make, shape, batch, steps, device):
    torch.manual_seed(0)
    model = make().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    step().item()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()
    sync(device)
    return batch * steps / (time.perf_counter() - t0)


def main(argv):
    device = argv[argv.index("--device") + 1] if "--device" in argv else "cuda"
    tiny = "--tiny" in argv
    if device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "torch.cuda is not available"}))
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    sizes = [64, 128] if tiny else [1024, 2048, 4096]
    batches = [4, 8] if tiny else [64, 256]
    steps = 2 if tiny else 20
    out = {
        "peer": "torch",
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "tiny": tiny,
    }
    for n in sizes:
        out[f"gemm_{n}_tflops"] = gemm(n, 1 if tiny else (5 if n >= 4096 else 20), device)
    for b in batches:
        out[f"lenet5_b{b}_samples_per_s"] = train(lenet5, (1, 28, 28), b, steps, device)
    for b in batches:
        out[f"cifar_b{b}_samples_per_s"] = train(cifar_net, (3, 32, 32), b, steps, device)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
