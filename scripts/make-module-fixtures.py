#!/usr/bin/python3
"""PyTorch *module* references for tsgrad's layers with parameters.

Writes test/fixtures/torch-modules.json, read by test/nn/module-reference.test.ts.
Inputs and starting values are rounded to 8 significant digits and stored exactly;
computed values (outputs, gradients, buffers after) are stored at full float64
precision. Each case builds a torch.nn module of one configuration, gives every parameter
and buffer random non-zero values (biases and running statistics included),
optionally runs warm-up forward passes in training mode (so running statistics
move), then one forward pass and backward of sum(y * gy) with a random gy. It
stores the state before, the inputs, the output, every gradient (input and
parameters) and the buffers after.

Covered here: Conv2d (bias, stride, padding incl. 'same', dilation, groups,
depthwise), Linear (bias or not, batched input), BatchNorm1d/2d (train with
momentum and with the cumulative average, eval with non-trivial running stats,
no affine, no tracked stats), MaxoutLinear (torch: Linear then the max over
pieces) and LSoftmaxLinear (torch: the large-margin softmax loss written out
with autograd, since torch has no such module). LayerNorm, GroupNorm,
InstanceNorm2d, PReLU and ConvTranspose2d modules are in torch-layers.json
(scripts/make-layer-fixtures.py), BatchNorm's basic cases in torch-reference.json.

Rerun (Debian's PyTorch only imports with the system interpreter):

    /usr/bin/python3 scripts/make-module-fixtures.py

The output is deterministic: running the script twice gives a byte-identical file.
"""

import importlib.util
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch-modules.json")

torch.set_default_dtype(torch.float64)

# The fixture helpers (8-digit rounding, serialization) are make-fixtures.py's.
_spec = importlib.util.spec_from_file_location(
    "make_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-fixtures.py")
)
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
rounded, t, randn = _base.rounded, _base.t, _base.randn


def seed(section_index):
    torch.manual_seed(2000 + section_index)


