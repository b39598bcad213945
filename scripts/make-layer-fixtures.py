#!/usr/bin/python3
"""Generate PyTorch reference values for tsgrad's extra layers.

Writes test/fixtures/torch-layers.json, a single JSON object whose top-level
keys are sections (layerNorm, instanceNorm2d, groupNorm, localResponseNorm,
prelu, rreluEval, elu, upsample, convTranspose2d, meta). Each section is a
list of cases holding the inputs and parameters, the forward result, a random
upstream gradient and the gradients PyTorch computes for it.

A tensor is stored as {"shape": [...], "data": [flat row-major list]}; a
scalar has shape []. Every input is rounded to 8 significant digits before
anything is computed from it, so the stored inputs reproduce the stored
outputs exactly rather than only to 8 digits.

Rerun (Debian's PyTorch only imports with the system interpreter):

    /usr/bin/python3 scripts/make-layer-fixtures.py

The output is deterministic: running the script twice gives a byte-identical
file. Companion of scripts/make-fixtures.py, in the same style.
"""

import importlib.util
import json
import os

import torch
import torch.nn as nn

OUT_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch-layers.json"
)

torch.set_default_dtype(torch.float64)


# ---------------------------------------------------------------- helpers


# The fixture helpers (8-digit rounding, serialization) are make-fixtures.py's.
_spec = importlib.util.spec_from_file_location(
    "make_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-fixtures.py")
)
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
r8, rounded, t, randn = _base.r8, _base.rounded, _base.t, _base.randn


def seed(section_index):
    # A seed per section keeps sections independent.
    torch.manual_seed(1000 + section_index)


def away_from_zero(x, margin=0.05):
    """Moves values off 0 (where relu-like derivatives are a convention)."""
    return rounded(torch.where(x.abs() < margin, x.sign() * margin + x, x))


def set_param(p, value):
    with torch.no_grad():
        p.copy_(value)


def run(module, x, extra_grads):
    """Forward x through module, backward a random upstream gradient.

    Returns (y, gy, gx, {name: grad}) for the named parameters in extra_grads.
    """
    xg = x.clone().requires_grad_(True)
    y = module(xg)
    gy = randn(*y.shape)
    (y * gy).sum().backward()
    grads = {}
    for name in extra_grads:
        p = getattr(module, name)
        grads[name] = t(p.grad) if p is not None and p.grad is not None else None
    return y, gy, xg.grad, grads


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


# ------------------------------------------------------------ normalization


def layer_norm_cases():
    seed(0)
    # (name, input shape, normalized shape, elementwise affine, eps)
    specs = [
        ("2d_last", (4, 6), [6], True, 1e-5),
        ("4d_chw", (2, 3, 4, 5), [3, 4, 5], True, 1e-5),
        ("4d_hw_eps1e-3", (2, 3, 4, 5), [4, 5], True, 1e-3),
        ("3d_noaffine", (2, 5, 7), [7], False, 1e-5),
    ]
    cases = []
    for name, shape, ns, affine, eps in specs:
        m = nn.LayerNorm(ns, eps=eps, elementwise_affine=affine)
        weight = bias = None
        if affine:
            weight = randn(*ns)
            bias = randn(*ns)
            set_param(m.weight, weight)
            set_param(m.bias, bias)
        x = rounded(torch.randn(*shape) * 2 + 0.5)
        y, gy, gx, g = run(m, x, ["weight", "bias"] if affine else [])
        cases.append(
            {
                "name": name,
                "normalizedShape": ns,
                "elementwiseAffine": affine,
                "eps": eps,
                "x": t(x),
                "weight": t(weight),
                "bias": t(bias),
                "y": t(y),
                "gy": t(gy),
                "gx": t(gx),
                "gweight": g.get("weight"),
                "gbias": g.get("bias"),
            }
        )
    return cases


