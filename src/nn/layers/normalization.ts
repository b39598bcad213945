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
 * Batch normalization with learnable scale (weight) and shift (bias) and
 * running statistics (buffers running_mean, running_var,
 * num_batches_tracked, named as in PyTorch) used in eval mode.
 */
abstract class BatchNormBase extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;
  readonly momentum: number | null;
  private readonly track: boolean;

  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions,
    private readonly ranks: readonly number[],
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    const affine = opts.affine ?? true;
    this.weight = affine ? new Parameter(ones([numFeatures])) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures])) : null;
    this.track = opts.trackRunningStats ?? true;
    if (this.track) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'int32' }));
    }
  }

  resetRunningStats(): void {
    if (!this.track) return;
    this.setBuffer('running_mean', zeros([this.numFeatures]));
    this.setBuffer('running_var', ones([this.numFeatures]));
    this.setBuffer('num_batches_tracked', full([], 0, { dtype: 'int32' }));
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
    const useBatchStats = this.training || !this.track;
    // Only the cumulative average (momentum null) needs the count on the host.
    const tracked = this.track && this.momentum === null ? this.buffer('num_batches_tracked').itemSync() : 0;
    const out = batchNorm(x, {
      training: useBatchStats,
      runningMean: this.track ? this.buffer('running_mean') : null,
      runningVar: this.track ? this.buffer('running_var') : null,
      weight: this.weight,
      bias: this.bias,
      momentum: this.momentum,
      eps: this.eps,
      numBatchesTracked: tracked,
    });
    if (this.training && this.track && out.runningMean && out.runningVar) {
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
