import { ArgumentError } from '../../core/errors.js';
import type { AvgPool2dOptions, Padding, Pair, Pool2dOptions } from '../../tensor/ops.js';
import {
  Pool2dPlan,
  adaptiveAvgPool2d,
  avgPool2d,
  globalAvgPool2d,
  globalMaxPool2d,
  maxPool2d,
  pair,
} from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';
import { positionalOptions } from './conv.js';

function poolRepr(kernel: Pair, o: Pool2dOptions & { countIncludePad?: boolean }): string {
  return [
    `kernel=${String(kernel)}`,
    o.stride !== undefined ? `stride=${String(o.stride)}` : '',
    o.padding !== undefined ? `padding=${String(o.padding)}` : '',
    o.dilation !== undefined ? `dilation=${String(o.dilation)}` : '',
    o.ceilMode ? 'ceilMode=true' : '',
    o.countIncludePad !== undefined ? `countIncludePad=${String(o.countIncludePad)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * Max pooling; stride defaults to the kernel size. Overlapping pooling: kernel 3, stride 2.
 * Kernel, stride and padding may be given positionally as in PyTorch, or as options;
 * `padding: 'same'` keeps ceil(H / stride) rows (TensorFlow's rule).
 * @example new MaxPool2d(2); new MaxPool2d(3, 2); new MaxPool2d(3, { stride: 2, padding: 'same' })
 */
export class MaxPool2d extends Module {
  readonly options: Pool2dOptions;
  /** Kernel, stride, padding (incl. 'same'), dilation and ceil mode, resolved and checked once, here. */
  readonly plan: Pool2dPlan;
  constructor(kernelSize: Pair, options?: Pool2dOptions);
  constructor(kernelSize: Pair, stride: Pair, padding?: Padding, options?: Omit<Pool2dOptions, 'stride' | 'padding'>);
  constructor(
    readonly kernelSize: Pair,
    ...rest: unknown[]
  ) {
    super();
    this.options = positionalOptions<Pool2dOptions>('MaxPool2d', rest, 2);
    this.plan = new Pool2dPlan(kernelSize, this.options, 'MaxPool2d');
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.plan);
  }
  protected override extraRepr(): string {
    return poolRepr(this.kernelSize, this.options);
  }
}

/**
 * Average pooling (padding counted in the divisor unless countIncludePad: false; with
 * `padding: 'same'` padded cells are left out, as TensorFlow does). Kernel, stride and
 * padding may be given positionally as in PyTorch.
 * @example new AvgPool2d(2); new AvgPool2d(3, 2, 1); new AvgPool2d(3, { stride: 2, padding: 'same' })
 */
export class AvgPool2d extends Module {
  readonly options: AvgPool2dOptions;
  /** Kernel, stride, padding (incl. 'same'), dilation, ceil mode and countIncludePad, resolved once, here. */
  readonly plan: Pool2dPlan;
  constructor(kernelSize: Pair, options?: AvgPool2dOptions);
  constructor(
    kernelSize: Pair,
    stride: Pair,
    padding?: Padding,
    options?: Omit<AvgPool2dOptions, 'stride' | 'padding'>,
  );
  constructor(
    readonly kernelSize: Pair,
    ...rest: unknown[]
  ) {
    super();
    this.options = positionalOptions<AvgPool2dOptions>('AvgPool2d', rest, 2);
    this.plan = new Pool2dPlan(kernelSize, this.options, 'AvgPool2d', true);
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.plan);
  }
  protected override extraRepr(): string {
    return poolRepr(this.kernelSize, this.options);
  }
}

/** Refuses constructor arguments a parameterless layer would otherwise ignore. */
function noArguments(layer: string, args: readonly unknown[]): void {
  if (args.length) throw new ArgumentError(`${layer} takes no arguments, got ${args.length}`);
}

/** Average pooling to a fixed output size. @example new AdaptiveAvgPool2d([6, 6]) */
export class AdaptiveAvgPool2d extends Module {
  constructor(
    readonly outputSize: Pair,
    ...unexpected: never[]
  ) {
    super();
    noArguments('AdaptiveAvgPool2d (after the output size)', unexpected);
    const [h, w] = pair(outputSize, 'output size', 'AdaptiveAvgPool2d');
    if (h < 1 || w < 1)
      throw new ArgumentError(`AdaptiveAvgPool2d: output size must be positive, got ${String(outputSize)}`);
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
  constructor(...unexpected: never[]) {
    super();
    noArguments('GlobalAvgPool2d', unexpected);
  }
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }
}

/** [N, C, H, W] -> [N, C, 1, 1] by taking the maximum. */
export class GlobalMaxPool2d extends Module {
  constructor(...unexpected: never[]) {
    super();
    noArguments('GlobalMaxPool2d', unexpected);
  }
  forward(x: Tensor): Tensor {
    return globalMaxPool2d(x);
  }
}
