import { ArgumentError, ShapeError } from '../../core/errors.js';
import { fmt } from '../../core/shape.js';
import { full, zeros } from '../../tensor/creation.js';
import type { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { linear, maxout, prelu, rrelu } from '../functional.js';
import { kaimingUniform, uniform_ } from '../init.js';
import { Module, Parameter } from '../module.js';

export interface PReLUOptions {
  /** 1 (one slope shared by all channels) or the number of channels (axis 1). Default 1. */
  numParameters?: number;
  /** Initial slope. Default 0.25. */
  init?: number;
}

/**
 * Parametric ReLU: x for x > 0, a·x otherwise, with learned slopes
 * `weight` [numParameters] (one shared, or one per channel on axis 1), as
 * PyTorch's nn.PReLU.
 * @example const act = new PReLU({ numParameters: 64 });
 */
export class PReLU extends Module {
  weight: Parameter;

  constructor(opts: PReLUOptions = {}) {
    super();
    const count = opts.numParameters ?? 1;
    if (!(Number.isInteger(count) && count >= 1))
      throw new ArgumentError(`PReLU: numParameters must be a positive integer, got ${count}`);
    this.weight = new Parameter(full([count], opts.init ?? 0.25));
  }

  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }

  protected override extraRepr(): string {
    return `numParameters=${this.weight.numel}`;
  }
}

export interface RReLUOptions {
  lower?: number;
  upper?: number;
  /** Source of the random slopes in training (default: the global default generator). */
  generator?: Generator;
}

/**
 * Randomized leaky ReLU: in training every negative element is scaled by its
 * own slope drawn from U(lower, upper); in evaluation by (lower + upper)/2.
 * Defaults lower 1/8, upper 1/3, as PyTorch's nn.RReLU.
 * @example const act = new RReLU({ generator: new Generator(1) });
 */
export class RReLU extends Module {
  readonly lower: number;
  readonly upper: number;
  readonly generator: Generator | undefined;

  constructor(opts: RReLUOptions = {}) {
    super();
    this.lower = opts.lower ?? 1 / 8;
    this.upper = opts.upper ?? 1 / 3;
    if (!(this.lower <= this.upper))
      throw new ArgumentError(`RReLU: lower ${this.lower} must not exceed upper ${this.upper}`);
    this.generator = opts.generator;
  }

  forward(x: Tensor): Tensor {
    return rrelu(x, this.lower, this.upper, this.training, this.generator);
  }

  protected override extraRepr(): string {
    return `lower=${this.lower}, upper=${this.upper}`;
  }
}

export interface MaxoutOptions {
  /** Number of pieces the maximum is taken over. */
  pieces: number;
  /** The axis split into pieces. Default 1 (channels). */
  axis?: number;
}

/**
 * Maxout (Goodfellow et al. 2013): the axis of size C is split into `pieces`
 * consecutive blocks of C/pieces entries and the output is their elementwise
 * maximum, out[j] = max_k x[k·C/pieces + j]. Put it after a convolution or
 * linear layer with pieces× the wanted outputs.
 * @example new Sequential(new Conv2d(3, 96, 5), new Maxout({ pieces: 2 })) // 48 channels out
 */
export class Maxout extends Module {
  readonly pieces: number;
  readonly axis: number;

  constructor(opts: MaxoutOptions) {
    super();
    this.pieces = opts.pieces;
    this.axis = opts.axis ?? 1;
    if (!(Number.isInteger(this.pieces) && this.pieces >= 1))
      throw new ArgumentError(`Maxout: pieces must be a positive integer, got ${this.pieces}`);
  }

  forward(x: Tensor): Tensor {
    return maxout(x, this.pieces, this.axis);
  }

  protected override extraRepr(): string {
    return `pieces=${this.pieces}, axis=${this.axis}`;
  }
}

/**
 * A maxout unit on features: a linear map to outFeatures·pieces values
 * (weight [outFeatures·pieces, inFeatures], bias, initialized as Linear),
 * then the maximum over the pieces, with the same layout as Maxout on the
 * last axis (piece k of output j is row k·outFeatures + j).
 * @example const unit = new MaxoutLinear(784, 240, 5);
 */
export class MaxoutLinear extends Module {
  weight: Parameter;
  bias: Parameter;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly pieces: number,
  ) {
    super();
    if (![inFeatures, outFeatures, pieces].every((v) => Number.isInteger(v) && v >= 1))
      throw new ArgumentError(
        `MaxoutLinear: inFeatures ${inFeatures}, outFeatures ${outFeatures} and pieces ${pieces} must be positive integers`,
      );
    this.weight = new Parameter(zeros([outFeatures * pieces, inFeatures]));
    this.bias = new Parameter(zeros([outFeatures * pieces]));
    kaimingUniform(this.weight, { a: Math.sqrt(5) });
    const bound = 1 / Math.sqrt(inFeatures);
    uniform_(this.bias, -bound, bound);
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures)
      throw new ShapeError(`expected input [..., ${this.inFeatures}], got ${fmt(x.shape)}`);
    return maxout(linear(x, this.weight, this.bias), this.pieces, -1);
  }

  protected override extraRepr(): string {
    return `${this.inFeatures}, ${this.outFeatures}, pieces=${this.pieces}`;
  }
}
