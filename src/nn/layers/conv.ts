import { ArgumentError, ShapeError } from '../../core/errors.js';
import { fmt } from '../../core/shape.js';
import { type Padding, type Pair, conv2d, pair } from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { kaimingUniform, uniform_ } from '../init.js';
import { Module, Parameter } from '../module.js';
import { zeros } from '../../tensor/creation.js';

export interface Conv2dOptions {
  stride?: Pair;
  /** A number, a pair, 'same' (stride 1 only) or 'valid'. Default 0. */
  padding?: Padding;
  dilation?: Pair;
  /** Split channels into groups; groups = inChannels gives a depthwise convolution. */
  groups?: number;
  bias?: boolean;
}

/** The layer's `groups` option (default 1), checked: a positive integer dividing both channel counts. */
export function checkGroups(layer: string, inChannels: number, outChannels: number, groups = 1): number {
  if (!(Number.isInteger(groups) && groups >= 1))
    throw new ArgumentError(`${layer}: groups must be a positive integer, got ${groups}`);
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new ArgumentError(
      `${layer}: in channels ${inChannels} and out channels ${outChannels} must be divisible by groups=${groups}`,
    );
  }
  return groups;
}

/**
 * 2-D convolution over NCHW input, weight [out, in/groups, kH, kW],
 * initialized as in PyTorch (uniform in ±1/√fan_in).
 * @example const conv = new Conv2d(1, 6, 5, { padding: 2 });
 */
export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly options: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize, 'kernelSize', 'Conv2d');
    const groups = checkGroups('Conv2d', inChannels, outChannels, options.groups);
    this.weight = new Parameter(zeros([outChannels, inChannels / groups, ...this.kernelSize]));
    this.bias = options.bias === false ? null : new Parameter(zeros([outChannels]));
    this.resetParameters();
  }

  resetParameters(): void {
    kaimingUniform(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const fanIn = this.weight.numel / this.outChannels;
      const bound = 1 / Math.sqrt(fanIn);
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(`expected input [N, ${this.inChannels}, H, W], got ${fmt(x.shape)}`);
    }
    return conv2d(x, this.weight, this.bias, this.options);
  }

  protected override extraRepr(): string {
    const o = this.options;
    const extras = [
      o.stride !== undefined ? `stride=${String(o.stride)}` : '',
      o.padding !== undefined ? `padding=${String(o.padding)}` : '',
      o.dilation !== undefined ? `dilation=${String(o.dilation)}` : '',
      o.groups !== undefined && o.groups !== 1 ? `groups=${o.groups}` : '',
      o.bias === false ? 'bias=false' : '',
    ].filter(Boolean);
    return [`${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize.join('x')}`, ...extras].join(', ');
  }
}
