#!/usr/bin/python3
"""torchvision <-> tsgrad model interop: fixtures, and checks in both directions.

Default mode writes, with torchvision 0.14:

  test/fixtures/torchvision-models.json
      for every ImageNet model of the zoo (alexnet, vgg*, googlenet with and
      without auxiliary heads, resnet*, resnext50_32x4d, wide_resnet50_2,
      densenet*): its parameter count and every state-dict key with its shape.
      test/models/zoo.test.ts builds the same models in tsgrad and compares.

  test/fixtures/models/<name>.safetensors
      small models with torchvision's real structure and names but reduced
      widths and depths (torchvision fixes ResNet's widths at 64, so
      NarrowResNet below repeats its constructor with a width argument and
      torchvision's own blocks and _make_layer). Each file holds the state
      dict (random weights, randomized batch-norm statistics), an input
      "__test__.input" and torch's eval-mode output "__test__.output"; its
      metadata "config" says how to build the same model in tsgrad.
      test/models/interop.test.ts loads each with loadStateDict(strict) and
      compares outputs at 1e-4.

Other modes (need `npm run build` first; not part of the test suite):

  --check-tsgrad   tsgrad -> PyTorch: for every small fixture, tsgrad builds
                   the model with its own initialization, runs the input and
                   saves weights and output (dist/scripts/zoo-interop.js
                   export); torch loads the file with strict=True and must
                   give the same output.
  --full [NAMES]   full-size ImageNet models at 224x224, both directions:
                   torch's weights into tsgrad (zoo-interop.js compare) and
                   tsgrad's weights into torch.

Run with the system interpreter (Debian's PyTorch only imports there):

    /usr/bin/python3 scripts/make-model-fixtures.py
    npm run build && /usr/bin/python3 scripts/make-model-fixtures.py --check-tsgrad --full

The fixtures are deterministic: running the script twice gives identical files.
"""

import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
import torchvision
from torchvision.models.densenet import DenseNet
from torchvision.models.googlenet import BasicConv2d, Inception
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
from torchvision.models.vgg import VGG, make_layers

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIXTURES = os.path.join(ROOT, "test", "fixtures")
INTEROP = os.path.join(ROOT, "dist", "scripts", "zoo-interop.js")

# The safetensors encoder of the interop script next to this one (the Python package is not installed here).
_spec = importlib.util.spec_from_file_location("st", os.path.join(ROOT, "scripts", "make-safetensors-fixture.py"))
st = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(st)


def read_safetensors(path):
    """Returns (tensors, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    buf = raw[8 + n :]
    out = {}
    for k, info in header.items():
        dtype, _ = st.DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        if end == begin:
            out[k] = torch.empty(info["shape"], dtype=dtype)
        else:
            out[k] = torch.frombuffer(bytearray(buf[begin:end]), dtype=dtype).reshape(info["shape"]).clone()
    return out, metadata


# ----------------------------------------------------------------- models


class NarrowResNet(ResNet):
    """torchvision's ResNet with a chosen base width (torchvision fixes it at 64), built by its own _make_layer."""

    def __init__(self, block, layers, width, num_classes, groups=1, width_per_group=64, small_input=False):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = width
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        if small_input:
            self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def small_vgg(cfg, batch_norm, hidden, num_classes):
    """torchvision's VGG over a short configuration, with narrower hidden layers (same indices)."""
    model = VGG(make_layers(cfg, batch_norm=batch_norm), num_classes=num_classes)
    channels = [v for v in cfg if v != "M"][-1]
    model.classifier = nn.Sequential(
        nn.Linear(channels * 7 * 7, hidden),
        nn.ReLU(True),
        nn.Dropout(),
        nn.Linear(hidden, hidden),
        nn.ReLU(True),
        nn.Dropout(),
        nn.Linear(hidden, num_classes),
    )
    return model


def inception_stack():
    return nn.Sequential(
        BasicConv2d(3, 16, kernel_size=3, padding=1),
        Inception(16, 4, 4, 8, 2, 4, 4),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Inception(20, 8, 4, 8, 2, 4, 4),
    )


