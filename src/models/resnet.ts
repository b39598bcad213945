/**
 * ResNet (He et al. 2015) with basic and bottleneck blocks, and its ResNeXt /
 * wide variants, with torchvision's parameter names and shapes.
 */
import { ArgumentError } from '../core/errors.js';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Identity,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  init,
} from '../nn/index.js';
import { flatten, relu } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelOptions, baseOptions, heInit, positiveInt } from './common.js';

interface BlockOptions {
  stride: number;
  downsample: Sequential | null;
  groups: number;
  widthPerGroup: number;
}

/** Two 3×3 convolutions and an identity (or 1×1 projection) shortcut. */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu = new ReLU();
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inPlanes: number, planes: number, o: BlockOptions) {
    super();
    if (o.groups !== 1 || o.widthPerGroup !== 64) {
      throw new ArgumentError('BasicBlock: groups and widthPerGroup apply to bottleneck ResNets only');
    }
    this.conv1 = new Conv2d(inPlanes, planes, 3, { stride: o.stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = new Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = o.downsample;
  }

  forward(x: Tensor): Tensor {
    const y = this.bn2.forward(this.conv2.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x)))));
    return relu(y.add(this.downsample ? this.downsample.forward(x) : x));
  }
}

/** 1×1 reduce, 3×3 (grouped for ResNeXt), 1×1 expand ×4, as in torchvision (stride on the 3×3). */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu = new ReLU();
  readonly downsample: Sequential | null;

  constructor(inPlanes: number, planes: number, o: BlockOptions) {
    super();
    const width = Math.floor(planes * (o.widthPerGroup / 64)) * o.groups;
    this.conv1 = new Conv2d(inPlanes, width, 1, { bias: false });
    this.bn1 = new BatchNorm2d(width);
    this.conv2 = new Conv2d(width, width, 3, { stride: o.stride, padding: 1, groups: o.groups, bias: false });
    this.bn2 = new BatchNorm2d(width);
    this.conv3 = new Conv2d(width, planes * Bottleneck.expansion, 1, { bias: false });
    this.bn3 = new BatchNorm2d(planes * Bottleneck.expansion);
    this.downsample = o.downsample;
  }

  forward(x: Tensor): Tensor {
    let y = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    y = this.relu.forward(this.bn2.forward(this.conv2.forward(y)));
    y = this.bn3.forward(this.conv3.forward(y));
    return relu(y.add(this.downsample ? this.downsample.forward(x) : x));
  }
}

export interface ResNetOptions extends ModelOptions {
  /** Channels of the first stage (default 64); stages have width, 2·width, 4·width, 8·width. */
  width?: number;
  /** Groups of the bottleneck's 3×3 convolution (ResNeXt's cardinality). Default 1. */
  groups?: number;
  /** Bottleneck width per group (default 64; 128 gives Wide ResNet-50-2, with 4 and groups 32 ResNeXt-50 32x4d). */
  widthPerGroup?: number;
  /** Start each residual branch's last batch norm at zero, so every block starts as the identity. */
  zeroInitResidual?: boolean;
}

type BlockClass = (typeof BasicBlock | typeof Bottleneck) & {
  new (inPlanes: number, planes: number, o: BlockOptions): BasicBlock | Bottleneck;
};

/**
 * ResNet: stem (7×7/2 conv, 3×3/2 max-pool), four stages of residual blocks, global average
 * pooling and a linear classifier. Parameter names are torchvision's (`layer1.0.conv1.weight`,
 * `layer2.0.downsample.0.weight`, `fc.bias`), so its state dicts load as they are.
 * @example const net = new ResNet('basic', [2, 2, 2, 2], { numClasses: 10, smallInput: true });
 */
