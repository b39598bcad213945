import { Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential } from '../nn/index.js';
import type { Tensor } from '../tensor/tensor.js';

export interface LeNet5Options {
  numClasses?: number;
  inChannels?: number;
  /** Side of the square input: 28 pads the first convolution by 2 (MNIST), 32 does not (the original). */
  inputSize?: 28 | 32;
}

/**
 * LeNet-5 with ReLU and max pooling (the modern variant):
 * conv 5×5 6 → ReLU → pool 2 → conv 5×5 16 → ReLU → pool 2 → fc 120 → fc 84 → fc classes.
 * @example const net = new LeNet5({ numClasses: 10 });
 */
export class LeNet5 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(opts: LeNet5Options = {}) {
    super();
    const size = opts.inputSize ?? 28;
    this.features = new Sequential(
      new Conv2d(opts.inChannels ?? 1, 6, 5, { padding: size === 28 ? 2 : 0 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(6, 16, 5),
      new ReLU(),
      new MaxPool2d(2),
    );
    this.classifier = new Sequential(
      new Flatten(),
      new Linear(16 * 5 * 5, 120),
      new ReLU(),
      new Linear(120, 84),
      new ReLU(),
      new Linear(84, opts.numClasses ?? 10),
    );
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}