# name, tsgrad config, torch builder, input shape
SMALL = [
    (
        "resnet-basic",
        {"model": "resnet", "block": "basic", "layers": [2, 2, 2, 2], "width": 4, "numClasses": 10},
        lambda: NarrowResNet(BasicBlock, [2, 2, 2, 2], 4, 10),
        [2, 3, 40, 40],
    ),
    (
        "resnet-bottleneck-grouped",
        {
            "model": "resnet",
            "block": "bottleneck",
            "layers": [1, 1, 2, 1],
            "width": 8,
            "groups": 2,
            "widthPerGroup": 32,
            "numClasses": 10,
        },
        lambda: NarrowResNet(Bottleneck, [1, 1, 2, 1], 8, 10, groups=2, width_per_group=32),
        [2, 3, 40, 40],
    ),
    (
        "resnet-small-input",
        {"model": "resnet", "block": "basic", "layers": [1, 1, 1, 1], "width": 4, "numClasses": 10, "smallInput": True},
        lambda: NarrowResNet(BasicBlock, [1, 1, 1, 1], 4, 10, small_input=True),
        [2, 3, 16, 16],
    ),
    (
        "vgg",
        {"model": "vgg", "config": [8, "M", 16, 16, "M"], "batchNorm": False, "hidden": 32, "poolSize": 7, "numClasses": 10},
        lambda: small_vgg([8, "M", 16, 16, "M"], False, 32, 10),
        [2, 3, 28, 28],
    ),
    (
        "vgg-bn",
        {"model": "vgg", "config": [8, "M", 16, 16, "M"], "batchNorm": True, "hidden": 32, "poolSize": 7, "numClasses": 10},
        lambda: small_vgg([8, "M", 16, 16, "M"], True, 32, 10),
        [2, 3, 28, 28],
    ),
    (
        "densenet",
        {"model": "densenet", "growthRate": 4, "blockConfig": [2, 3, 2], "numInitFeatures": 8, "bnSize": 2, "numClasses": 10},
        lambda: DenseNet(growth_rate=4, block_config=(2, 3, 2), num_init_features=8, bn_size=2, num_classes=10),
        [2, 3, 40, 40],
    ),
    ("inception", {"model": "inception-stack"}, inception_stack, [2, 3, 12, 12]),
]

# The ImageNet models: zoo name, torchvision builder.
FULL = [
    ("alexnet", {}, lambda: torchvision.models.alexnet()),
    ("vgg11", {}, lambda: torchvision.models.vgg11()),
    ("vgg11_bn", {}, lambda: torchvision.models.vgg11_bn()),
    ("vgg13", {}, lambda: torchvision.models.vgg13()),
    ("vgg13_bn", {}, lambda: torchvision.models.vgg13_bn()),
    ("vgg16", {}, lambda: torchvision.models.vgg16()),
    ("vgg16_bn", {}, lambda: torchvision.models.vgg16_bn()),
    ("vgg19", {}, lambda: torchvision.models.vgg19()),
    ("vgg19_bn", {}, lambda: torchvision.models.vgg19_bn()),
    ("googlenet", {}, lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True)),
    ("googlenet", {"auxLogits": True}, lambda: torchvision.models.googlenet(aux_logits=True, init_weights=True)),
    ("resnet18", {}, lambda: torchvision.models.resnet18()),
    ("resnet34", {}, lambda: torchvision.models.resnet34()),
    ("resnet50", {}, lambda: torchvision.models.resnet50()),
    ("resnet101", {}, lambda: torchvision.models.resnet101()),
    ("resnet152", {}, lambda: torchvision.models.resnet152()),
    ("resnext50_32x4d", {}, lambda: torchvision.models.resnext50_32x4d()),
    ("wide_resnet50_2", {}, lambda: torchvision.models.wide_resnet50_2()),
    ("densenet121", {}, lambda: torchvision.models.densenet121()),
    ("densenet161", {}, lambda: torchvision.models.densenet161()),
    ("densenet169", {}, lambda: torchvision.models.densenet169()),
    ("densenet201", {}, lambda: torchvision.models.densenet201()),
]


def full_key(name, options):
    return name + ("+aux" if options.get("auxLogits") else "")