export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu = new ReLU();
  readonly maxpool: MaxPool2d | Identity;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool = new AdaptiveAvgPool2d(1);
  readonly fc: Linear;

  constructor(
    block: 'basic' | 'bottleneck',
    layers: readonly [number, number, number, number],
    opts: ResNetOptions = {},
  ) {
    super();
    const { numClasses, inChannels, smallInput } = baseOptions('ResNet', opts);
    const width = positiveInt('ResNet', 'width', opts.width ?? 64);
    const Block: BlockClass = block === 'basic' ? BasicBlock : Bottleneck;
    const blockOpts = {
      groups: positiveInt('ResNet', 'groups', opts.groups ?? 1),
      widthPerGroup: positiveInt('ResNet', 'widthPerGroup', opts.widthPerGroup ?? 64),
    };
    this.conv1 = smallInput
      ? new Conv2d(inChannels, width, 3, { padding: 1, bias: false })
      : new Conv2d(inChannels, width, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(width);
    this.maxpool = smallInput ? new Identity() : new MaxPool2d(3, { stride: 2, padding: 1 });
    let inPlanes = width;
    const stage = (planes: number, blocks: number, stride: number): Sequential => {
      positiveInt('ResNet', 'blocks per stage', blocks);
      const out = planes * Block.expansion;
      const downsample =
        stride !== 1 || inPlanes !== out
          ? new Sequential(new Conv2d(inPlanes, out, 1, { stride, bias: false }), new BatchNorm2d(out))
          : null;
      const seq = new Sequential(new Block(inPlanes, planes, { ...blockOpts, stride, downsample }));
      inPlanes = out;
      for (let i = 1; i < blocks; i++)
        seq.add(new Block(inPlanes, planes, { ...blockOpts, stride: 1, downsample: null }));
      return seq;
    };
    this.layer1 = stage(width, layers[0], 1);
    this.layer2 = stage(width * 2, layers[1], 2);
    this.layer3 = stage(width * 4, layers[2], 2);
    this.layer4 = stage(width * 8, layers[3], 2);
    this.fc = new Linear(inPlanes, numClasses);
    heInit(this);
    if (opts.zeroInitResidual) {
      for (const [, m] of this.namedModules()) {
        if (m instanceof Bottleneck && m.bn3.weight) init.constant_(m.bn3.weight, 0);
        if (m instanceof BasicBlock && m.bn2.weight) init.constant_(m.bn2.weight, 0);
      }
    }
  }

  /** Feature maps before pooling: [N, 8·width·expansion, H/32, W/32] (H/8 with smallInput). */
  features(x: Tensor): Tensor {
    const y = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    return this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(y))));
  }

  forward(x: Tensor): Tensor {
    return this.fc.forward(flatten(this.avgpool.forward(this.features(x)), 1));
  }
}

/** ResNet-18: basic blocks [2, 2, 2, 2], 11,689,512 parameters for 1000 classes. @example resnet18({ numClasses: 10 }) */
export const resnet18 = (o: ResNetOptions = {}): ResNet => new ResNet('basic', [2, 2, 2, 2], o);
/** ResNet-34: basic blocks [3, 4, 6, 3], 21,797,672 parameters. */
export const resnet34 = (o: ResNetOptions = {}): ResNet => new ResNet('basic', [3, 4, 6, 3], o);
/** ResNet-50: bottlenecks [3, 4, 6, 3], 25,557,032 parameters. */
export const resnet50 = (o: ResNetOptions = {}): ResNet => new ResNet('bottleneck', [3, 4, 6, 3], o);
/** ResNet-101: bottlenecks [3, 4, 23, 3], 44,549,160 parameters. */
export const resnet101 = (o: ResNetOptions = {}): ResNet => new ResNet('bottleneck', [3, 4, 23, 3], o);
/** ResNet-152: bottlenecks [3, 8, 36, 3], 60,192,808 parameters. */
export const resnet152 = (o: ResNetOptions = {}): ResNet => new ResNet('bottleneck', [3, 8, 36, 3], o);
/** ResNeXt-50 32×4d (Xie et al. 2017). */
export const resnext50_32x4d = (o: ResNetOptions = {}): ResNet =>
  new ResNet('bottleneck', [3, 4, 6, 3], { groups: 32, widthPerGroup: 4, ...o });
/** Wide ResNet-50-2 (Zagoruyko & Komodakis 2016): bottlenecks twice as wide. */
export const wide_resnet50_2 = (o: ResNetOptions = {}): ResNet =>
  new ResNet('bottleneck', [3, 4, 6, 3], { widthPerGroup: 128, ...o });