def instance_norm_cases():
    seed(1)
    # (name, affine, track_running_stats, training, momentum, eps)
    specs = [
        ("plain_train", False, False, True, 0.1, 1e-5),
        ("plain_eval", False, False, False, 0.1, 1e-5),
        ("affine_train", True, False, True, 0.1, 1e-5),
        ("affine_track_train", True, True, True, 0.1, 1e-5),
        ("affine_track_eval", True, True, False, 0.1, 1e-5),
        ("track_train_m0.3", False, True, True, 0.3, 1e-3),
        ("track_eval", False, True, False, 0.1, 1e-5),
    ]
    cases = []
    for name, affine, track, training, momentum, eps in specs:
        c = 3
        m = nn.InstanceNorm2d(c, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
        weight = bias = rm = rv = None
        if affine:
            weight = randn(c)
            bias = randn(c)
            set_param(m.weight, weight)
            set_param(m.bias, bias)
        if track:
            rm = randn(c)
            rv = rounded(torch.rand(c) + 0.5)
            m.running_mean.copy_(rm)
            m.running_var.copy_(rv)
        m.train(training)
        x = rounded(torch.randn(2, c, 3, 4) * 1.5 - 0.3)
        y, gy, gx, g = run(m, x, ["weight", "bias"] if affine else [])
        cases.append(
            {
                "name": name,
                "affine": affine,
                "trackRunningStats": track,
                "training": training,
                "momentum": momentum,
                "eps": eps,
                "x": t(x),
                "weight": t(weight),
                "bias": t(bias),
                "runningMean": t(rm),
                "runningVar": t(rv),
                "y": t(y),
                "gy": t(gy),
                "gx": t(gx),
                "gweight": g.get("weight"),
                "gbias": g.get("bias"),
                "runningMeanAfter": t(m.running_mean) if track else None,
                "runningVarAfter": t(m.running_var) if track else None,
                "numBatchesTrackedAfter": int(m.num_batches_tracked) if track else None,
            }
        )
    return cases


def group_norm_cases():
    seed(2)
    # (name, input shape, groups, affine, eps)
    specs = [
        ("g2_c6", (2, 6, 3, 4), 2, True, 1e-5),
        ("g3_c6_noaffine", (2, 6, 3, 4), 3, False, 1e-5),
        ("g1_c4_layerlike", (3, 4, 2, 2), 1, True, 1e-5),
        ("g4_c4_instancelike", (2, 4, 3, 3), 4, True, 1e-3),
        ("g2_c4_rank3", (2, 4, 5), 2, True, 1e-5),
    ]
    cases = []
    for name, shape, groups, affine, eps in specs:
        c = shape[1]
        m = nn.GroupNorm(groups, c, eps=eps, affine=affine)
        weight = bias = None
        if affine:
            weight = randn(c)
            bias = randn(c)
            set_param(m.weight, weight)
            set_param(m.bias, bias)
        x = rounded(torch.randn(*shape) * 2 + 0.3)
        y, gy, gx, g = run(m, x, ["weight", "bias"] if affine else [])
        cases.append(
            {
                "name": name,
                "numGroups": groups,
                "affine": affine,
                "eps": eps,
                "x": t(x),
                "weight": t(weight),
                "bias": t(bias),
                "y": t(y),
                "gy": t(gy),
                "gx": t(gx),
                "gweight": g.get("weight"),
                "gbias": g.get("bias"),
            }
        )
    return cases


def local_response_norm_cases():
    seed(3)
    # (name, input shape, size, alpha, beta, k)
    specs = [
        ("size5_alexnet", (2, 7, 3, 3), 5, 1e-4, 0.75, 2.0),
        ("size2_even", (2, 5, 2, 3), 2, 0.5, 0.75, 1.0),
        ("size4_even_big_alpha", (1, 6, 3, 2), 4, 0.8, 0.6, 1.5),
        ("size3", (2, 4, 3, 3), 3, 0.3, 1.0, 1.0),
        ("size1", (1, 3, 2, 2), 1, 0.5, 0.5, 1.0),
        ("size9_wider_than_channels", (1, 4, 2, 2), 9, 0.7, 0.75, 1.0),
        ("rank3_size3", (2, 5, 4), 3, 0.4, 0.75, 1.0),
    ]
    cases = []
    for name, shape, size, alpha, beta, k in specs:
        m = nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=k)
        x = rounded(torch.randn(*shape) * 2)
        y, gy, gx, _ = run(m, x, [])
        cases.append(
            {
                "name": name,
                "size": size,
                "alpha": alpha,
                "beta": beta,
                "k": k,
                "x": t(x),
                "y": t(y),
                "gy": t(gy),
                "gx": t(gx),
            }
        )
    return cases