def randomize_batch_norm(model):
    """Every parameter random and non-zero, so eval outputs depend on every one: batch-norm statistics
    and affine parameters away from 0/1, and the convolution and linear biases (torchvision zeroes
    VGG's and GoogLeNet's) drawn as well, so a layer that dropped its bias would fail the zoo test."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.normal_(0, 0.2)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.num_batches_tracked.fill_(3)


def save_with_io(path, model, x, config):
    model.eval()
    with torch.no_grad():
        y = model(x)
    tensors = {k: v.detach().clone() for k, v in model.state_dict().items()}
    tensors["__test__.input"] = x
    tensors["__test__.output"] = y
    with open(path, "wb") as f:
        f.write(st.encode(tensors, {"config": json.dumps(config, sort_keys=True), "producer": "torchvision 0.14"}))


def compare(label, actual, expected, rtol=1e-4):
    scale = max(expected.abs().max().item(), 1.0)
    err = (actual - expected).abs().max().item() / scale
    ok = err <= rtol
    print(f"  {label:<40} max |diff| / max(|ref|, 1) = {err:.2e} {'ok' if ok else 'MISMATCH'}")
    return ok


# ------------------------------------------------------------------ modes


def make_fixtures():
    summary = {}
    for name, options, build in FULL:
        torch.manual_seed(0)
        model = build()
        sd = model.state_dict()
        summary[full_key(name, options)] = {
            "model": name,
            "options": options,
            "params": sum(p.numel() for p in model.parameters()),
            "keys": [[k, list(v.shape)] for k, v in sd.items()],
        }
        print(f"{full_key(name, options)}: {summary[full_key(name, options)]['params']:,} parameters")
    path = os.path.join(FIXTURES, "torchvision-models.json")
    with open(path, "w") as f:
        json.dump({"torchvision": torchvision.__version__, "models": summary}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")
    os.makedirs(os.path.join(FIXTURES, "models"), exist_ok=True)
    for i, (name, config, build, shape) in enumerate(SMALL):
        torch.manual_seed(100 + i)
        model = build()
        randomize_batch_norm(model)
        path = os.path.join(FIXTURES, "models", f"{name}.safetensors")
        save_with_io(path, model, torch.randn(shape), config)
        params = sum(p.numel() for p in model.parameters())
        print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes, {params:,} parameters)")


def node(*args):
    if not os.path.exists(INTEROP):
        sys.exit(f"{os.path.relpath(INTEROP, ROOT)} is missing: run `npm run build` first")
    r = subprocess.run(["node", INTEROP, *args], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        sys.exit(f"node {os.path.basename(INTEROP)} {' '.join(args)} failed with exit code {r.returncode}")
    return r.stdout


def tsgrad_into_torch(label, model, exported):
    """Loads tsgrad's exported weights into a torch model (strict) and compares outputs."""
    tensors, _ = read_safetensors(exported)
    x = tensors.pop("__test__.input")
    y_tsgrad = tensors.pop("__test__.output")
    sd = model.state_dict()
    # tsgrad keeps num_batches_tracked as int32; torch's buffer is int64.
    tensors = {k: v.to(sd[k].dtype) if k in sd else v for k, v in tensors.items()}
    model.load_state_dict(tensors, strict=True)
    model.eval()
    with torch.no_grad():
        y = model(x)
    return compare(label, y_tsgrad, y)


def check_tsgrad():
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, _config, build, _shape in SMALL:
            fixture = os.path.join(FIXTURES, "models", f"{name}.safetensors")
            out = os.path.join(tmp, f"{name}.tsgrad.safetensors")
            node("export", fixture, out)
            ok &= tsgrad_into_torch(f"{name}: tsgrad -> torch", build(), out)
    return ok


def check_full(names):
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, options, build in FULL:
            key = full_key(name, options)
            if names and key not in names and name not in names:
                continue
            torch.manual_seed(0)
            model = build()
            randomize_batch_norm(model)
            path = os.path.join(tmp, "torch.safetensors")
            config = {"model": name, **options}
            save_with_io(path, model, torch.randn(1, 3, 224, 224), config)
            print(f"  {key + ': torch -> tsgrad':<40} " + node("compare", path).strip())
            out = os.path.join(tmp, "tsgrad.safetensors")
            node("export", path, out)
            ok &= tsgrad_into_torch(f"{key}: tsgrad -> torch", build(), out)
            os.remove(path)
            os.remove(out)
    return ok


def main(argv):
    if not argv:
        make_fixtures()
        return 0
    ok = True
    if "--check-tsgrad" in argv:
        print("tsgrad -> PyTorch, small fixtures:")
        ok &= check_tsgrad()
    if "--full" in argv:
        names = [a for a in argv[argv.index("--full") + 1 :] if not a.startswith("--")]
        print("full-size models, 1x3x224x224, both directions:")
        ok &= check_full(names)
    print("all outputs match" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
