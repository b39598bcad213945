/**
 * AlexNet (Krizhevsky, Sutskever & Hinton 2012) in torchvision's single-tower form, with
 * parameter names `features.N` / `classifier.N` as torchvision's.
 */
import {
  AdaptiveAvgPool2d,
  Conv2d,
  Dropout,
  Linear,
  LocalResponseNorm,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
} from '../nn/index.js';
import { flatten } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelOptions, baseOptions, positiveInt } from './common.js';

export interface AlexNetOptions extends ModelOptions {
  /**
   * Local response normalization after the first two ReLUs (size 5, α 1e-4, β 0.75, k 2), as
   * in the paper. Off by default, as in torchvision, whose weights were trained without it.
   * It has no parameters, so state dicts are the same either way.
   */
  lrn?: boolean;
  /** Dropout probability before the two hidden layers (default 0.5). */
  dropout?: number;
  /** Width of the hidden fully connected layers (default 4096; 1024 with smallInput). */
  hidden?: number;
}

/**
 * AlexNet: five convolutions (11×11 stride 4 first), overlapping 3×3 stride-2 max-pooling,
 * dropout and three fully connected layers; 61,100,840 parameters for 1000 classes.
 * With smallInput (32×32), the first convolution is 5×5 stride 1 and the pool before the
 * classifier is 3×3.
 * @example const net = alexnet({ numClasses: 10, smallInput: true, lrn: true });
 */
export class AlexNet extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(opts: AlexNetOptions = {}) {
    super();
    const { numClasses, inChannels, smallInput } = baseOptions('AlexNet', opts);
    const hidden = positiveInt('AlexNet', 'hidden', opts.hidden ?? (smallInput ? 1024 : 4096));
    const p = opts.dropout ?? 0.5;
    const pool = smallInput ? 3 : 6;
    // LRN shares the ReLU's slot so the indices of the convolutions stay torchvision's.
    const reluLrn = (): Module =>
      opts.lrn ? new Sequential(new ReLU(), new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 })) : new ReLU();
    this.features = new Sequential(
      smallInput
        ? new Conv2d(inChannels, 64, 5, { stride: 1, padding: 2 })
        : new Conv2d(inChannels, 64, 11, { stride: 4, padding: 2 }),
      reluLrn(),
      new MaxPool2d(3, { stride: 2 }),
      new Conv2d(64, 192, 5, { padding: 2 }),
      reluLrn(),
      new MaxPool2d(3, { stride: 2 }),
      new Conv2d(192, 384, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(384, 256, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(256, 256, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(3, { stride: 2 }),
    );
    this.avgpool = new AdaptiveAvgPool2d(pool);
    this.classifier = new Sequential(
      new Dropout(p),
      new Linear(256 * pool * pool, hidden),
      new ReLU(),
      new Dropout(p),
      new Linear(hidden, hidden),
      new ReLU(),
      new Linear(hidden, numClasses),
    );
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(this.avgpool.forward(this.features.forward(x)), 1));
  }
}

/** @example const net = alexnet({ numClasses: 10, smallInput: true }); */
export const alexnet = (o: AlexNetOptions = {}): AlexNet => new AlexNet(o);