def randomize(module):
    """Random non-zero values for every parameter and floating buffer (variances positive)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(rounded(torch.randn(p.shape) * 0.5 + (0.25 if name == "bias" else 0)))
        for name, b in module.named_buffers():
            if name == "running_var":
                b.copy_(rounded(torch.rand(b.shape) + 0.5))
            elif name == "running_mean":
                b.copy_(rounded(torch.randn(b.shape) * 0.5))
            elif name == "num_batches_tracked":
                b.fill_(3)


def full(x):
    """Serialize a computed tensor at full float64 precision (17 digits), so float64 runs can be held to 1e-10."""
    x = x.detach()
    return {"shape": list(x.shape), "data": x.reshape(-1).tolist()}


def state(module):
    return {k: t(v) for k, v in module.state_dict().items()}


def case(name, layer, args, options, module, x, training=True, warmup=(), forward=None, extra=None):
    """Runs the warm-up batches, then one forward + backward; returns the serialized case."""
    before = state(module)
    module.train(training)
    with torch.no_grad():
        for w in warmup:
            module(w)
    xg = x.clone().requires_grad_(True)
    y = forward(module, xg) if forward else module(xg)
    gy = rounded(torch.randn(y.shape))
    module.zero_grad()
    (y * gy).sum().backward()
    out = {
        "name": name,
        "layer": layer,
        "args": args,
        "options": options,
        "training": training,
        "state": before,
        "warmup": [t(w) for w in warmup],
        "x": t(x),
        "y": full(y),
        "gy": t(gy),
        "gx": full(xg.grad),
        "grads": {k: full(p.grad) for k, p in module.named_parameters()},
        "stateAfter": {k: full(v) for k, v in module.named_buffers()},
    }
    if extra:
        out.update(extra)
    return out


# ------------------------------------------------------------------ Conv2d


def conv2d_cases():
    seed(0)
    # (name, in, out, kernel, stride, padding, dilation, groups, bias, HxW)
    specs = [
        ("k3_p1", 3, 4, 3, 1, 1, 1, 1, True, (6, 6)),
        ("k3_s2_nobias", 3, 4, 3, 2, 0, 1, 1, False, (7, 7)),
        ("k3_p2_d2_g2", 4, 6, 3, 1, 2, 2, 2, True, (6, 7)),
        ("depthwise_k3_same", 4, 4, 3, 1, "same", 1, 4, True, (5, 5)),
        ("k23_s21_p12", 3, 4, (2, 3), (2, 1), (1, 2), 1, 1, True, (6, 5)),
        ("k1_g2", 4, 6, 1, 1, 0, 1, 2, True, (4, 4)),
    ]
    cases = []
    for name, cin, cout, k, s, p, d, g, bias, hw in specs:
        m = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
        randomize(m)
        x = randn(2, cin, *hw)
        options = {"stride": _base.pair(s), "padding": p if isinstance(p, str) else _base.pair(p),
                   "dilation": _base.pair(d), "groups": g, "bias": bias}
        cases.append(case(name, "Conv2d", [cin, cout, _base.pair(k)], options, m, x))
    return cases


# ------------------------------------------------------------------ Linear


def linear_cases():
    seed(1)
    specs = [("bias", 5, 3, True, (4, 5)), ("nobias", 5, 3, False, (4, 5)), ("batched_3d", 5, 3, True, (2, 3, 5))]
    cases = []
    for name, fin, fout, bias, shape in specs:
        m = nn.Linear(fin, fout, bias=bias)
        randomize(m)
        cases.append(case(name, "Linear", [fin, fout], {"bias": bias}, m, randn(*shape)))
    return cases


# ------------------------------------------------------------------ BatchNorm


def batch_norm_cases():
    seed(2)
    # (name, kind, C, input shape, training, momentum, affine, track, warm-up batches)
    specs = [
        ("1d_ncl_train_2steps", "BatchNorm1d", 3, (4, 3, 5), True, 0.1, True, True, 1),
        ("1d_cumulative_train", "BatchNorm1d", 4, (6, 4), True, None, True, True, 2),
        ("1d_eval", "BatchNorm1d", 4, (6, 4), False, 0.1, True, True, 0),
        ("2d_train_m03_2steps", "BatchNorm2d", 3, (2, 3, 4, 4), True, 0.3, True, True, 1),
        ("2d_eval_noaffine", "BatchNorm2d", 3, (2, 3, 4, 4), False, 0.1, False, True, 0),
        ("2d_untracked_eval", "BatchNorm2d", 3, (2, 3, 4, 4), False, 0.1, True, False, 0),
        ("2d_cumulative_eps1e-3", "BatchNorm2d", 2, (3, 2, 3, 3), True, None, True, True, 1),
    ]
    cases = []
    for name, kind, c, shape, training, momentum, affine, track, nwarm in specs:
        eps = 1e-3 if "eps1e-3" in name else 1e-5
        m = getattr(nn, kind)(c, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
        randomize(m)
        warm = [rounded(torch.randn(*shape) * 1.5 + 0.5) for _ in range(nwarm)]
        x = rounded(torch.randn(*shape) * 2 - 0.25)
        options = {"eps": eps, "momentum": momentum, "affine": affine, "trackRunningStats": track}
        cases.append(case(name, kind, [c], options, m, x, training=training, warmup=warm))
    return cases


# ------------------------------------------------------------------ MaxoutLinear


class TorchMaxoutLinear(nn.Module):
    """Linear to out·pieces values, then the max over pieces; piece k of output j is row k·out + j."""

    def __init__(self, fin, fout, pieces):
        super().__init__()
        self.fout, self.pieces = fout, pieces
        self.weight = nn.Parameter(torch.zeros(fout * pieces, fin))
        self.bias = nn.Parameter(torch.zeros(fout * pieces))

    def forward(self, x):
        z = F.linear(x, self.weight, self.bias)
        return z.reshape(*x.shape[:-1], self.pieces, self.fout).amax(-2)


def maxout_linear_cases():
    seed(3)
    cases = []
    for name, fin, fout, pieces, shape in [("p4", 5, 3, 4, (6, 5)), ("p2_batched", 4, 2, 2, (2, 3, 4))]:
        m = TorchMaxoutLinear(fin, fout, pieces)
        randomize(m)
        cases.append(case(name, "MaxoutLinear", [fin, fout, pieces], {}, m, randn(*shape)))
    return cases


# ------------------------------------------------------------------ LSoftmaxLinear


class TorchLSoftmaxLinear(nn.Module):
    """Liu et al. 2016: the target logit |W_y||x| cos(theta) becomes |W_y||x| psi(theta),
    psi(theta) = (-1)^k cos(m theta) - 2k on [k pi/m, (k+1) pi/m], blended with weight lambda."""

    def __init__(self, fin, classes, margin, lam):
        super().__init__()
        self.margin, self.lam = margin, lam
        self.weight = nn.Parameter(torch.zeros(classes, fin))

    def forward(self, x):
        return F.linear(x, self.weight)

    def loss(self, x, targets):
        logits = F.linear(x, self.weight)
        plain = logits.gather(1, targets[:, None])[:, 0]
        norms = (self.weight[targets].norm(dim=1) * x.norm(dim=1)).clamp_min(1e-12)
        cos = plain / norms
        theta = torch.acos(cos.clamp(-1, 1))
        k = torch.floor(theta.detach() * self.margin / math.pi)
        psi = (-1.0) ** k * torch.cos(self.margin * theta) - 2 * k
        target = (self.lam * plain + norms * psi) / (1 + self.lam)
        onehot = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
        adjusted = logits + onehot * (target - plain)[:, None]
        return F.cross_entropy(adjusted, targets)


def lsoftmax_cases():
    seed(4)
    cases = []
    for name, fin, classes, margin, lam in [("m2_lambda0", 4, 5, 2, 0.0), ("m3_lambda2", 4, 5, 3, 2.0),
                                            ("m4_lambda0", 3, 4, 4, 0.0)]:
        m = TorchLSoftmaxLinear(fin, classes, margin, lam)
        randomize(m)
        x = randn(6, fin)
        targets = torch.randint(0, classes, (6,))
        for kind in ("logits", "loss"):
            forward = (lambda mod, xg: mod.loss(xg, targets)) if kind == "loss" else None
            options = {"margin": margin, "lambda": {"base": lam, "gamma": 0}}
            cases.append(case("%s_%s" % (name, kind), "LSoftmaxLinear", [fin, classes], options, m, x,
                              forward=forward, extra={"output": kind, "targets": t(targets)}))
    return cases


def main():
    fixtures = {
        "meta": {"torch": torch.__version__, "script": "scripts/make-module-fixtures.py"},
        "cases": conv2d_cases() + linear_cases() + batch_norm_cases() + maxout_linear_cases() + lsoftmax_cases(),
    }
    _base.write_fixture_json(OUT_PATH, fixtures, "%d cases, " % len(fixtures["cases"]))


if __name__ == "__main__":
    main()
