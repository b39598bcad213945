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
import { ArgumentError, ShapeError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import { flatten } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelOptions, baseOptions, positiveInt } from './common.js';

export interface AlexNetOptions extends ModelOptions {
  /**
   * Local response normalization after the first two ReLUs (size 5, α 1e-4, β 0.75, k 2), as
   * in the paper, with the paper's convention (α multiplies the plain sum of squares, not
   * the sum divided by the size as PyTorch's LocalResponseNorm does). Off by default, as in torchvision, whose weights were trained without it.
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
      opts.lrn
        ? new Sequential(new ReLU(), new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' }))
        : new ReLU();
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

export interface AlexNetPaperOptions {
  numClasses?: number;
  inChannels?: number;
  /** Dropout probability in the two 4096-wide layers (default 0.5). */
  dropout?: number;
}

/**
 * AlexNet as published (Krizhevsky, Sutskever & Hinton 2012) for 227×227 input:
 * 96-256-384-384-256 filters, 11×11 stride 4 first, the two-GPU connectivity as
 * `groups: 2` on conv2, conv4 and conv5 (as Caffe's reference model has it), local
 * response normalization with the paper's constants after conv1 and conv2 (n 5, k 2,
 * α 1e-4 on the plain sum, β 0.75), overlapping 3×3 stride-2 max-pooling, and dropout
 * after the two 4096-wide layers. 60,965,224 parameters for 1000 classes.
 * @example const net = alexnet({ variant: 'paper' }); net.forward(randn([1, 3, 227, 227])); // [1, 1000]
 */
export class AlexNetPaper extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(opts: AlexNetPaperOptions = {}) {
    super();
    for (const key of Object.keys(opts))
      if (!['numClasses', 'inChannels', 'dropout', 'variant'].includes(key))
        throw new ArgumentError(
          `AlexNet (variant 'paper'): unknown option ${key} (accepted: numClasses, inChannels, dropout)`,
        );
    const { numClasses, inChannels } = baseOptions('AlexNet', opts);
    const p = opts.dropout ?? 0.5;
    const lrn = (): LocalResponseNorm =>
      new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' });
    this.features = new Sequential(
      new Conv2d(inChannels, 96, 11, { stride: 4 }), // 227 -> 55
      new ReLU(),
      lrn(),
      new MaxPool2d(3, 2), // -> 27
      new Conv2d(96, 256, 5, { padding: 2, groups: 2 }),
      new ReLU(),
      lrn(),
      new MaxPool2d(3, 2), // -> 13
      new Conv2d(256, 384, 3, { padding: 1 }), // conv3 sees both towers
      new ReLU(),
      new Conv2d(384, 384, 3, { padding: 1, groups: 2 }),
      new ReLU(),
      new Conv2d(384, 256, 3, { padding: 1, groups: 2 }),
      new ReLU(),
      new MaxPool2d(3, 2), // -> 6
    );
    this.classifier = new Sequential(
      new Linear(256 * 6 * 6, 4096),
      new ReLU(),
      new Dropout(p),
      new Linear(4096, 4096),
      new ReLU(),
      new Dropout(p),
      new Linear(4096, numClasses),
    );
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[2] !== 227 || x.shape[3] !== 227)
      throw new ShapeError(`AlexNet (variant 'paper') takes [N, C, 227, 227] input, got ${fmt(x.shape)}`);
    return this.classifier.forward(flatten(this.features.forward(x), 1));
  }
}

/**
 * AlexNet: torchvision's single-tower layout (the default), or the paper's with `variant: 'paper'`.
 * @example const net = alexnet({ numClasses: 10, smallInput: true }); const paper = alexnet({ variant: 'paper' });
 */
export function alexnet(o?: AlexNetOptions & { variant?: 'torchvision' }): AlexNet;
export function alexnet(o: AlexNetPaperOptions & { variant: 'paper' }): AlexNetPaper;
export function alexnet(
  o: (AlexNetOptions & { variant?: 'torchvision' }) | (AlexNetPaperOptions & { variant: 'paper' }) = {},
): AlexNet | AlexNetPaper {
  if (o.variant === 'paper') return new AlexNetPaper(o);
  if (o.variant !== undefined && o.variant !== 'torchvision')
    throw new ArgumentError(`alexnet: variant must be 'torchvision' or 'paper', got ${String(o.variant)}`);
  const { variant: _variant, ...rest } = o;
  void _variant;
  return new AlexNet(rest);
}
