/**
 * Synchronised batch normalization for DataParallel replicas (PyTorch's SyncBatchNorm):
 * the batch statistics are those of the whole batch, summed over the replicas in a fixed
 * order, so N replicas normalize exactly as one device would on the whole batch. The
 * all-reduce is differentiable: its gradient is the all-reduce of the incoming gradients.
 */
import { ShapeError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import { batchNorm } from '../nn/functional.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/layers/normalization.js';
import type { Module } from '../nn/module.js';
import { fromArray } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { CTRL, allReduceSum } from './shared.js';

/** What a replica's synchronised layers share: the control array, the scratch and the replica's index. */
export interface ReplicaContext {
  ctrl: Int32Array;
  scratch: Float64Array;
  replica: number;
}

/** Sums `t` over the active replicas; the gradient flowing back is summed over them too. */
function allReduceTensor(t: Tensor, ctx: ReplicaContext): Tensor {
  const active = Atomics.load(ctx.ctrl, CTRL.active);
  const sum = (values: ArrayLike<number>, like: Tensor): Tensor =>
    fromArray(Float64Array.from(allReduceSum(ctx.ctrl, ctx.scratch, ctx.replica, active, values)), [...like.shape], {
      dtype: like.dtype,
      backend: like.backend,
    });
  const total = sum(t.dataSync(), t);
  if (!t.requiresGrad) return total;
  // t − t is exactly 0, so the value is the total; the gradient reaches t unchanged, after the hook has reduced it.
  const y = ops.add(ops.sub(t, t.detach()), total);
  y.registerHook((g) => sum(g.dataSync(), g));
  return y;
}

/**
 * A BatchNorm1d / BatchNorm2d whose training statistics are those of the global batch.
 * Same parameters and buffers (names included) as the layer it replaces.
 */
export class SyncBatchNorm extends BatchNorm2d {
  /** Input ranks of the layer replaced (a Module-valued field would become a child). */
  private readonly inputRanks: readonly number[];

  constructor(
    from: BatchNorm1d | BatchNorm2d,
    private readonly ctx: ReplicaContext,
  ) {
    super(from.numFeatures, {
      eps: from.eps,
      momentum: from.momentum,
      affine: from.weight !== null,
      trackRunningStats: from.trackRunningStats,
    });
    this.inputRanks = from instanceof BatchNorm2d ? [4] : [2, 3];
  }

  override forward(x: Tensor): Tensor {
    const c = this.numFeatures;
    const ranks = this.inputRanks;
    if (!ranks.includes(x.rank) || x.shape[1] !== c)
      throw new ShapeError(
        `SyncBatchNorm(${c}): expected input of rank ${ranks.join(' or ')} with ${c} channels, got ${fmt(x.shape)}`,
      );
    const track = this.trackRunningStats;
    if (!this.training && track) {
      return batchNorm(x, {
        training: false,
        runningMean: this.buffer('running_mean'),
        runningVar: this.buffer('running_var'),
        weight: this.weight,
        bias: this.bias,
        eps: this.eps,
      }).y;
    }
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
    const perRow = x.numel / (x.shape[0]! * c);
    const count = Atomics.load(this.ctx.ctrl, CTRL.globalRows) * perRow;
    if (count <= 1)
      throw new ShapeError(`SyncBatchNorm(${c}): training needs more than one value per channel in the global batch`);
    const mean = ops.reshape(ops.div(allReduceTensor(ops.sum(x, axes), this.ctx), count), bshape);
    const centred = ops.sub(x, mean);
    const varB = ops.reshape(ops.div(allReduceTensor(ops.sum(ops.square(centred), axes), this.ctx), count), bshape);
    let y = ops.div(centred, ops.unary('sqrt', ops.add(varB, this.eps)));
    if (this.weight) y = ops.mul(y, ops.reshape(this.weight, bshape));
    if (this.bias) y = ops.add(y, ops.reshape(this.bias, bshape));
    if (track) {
      const tracked = this.buffer('num_batches_tracked');
      const m = this.momentum === null ? 1 / (tracked.itemSync() + 1) : this.momentum;
      noGrad(() => {
        const rm = this.buffer('running_mean');
        const rv = this.buffer('running_var');
        this.setBuffer(
          'running_mean',
          ops.cast(ops.add(ops.mul(rm, 1 - m), ops.mul(ops.reshape(mean, [c]), m)), rm.dtype),
        );
        this.setBuffer(
          'running_var',
          ops.cast(ops.add(ops.mul(rv, 1 - m), ops.mul(ops.reshape(varB, [c]), (m * count) / (count - 1))), rv.dtype),
        );
        this.setBuffer('num_batches_tracked', tracked.add(1));
      });
    }
    return y;
  }
}

/** Replaces every BatchNorm1d / BatchNorm2d of `model` by a SyncBatchNorm bound to `ctx`. */
export function convertSyncBatchNorm(model: Module, ctx: ReplicaContext): number {
  let n = 0;
  for (const [path, m] of model.namedModules()) {
    if (path !== '' && (m instanceof BatchNorm1d || m instanceof BatchNorm2d) && !(m instanceof SyncBatchNorm)) {
      model.setSubmodule(path, new SyncBatchNorm(m, ctx));
      n++;
    }
  }
  return n;
}
