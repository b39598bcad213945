import { ArgumentError, ShapeError } from '../../core/errors.js';
import { fmt } from '../../core/shape.js';
import { ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type LrnConvention, groupNorm, instanceNorm, layerNorm, localResponseNorm } from '../functional.js';
import { checkOptionKeys } from '../../tensor/ops.js';
import { Module, Parameter } from '../module.js';
import { ChannelNorm } from './normalization.js';

export interface LayerNormOptions {
  eps?: number;
  /** Learnable per-element weight (ones) and bias (zeros) of the normalized shape. Default true. */
  elementwiseAffine?: boolean;
}

/**
 * Layer normalization over the trailing `normalizedShape` axes of each
 * sample, with parameters `weight` and `bias` of that shape, as PyTorch's
 * nn.LayerNorm. The same in training and evaluation.
 * @example const ln = new LayerNorm([64, 8, 8]);
 */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: readonly number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (this.normalizedShape.length === 0 || !this.normalizedShape.every((d) => Number.isInteger(d) && d >= 1))
      throw new ArgumentError(`LayerNorm: normalizedShape must be positive integers, got ${fmt(this.normalizedShape)}`);
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(ones(this.normalizedShape)) : null;
    this.bias = affine ? new Parameter(zeros(this.normalizedShape)) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  protected override extraRepr(): string {
    return `${fmt(this.normalizedShape)}, eps=${this.eps}${this.weight ? '' : ', elementwiseAffine=false'}`;
  }
}

export interface InstanceNormOptions {
  eps?: number;
  /** Weight of each new batch in the running statistics. Default 0.1. */
  momentum?: number;
  /** Learnable per-channel weight and bias. Default false (as in PyTorch). */
  affine?: boolean;
  /** Keep running statistics and use them in evaluation mode. Default false (as in PyTorch). */
  trackRunningStats?: boolean;
}

/**
 * Instance normalization of [N, C, H, W] (or unbatched [C, H, W]) input:
 * each sample's channel planes are normalized on their own, as PyTorch's
 * nn.InstanceNorm2d. With `affine`, parameters `weight` and `bias` [C]; with
 * `trackRunningStats`, buffers running_mean, running_var and
 * num_batches_tracked (named as in PyTorch, which leaves the count at 0 for
 * instance norm; so does this layer), updated in training and used in
 * evaluation.
 * @example const inorm = new InstanceNorm2d(64, { affine: true });
 */
export class InstanceNorm2d extends ChannelNorm {
  readonly momentum: number;

  constructor(numFeatures: number, opts: InstanceNormOptions = {}) {
    super(numFeatures, opts.eps ?? 1e-5, opts.affine ?? false, opts.trackRunningStats ?? false);
    this.momentum = opts.momentum ?? 0.1;
  }

  forward(x: Tensor): Tensor {
    const unbatched = x.rank === 3;
    if ((x.rank !== 4 && !unbatched) || x.shape[unbatched ? 0 : 1] !== this.numFeatures) {
      throw new ShapeError(
        `expected input [N, ${this.numFeatures}, H, W] or [${this.numFeatures}, H, W], got ${fmt(x.shape)}`,
      );
    }
    const input = unbatched ? x.unsqueeze(0) : x;
    const track = this.trackRunningStats;
    const out = instanceNorm(input, {
      useInputStats: this.training || !track,
      runningMean: track ? this.buffer('running_mean') : null,
      runningVar: track ? this.buffer('running_var') : null,
      weight: this.weight,
      bias: this.bias,
      momentum: this.momentum,
      eps: this.eps,
    });
    if (this.training && track && out.runningMean && out.runningVar) {
      this.setBuffer('running_mean', out.runningMean);
      this.setBuffer('running_var', out.runningVar);
    }
    return unbatched ? out.y.squeeze(0) : out.y;
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, trackRunningStats=${this.trackRunningStats}`;
  }
}

export interface GroupNormOptions {
  eps?: number;
  /** Learnable per-channel weight (ones) and bias (zeros). Default true. */
  affine?: boolean;
}

/**
 * Group normalization: the channels of [N, C, ...] input are split into
 * `numGroups` groups, each normalized per sample, as PyTorch's nn.GroupNorm
 * (parameters `weight` and `bias` [C]). Independent of the batch size, and the
 * same in training and evaluation.
 * @example const gn = new GroupNorm(8, 64);
 */
export class GroupNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: GroupNormOptions = {},
  ) {
    super();
    if (!(Number.isInteger(numGroups) && numGroups >= 1 && Number.isInteger(numChannels) && numChannels >= 1))
      throw new ArgumentError(
        `GroupNorm: numGroups ${numGroups} and numChannels ${numChannels} must be positive integers`,
      );
    if (numChannels % numGroups !== 0)
      throw new ArgumentError(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.weight = affine ? new Parameter(ones([numChannels])) : null;
    this.bias = affine ? new Parameter(zeros([numChannels])) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels)
      throw new ShapeError(`expected input [N, ${this.numChannels}, ...], got ${fmt(x.shape)}`);
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  protected override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}${this.weight ? '' : ', affine=false'}`;
  }
}

export interface LocalResponseNormOptions {
  alpha?: number;
  beta?: number;
  /** Default 1 with the 'pytorch' convention, 2 with 'paper'. */
  k?: number;
  /**
   * 'pytorch' (the default, also Caffe's): α is divided by the window size n.
   * 'paper' (Krizhevsky et al. 2012): α multiplies the plain sum of squares.
   */
  convention?: LrnConvention;
}

/**
 * Local response normalization across channels (AlexNet). By default exactly
 * PyTorch's nn.LocalResponseNorm: b_c = a_c / (k + alpha/n · Σ a_{c'}²)^beta
 * over a zero-padded window of n = `size` neighbouring channels (defaults alpha
 * 1e-4, beta 0.75, k 1). With `convention: 'paper'`, the paper's
 * b_c = a_c / (k + alpha · Σ a_{c'}²)^beta, k defaulting to 2: its constants are
 * n = 5, k = 2, α = 1e-4, β = 0.75.
 * @example const lrn = new LocalResponseNorm(5, { convention: 'paper' }); // AlexNet as published
 */
export class LocalResponseNorm extends Module {
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
  readonly convention: LrnConvention;

  constructor(
    readonly size: number,
    opts: LocalResponseNormOptions = {},
  ) {
    super();
    if (!(Number.isInteger(size) && size >= 1))
      throw new ArgumentError(`LocalResponseNorm: size must be a positive integer, got ${size}`);
    checkOptionKeys('LocalResponseNorm', opts, ['alpha', 'beta', 'k', 'convention']);
    this.convention = opts.convention ?? 'pytorch';
    if (this.convention !== 'pytorch' && this.convention !== 'paper')
      throw new ArgumentError(
        `LocalResponseNorm: convention must be 'pytorch' or 'paper', got ${String(this.convention)}`,
      );
    this.alpha = opts.alpha ?? 1e-4;
    this.beta = opts.beta ?? 0.75;
    this.k = opts.k ?? (this.convention === 'paper' ? 2 : 1);
  }

  forward(x: Tensor): Tensor {
    return localResponseNorm(x, this.size, this.alpha, this.beta, this.k, this.convention);
  }

  protected override extraRepr(): string {
    return `${this.size}, alpha=${this.alpha}, beta=${this.beta}, k=${this.k}${this.convention === 'paper' ? ', convention=paper' : ''}`;
  }
}
