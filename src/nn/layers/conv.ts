import { ArgumentError, ShapeError } from '../../core/errors.js';
import { fmt } from '../../core/shape.js';
import {
  Conv2dPlan,
  type Epilogue,
  type Padding,
  type Pair,
  checkConv2dOptions,
  conv2d,
  pair,
} from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { kaimingUniform, uniform_ } from '../init.js';
import { Module, Parameter } from '../module.js';
import { type Penalty, checkPenalty } from '../penalty.js';
import { zeros } from '../../tensor/creation.js';

export interface Conv2dOptions {
  stride?: Pair;
  /** A number, a pair, 'same' (TensorFlow's rule: ceil(H / stride) rows, any stride and dilation) or 'valid'. Default 0. */
  padding?: Padding;
  dilation?: Pair;
  /** Split channels into groups; groups = inChannels gives a depthwise convolution. */
  groups?: number;
  bias?: boolean;
  /** L1 / L2 penalty on the kernel, added to the loss by the Trainer (reported as reg_loss). */
  weightPenalty?: Penalty;
  /** L1 / L2 penalty on the bias. */
  biasPenalty?: Penalty;
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

/** The layer's `bias` option: true, false or left out (a bias, as in PyTorch). */
export function checkBias(layer: string, bias: unknown): void {
  if (bias !== undefined && typeof bias !== 'boolean')
    throw new ArgumentError(`${layer}: bias must be true or false, got ${String(bias)}`);
}

/** Channel counts must be positive integers. */
export function checkChannels(layer: string, inChannels: unknown, outChannels: unknown): void {
  for (const [name, v] of [
    ['in channels', inChannels],
    ['out channels', outChannels],
  ] as const) {
    if (!(Number.isInteger(v) && (v as number) >= 1))
      throw new ArgumentError(`${layer}: ${name} must be a positive integer, got ${String(v)}`);
  }
}

/**
 * The options of a layer built either PyTorch-style with positional stride and
 * padding, or with one options object; anything else (or more) is refused. An
 * argument left out may be passed as undefined; a null one is refused, naming it
 * (it would otherwise read as the default).
 */
export function positionalOptions<O extends { stride?: Pair; padding?: unknown }>(
  layer: string,
  rest: readonly unknown[],
  maxPositional: number,
): O {
  const isOptions = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (rest.length === 0) return {} as O;
  if (isOptions(rest[0])) {
    if (rest.length > 1) throw new ArgumentError(`${layer}: unexpected argument(s) after the options object`);
    return rest[0] as O;
  }
  const positional: unknown[] = [];
  let options: object = {};
  const names = ['stride', 'padding'];
  for (let i = 0; i < rest.length; i++) {
    const v = rest[i];
    if (v === null)
      throw new ArgumentError(
        i < maxPositional
          ? `${layer}: ${names[i]} is null; pass a value (or an options object), or undefined for the default`
          : `${layer}: options must be an object, got null`,
      );
    if (isOptions(v) && i === rest.length - 1) options = v as object;
    else if (positional.length < maxPositional) positional.push(v);
    else
      throw new ArgumentError(
        `${layer}: too many arguments (${rest.length} after the kernel size); pass the rest in an options object`,
      );
  }
  for (const name of names.slice(0, positional.length)) {
    if (name in options) throw new ArgumentError(`${layer}: ${name} given both positionally and in the options object`);
  }
  const merged: Record<string, unknown> = { ...options };
  positional.forEach((v, i) => {
    if (v !== undefined) merged[names[i]!] = v;
  });
  return merged as O;
}

/**
 * 2-D convolution over NCHW input, weight [out, in/groups, kH, kW],
 * initialized as in PyTorch (uniform in ±1/√fan_in). Stride and padding may
 * also be given positionally, as in PyTorch. Options are checked here, so a
 * bad one fails when the layer is built.
 * @example
 * const conv = new Conv2d(1, 6, 5, { padding: 2 });
 * const same = new Conv2d(3, 96, 11, { stride: 4, padding: 'same' }); // 227x227 -> 57x57
 * const pt = new Conv2d(3, 64, 3, 1, 1); // stride 1, padding 1
 */
export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly options: Conv2dOptions;
  /** Stride, padding (incl. 'same'), dilation and groups, resolved and checked once, here; used by every forward. */
  readonly plan: Conv2dPlan;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options?: Conv2dOptions);
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    stride: Pair,
    padding?: Padding,
    options?: Omit<Conv2dOptions, 'stride' | 'padding'>,
  );
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    ...rest: unknown[]
  ) {
    super();
    checkChannels('Conv2d', inChannels, outChannels);
    const options = positionalOptions<Conv2dOptions>('Conv2d', rest, 2);
    checkConv2dOptions(kernelSize, options, 'Conv2d', ['bias', 'weightPenalty', 'biasPenalty']);
    checkBias('Conv2d', options.bias);
    this.options = options;
    this.kernelSize = pair(kernelSize, 'kernelSize', 'Conv2d');
    this.plan = new Conv2dPlan(this.kernelSize, options, 'Conv2d');
    const groups = checkGroups('Conv2d', inChannels, outChannels, options.groups);
    this.weight = new Parameter(zeros([outChannels, inChannels / groups, ...this.kernelSize]));
    this.bias = options.bias === false ? null : new Parameter(zeros([outChannels]));
    this.weight.penalty = checkPenalty('Conv2d weightPenalty', options.weightPenalty);
    if (this.bias) this.bias.penalty = checkPenalty('Conv2d biasPenalty', options.biasPenalty);
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
    return this.forwardWithEpilogue(x);
  }

  /** forward() followed by an activation, applied in the convolution's own kernel (Sequential fuses ReLU / LeakyReLU so). */
  forwardWithEpilogue(x: Tensor, epilogue?: Epilogue): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(`expected input [N, ${this.inChannels}, H, W], got ${fmt(x.shape)}`);
    }
    return conv2d(x, this.weight, this.bias, this.plan, epilogue);
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
