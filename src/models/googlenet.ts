/**
 * GoogLeNet / Inception v1 (Szegedy et al. 2014) with batch norm after each convolution and
 * torchvision's parameter names (`inception3a.branch2.1.conv.weight`, `aux1.fc1.weight`).
 */
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Identity,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  init,
} from '../nn/index.js';
import type { Pair } from '../tensor/ops.js';
import { adaptiveAvgPool2d, concat, flatten, relu } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelOptions, baseOptions } from './common.js';

/** Convolution (no bias), batch norm (eps 1e-3) and ReLU. */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  readonly relu = new ReLU();

  constructor(inChannels: number, outChannels: number, kernel: Pair, opts: { stride?: Pair; padding?: Pair } = {}) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, kernel, { ...opts, bias: false });
    this.bn = new BatchNorm2d(outChannels, { eps: 0.001 });
  }

  forward(x: Tensor): Tensor {
    return this.relu.forward(this.bn.forward(this.conv.forward(x)));
  }
}

/**
 * An Inception module: 1×1, 1×1→3×3, 1×1→"5×5" and 3×3 max-pool→1×1 branches concatenated
 * along channels. As in torchvision (whose weights depend on it), the "5×5" branch uses a
 * 3×3 convolution.
 * @example new Inception(192, 64, 96, 128, 16, 32, 32) // inception (3a): 256 output channels
 */
export class Inception extends Module {
  readonly branch1: BasicConv2d;
  readonly branch2: Sequential;
  readonly branch3: Sequential;
  readonly branch4: Sequential;

  constructor(
    inChannels: number,
    ch1x1: number,
    ch3x3red: number,
    ch3x3: number,
    ch5x5red: number,
    ch5x5: number,
    poolProj: number,
  ) {
    super();
    this.branch1 = new BasicConv2d(inChannels, ch1x1, 1);
    this.branch2 = new Sequential(
      new BasicConv2d(inChannels, ch3x3red, 1),
      new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 }),
    );
    this.branch3 = new Sequential(
      new BasicConv2d(inChannels, ch5x5red, 1),
      new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 }),
    );
    this.branch4 = new Sequential(
      new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }),
      new BasicConv2d(inChannels, poolProj, 1),
    );
  }

  forward(x: Tensor): Tensor {
    return concat(
      [this.branch1.forward(x), this.branch2.forward(x), this.branch3.forward(x), this.branch4.forward(x)],
      1,
    );
  }
}

/** Auxiliary classifier: 4×4 average pool, 1×1 conv to 128, fc 1024, dropout 0.7, fc classes. */
export class InceptionAux extends Module {
  readonly conv: BasicConv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly dropout: Dropout;

  constructor(inChannels: number, numClasses: number, dropout = 0.7) {
    super();
    this.conv = new BasicConv2d(inChannels, 128, 1);
    this.fc1 = new Linear(2048, 1024);
    this.fc2 = new Linear(1024, numClasses);
    this.dropout = new Dropout(dropout);
  }

  forward(x: Tensor): Tensor {
    const y = flatten(this.conv.forward(adaptiveAvgPool2d(x, 4)), 1);
    return this.fc2.forward(this.dropout.forward(relu(this.fc1.forward(y))));
  }
}

export interface GoogLeNetOptions extends ModelOptions {
  /** Build the two auxiliary classifiers (after 4a and 4d), used in training only (default false). */
  auxLogits?: boolean;
  /**
   * Map inputs normalized with ImageNet's mean and std to the [−1, 1] scaling Google's original
   * weights expect (torchvision's transform_input; default false).
   */
  transformInput?: boolean;
  /** Dropout before the classifier (default 0.2). */
  dropout?: number;
  /** Dropout inside the auxiliary classifiers (default 0.7). */
  dropoutAux?: number;
}

export interface GoogLeNetOutputs {
  logits: Tensor;
  /** The auxiliary classifiers' logits (training mode with auxLogits only). */
  aux1: Tensor | null;
  aux2: Tensor | null;
}

/**
 * GoogLeNet: stem, nine Inception modules in three stages, global average pooling, dropout
 * and a linear classifier; 6,624,904 parameters for 1000 classes (13,004,888 with the
 * auxiliary heads). forward() returns the main logits; forwardWithAux() also the auxiliary
 * logits in training mode (the paper weighs their losses by 0.3).
 * @example const net = googlenet({ numClasses: 10, smallInput: true });
 */
