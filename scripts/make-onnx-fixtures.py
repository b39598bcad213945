#!/usr/bin/python3
"""Generate ONNX files exported by PyTorch for tsgrad's importer tests.

Writes test/fixtures/onnx/<name>.onnx (torch.onnx.export, opset 13) and
<name>.json beside it: the input tsgrad feeds and the output PyTorch computed
for it in eval mode, as {"shape": [...], "data": [...]} float32 values.

The models are narrow or small-input versions of ResNet, DenseNet, GoogLeNet
and VGG-BN built from torchvision's own building blocks, with random weights
and random batch-norm statistics (so batch norm is not the identity), a few
hundred kilobytes each. Two export modes are covered: the default (constant
folding fuses batch norm into the convolutions, initializers get names such as
onnx::Conv_123) and do_constant_folding=False (BatchNormalization nodes and
state-dict names kept). The GoogLeNet variant flattens with x.view(x.size(0), -1),
so its file holds the Shape/Gather/Unsqueeze/Concat int64 subgraph PyTorch emits.

Rerun (Debian's PyTorch only imports with the system interpreter):

    /usr/bin/python3 scripts/make-onnx-fixtures.py
"""

import importlib
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
# torchvision.models re-exports functions under the module names, so the modules are imported by path.
tv_densenet = importlib.import_module("torchvision.models.densenet")
tv_googlenet = importlib.import_module("torchvision.models.googlenet")
tv_resnet = importlib.import_module("torchvision.models.resnet")
tv_vgg = importlib.import_module("torchvision.models.vgg")

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "onnx")


def randomize(model, seed):
    """Random weights and batch-norm statistics, reproducible from the seed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.5 if p.dim() > 1 else 0.1) / max(1, p[0].numel()) ** 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
    return model.eval()


class NarrowResNet(nn.Module):
    """torchvision BasicBlocks at widths 8-16-32 on a CIFAR-style stem."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)

        def down(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))

        self.layer1 = tv_resnet.BasicBlock(8, 8)
        self.layer2 = tv_resnet.BasicBlock(8, 16, stride=2, downsample=down(8, 16))
        self.layer3 = tv_resnet.Bottleneck(16, 8, stride=2, downsample=down(16, 32))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class MiniGoogLeNet(nn.Module):
    """torchvision's BasicConv2d and Inception blocks, narrow, with ceil-mode pooling."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = tv_googlenet.BasicConv2d(3, 16, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = tv_googlenet.Inception(16, 8, 8, 12, 4, 4, 4)
        self.inception3b = tv_googlenet.Inception(28, 8, 8, 12, 4, 8, 4)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.fc(self.dropout(x)), dim=1)


def narrow_vgg_bn():
    """torchvision's VGG with make_layers(batch_norm=True) on a narrow configuration and a small classifier."""
    model = tv_vgg.VGG(tv_vgg.make_layers([8, "M", 16, "M", 16, 16, "M"], batch_norm=True), num_classes=10, init_weights=False)
    model.avgpool = nn.AdaptiveAvgPool2d((2, 2))
    model.classifier = nn.Sequential(
        nn.Linear(16 * 4, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, 10)
    )
    return model


def narrow_densenet():
    return tv_densenet.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, bn_size=2, num_classes=10)


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.flatten().tolist()]}


def export(name, model, input_shape, seed, constant_folding=True):
    randomize(model, seed)
    g = torch.Generator().manual_seed(seed + 1000)
    example = torch.randn(input_shape, generator=g)
    path = os.path.join(OUT_DIR, f"{name}.onnx")
    torch.onnx.export(
        model,
        example,
        path,
        opset_version=13,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        do_constant_folding=constant_folding,
        # PRESERVE keeps BatchNormalization nodes (in eval mode) instead of fusing them into Conv.
        training=torch.onnx.TrainingMode.EVAL if constant_folding else torch.onnx.TrainingMode.PRESERVE,
    )
    # A different batch size than the export's, so the dynamic batch axis is used.
    x = torch.randn((input_shape[0] + 1,) + tuple(input_shape[1:]), generator=g)
    with torch.no_grad():
        y = model(x)
    with open(os.path.join(OUT_DIR, f"{name}.json"), "w") as f:
        json.dump({"input": tensor_json(x), "output": tensor_json(y), "torch": torch.__version__}, f)
        f.write("\n")
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(0)
    export("resnet-narrow", NarrowResNet(), (2, 3, 16, 16), 1)
    export("resnet-narrow-unfolded", NarrowResNet(), (2, 3, 16, 16), 2, constant_folding=False)
    export("densenet-narrow", narrow_densenet(), (2, 3, 32, 32), 3)
    export("googlenet-mini", MiniGoogLeNet(), (2, 3, 20, 20), 4, constant_folding=False)
    export("vgg-bn-narrow", narrow_vgg_bn(), (2, 3, 16, 16), 5)


if __name__ == "__main__":
    main()