# ------------------------------------------------------------- activations


def prelu_cases():
    seed(4)
    # (name, input shape, num_parameters)
    specs = [
        ("single_4d", (2, 3, 2, 3), 1),
        ("per_channel_4d", (2, 3, 2, 3), 3),
        ("per_channel_2d", (4, 5), 5),
        ("single_1d", (6,), 1),
    ]
    cases = []
    for name, shape, num in specs:
        m = nn.PReLU(num_parameters=num)
        weight = rounded(torch.rand(num) * 0.6 - 0.1)
        set_param(m.weight, weight)
        x = away_from_zero(torch.randn(*shape) * 2)
        y, gy, gx, g = run(m, x, ["weight"])
        cases.append(
            {
                "name": name,
                "numParameters": num,
                "x": t(x),
                "weight": t(weight),
                "y": t(y),
                "gy": t(gy),
                "gx": t(gx),
                "gweight": g["weight"],
            }
        )
    return cases


def rrelu_eval_cases():
    seed(5)
    specs = [("default", 1 / 8, 1 / 3), ("custom", 0.1, 0.5)]
    cases = []
    for name, lower, upper in specs:
        m = nn.RReLU(lower, upper)
        m.eval()
        x = away_from_zero(torch.randn(2, 3, 4) * 2)
        y, gy, gx, _ = run(m, x, [])
        cases.append(
            {"name": name, "lower": lower, "upper": upper, "x": t(x), "y": t(y), "gy": t(gy), "gx": t(gx)}
        )
    return cases


def elu_cases():
    seed(6)
    cases = []
    for alpha in [1.0, 0.5, 2.0]:
        m = nn.ELU(alpha=alpha)
        x = away_from_zero(torch.randn(2, 3, 4) * 2)
        y, gy, gx, _ = run(m, x, [])
        cases.append({"name": "alpha%g" % alpha, "alpha": alpha, "x": t(x), "y": t(y), "gy": t(gy), "gx": t(gx)})
    return cases


# ------------------------------------------------------------------ resize


def upsample_cases():
    seed(7)
    # (name, mode, size, scale_factor)
    specs = [
        ("nearest_scale2", "nearest", None, 2),
        ("nearest_size5x7", "nearest", (5, 7), None),
        ("nearest_scale1.5", "nearest", None, 1.5),
        ("bilinear_scale2", "bilinear", None, 2),
        ("bilinear_size5x7", "bilinear", (5, 7), None),
        ("bilinear_size4x10", "bilinear", (4, 10), None),
        ("bilinear_size2x3_down", "bilinear", (2, 3), None),
        ("bilinear_scale1.5x2.5", "bilinear", None, (1.5, 2.5)),
    ]
    cases = []
    for name, mode, size, scale in specs:
        extra = {"align_corners": False} if mode == "bilinear" else {}
        m = nn.Upsample(size=size, scale_factor=scale, mode=mode, **extra)
        x = randn(1, 2, 3, 4)
        y, gy, gx, _ = run(m, x, [])
        cases.append(
            {
                "name": name,
                "mode": mode,
                "size": list(size) if size else None,
                "scaleFactor": (list(scale) if isinstance(scale, tuple) else scale) if scale else None,
                "x": t(x),
                "y": t(y),
                "gy": t(gy),
                "gx": t(gx),
            }
        )
    return cases


# ------------------------------------------------------- transposed conv


