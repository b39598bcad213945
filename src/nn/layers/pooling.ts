import type { Pair, Pool2dOptions } from '../../tensor/ops.js';
import { adaptiveAvgPool2d, avgPool2d, globalAvgPool2d, globalMaxPool2d, maxPool2d } from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** Max pooling; stride defaults to the kernel size. Overlapping pooling: kernel 3, stride 2. @example new MaxPool2d(2) */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: Pool2dOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
  protected override extraRepr(): string {
    return `kernel=${String(this.kernelSize)}${this.options.stride !== undefined ? `, stride=${String(this.options.stride)}` : ''}`;
  }
}

/** Average pooling (padding counted in the divisor unless countIncludePad: false). @example new AvgPool2d(2) */
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: Pool2dOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
  protected override extraRepr(): string {
    return `kernel=${String(this.kernelSize)}${this.options.stride !== undefined ? `, stride=${String(this.options.stride)}` : ''}`;
  }
}

/** Average pooling to a fixed output size. @example new AdaptiveAvgPool2d([6, 6]) */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
  protected override extraRepr(): string {
    return String(this.outputSize);
  }
}

/** [N, C, H, W] -> [N, C, 1, 1] by averaging (global average pooling). */
export class GlobalAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }
}

/** [N, C, H, W] -> [N, C, 1, 1] by taking the maximum. */
export class GlobalMaxPool2d extends Module {
  forward(x: Tensor): Tensor {
    return globalMaxPool2d(x);
  }
}
