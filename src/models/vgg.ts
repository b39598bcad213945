/**
 * VGG (Simonyan & Zisserman 2014), configurations A, B, D and E, with and without batch
 * norm, with torchvision's parameter names (`features.N`, `classifier.N`).
 */
import { ArgumentError } from '../core/errors.js';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
} from '../nn/index.js';
import { flatten } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelOptions, baseOptions, heInit, positiveInt } from './common.js';

/** A VGG feature stack: numbers are 3×3 convolutions with that many channels, 'M' a 2×2 max-pool. */
export type VggConfig = readonly (number | 'M')[];

export const VGG_CONFIGS = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const satisfies Record<string, VggConfig>;

export interface VggOptions extends ModelOptions {
  /** A batch norm after every convolution (vgg16_bn etc.). */
  batchNorm?: boolean;
  /**
   * Width of the two hidden fully connected layers (default 4096; 512 with smallInput). Below
   * 1024 they are initialized as PyTorch's Linear rather than with VGG's N(0, 0.01²).
   */
  hidden?: number;
  /** Side of the adaptive average pool before the classifier (default 7; 1 with smallInput). */
  poolSize?: number;
  /** Dropout before each hidden layer's successor (default 0.5). */
  dropout?: number;
}

/**
 * VGG: stacks of 3×3 convolutions and max-pools, an adaptive average pool and three fully
 * connected layers. With smallInput, the 32×32 CIFAR form: the pool is 1×1 and the hidden
 * layers have 512 units.
 * @example const net = new VGG(VGG_CONFIGS.vgg16, { batchNorm: true, numClasses: 10, smallInput: true });
 */
export class VGG extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(config: VggConfig, opts: VggOptions = {}) {
    super();
    const { numClasses, inChannels, smallInput } = baseOptions('VGG', opts);
    const hidden = positiveInt('VGG', 'hidden', opts.hidden ?? (smallInput ? 512 : 4096));
    const pool = positiveInt('VGG', 'poolSize', opts.poolSize ?? (smallInput ? 1 : 7));
    const p = opts.dropout ?? 0.5;
    this.features = new Sequential();
    let c = inChannels;
    for (const v of config) {
      if (v === 'M') {
        this.features.add(new MaxPool2d(2, { stride: 2 }));
        continue;
      }
      if (!Number.isInteger(v) || v < 1)
        throw new ArgumentError(`VGG: config entries must be channel counts or 'M', got ${v}`);
      this.features.add(new Conv2d(c, v, 3, { padding: 1 }));
      if (opts.batchNorm) this.features.add(new BatchNorm2d(v));
      this.features.add(new ReLU());
      c = v;
    }
    this.avgpool = new AdaptiveAvgPool2d(pool);
    // torchvision flattens in forward(), so the Linear layers are classifier.0, .3 and .6.
    this.classifier = new Sequential(
      new Linear(c * pool * pool, hidden),
      new ReLU(),
      new Dropout(p),
      new Linear(hidden, hidden),
      new ReLU(),
      new Dropout(p),
      new Linear(hidden, numClasses),
    );
    // VGG's N(0, 0.01²) keeps activations steady at 4096 units; at a few hundred it shrinks
    // the signal ~5× per layer, so narrow classifiers keep PyTorch's default Linear init.
    heInit(this, hidden >= 1024 ? 'normal0.01' : 'zeroBias');
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(this.avgpool.forward(this.features.forward(x)), 1));
  }
}

const make =
  (config: VggConfig, batchNorm: boolean) =>
  (o: VggOptions = {}): VGG =>
    new VGG(config, { batchNorm, ...o });

/** VGG-11 (configuration A): 132,863,336 parameters for 1000 classes. @example vgg11({ numClasses: 10, smallInput: true }) */
export const vgg11 = make(VGG_CONFIGS.vgg11, false);
/** VGG-13 (configuration B). */
export const vgg13 = make(VGG_CONFIGS.vgg13, false);
/** VGG-16 (configuration D): 138,357,544 parameters. */
export const vgg16 = make(VGG_CONFIGS.vgg16, false);
/** VGG-19 (configuration E): 143,667,240 parameters. */
export const vgg19 = make(VGG_CONFIGS.vgg19, false);
/** VGG-11 with batch norm. */
export const vgg11_bn = make(VGG_CONFIGS.vgg11, true);
/** VGG-13 with batch norm. */
export const vgg13_bn = make(VGG_CONFIGS.vgg13, true);
/** VGG-16 with batch norm: 138,365,992 parameters. */
export const vgg16_bn = make(VGG_CONFIGS.vgg16, true);
/** VGG-19 with batch norm. */
export const vgg19_bn = make(VGG_CONFIGS.vgg19, true);
