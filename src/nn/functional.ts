/**
 * Stateless layer and loss functions; the layer classes hold parameters
 * and call these. All are composites of tensor ops, so autograd derives
 * their gradients.
 */
import { ArgumentError, DTypeError, ShapeError } from '../core/errors.js';
import { fmt, sameShape } from '../core/shape.js';
import { rand } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { type Generator } from '../tensor/random.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

export {
  conv2d,
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  globalAvgPool2d,
  globalMaxPool2d,
  upsample,
  relu,
  leakyRelu,
  elu,
  sigmoid,
  tanh,
  softmax,
  logSoftmax,
  softplus,
} from '../tensor/ops.js';

/** y = x·Wᵀ + b with weight [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inFeatures = weight.shape[1]!;
  if (x.shape[x.rank - 1] !== inFeatures) {
    throw new ShapeError(
      `linear: expected input [..., ${inFeatures}], got ${fmt(x.shape)} (weight ${fmt(weight.shape)})`,
    );
  }
  const y = ops.matmul(x, ops.transpose(weight));
  return bias ? ops.add(y, bias) : y;
}

/** Zeroes each element with probability p in training and scales the rest by 1/(1−p) (inverted dropout). */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return ops.mul(x, 0);
  const keep = ops.compare(
    'ge',
    rand(x.shape, { backend: x.backend, dtype: x.dtype, ...(generator ? { generator } : {}) }),
    p,
  );
  return ops.mul(x, ops.div(ops.cast(keep, x.dtype), 1 - p));
}

