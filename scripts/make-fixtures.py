#!/usr/bin/python3
"""Generate PyTorch reference values for tsgrad's tests.

Writes test/fixtures/torch-reference.json, a single JSON object whose
top-level keys are sections (conv2d, maxPool2d, avgPool2d, adaptiveAvgPool2d,
upsample, batchNorm, crossEntropy, nllLoss, optim, activations, meta). Each
section is a list of cases holding the inputs, the forward result and the
gradients PyTorch computes for them.

A tensor is stored as {"shape": [...], "data": [flat row-major list]}; a
scalar has shape []. Every input is stored, so the tests never need to
reproduce torch's random number generator.

Rerun (Debian's PyTorch only imports with the system interpreter):

    /usr/bin/python3 scripts/make-fixtures.py

The output is deterministic: running the script twice gives a byte-identical
file.
"""

import json
import os
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch-reference.json"
)

torch.set_default_dtype(torch.float64)

# Even kernels with padding='same' are exercised on purpose; torch's note that
# this may copy the input is expected noise.
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")


# ---------------------------------------------------------------- helpers


def r8(v):
    """Round a Python number to 8 significant digits."""
    return float("%.8g" % v)


def rounded(x):
    """Round a tensor to exactly the values the fixture will store.

    Inputs go through this before any computation, so the stored inputs
    reproduce the stored outputs exactly rather than only to 8 digits.
    """
    return torch.tensor([r8(v) for v in x.detach().reshape(-1).tolist()]).reshape(x.shape)


def t(x):
    """Serialize a tensor (float or integer) as {"shape", "data"}."""
    if x is None:
        return None
    x = x.detach()
    data = x.reshape(-1).tolist()
    if x.is_floating_point():
        data = [r8(v) for v in data]
    return {"shape": list(x.shape), "data": data}


def randn(*shape):
    return rounded(torch.randn(*shape))


def distinct(*shape):
    """Values with no ties anywhere, so max-pool gradients are unambiguous.

    Multiples of 1/16 keep them exact in binary and short in JSON.
    """
    n = 1
    for s in shape:
        n *= s
    return (torch.randperm(n).double() - n / 2).div(16).reshape(shape)


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def seed(section_index):
    # A seed per section keeps sections independent: adding a case to one
    # section does not change the inputs of every section after it.
    torch.manual_seed(section_index)


def with_grad(*tensors):
    return [x.clone().requires_grad_(True) if x is not None else None for x in tensors]


# ------------------------------------------------------------------ conv2d


