#!/usr/bin/python3
"""PyTorch's gradients at kinks and ties, for test/ops/ties.test.ts.

Writes test/fixtures/torch-ties.json: for each case, the inputs, the forward
result and the gradient of sum(y * gy) that PyTorch computes, with inputs
placed exactly on the kinks (relu, leaky_relu and abs at 0, clamp at its
bounds) and with tied values (maximum / minimum of equal operands, amax /
amin / max() / min() reductions over repeated maxima, max pooling windows
holding equal values, argmax / argmin of repeated values).

Every value is a small multiple of 1/4, so float32 and float64 hold them
exactly and the expected outputs are exact too. gy is not all ones, so a
gradient sent to the wrong tied entry changes the result.

Rerun (Debian's PyTorch only imports with the system interpreter):

    /usr/bin/python3 scripts/make-tie-fixtures.py

The output is deterministic (no random numbers are drawn).
"""

import json
import os

import torch
import torch.nn.functional as F

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch-ties.json")

torch.set_default_dtype(torch.float64)


def t(x):
    x = x.detach()
    data = x.reshape(-1).tolist()
    return {"shape": list(x.shape), "data": data}


def weights(shape):
    """A distinct positive weight per output entry: 1, 2, 3, ... (gy)."""
    n = 1
    for s in shape:
        n *= s
    return torch.arange(1, n + 1, dtype=torch.float64).reshape(shape)


def unary_case(name, fn, x, **args):
    x = x.clone().requires_grad_(True)
    y = fn(x)
    gy = weights(y.shape)
    (y * gy).sum().backward()
    return {"name": name, "fn": name.split("_")[0], "args": args, "x": t(x), "y": t(y), "gy": t(gy), "gx": t(x.grad)}


def binary_case(name, fn, a, b):
    a = a.clone().requires_grad_(True)
    b = b.clone().requires_grad_(True)
    y = fn(a, b)
    gy = weights(y.shape)
    (y * gy).sum().backward()
    return {"name": name, "a": t(a), "b": t(b), "y": t(y), "gy": t(gy), "ga": t(a.grad), "gb": t(b.grad)}


KINK = torch.tensor([-1.5, -0.25, 0.0, 0.0, 0.25, 1.5])


def kink_cases():
    bounds = torch.tensor([-2.0, -1.0, -0.75, 0.0, 0.5, 1.0, 1.25, 2.0])
    return [
        unary_case("relu", F.relu, KINK),
        unary_case("leakyRelu", lambda x: F.leaky_relu(x, 0.25), KINK, negativeSlope=0.25),
        unary_case("abs", torch.abs, KINK),
        # clamp's gradient passes where min <= x <= max: both bounds included.
        unary_case("clamp_both", lambda x: torch.clamp(x, -1.0, 1.0), bounds, min=-1.0, max=1.0),
        unary_case("clamp_min", lambda x: torch.clamp(x, min=0.5), bounds, min=0.5),
        unary_case("clamp_max", lambda x: torch.clamp(x, max=-0.75), bounds, max=-0.75),
    ]


def binary_tie_cases():
    a = torch.tensor([[1.0, 2.0, -0.5], [0.0, 3.0, 3.0]])
    b = torch.tensor([[1.0, 1.5, -0.5], [0.0, 3.25, 3.0]])
    # Broadcasting: a row against a column, ties on the diagonal.
    r = torch.tensor([[0.0, 1.0, 2.0]])
    c = torch.tensor([[0.0], [1.0], [2.0]])
    return [
        binary_case("maximum", torch.maximum, a, b),
        binary_case("minimum", torch.minimum, a, b),
        binary_case("maximum_broadcast", torch.maximum, r, c),
        binary_case("minimum_broadcast", torch.minimum, r, c),
    ]