/** Like dropout, but zeroes whole channels of NCHW maps. */
export function dropout2d(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  if (x.rank !== 4) throw new ShapeError(`dropout2d: expected input [N, C, H, W], got ${fmt(x.shape)}`);
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`dropout2d: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return ops.mul(x, 0);
  const shape = [x.shape[0]!, x.shape[1]!, 1, 1];
  const keep = ops.compare(
    'ge',
    rand(shape, { backend: x.backend, dtype: x.dtype, ...(generator ? { generator } : {}) }),
    p,
  );
  return ops.mul(x, ops.div(ops.cast(keep, x.dtype), 1 - p));
}

export interface BatchNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  training: boolean;
  /** Weight of the new batch in the running averages; null for a cumulative average. */
  momentum?: number | null;
  eps?: number;
  /** Number of batches seen before this one (for momentum null). */
  numBatchesTracked?: number;
}

/**
 * Batch normalization over every axis but the channel axis (1). In training
 * it normalizes with the batch's statistics and returns updated running
 * statistics (variance unbiased, as PyTorch); in evaluation it uses the
 * running ones.
 */
export function batchNorm(x: Tensor, o: BatchNormOptions): { y: Tensor; runningMean?: Tensor; runningVar?: Tensor } {
  if (x.rank < 2) throw new ShapeError(`batchNorm: expected input [N, C, ...], got ${fmt(x.shape)}`);
  const c = x.shape[1]!;
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const eps = o.eps ?? 1e-5;
  let mean: Tensor;
  let varB: Tensor;
  let result: { runningMean?: Tensor; runningVar?: Tensor } = {};
  if (o.training) {
    const n = x.numel / c;
    if (n <= 1)
      throw new ShapeError(`batchNorm: training needs more than one value per channel, got input ${fmt(x.shape)}`);
    mean = ops.mean(x, axes, true);
    varB = ops.mean(ops.square(ops.sub(x, mean)), axes, true);
    if (o.runningMean && o.runningVar) {
      const m =
        o.momentum === undefined ? 0.1 : o.momentum === null ? 1 / ((o.numBatchesTracked ?? 0) + 1) : o.momentum;
      const rm = o.runningMean;
      const rv = o.runningVar;
      // The running statistics keep their own dtype whatever the input's.
      result = noGrad(() => ({
        runningMean: ops.cast(ops.add(ops.mul(rm, 1 - m), ops.mul(ops.reshape(mean, [c]), m)), rm.dtype),
        runningVar: ops.cast(ops.add(ops.mul(rv, 1 - m), ops.mul(ops.reshape(varB, [c]), (m * n) / (n - 1))), rv.dtype),
      }));
    }
  } else {
    if (!o.runningMean || !o.runningVar) throw new ArgumentError('batchNorm: evaluation mode needs running statistics');
    mean = ops.reshape(o.runningMean, bshape);
    varB = ops.reshape(o.runningVar, bshape);
  }
  let y = ops.div(ops.sub(x, mean), ops.unary('sqrt', ops.add(varB, eps)));
  if (o.weight) y = ops.mul(y, ops.reshape(o.weight, bshape));
  if (o.bias) y = ops.add(y, ops.reshape(o.bias, bshape));
  return { y, ...result };
}

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(loss: Tensor, reduction: Reduction, op: string): Tensor {
  switch (reduction) {
    case 'mean':
      return ops.mean(loss);
    case 'sum':
      return ops.sum(loss);
    case 'none':
      return loss;
    default:
      throw new ArgumentError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  }
}

/** Checks class-index targets: int32, shape [N], every label in [0, C). */
function checkLabels(labels: Tensor, n: number, classes: number, op: string): void {
  if (labels.dtype !== 'int32') throw new DTypeError(`${op}: targets must be int32 class indices, got ${labels.dtype}`);
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new ShapeError(`${op}: expected targets of shape [${n}] for input with ${n} rows, got ${fmt(labels.shape)}`);
  }
  const c = labels.contiguous();
  const values = c.backend.readSync(c.storage, 'int32', c.offset + n);
  if (!values) return; // asynchronous backends cannot look without waiting; the kernels then ignore bad labels
  for (let i = 0; i < n; i++) {
    const v = values[c.offset + i]!;
    if (v < 0 || v >= classes)
      throw new ArgumentError(`${op}: target ${v} at index ${i} is out of range for ${classes} classes`);
  }
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** Mix the one-hot target with a uniform distribution: (1−ε)·onehot + ε/C. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy from logits [N, C] and int32 class targets [N], via a
 * stable log-softmax (log-sum-exp).
 * @example const loss = crossEntropy(model.forward(x), labels);
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  if (logits.rank !== 2) throw new ShapeError(`crossEntropy: expected logits [N, C], got ${fmt(logits.shape)}`);
  const [n, c] = logits.shape as [number, number];
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new ArgumentError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  checkLabels(targets, n, c, 'crossEntropy');
  const logp = ops.logSoftmax(logits, 1);
  const nll = ops.neg(ops.sum(ops.mul(logp, ops.oneHot(targets, c, logits.dtype)), 1));
  const loss = eps > 0 ? ops.add(ops.mul(nll, 1 - eps), ops.mul(ops.neg(ops.mean(logp, 1)), eps)) : nll;
  return reduce(loss, opts.reduction ?? 'mean', 'crossEntropy');
}

/** Negative log-likelihood of int32 targets under log-probabilities [N, C]. */
export function nllLoss(logProbs: Tensor, targets: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (logProbs.rank !== 2)
    throw new ShapeError(`nllLoss: expected log-probabilities [N, C], got ${fmt(logProbs.shape)}`);
  const [n, c] = logProbs.shape as [number, number];
  checkLabels(targets, n, c, 'nllLoss');
  const loss = ops.neg(ops.sum(ops.mul(logProbs, ops.oneHot(targets, c, logProbs.dtype)), 1));
  return reduce(loss, opts.reduction ?? 'mean', 'nllLoss');
}

function checkSameShape(a: Tensor, b: Tensor, op: string): void {
  if (!sameShape(a.shape, b.shape))
    throw new ShapeError(`${op}: prediction ${fmt(a.shape)} and target ${fmt(b.shape)} differ in shape`);
}

/** Mean squared error. */
export function mseLoss(pred: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkSameShape(pred, target, 'mseLoss');
  return reduce(ops.square(ops.sub(pred, target)), opts.reduction ?? 'mean', 'mseLoss');
}

/** Mean absolute error. */
export function l1Loss(pred: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkSameShape(pred, target, 'l1Loss');
  return reduce(ops.unary('abs', ops.sub(pred, target)), opts.reduction ?? 'mean', 'l1Loss');
}

/** Binary cross-entropy from logits, stable for large |x|: max(x,0) − x·t + log(1 + e^−|x|). */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction } = {},
): Tensor {
  checkSameShape(logits, target, 'binaryCrossEntropyWithLogits');
  const loss = ops.sub(ops.softplus(logits), ops.mul(logits, target));
  return reduce(loss, opts.reduction ?? 'mean', 'binaryCrossEntropyWithLogits');
}

/** Σ|w| over the given tensors (L1 regularization; add λ·l1Penalty(params) to the loss). */
export function l1Penalty(params: readonly Tensor[]): Tensor {
  if (params.length === 0) throw new ArgumentError('l1Penalty: no parameters given');
  return params.map((p) => ops.sum(ops.unary('abs', p))).reduce((a, b) => ops.add(a, b));
}

/** Σw² over the given tensors (L2 regularization; its gradient is 2w). */
export function l2Penalty(params: readonly Tensor[]): Tensor {
  if (params.length === 0) throw new ArgumentError('l2Penalty: no parameters given');
  return params.map((p) => ops.sum(ops.square(p))).reduce((a, b) => ops.add(a, b));
}
