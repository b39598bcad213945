import { ArgumentError, ShapeError } from '../../core/errors.js';
import { fmt } from '../../core/shape.js';
import { zeros } from '../../tensor/creation.js';
import { type Pair, checkOptionKeys, pair } from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ConvTranspose2dPlan, convTranspose2d } from '../functional.js';
import { fans, kaimingUniform, uniform_ } from '../init.js';
import { Module, Parameter } from '../module.js';
import { checkBias, checkChannels, checkGroups } from './conv.js';

export interface ConvTranspose2dLayerOptions {
  stride?: Pair;
  /** Rows/columns cropped from each side of the full output. Default 0. */
  padding?: Pair;
  /** Extra rows/columns on the bottom/right of the output; smaller than stride or dilation. Default 0. */
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/**
 * 2-D transposed convolution (learned upsampling) over NCHW input, weight
 * [inChannels, outChannels/groups, kH, kW] and bias [outChannels], exactly
 * as PyTorch's nn.ConvTranspose2d, including its initialization: weight
 * kaiming-uniform with a = √5 and bias uniform in ±1/√fan_in, where
 * fan_in = weight.shape[1]·kH·kW as PyTorch computes it for this weight.
 * H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1.
 * @example const up = new ConvTranspose2d(64, 32, 4, { stride: 2, padding: 1 }); // doubles H and W
 */
export class ConvTranspose2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  /** Stride, padding, outputPadding, dilation and groups, resolved and checked once, here; used by every forward. */
  readonly plan: ConvTranspose2dPlan;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly options: ConvTranspose2dLayerOptions = {},
    ...unexpected: never[]
  ) {
    super();
    if (unexpected.length)
      throw new ArgumentError(
        `ConvTranspose2d: unexpected argument(s) after the options object; pass stride, padding, ... in it`,
      );
    checkChannels('ConvTranspose2d', inChannels, outChannels);
    checkOptionKeys('ConvTranspose2d', options, ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'bias']);
    this.kernelSize = pair(kernelSize, 'kernelSize', 'ConvTranspose2d');
    for (const [name, v, min] of [
      ['kernel size', kernelSize, 1],
      ['stride', options.stride ?? 1, 1],
      ['dilation', options.dilation ?? 1, 1],
      ['padding', options.padding ?? 0, 0],
      ['outputPadding', options.outputPadding ?? 0, 0],
    ] as const) {
      if (pair(v, name, 'ConvTranspose2d').some((x) => x < min))
        throw new ArgumentError(
          `ConvTranspose2d: ${name} must be ${min ? 'positive' : 'non-negative'}, got ${String(v)}`,
        );
    }
    const groups = checkGroups('ConvTranspose2d', inChannels, outChannels, options.groups);
    checkBias('ConvTranspose2d', options.bias);
    // The plan checks that outputPadding is smaller than the stride or the dilation.
    this.plan = new ConvTranspose2dPlan(options, 'ConvTranspose2d');
    this.weight = new Parameter(zeros([inChannels, outChannels / groups, ...this.kernelSize]));
    this.bias = options.bias === false ? null : new Parameter(zeros([outChannels]));
    this.resetParameters();
  }

  resetParameters(): void {
    kaimingUniform(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt(fans(this.weight).fanIn);
      uniform_(this.bias, -bound, bound);
    }
  }

  /**
   * With `outputSize` [H, W], the output padding is chosen to give that size
   * (it must lie within stride − 1 of the smallest size), as PyTorch's
   * forward(input, output_size) does; otherwise options.outputPadding is used.
   */
  forward(x: Tensor, outputSize?: readonly [number, number]): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(`expected input [N, ${this.inChannels}, H, W], got ${fmt(x.shape)}`);
    }
    let plan = this.plan;
    if (outputSize) {
      const smallest = plan.outputSize([x.shape[2]!, x.shape[3]!], this.kernelSize, [0, 0]);
      const stride = plan.stride;
      const extra = [0, 1].map((i) => outputSize[i]! - smallest[i]!) as [number, number];
      if (!extra.every((e, i) => e >= 0 && e < stride[i]!)) {
        throw new ShapeError(
          `outputSize [${outputSize.join(', ')}] is not reachable from input ${fmt(x.shape)}: sizes from [${smallest.join(', ')}] to [${smallest.map((s, i) => s + stride[i]! - 1).join(', ')}] are`,
        );
      }
      plan = plan.withOutputPadding(extra);
    }
    return convTranspose2d(x, this.weight, this.bias, plan);
  }

  protected override extraRepr(): string {
    const o = this.options;
    const extras = [
      o.stride !== undefined ? `stride=${String(o.stride)}` : '',
      o.padding !== undefined ? `padding=${String(o.padding)}` : '',
      o.outputPadding !== undefined ? `outputPadding=${String(o.outputPadding)}` : '',
      o.dilation !== undefined ? `dilation=${String(o.dilation)}` : '',
      o.groups !== undefined && o.groups !== 1 ? `groups=${o.groups}` : '',
      o.bias === false ? 'bias=false' : '',
    ].filter(Boolean);
    return [`${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize.join('x')}`, ...extras].join(', ');
  }
}
