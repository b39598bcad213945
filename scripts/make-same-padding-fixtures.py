#!/usr/bin/python3
"""Reference values for TensorFlow-style SAME / VALID padding.

Writes test/fixtures/same-padding.json with three sections (conv2d, maxPool2d,
avgPool2d) of random (size, kernel, stride, dilation, padding) cases, each
with its inputs, the forward result, a random upstream gradient and the
gradients PyTorch computes for it, plus "meta".

The implementation here is independent of tsgrad's: TensorFlow's rule is
applied by hand (out = ceil(n / stride), total padding
max((out - 1) * stride + dilation * (k - 1) + 1 - n, 0), the odd row / column
going after), the padding is made explicit with F.pad (zeros for convolution
and average pooling, -inf for max pooling), and then PyTorch's F.conv2d /
F.max_pool2d / F.avg_pool2d run unpadded. Average pooling with SAME leaves
the padded cells out of the divisor, as TensorFlow does: the window sums are
divided by the same pooling of a padded mask of ones. PyTorch's avg_pool2d
has no dilation, so dilated average pooling sums with a depthwise convolution
of ones instead.

Cases whose SAME windows would cover only padding (possible with a large
dilation on a small input) are skipped: tsgrad refuses them.

Rerun (Debian's PyTorch only imports with the system interpreter):

    /usr/bin/python3 scripts/make-same-padding-fixtures.py

The output is deterministic. Helpers (8-digit rounding, serialization,
tie-free values) are scripts/make-fixtures.py's.
"""

import importlib.util
import json
import math
import os
import random

import torch
import torch.nn.functional as F

OUT_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "same-padding.json"
)

torch.set_default_dtype(torch.float64)

_spec = importlib.util.spec_from_file_location(
    "make_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-fixtures.py")
)
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
rounded, t, randn, distinct = _base.rounded, _base.t, _base.randn, _base.distinct


def same_pads(n, k, s, d):
    """TensorFlow's SAME: [before, after] with the extra one after."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return [total // 2, total - total // 2]


def valid_out(n, k, s, d):
    """TensorFlow's VALID: ceil((n - span + 1) / s) outputs."""
    return math.ceil((n - (d * (k - 1) + 1) + 1) / s)


def pads_for(padding, h, w, k, s, d):
    if padding == "valid":
        return [0, 0, 0, 0]
    top, bottom = same_pads(h, k[0], s[0], d[0])
    left, right = same_pads(w, k[1], s[1], d[1])
    return [top, bottom, left, right]


def windows_cover_input(n, k, s, d, before):
    for j in range(math.ceil(n / s)):
        if not any(0 <= j * s - before + i * d < n for i in range(k)):
            return False
    return True


def explicit(x, pads, value=0.0):
    top, bottom, left, right = pads
    return F.pad(x, (left, right, top, bottom), value=value)


def random_geometry(rng, max_size=12, max_kernel=6):
    while True:
        h, w = rng.randint(1, max_size), rng.randint(1, max_size)
        k = [rng.randint(1, max_kernel), rng.randint(1, max_kernel)]
        s = [rng.randint(1, 5), rng.randint(1, 5)]
        d = [rng.choice([1, 1, 2, 3]), rng.choice([1, 1, 2])]
        padding = rng.choice(["same", "same", "valid"])
        if padding == "valid":
            if valid_out(h, k[0], s[0], d[0]) < 1 or valid_out(w, k[1], s[1], d[1]) < 1:
                continue
        else:
            pads = pads_for(padding, h, w, k, s, d)
            if not (windows_cover_input(h, k[0], s[0], d[0], pads[0]) and windows_cover_input(w, k[1], s[1], d[1], pads[2])):
                continue
        return h, w, k, s, d, padding


def expected_shape(padding, h, w, k, s, d):
    if padding == "same":
        return [math.ceil(h / s[0]), math.ceil(w / s[1])]
    return [valid_out(h, k[0], s[0], d[0]), valid_out(w, k[1], s[1], d[1])]


# ------------------------------------------------------------------ conv2d