def reduction_cases():
    x = torch.tensor(
        [
            [[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 2.0, 2.0], [0.5, -0.5, 0.5, 0.25]],
            [[-2.0, -2.0, -3.0, -2.0], [4.0, 1.0, 4.0, 0.0], [0.0, 0.0, -1.0, 0.0]],
        ]
    )
    cases = []

    def add(name, op, axes, keepdim, fn):
        xg = x.clone().requires_grad_(True)
        y = fn(xg)
        gy = weights(y.shape)
        (y * gy).sum().backward()
        cases.append(
            {
                "name": name,
                "op": op,
                "axes": axes,
                "keepDims": keepdim,
                "x": t(x),
                "y": t(y),
                "gy": t(gy),
                "gx": t(xg.grad),
            }
        )

    # amax / amin share the gradient evenly between tied entries; so do the
    # full reductions max() and min() (without dim).
    add("max_all", "max", None, False, lambda v: v.max())
    add("min_all", "min", None, False, lambda v: v.min())
    for axes in ([0], [1], [2], [1, 2], [0, 2]):
        for keep in (False, True):
            suffix = "_".join(str(a) for a in axes) + ("_keep" if keep else "")
            add("amax_" + suffix, "max", axes, keep, lambda v: torch.amax(v, dim=axes, keepdim=keep))
            add("amin_" + suffix, "min", axes, keep, lambda v: torch.amin(v, dim=axes, keepdim=keep))
    return cases


def argmax_cases():
    x = torch.tensor([[3.0, 1.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 0.0, -1.0, 0.0]])
    cases = []
    for op, fn in (("argmax", torch.argmax), ("argmin", torch.argmin)):
        cases.append({"name": op + "_all", "op": op, "axis": None, "keepDims": False, "x": t(x), "y": t(fn(x))})
        for axis in (0, 1):
            for keep in (False, True):
                y = fn(x, dim=axis, keepdim=keep)
                name = "%s_%d%s" % (op, axis, "_keep" if keep else "")
                cases.append({"name": name, "op": op, "axis": axis, "keepDims": keep, "x": t(x), "y": t(y)})
    return cases


def max_pool_cases():
    # Plane 0: all equal; plane 1: ties inside and across overlapping windows;
    # plane 2: a plateau of maxima crossing window borders, with negative values.
    x = torch.tensor(
        [
            [
                [[1.0] * 5] * 5,
                [
                    [0.0, 2.0, 2.0, 1.0, 0.0],
                    [2.0, 2.0, 0.0, 2.0, 1.0],
                    [1.0, 0.0, 3.0, 3.0, 3.0],
                    [1.0, 1.0, 3.0, 0.0, 3.0],
                    [0.0, 1.0, 0.5, 0.5, 0.5],
                ],
                [
                    [-1.0, -1.0, -2.0, -1.0, -1.0],
                    [-1.0, -3.0, -1.0, -1.0, -2.0],
                    [-2.0, -1.0, -1.0, -4.0, -1.0],
                    [-1.0, -1.0, -2.0, -1.0, -1.0],
                    [-3.0, -1.0, -1.0, -1.0, -2.0],
                ],
            ]
        ]
    )
    specs = [
        # (name, kernel, stride, padding, dilation, ceil_mode)
        ("k2_s2", 2, 2, 0, 1, False),
        ("k2_s1", 2, 1, 0, 1, False),
        ("k3_s1", 3, 1, 0, 1, False),
        ("k3_s2_p1", 3, 2, 1, 1, False),
        ("k2_s2_ceil", 2, 2, 0, 1, True),
        ("k2_s1_d2", 2, 1, 0, 2, False),
    ]
    cases = []
    for name, k, s, p, d, ceil in specs:
        xg = x.clone().requires_grad_(True)
        y = F.max_pool2d(xg, k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
        gy = weights(y.shape)
        (y * gy).sum().backward()
        cases.append(
            {
                "name": name,
                "params": {"kernel": [k, k], "stride": [s, s], "padding": [p, p], "dilation": [d, d], "ceilMode": ceil},
                "x": t(x),
                "y": t(y),
                "gy": t(gy),
                "gx": t(xg.grad),
            }
        )
    return cases


def main():
    fixtures = {
        "meta": {"torch": torch.__version__, "script": "scripts/make-tie-fixtures.py"},
        "kinks": kink_cases(),
        "binary": binary_tie_cases(),
        "reductions": reduction_cases(),
        "argmax": argmax_cases(),
        "maxPool2d": max_pool_cases(),
    }
    with open(OUT_PATH, "w") as f:
        json.dump(fixtures, f, sort_keys=False, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote", os.path.relpath(OUT_PATH))


if __name__ == "__main__":
    main()