def conv_transpose2d_cases():
    seed(8)
    # (name, input HxW, cin, cout, kernel, stride, padding, output_padding, dilation, groups, bias)
    specs = [
        ("k3_s1_p0", (3, 3), 4, 2, 3, 1, 0, 0, 1, 1, True),
        ("k3_s1_p1_nobias", (3, 3), 4, 2, 3, 1, 1, 0, 1, 1, False),
        ("k3_s2_p0", (3, 3), 4, 2, 3, 2, 0, 0, 1, 1, True),
        ("k3_s2_p1_op1", (3, 3), 4, 2, 3, 2, 1, 1, 1, 1, True),
        ("k4_s2_p1_dcgan", (3, 3), 4, 2, 4, 2, 1, 0, 1, 1, True),
        ("k3_s3_p0_op2", (2, 3), 4, 2, 3, 3, 0, 2, 1, 1, True),
        ("k3_s3_p1_op2", (2, 3), 4, 2, 3, 3, 1, 2, 1, 1, False),
        ("k3_s2_p2", (4, 3), 4, 2, 3, 2, 2, 0, 1, 1, True),
        ("k3_s1_p1_d2", (3, 3), 4, 2, 3, 1, 1, 0, 2, 1, True),
        ("k3_s1_p0_d2_op1", (3, 3), 4, 2, 3, 1, 0, 1, 2, 1, True),
        ("k3_s2_p1_d2_op1", (3, 3), 4, 2, 3, 2, 1, 1, 2, 1, True),
        ("k3_s1_p1_g2", (3, 3), 4, 6, 3, 1, 1, 0, 1, 2, True),
        ("k3_s2_p1_op1_g2_nobias", (3, 3), 4, 4, 3, 2, 1, 1, 1, 2, False),
        ("k23_s21_p10_op10", (3, 3), 4, 2, (2, 3), (2, 1), (1, 0), (1, 0), 1, 1, True),
        ("k23_s32_p01_op21_d12_g2", (2, 3), 4, 4, (2, 3), (3, 2), (0, 1), (2, 1), (1, 2), 2, True),
        ("k1_s2_p0_op1", (3, 3), 4, 3, 1, 2, 0, 1, 1, 1, True),
    ]
    cases = []
    for name, (h, w_), cin, cout, k, stride, padding, out_pad, dilation, groups, bias in specs:
        m = nn.ConvTranspose2d(
            cin, cout, k, stride=stride, padding=padding, output_padding=out_pad,
            dilation=dilation, groups=groups, bias=bias,
        )
        weight = randn(*m.weight.shape)
        set_param(m.weight, weight)
        b = None
        if bias:
            b = randn(cout)
            set_param(m.bias, b)
        x = randn(2, cin, h, w_)
        y, gy, gx, g = run(m, x, ["weight", "bias"] if bias else ["weight"])
        cases.append(
            {
                "name": name,
                "inChannels": cin,
                "outChannels": cout,
                "kernelSize": pair(k),
                "stride": pair(stride),
                "padding": pair(padding),
                "outputPadding": pair(out_pad),
                "dilation": pair(dilation),
                "groups": groups,
                "bias": bias,
                "x": t(x),
                "weight": t(weight),
                "b": t(b),
                "y": t(y),
                "gy": t(gy),
                "gx": t(gx),
                "gweight": g["weight"],
                "gbias": g.get("bias"),
            }
        )
    return cases


# -------------------------------------------------------------------- main


def main():
    fixtures = {
        "layerNorm": layer_norm_cases(),
        "instanceNorm2d": instance_norm_cases(),
        "groupNorm": group_norm_cases(),
        "localResponseNorm": local_response_norm_cases(),
        "prelu": prelu_cases(),
        "rreluEval": rrelu_eval_cases(),
        "elu": elu_cases(),
        "upsample": upsample_cases(),
        "convTranspose2d": conv_transpose2d_cases(),
        "meta": {"torch": torch.__version__, "generatedBy": "scripts/make-layer-fixtures.py"},
    }
    _base.write_fixture_json(OUT_PATH, fixtures)


if __name__ == "__main__":
    main()
