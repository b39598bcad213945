/**
 * DenseNet-BC (Huang et al. 2017) with torchvision's parameter names
 * (`features.denseblock1.denselayer1.norm1.weight`, `features.transition1.conv.weight`).
 */
import {
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Identity,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
} from '../nn/index.js';
import { concat, flatten, globalAvgPool2d, relu } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelOptions, baseOptions, heInit, positiveInt } from './common.js';

/** BN-ReLU-1×1 conv (bottleneck to bnSize·growth) then BN-ReLU-3×3 conv to `growth` new maps. */
export class DenseLayer extends Module {
  readonly norm1: BatchNorm2d;
  readonly relu1 = new ReLU();
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly relu2 = new ReLU();
  readonly conv2: Conv2d;
  readonly dropout: Dropout;

  constructor(inFeatures: number, growth: number, bnSize: number, dropRate: number) {
    super();
    this.norm1 = new BatchNorm2d(inFeatures);
    this.conv1 = new Conv2d(inFeatures, bnSize * growth, 1, { bias: false });
    this.norm2 = new BatchNorm2d(bnSize * growth);
    this.conv2 = new Conv2d(bnSize * growth, growth, 3, { padding: 1, bias: false });
    this.dropout = new Dropout(dropRate);
  }

  /** Takes the block's input and every earlier layer's output; returns the new maps. */
  forward(previous: Tensor[]): Tensor {
    const x = previous.length === 1 ? previous[0]! : concat(previous, 1);
    const y = this.conv1.forward(this.relu1.forward(this.norm1.forward(x)));
    return this.dropout.forward(this.conv2.forward(this.relu2.forward(this.norm2.forward(y))));
  }
}

/** `layers` dense layers; each sees the concatenation of all earlier maps. */
export class DenseBlock extends Module {
  readonly layers: DenseLayer[] = [];

  constructor(numLayers: number, inFeatures: number, growth: number, bnSize: number, dropRate: number) {
    super();
    for (let i = 0; i < numLayers; i++)
      this.layers.push(new DenseLayer(inFeatures + i * growth, growth, bnSize, dropRate));
  }

  override namedChildren(): [string, Module][] {
    return this.layers.map((l, i) => [`denselayer${i + 1}`, l]);
  }

  protected override replaceChild(name: string, module: Module): void {
    this.layers[Number(name.slice('denselayer'.length)) - 1] = module as DenseLayer;
  }

  forward(x: Tensor): Tensor {
    const maps = [x];
    for (const layer of this.layers) maps.push(layer.forward(maps));
    return concat(maps, 1);
  }
}

/** BN-ReLU-1×1 conv (compression) and 2×2 average pooling between dense blocks. */
function transition(inFeatures: number, outFeatures: number): Sequential {
  return Sequential.named([
    ['norm', new BatchNorm2d(inFeatures)],
    ['relu', new ReLU()],
    ['conv', new Conv2d(inFeatures, outFeatures, 1, { bias: false })],
    ['pool', new AvgPool2d(2, { stride: 2 })],
  ]);
}

export interface DenseNetOptions extends ModelOptions {
  /** New maps per layer (k; default 32). */
  growthRate?: number;
  /** Layers per dense block (default [6, 12, 24, 16], DenseNet-121). */
  blockConfig?: readonly number[];
  /** Maps out of the stem (default 64). */
  numInitFeatures?: number;
  /** Bottleneck width as a multiple of growthRate (default 4). */
  bnSize?: number;
  /** Dropout after each dense layer (default 0). */
  dropRate?: number;
}

/**
 * DenseNet-BC: a stem, dense blocks joined by compressing transitions, a final batch norm,
 * global average pooling and a linear classifier.
 * @example const net = new DenseNet({ growthRate: 12, blockConfig: [6, 6, 6], numInitFeatures: 24, smallInput: true, numClasses: 10 });
 */
export class DenseNet extends Module {
  readonly features: Sequential;
  readonly classifier: Linear;

  constructor(opts: DenseNetOptions = {}) {
    super();
    const { numClasses, inChannels, smallInput } = baseOptions('DenseNet', opts);
    const growth = positiveInt('DenseNet', 'growthRate', opts.growthRate ?? 32);
    const blocks = opts.blockConfig ?? [6, 12, 24, 16];
    const bnSize = positiveInt('DenseNet', 'bnSize', opts.bnSize ?? 4);
    let c = positiveInt('DenseNet', 'numInitFeatures', opts.numInitFeatures ?? 64);
    this.features = Sequential.named([
      [
        'conv0',
        smallInput
          ? new Conv2d(inChannels, c, 3, { padding: 1, bias: false })
          : new Conv2d(inChannels, c, 7, { stride: 2, padding: 3, bias: false }),
      ],
      ['norm0', new BatchNorm2d(c)],
      ['relu0', new ReLU()],
      ['pool0', smallInput ? new Identity() : new MaxPool2d(3, { stride: 2, padding: 1 })],
    ]);
    blocks.forEach((n, i) => {
      positiveInt('DenseNet', 'blockConfig entries', n);
      this.features.add(new DenseBlock(n, c, growth, bnSize, opts.dropRate ?? 0), `denseblock${i + 1}`);
      c += n * growth;
      if (i !== blocks.length - 1) {
        this.features.add(transition(c, Math.floor(c / 2)), `transition${i + 1}`);
        c = Math.floor(c / 2);
      }
    });
    this.features.add(new BatchNorm2d(c), 'norm5');
    this.classifier = new Linear(c, numClasses);
    heInit(this, 'zeroBias');
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(globalAvgPool2d(relu(this.features.forward(x))), 1));
  }
}

const make =
  (growthRate: number, blockConfig: readonly number[], numInitFeatures: number) =>
  (o: DenseNetOptions = {}): DenseNet =>
    new DenseNet({ growthRate, blockConfig, numInitFeatures, ...o });

/** DenseNet-121 (k 32, blocks 6/12/24/16): 7,978,856 parameters for 1000 classes. @example densenet121({ numClasses: 10, smallInput: true }) */
export const densenet121 = make(32, [6, 12, 24, 16], 64);
/** DenseNet-169 (blocks 6/12/32/32): 14,149,480 parameters. */
export const densenet169 = make(32, [6, 12, 32, 32], 64);
/** DenseNet-201 (blocks 6/12/48/32). */
export const densenet201 = make(32, [6, 12, 48, 32], 64);
/** DenseNet-161 (k 48, blocks 6/12/36/24, 96 stem maps). */
export const densenet161 = make(48, [6, 12, 36, 24], 96);