export class GoogLeNet extends Module {
  readonly conv1: BasicConv2d;
  readonly maxpool1: MaxPool2d | Identity;
  readonly conv2: BasicConv2d;
  readonly conv3: BasicConv2d;
  readonly maxpool2: MaxPool2d;
  readonly inception3a: Inception;
  readonly inception3b: Inception;
  readonly maxpool3: MaxPool2d;
  readonly inception4a: Inception;
  readonly inception4b: Inception;
  readonly inception4c: Inception;
  readonly inception4d: Inception;
  readonly inception4e: Inception;
  readonly maxpool4: MaxPool2d;
  readonly inception5a: Inception;
  readonly inception5b: Inception;
  readonly aux1: InceptionAux | null;
  readonly aux2: InceptionAux | null;
  readonly avgpool = new AdaptiveAvgPool2d(1);
  readonly dropout: Dropout;
  readonly fc: Linear;
  private readonly transformInput: boolean;

  constructor(opts: GoogLeNetOptions = {}) {
    super();
    const { numClasses, inChannels, smallInput } = baseOptions('GoogLeNet', opts);
    const pool = (k: number): MaxPool2d => new MaxPool2d(k, { stride: 2, ceilMode: true });
    this.conv1 = smallInput
      ? new BasicConv2d(inChannels, 64, 3, { padding: 1 })
      : new BasicConv2d(inChannels, 64, 7, { stride: 2, padding: 3 });
    this.maxpool1 = smallInput ? new Identity() : pool(3);
    this.conv2 = new BasicConv2d(64, 64, 1);
    this.conv3 = new BasicConv2d(64, 192, 3, { padding: 1 });
    this.maxpool2 = pool(3);
    this.inception3a = new Inception(192, 64, 96, 128, 16, 32, 32);
    this.inception3b = new Inception(256, 128, 128, 192, 32, 96, 64);
    this.maxpool3 = pool(3);
    this.inception4a = new Inception(480, 192, 96, 208, 16, 48, 64);
    this.inception4b = new Inception(512, 160, 112, 224, 24, 64, 64);
    this.inception4c = new Inception(512, 128, 128, 256, 24, 64, 64);
    this.inception4d = new Inception(512, 112, 144, 288, 32, 64, 64);
    this.inception4e = new Inception(528, 256, 160, 320, 32, 128, 128);
    this.maxpool4 = pool(2);
    this.inception5a = new Inception(832, 256, 160, 320, 32, 128, 128);
    this.inception5b = new Inception(832, 384, 192, 384, 48, 128, 128);
    this.aux1 = opts.auxLogits ? new InceptionAux(512, numClasses, opts.dropoutAux) : null;
    this.aux2 = opts.auxLogits ? new InceptionAux(528, numClasses, opts.dropoutAux) : null;
    this.dropout = new Dropout(opts.dropout ?? 0.2);
    this.fc = new Linear(1024, numClasses);
    this.transformInput = opts.transformInput ?? false;
    // torchvision draws convolution and linear weights from N(0, 0.01²) truncated at ±2 (200 σ: never hit).
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d || m instanceof Linear) init.normal_(m.weight, 0, 0.01);
      if (m instanceof Linear && m.bias) init.constant_(m.bias, 0);
    }
  }

  private transform(x: Tensor): Tensor {
    if (!this.transformInput || x.shape[1] !== 3) return x;
    // x·(std/0.5) + (mean − 0.5)/0.5 per channel, with ImageNet's mean and std.
    const scale = x.constantFrom(Float64Array.of(0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5), [1, 3, 1, 1]);
    const shift = x.constantFrom(
      Float64Array.of((0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5),
      [1, 3, 1, 1],
    );
    return x.mul(scale).add(shift);
  }

  /** The main logits and, in training mode with auxLogits, the auxiliary classifiers' logits. */
  forwardWithAux(input: Tensor): GoogLeNetOutputs {
    let x = this.transform(input);
    x = this.maxpool1.forward(this.conv1.forward(x));
    x = this.maxpool2.forward(this.conv3.forward(this.conv2.forward(x)));
    x = this.maxpool3.forward(this.inception3b.forward(this.inception3a.forward(x)));
    x = this.inception4a.forward(x);
    const aux1 = this.aux1 && this.training ? this.aux1.forward(x) : null;
    x = this.inception4d.forward(this.inception4c.forward(this.inception4b.forward(x)));
    const aux2 = this.aux2 && this.training ? this.aux2.forward(x) : null;
    x = this.maxpool4.forward(this.inception4e.forward(x));
    x = this.inception5b.forward(this.inception5a.forward(x));
    const logits = this.fc.forward(this.dropout.forward(flatten(this.avgpool.forward(x), 1)));
    return { logits, aux1, aux2 };
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithAux(x).logits;
  }
}

/** @example const net = googlenet({ numClasses: 10, smallInput: true }); */
export const googlenet = (o: GoogLeNetOptions = {}): GoogLeNet => new GoogLeNet(o);
