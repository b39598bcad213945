#!/usr/bin/python3
"""PyTorch side of bench/end-to-end.ts: the recipe of `tsgrad train --dataset fashion-mnist --eval-test`.

    /usr/bin/python3 bench/fashion_torch.py [--epochs 10] [--threads N] [--data-dir /usr/share/datasets/fashion-mnist]

Same recipe as tsgrad's CLI defaults: the zoo's LeNet-5 (conv 5x5 6 pad 2, ReLU, max-pool 2, conv 5x5 16,
ReLU, max-pool 2, fc 120, ReLU, fc 84, ReLU, fc 10), inputs scaled to [0, 1] then normalized by the
training set's mean and std, Adam lr 0.002, per-batch linear warm-up over half an epoch then cosine decay
to 0 (tsgrad's CosineAnnealingLR), batch 64 with a fresh shuffle every epoch (last batch partial), and a
test pass (batch 256) after every epoch. Threads: PyTorch's default (torch.get_num_threads(); Debian's torch 1.13 picks 1 on the 2-core dev machine)
unless --threads N. Prints one
JSON line: wall seconds of the training + test passes, the data load, and the final test accuracy.
"""

import gzip
import json
import math
import os
import sys
import time

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def main():
    epochs = int(arg("--epochs", "10"))
    data_dir = arg("--data-dir", "/usr/share/datasets/fashion-mnist")
    if "--threads" in sys.argv:
        torch.set_num_threads(int(arg("--threads", "1")))
    torch.manual_seed(0)
    t_import = time.perf_counter() - T0

    t = time.perf_counter()
    xs = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255
    ys = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xt = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    yt = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    mean, std = float(xs.mean(dtype=np.float64)), float(xs.std(dtype=np.float64))
    x_train = torch.from_numpy((xs - mean) / std).reshape(-1, 1, 28, 28)
    y_train = torch.from_numpy(ys)
    x_test = torch.from_numpy((xt - mean) / std).reshape(-1, 1, 28, 28)
    y_test = torch.from_numpy(yt)
    t_data = time.perf_counter() - t

    net = lenet5()
    opt = torch.optim.Adam(net.parameters(), lr=0.002)
    batch = 64
    batches = math.ceil(len(x_train) / batch)
    total = epochs * batches
    warm = min(round(0.5 * batches), total - 1)

    def factor(step):
        if step < warm:
            return (step + 1) / (warm + 1)
        u = min(1.0, (step - warm) / (total - warm))
        return (1 + math.cos(math.pi * u)) / 2

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    history = []
    t = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train))
        seen, correct, loss_sum = 0, 0, 0.0
        for b in range(batches):
            idx = order[b * batch : (b + 1) * batch]
            x, y = x_train[idx], y_train[idx]
            out = net(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == y).sum().item()
            seen += len(idx)
        net.eval()
        test_correct = 0
        with torch.no_grad():
            for b in range(0, len(x_test), 256):
                test_correct += (net(x_test[b : b + 256]).argmax(1) == y_test[b : b + 256]).sum().item()
        history.append(
            {
                "epoch": epoch + 1,
                "loss": loss_sum / seen,
                "accuracy": correct / seen,
                "test_accuracy": test_correct / len(x_test),
                "seconds": time.perf_counter() - t,
            }
        )
        print(json.dumps(history[-1]), file=sys.stderr, flush=True)
    t_train = time.perf_counter() - t
    print(
        json.dumps(
            {
                "peer": "torch",
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "epochs": epochs,
                "import_seconds": t_import,
                "data_seconds": t_data,
                "train_seconds": t_train,
                "test_accuracy": history[-1]["test_accuracy"],
                "history": history,
            }
        )
    )


if __name__ == "__main__":
    main()