def conv2d_cases():
    seed(0)
    # (name, input HxW, cin, cout, kernel, stride, padding, dilation, groups, bias)
    specs = [
        ("k3_s1_p0", (7, 7), 4, 6, (3, 3), 1, 0, 1, 1, True),
        ("k3_s1_p1", (7, 7), 4, 6, (3, 3), 1, 1, 1, 1, True),
        ("k3_s1_p1_nobias", (7, 7), 4, 6, (3, 3), 1, 1, 1, 1, False),
        ("k3_s2_p0", (7, 7), 4, 6, (3, 3), 2, 0, 1, 1, True),
        ("k3_s2_p1", (7, 7), 4, 6, (3, 3), 2, 1, 1, 1, True),
        ("k3_s21_p1", (7, 7), 4, 6, (3, 3), (2, 1), 1, 1, 1, True),
        ("k3_s1_p12", (7, 7), 4, 6, (3, 3), 1, (1, 2), 1, 1, True),
        ("k3_s2_p12", (7, 7), 4, 6, (3, 3), 2, (1, 2), 1, 1, True),
        ("k3_s1_same", (7, 7), 4, 6, (3, 3), 1, "same", 1, 1, True),
        ("k3_s1_valid", (7, 7), 4, 6, (3, 3), 1, "valid", 1, 1, True),
        ("k3_s2_valid", (7, 7), 4, 6, (3, 3), 2, "valid", 1, 1, True),
        ("k3_s1_p0_d2", (7, 7), 4, 6, (3, 3), 1, 0, 2, 1, True),
        ("k3_s1_same_d2", (7, 7), 4, 6, (3, 3), 1, "same", 2, 1, True),
        ("k3_s1_p1_d12", (7, 7), 4, 6, (3, 3), 1, 1, (1, 2), 1, True),
        ("k3_s1_p1_g2", (7, 7), 4, 6, (3, 3), 1, 1, 1, 2, True),
        ("k3_s2_p1_d2_g2", (7, 7), 4, 6, (3, 3), 2, 1, 2, 2, True),
        ("k3_s21_valid_g2_nobias", (7, 7), 4, 6, (3, 3), (2, 1), "valid", 1, 2, False),
        ("dw4_k3_s1_p1", (7, 7), 4, 4, (3, 3), 1, 1, 1, 4, True),
        ("dw4_k3_s1_same_d2_nobias", (7, 7), 4, 4, (3, 3), 1, "same", 2, 4, False),
        ("dw8_k3_s2_p1", (7, 7), 4, 8, (3, 3), 2, 1, 1, 4, True),
        ("k1_s1_p0", (7, 7), 4, 6, (1, 1), 1, 0, 1, 1, True),
        ("k1_s2_p1", (7, 7), 4, 6, (1, 1), 2, 1, 1, 1, True),
        ("k1_s1_valid_g2", (7, 7), 4, 6, (1, 1), 1, "valid", 1, 2, True),
        ("k23_s1_p0", (7, 7), 4, 6, (2, 3), 1, 0, 1, 1, True),
        ("k23_s1_same", (7, 7), 4, 6, (2, 3), 1, "same", 1, 1, True),
        ("k23_s21_p12_d2", (7, 7), 4, 6, (2, 3), (2, 1), (1, 2), 2, 1, True),
        # An even kernel with 'same' needs asymmetric padding (torch puts the
        # extra row/column at the bottom/right).
        ("k22_s1_same", (7, 7), 4, 6, (2, 2), 1, "same", 1, 1, True),
        ("k22_s1_same_d2_g2", (7, 7), 4, 6, (2, 2), 1, "same", 2, 2, True),
        ("h6w9_k3_s1_p1", (6, 9), 4, 6, (3, 3), 1, 1, 1, 1, True),
        ("h6w9_k3_s21_p12_d2_g2", (6, 9), 4, 6, (3, 3), (2, 1), (1, 2), 2, 2, True),
        ("h6w9_k23_s2_valid_nobias", (6, 9), 4, 6, (2, 3), 2, "valid", 1, 1, False),
        ("h6w9_dw8_k3_s1_same", (6, 9), 4, 8, (3, 3), 1, "same", 1, 4, True),
    ]
    cases = []
    for name, (h, w_), cin, cout, k, stride, padding, dilation, groups, bias in specs:
        x = randn(2, cin, h, w_)
        w = randn(cout, cin // groups, *k)
        b = randn(cout) if bias else None
        xg, wg, bg = with_grad(x, w, b)
        y = F.conv2d(xg, wg, bg, stride=stride, padding=padding, dilation=dilation, groups=groups)
        assert y.numel() > 0, name
        gy = randn(*y.shape)
        (y * gy).sum().backward()
        cases.append(
            {
                "name": name,
                "params": {
                    "stride": pair(stride),
                    "padding": padding if isinstance(padding, str) else pair(padding),
                    "dilation": pair(dilation),
                    "groups": groups,
                },
                "x": t(x),
                "w": t(w),
                "b": t(b),
                "y": t(y),
                "gy": t(gy),
                "gx": t(xg.grad),
                "gw": t(wg.grad),
                "gb": t(bg.grad) if bias else None,
            }
        )
    return cases


# ----------------------------------------------------------------- pooling


def max_pool2d_cases():
    seed(1)
    # (name, input HxW, kernel, stride, padding, dilation, ceil_mode)
    specs = [
        ("k2_s2", (7, 7), 2, 2, 0, 1, False),
        ("k2_s2_ceil", (7, 7), 2, 2, 0, 1, True),
        ("k3_s2", (7, 7), 3, 2, 0, 1, False),
        ("k3_s2_p1", (7, 7), 3, 2, 1, 1, False),
        ("k3_s1_d2", (7, 7), 3, 1, 0, 2, False),
        ("k3_s2_p1_d2", (7, 7), 3, 2, 1, 2, False),
        ("k23_s21", (7, 7), (2, 3), (2, 1), 0, 1, False),
        ("h8w6_k3_s2_p1_ceil", (8, 6), 3, 2, 1, 1, True),
        ("h8w6_k2_s2", (8, 6), 2, 2, 0, 1, False),
        ("h8w6_k32_s12_p10_ceil", (8, 6), (3, 2), (1, 2), (1, 0), 1, True),
    ]
    cases = []
    for name, (h, w), k, s, p, d, ceil in specs:
        x = distinct(2, 3, h, w)
        (xg,) = with_grad(x)
        y = F.max_pool2d(xg, k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
        gy = randn(*y.shape)
        (y * gy).sum().backward()
        cases.append(
            {
                "name": name,
                "params": {
                    "kernel": pair(k),
                    "stride": pair(s),
                    "padding": pair(p),
                    "dilation": pair(d),
                    "ceilMode": ceil,
                },
                "x": t(x),
                "y": t(y),
                "gy": t(gy),
                "gx": t(xg.grad),
            }
        )
    return cases


def avg_pool2d_cases():
    seed(2)
    # (name, input HxW, kernel, stride, padding, ceil_mode, count_include_pad)
    specs = [
        ("k2_s2", (7, 7), 2, 2, 0, False, True),
        ("k3_s2", (7, 7), 3, 2, 0, False, True),
        ("k3_s1_p1_incpad", (7, 7), 3, 1, 1, False, True),
        ("k3_s1_p1_excpad", (7, 7), 3, 1, 1, False, False),
        ("k2_s2_ceil", (7, 7), 2, 2, 0, True, True),
        # With ceil_mode the last window can run past the padding too; torch
        # divides by the part of the window inside input+padding.
        ("h8w6_k3_s2_p1_ceil_incpad", (8, 6), 3, 2, 1, True, True),
        ("h8w6_k3_s2_p1_ceil_excpad", (8, 6), 3, 2, 1, True, False),
        ("k23_s12_p11_incpad", (7, 7), (2, 3), (1, 2), 1, False, True),
        ("h8w6_k32_s21_p10_excpad", (8, 6), (3, 2), (2, 1), (1, 0), False, False),
    ]
    cases = []
    for name, (h, w), k, s, p, ceil, inc in specs:
        x = randn(2, 3, h, w)
        (xg,) = with_grad(x)
        y = F.avg_pool2d(xg, k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=inc)
        gy = randn(*y.shape)
        (y * gy).sum().backward()
        cases.append(
            {
                "name": name,
                "params": {
                    "kernel": pair(k),
                    "stride": pair(s),
                    "padding": pair(p),
                    "ceilMode": ceil,
                    "countIncludePad": inc,
                },
                "x": t(x),
                "y": t(y),
                "gy": t(gy),
                "gx": t(xg.grad),
            }
        )
    return cases


def adaptive_avg_pool2d_cases():
    seed(3)
    # (name, input HxW, output size)
    specs = [
        ("global_1x1_from_7x7", (7, 7), (1, 1)),
        ("2x2_from_7x7", (7, 7), (2, 2)),
        ("3x3_from_7x7", (7, 7), (3, 3)),
        ("3x2_from_8x6", (8, 6), (3, 2)),
        ("5x4_from_8x6", (8, 6), (5, 4)),
        ("identity_7x7", (7, 7), (7, 7)),
    ]
    cases = []
    for name, (h, w), out in specs:
        x = randn(2, 3, h, w)
        (xg,) = with_grad(x)
        y = F.adaptive_avg_pool2d(xg, out)
        gy = randn(*y.shape)
        (y * gy).sum().backward()
        cases.append(
            {
                "name": name,
                "outputSize": list(out),
                "x": t(x),
                "y": t(y),
                "gy": t(gy),
                "gx": t(xg.grad),
            }
        )
    return cases


# ---------------------------------------------------------------- upsample


def upsample_cases():
    seed(4)
    # Only integer scale factors: for fractional ones torch maps coordinates
    # with 1/scale rather than in/out size, a subtlety not worth pinning here.
    # (name, mode, size, scale_factor)
    specs = [
        ("nearest_scale2", "nearest", None, (2, 2)),
        ("nearest_scale23", "nearest", None, (2, 3)),
        ("nearest_size5x7", "nearest", (5, 7), None),
        ("nearest_size2x3_down", "nearest", (2, 3), None),
        ("bilinear_scale2", "bilinear", None, (2, 2)),
        ("bilinear_scale23", "bilinear", None, (2, 3)),
        ("bilinear_size5x7", "bilinear", (5, 7), None),
        ("bilinear_size2x3_down", "bilinear", (2, 3), None),
    ]
    cases = []
    for name, mode, size, scale in specs:
        x = randn(2, 3, 3, 4)
        (xg,) = with_grad(x)
        extra = {"align_corners": False} if mode == "bilinear" else {}
        y = F.interpolate(
            xg,
            size=size,
            scale_factor=[float(s) for s in scale] if scale else None,
            mode=mode,
            **extra,
        )
        gy = randn(*y.shape)
        (y * gy).sum().backward()
        cases.append(
            {
                "name": name,
                "mode": mode,
                "size": list(size) if size else None,
                "scaleFactor": list(scale) if scale else None,
                "x": t(x),
                "y": t(y),
                "gy": t(gy),
                "gx": t(xg.grad),
            }
        )
    return cases


# -------------------------------------------------------------- batch norm


def batch_norm_cases():
    seed(5)
    # (name, kind, input shape, training, momentum)
    specs = [
        ("1d_train", "1d", (8, 5), True, 0.1),
        ("1d_train_m03", "1d", (8, 5), True, 0.3),
        ("1d_eval", "1d", (8, 5), False, 0.1),
        ("2d_train", "2d", (4, 3, 5, 5), True, 0.1),
        ("2d_train_m03", "2d", (4, 3, 5, 5), True, 0.3),
        ("2d_eval", "2d", (4, 3, 5, 5), False, 0.1),
    ]
    eps = 1e-5
    cases = []
    for name, kind, shape, training, momentum in specs:
        c = shape[1]
        bn = (nn.BatchNorm1d if kind == "1d" else nn.BatchNorm2d)(c, eps=eps, momentum=momentum)
        x = randn(*shape)
        weight = randn(c)
        bias = randn(c)
        running_mean = randn(c)
        running_var = rounded(torch.rand(c) + 0.5)
        with torch.no_grad():
            bn.weight.copy_(weight)
            bn.bias.copy_(bias)
            bn.running_mean.copy_(running_mean)
            bn.running_var.copy_(running_var)
        bn.train(training)
        (xg,) = with_grad(x)
        y = bn(xg)
        gy = randn(*y.shape)
        (y * gy).sum().backward()
        cases.append(
            {
                "name": name,
                "kind": kind,
                "training": training,
                "eps": eps,
                "momentum": momentum,
                "x": t(x),
                "weight": t(weight),
                "bias": t(bias),
                "runningMean": t(running_mean),
                "runningVar": t(running_var),
                "y": t(y),
                "gy": t(gy),
                "gx": t(xg.grad),
                "gweight": t(bn.weight.grad),
                "gbias": t(bn.bias.grad),
                # torch updates running_var with the unbiased batch variance.
                "runningMeanAfter": t(bn.running_mean),
                "runningVarAfter": t(bn.running_var),
            }
        )
    return cases


# ------------------------------------------------------------------ losses


def cross_entropy_cases():
    seed(6)
    n, c = 6, 5
    logits = torch.randn(n, c) * 3
    # Large logits in some rows exercise the log-sum-exp stability path.
    logits[3:] *= 10
    logits = rounded(logits)
    labels = torch.randint(0, c, (n,))
    cases = []
    for smoothing in (0.0, 0.1):
        for reduction in ("mean", "sum", "none"):
            cases.append(_cross_entropy_case(logits, labels, smoothing, reduction))
    extreme = rounded(torch.randn(n, c) * 100)
    cases.append(_cross_entropy_case(extreme, labels, 0.0, "mean", "extreme_ls0_mean"))
    cases.append(_cross_entropy_case(extreme, labels, 0.1, "none", "extreme_ls0.1_none"))
    return cases


def _cross_entropy_case(logits, labels, smoothing, reduction, name=None):
    (lg,) = with_grad(logits)
    loss = F.cross_entropy(lg, labels, reduction=reduction, label_smoothing=smoothing)
    loss.sum().backward()
    return {
        "name": name or "ls%g_%s" % (smoothing, reduction),
        "labelSmoothing": smoothing,
        "reduction": reduction,
        "logits": t(logits),
        "labels": t(labels),
        "loss": t(loss),
        "glogits": t(lg.grad),
    }


def nll_loss_cases():
    seed(7)
    n, c = 6, 5
    log_probs = rounded(F.log_softmax(torch.randn(n, c) * 2, dim=1))
    labels = torch.randint(0, c, (n,))
    cases = []
    for reduction in ("mean", "sum", "none"):
        (lp,) = with_grad(log_probs)
        loss = F.nll_loss(lp, labels, reduction=reduction)
        loss.sum().backward()
        cases.append(
            {
                "name": reduction,
                "reduction": reduction,
                "logProbs": t(log_probs),
                "labels": t(labels),
                "loss": t(loss),
                "glogProbs": t(lp.grad),
            }
        )
    return cases


# -------------------------------------------------------------- optimizers


def optim_cases():
    seed(8)
    steps = 5
    # (name, optimizer, options in tsgrad's camelCase spelling)
    specs = [
        ("sgd_plain", "sgd", {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "nesterov": False, "weightDecay": 0.0}),
        ("sgd_momentum", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": False, "weightDecay": 0.0}),
        ("sgd_nesterov", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weightDecay": 0.0}),
        ("sgd_momentum_wd", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": False, "weightDecay": 0.01}),
        ("adam_default", "adam", {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.0, "amsgrad": False}),
        ("adam_wd", "adam", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.1, "amsgrad": False}),
        ("adamw_wd", "adamw", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.1, "amsgrad": False}),
    ]
    cases = []
    for name, kind, o in specs:
        param0 = randn(3, 4)
        grads = [randn(3, 4) for _ in range(steps)]
        p = param0.clone().requires_grad_(True)
        if kind == "sgd":
            opt = torch.optim.SGD(
                [p], lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                nesterov=o["nesterov"], weight_decay=o["weightDecay"],
            )
        else:
            cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
            opt = cls(
                [p], lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"],
                weight_decay=o["weightDecay"], amsgrad=o["amsgrad"],
            )
        params = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            params.append(t(p))
        cases.append(
            {
                "name": name,
                "optimizer": kind,
                "options": o,
                "param0": t(param0),
                "grads": [t(g) for g in grads],
                "params": params,
            }
        )
    return cases


# ------------------------------------------------------------- activations


def activation_cases():
    seed(9)
    # (name, fn, args, torch function)
    specs = [
        ("relu", "relu", {}, F.relu),
        ("leakyRelu_0.01", "leakyRelu", {"negativeSlope": 0.01}, lambda x: F.leaky_relu(x, 0.01)),
        ("leakyRelu_0.2", "leakyRelu", {"negativeSlope": 0.2}, lambda x: F.leaky_relu(x, 0.2)),
        ("elu_1", "elu", {"alpha": 1.0}, lambda x: F.elu(x, alpha=1.0)),
        ("sigmoid", "sigmoid", {}, torch.sigmoid),
        ("tanh", "tanh", {}, torch.tanh),
        ("softmax_dim-1", "softmax", {"dim": -1}, lambda x: F.softmax(x, dim=-1)),
        ("softmax_dim1", "softmax", {"dim": 1}, lambda x: F.softmax(x, dim=1)),
        ("logSoftmax_dim-1", "logSoftmax", {"dim": -1}, lambda x: F.log_softmax(x, dim=-1)),
    ]
    cases = []
    for name, fn, args, f in specs:
        x = torch.randn(2, 3, 4) * 2
        # Keep clear of 0, where relu-like derivatives are a convention.
        x = rounded(torch.where(x.abs() < 0.05, x.sign() * 0.05 + x, x))
        (xg,) = with_grad(x)
        y = f(xg)
        gy = randn(*y.shape)
        (y * gy).sum().backward()
        cases.append(
            {"name": name, "fn": fn, "args": args, "x": t(x), "y": t(y), "gy": t(gy), "gx": t(xg.grad)}
        )
    return cases


# -------------------------------------------------------------------- main


def write_fixture_json(path, fixtures, what=""):
    """Writes compact JSON atomically (temp file + rename) and says where; shared by the fixture scripts."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        # allow_nan=False: NaN/Infinity are not valid JSON and would mean a bug here.
        json.dump(fixtures, f, sort_keys=False, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)
    print("wrote %s (%s%d bytes)" % (os.path.normpath(path), what, os.path.getsize(path)))


def main():
    fixtures = {
        "conv2d": conv2d_cases(),
        "maxPool2d": max_pool2d_cases(),
        "avgPool2d": avg_pool2d_cases(),
        "adaptiveAvgPool2d": adaptive_avg_pool2d_cases(),
        "upsample": upsample_cases(),
        "batchNorm": batch_norm_cases(),
        "crossEntropy": cross_entropy_cases(),
        "nllLoss": nll_loss_cases(),
        "optim": optim_cases(),
        "activations": activation_cases(),
        "meta": {"torch": torch.__version__, "generatedBy": "scripts/make-fixtures.py"},
    }
    write_fixture_json(OUT_PATH, fixtures)


if __name__ == "__main__":
    main()