def conv_case(x, weight, bias, k, s, d, padding, label):
    pads = pads_for(padding, x.shape[2], x.shape[3], k, s, d)
    xg, wg, bg = (v.clone().requires_grad_(True) for v in (x, weight, bias))
    y = F.conv2d(explicit(xg, pads), wg, bg, stride=s, dilation=d)
    assert list(y.shape[2:]) == expected_shape(padding, x.shape[2], x.shape[3], k, s, d), label
    gy = randn(*y.shape)
    (y * gy).sum().backward()
    return {
        "label": label,
        "x": t(x),
        "weight": t(weight),
        "bias": t(bias),
        "stride": s,
        "dilation": d,
        "padding": padding,
        "pads": pads,
        "y": t(y),
        "gy": t(gy),
        "gx": t(xg.grad),
        "gweight": t(wg.grad),
        "gbias": t(bg.grad),
    }


def conv_cases(rng):
    torch.manual_seed(1)
    cases = []
    # The notes' example: 13x13, kernel 6, stride 5 -> 3 (SAME) and 2 (VALID).
    for padding in ["same", "valid"]:
        x = randn(1, 1, 13, 13)
        cases.append(conv_case(x, randn(2, 1, 6, 6), randn(2), [6, 6], [5, 5], [1, 1], padding, f"notes 13x13 k6 s5 {padding}"))
    for i in range(60):
        h, w, k, s, d, padding = random_geometry(rng)
        n, cin, cout = rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 3)
        x = randn(n, cin, h, w)
        cases.append(
            conv_case(x, randn(cout, cin, *k), randn(cout), k, s, d, padding, f"random {i}: {h}x{w} k{k} s{s} d{d} {padding}")
        )
    return cases


# ------------------------------------------------------------------ pooling


def pool_case(kind, x, k, s, d, padding, label):
    pads = pads_for(padding, x.shape[2], x.shape[3], k, s, d)
    xg = x.clone().requires_grad_(True)
    if kind == "max":
        y = F.max_pool2d(explicit(xg, pads, float("-inf")), k, stride=s, dilation=d)
    else:
        c = x.shape[1]
        ones = torch.ones(1, 1, *x.shape[2:])
        if d == [1, 1]:
            sums = F.avg_pool2d(explicit(xg, pads), k, stride=s) * (k[0] * k[1])
            counts = F.avg_pool2d(explicit(ones, pads), k, stride=s) * (k[0] * k[1])
        else:
            sums = F.conv2d(explicit(xg, pads), torch.ones(c, 1, *k), stride=s, dilation=d, groups=c)
            counts = F.conv2d(explicit(ones, pads), torch.ones(1, 1, *k), stride=s, dilation=d)
        y = sums / counts
    assert list(y.shape[2:]) == expected_shape(padding, x.shape[2], x.shape[3], k, s, d), label
    assert torch.isfinite(y).all(), label
    gy = randn(*y.shape)
    (y * gy).sum().backward()
    return {
        "label": label,
        "x": t(x),
        "kernel": k,
        "stride": s,
        "dilation": d,
        "padding": padding,
        "pads": pads,
        "y": t(y),
        "gy": t(gy),
        "gx": t(xg.grad),
    }


def pool_cases(kind, rng, seed):
    torch.manual_seed(seed)
    cases = []
    for padding in ["same", "valid"]:
        x = distinct(1, 2, 13, 13)
        cases.append(pool_case(kind, x, [6, 6], [5, 5], [1, 1], padding, f"notes 13x13 k6 s5 {padding}"))
    # Overlapping 3/2 pooling with SAME on an odd and an even map.
    for size in [7, 8]:
        cases.append(pool_case(kind, distinct(1, 1, size, size), [3, 3], [2, 2], [1, 1], "same", f"3/2 same {size}x{size}"))
    for i in range(40):
        h, w, k, s, d, padding = random_geometry(rng, max_kernel=5)
        x = distinct(rng.randint(1, 2), rng.randint(1, 3), h, w)
        cases.append(pool_case(kind, x, k, s, d, padding, f"random {i}: {h}x{w} k{k} s{s} d{d} {padding}"))
    return cases


def main():
    rng = random.Random(11)
    fixtures = {
        "conv2d": conv_cases(rng),
        "maxPool2d": pool_cases("max", rng, 2),
        "avgPool2d": pool_cases("avg", rng, 3),
        "meta": {"torch": torch.__version__, "generatedBy": "scripts/make-same-padding-fixtures.py"},
    }
    _base.write_fixture_json(OUT_PATH, fixtures)


if __name__ == "__main__":
    main()
