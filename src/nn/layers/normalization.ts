import { ShapeError } from '../../core/errors.js';
import { fmt } from '../../core/shape.js';
import { full, ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { batchNorm } from '../functional.js';
import { Module, Parameter } from '../module.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of each new batch in the running statistics; null for a cumulative average. Default 0.1. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * What batch and instance normalization share: per-channel `weight` (ones) and `bias`
 * (zeros) when affine, and, when tracking running statistics, the buffers running_mean,
 * running_var and num_batches_tracked, named as in PyTorch.
 */
export abstract class ChannelNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(
    readonly numFeatures: number,
    readonly eps: number,
    affine: boolean,
    readonly trackRunningStats: boolean,
  ) {
    super();
    this.weight = affine ? new Parameter(ones([numFeatures])) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures])) : null;
    if (trackRunningStats) for (const [name, t] of this.initialStats()) this.registerBuffer(name, t);
  }

  private initialStats(): [string, Tensor][] {
    return [
      ['running_mean', zeros([this.numFeatures])],
      ['running_var', ones([this.numFeatures])],
      ['num_batches_tracked', full([], 0, { dtype: 'int32' })],
    ];
  }

  /** Sets the running statistics (when tracked) back to their initial values. */
  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    for (const [name, t] of this.initialStats()) this.setBuffer(name, t);
  }
}

/**
 * Batch normalization with learnable scale (weight) and shift (bias) and
 * running statistics (buffers running_mean, running_var,
 * num_batches_tracked, named as in PyTorch) used in eval mode.
 */
abstract class BatchNormBase extends ChannelNorm {
  readonly momentum: number | null;

  constructor(
    numFeatures: number,
    opts: BatchNormOptions,
    private readonly ranks: readonly number[],
  ) {
    super(numFeatures, opts.eps ?? 1e-5, opts.affine ?? true, opts.trackRunningStats ?? true);
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  }

  forward(x: Tensor): Tensor {
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      const want = this.ranks.map((r) =>
        r === 2
          ? `[N, ${this.numFeatures}]`
          : r === 3
            ? `[N, ${this.numFeatures}, L]`
            : `[N, ${this.numFeatures}, H, W]`,
      );
      throw new ShapeError(`expected input ${want.join(' or ')}, got ${fmt(x.shape)}`);
    }
    const useBatchStats = this.training || !this.trackRunningStats;
    // Only the cumulative average (momentum null) needs the count on the host.
    const tracked =
      this.trackRunningStats && this.momentum === null ? this.buffer('num_batches_tracked').itemSync() : 0;
    const out = batchNorm(x, {
      training: useBatchStats,
      runningMean: this.trackRunningStats ? this.buffer('running_mean') : null,
      runningVar: this.trackRunningStats ? this.buffer('running_var') : null,
      weight: this.weight,
      bias: this.bias,
      momentum: this.momentum,
      eps: this.eps,
      numBatchesTracked: tracked,
    });
    if (this.training && this.trackRunningStats && out.runningMean && out.runningVar) {
      this.setBuffer('running_mean', out.runningMean);
      this.setBuffer('running_var', out.runningVar);
      this.setBuffer('num_batches_tracked', this.buffer('num_batches_tracked').add(1));
    }
    return out.y;
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

/** Batch norm over [N, C] or [N, C, L] input. @example new BatchNorm1d(120) */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts, [2, 3]);
  }
}

/** Batch norm over [N, C, H, W] input, per channel. @example new BatchNorm2d(64) */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts, [4]);
  }
}
