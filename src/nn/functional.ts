/**
 * Stateless layer and loss functions; the layer classes hold parameters
 * and call these. All are composites of tensor ops, so autograd derives
 * their gradients.
 */
import { isFloat } from '../core/dtype.js';
import { ArgumentError, DTypeError, ShapeError } from '../core/errors.js';
import type { OpParams } from '../core/ops.js';
import { fmt, normalizeAxis, sameShape } from '../core/shape.js';
import { rand, uniform } from '../tensor/creation.js';
import { noGrad, run } from '../tensor/dispatch.js';
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

/** y = x·Wᵀ + b with weight [out, in], then the epilogue's activation where one is given (in the same kernel for a 2-D x). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, epilogue?: ops.Epilogue): Tensor {
  const inFeatures = weight.shape[1]!;
  if (x.shape[x.rank - 1] !== inFeatures) {
    throw new ShapeError(
      `linear: expected input [..., ${inFeatures}], got ${fmt(x.shape)} (weight ${fmt(weight.shape)})`,
    );
  }
  return ops.linearBiasAct(x, weight, bias ?? null, epilogue);
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

/**
 * Row i's entry at column targets[i], by selection rather than a product with the one-hot matrix, so
 * a −∞ log-probability elsewhere in the row (a masked logit) does not turn the pick into NaN (−∞·0).
 */
function pickTargets(logProbs: Tensor, targets: Tensor, classes: number): Tensor {
  return ops.sum(ops.where(ops.oneHot(targets, classes, 'bool'), logProbs, 0), 1);
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
  const nll = ops.neg(pickTargets(logp, targets, c));
  const loss = eps > 0 ? ops.add(ops.mul(nll, 1 - eps), ops.mul(ops.neg(ops.mean(logp, 1)), eps)) : nll;
  return reduce(loss, opts.reduction ?? 'mean', 'crossEntropy');
}

/** Negative log-likelihood of int32 targets under log-probabilities [N, C]. */
export function nllLoss(logProbs: Tensor, targets: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (logProbs.rank !== 2)
    throw new ShapeError(`nllLoss: expected log-probabilities [N, C], got ${fmt(logProbs.shape)}`);
  const [n, c] = logProbs.shape as [number, number];
  checkLabels(targets, n, c, 'nllLoss');
  const loss = ops.neg(pickTargets(logProbs, targets, c));
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

// ---------------------------------------------------------------- more normalization layers

/** The reshape target that lines a per-channel vector [C] up with axis 1 of a tensor of rank `rank`. */
function channelShape(c: number, rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => (i === 1 ? c : 1));
}

/** Checks that an affine parameter has shape `want`. */
function checkParam(t: Tensor | null | undefined, want: readonly number[], name: string, op: string): void {
  if (t && !sameShape(t.shape, want))
    throw new ShapeError(`${op}: ${name} ${fmt(t.shape)} must have shape ${fmt(want)}`);
}

/** (x − mean)/√(var + eps) over `axes`, with the biased variance (as every normalization layer uses). */
function standardize(x: Tensor, axes: readonly number[], eps: number): Tensor {
  const centered = ops.sub(x, ops.mean(x, axes, true));
  const v = ops.mean(ops.square(centered), axes, true);
  return ops.div(centered, ops.unary('sqrt', ops.add(v, eps)));
}

/**
 * Layer normalization (Ba et al. 2016): normalizes over the trailing axes
 * given by `normalizedShape` (biased variance), then scales by `weight` and
 * shifts by `bias`, both of shape `normalizedShape`, as PyTorch's layer_norm.
 * @example layerNorm(x, [C, H, W], w, b)
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || x.rank < k || !ns.every((d, i) => x.shape[x.rank - k + i] === d)) {
    throw new ShapeError(
      `layerNorm: expected input [..., ${ns.join(', ')}] (normalized shape ${fmt(ns)}), got ${fmt(x.shape)}`,
    );
  }
  checkParam(weight, ns, 'weight', 'layerNorm');
  checkParam(bias, ns, 'bias', 'layerNorm');
  let y = standardize(
    x,
    ns.map((_, i) => x.rank - k + i),
    eps,
  );
  if (weight) y = ops.mul(y, weight);
  if (bias) y = ops.add(y, bias);
  return y;
}

export interface InstanceNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalize with each instance's own statistics (training, or no running statistics); else with the running ones. */
  useInputStats: boolean;
  /** Weight of the new batch in the running averages. Default 0.1. */
  momentum?: number;
  eps?: number;
}

/**
 * Instance normalization (Ulyanov et al. 2016) of [N, C, ...] input: every
 * (sample, channel) plane is normalized with its own mean and biased
 * variance. With `useInputStats` and running statistics given, it also
 * returns them updated as PyTorch does: the batch average of the per-instance
 * means and unbiased variances, blended in with `momentum`. Without
 * `useInputStats` it normalizes with the running statistics.
 * @example instanceNorm(x, { useInputStats: true }).y
 */
export function instanceNorm(
  x: Tensor,
  o: InstanceNormOptions,
): { y: Tensor; runningMean?: Tensor; runningVar?: Tensor } {
  if (x.rank < 3) throw new ShapeError(`instanceNorm: expected input [N, C, ...spatial], got ${fmt(x.shape)}`);
  const c = x.shape[1]!;
  const bshape = channelShape(c, x.rank);
  const spatial = x.shape.map((_, i) => i).filter((i) => i >= 2);
  const eps = o.eps ?? 1e-5;
  for (const [t, name] of [
    [o.weight, 'weight'],
    [o.bias, 'bias'],
    [o.runningMean, 'running mean'],
    [o.runningVar, 'running var'],
  ] as const)
    checkParam(t, [c], name, 'instanceNorm');
  let y: Tensor;
  let result: { runningMean?: Tensor; runningVar?: Tensor } = {};
  if (o.useInputStats) {
    const n = x.numel / (x.shape[0]! * c);
    if (n <= 1) {
      throw new ShapeError(
        `instanceNorm: normalizing with instance statistics needs more than one spatial element, got input ${fmt(x.shape)}`,
      );
    }
    const mean = ops.mean(x, spatial, true);
    const centered = ops.sub(x, mean);
    const v = ops.mean(ops.square(centered), spatial, true);
    y = ops.div(centered, ops.unary('sqrt', ops.add(v, eps)));
    if (o.runningMean && o.runningVar) {
      const m = o.momentum ?? 0.1;
      const rm = o.runningMean;
      const rv = o.runningVar;
      result = noGrad(() => {
        const batchMean = ops.mean(ops.reshape(mean, [x.shape[0]!, c]), 0);
        const batchVar = ops.mul(ops.mean(ops.reshape(v, [x.shape[0]!, c]), 0), n / (n - 1));
        return {
          runningMean: ops.cast(ops.add(ops.mul(rm, 1 - m), ops.mul(batchMean, m)), rm.dtype),
          runningVar: ops.cast(ops.add(ops.mul(rv, 1 - m), ops.mul(batchVar, m)), rv.dtype),
        };
      });
    }
  } else {
    if (!o.runningMean || !o.runningVar)
      throw new ArgumentError('instanceNorm: normalizing without instance statistics needs running statistics');
    const mean = ops.reshape(o.runningMean, bshape);
    const v = ops.reshape(o.runningVar, bshape);
    y = ops.div(ops.sub(x, mean), ops.unary('sqrt', ops.add(v, eps)));
  }
  if (o.weight) y = ops.mul(y, ops.reshape(o.weight, bshape));
  if (o.bias) y = ops.add(y, ops.reshape(o.bias, bshape));
  return { y, ...result };
}

/**
 * Group normalization (Wu & He 2018) of [N, C, ...] input: the channels are
 * split into `numGroups` groups of C/numGroups consecutive channels, each
 * group of each sample normalized with its own mean and biased variance, then
 * the per-channel `weight` and `bias` [C] applied, as PyTorch's group_norm.
 * @example groupNorm(x, 32, w, b)
 */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  if (x.rank < 2) throw new ShapeError(`groupNorm: expected input [N, C, ...], got ${fmt(x.shape)}`);
  const c = x.shape[1]!;
  if (!(Number.isInteger(numGroups) && numGroups >= 1) || c % numGroups !== 0) {
    throw new ShapeError(
      `groupNorm: input ${fmt(x.shape)} has ${c} channels, which do not split into ${numGroups} groups`,
    );
  }
  checkParam(weight, [c], 'weight', 'groupNorm');
  checkParam(bias, [c], 'bias', 'groupNorm');
  const grouped = ops.reshape(x, [x.shape[0]!, numGroups, -1]);
  let y = ops.reshape(standardize(grouped, [2], eps), x.shape);
  const bshape = channelShape(c, x.rank);
  if (weight) y = ops.mul(y, ops.reshape(weight, bshape));
  if (bias) y = ops.add(y, ops.reshape(bias, bshape));
  return y;
}

/**
 * How LRN's alpha is applied: 'pytorch' (PyTorch and Caffe) divides it by the
 * window size n, b = a / (k + α/n · Σa²)^β; 'paper' (Krizhevsky et al. 2012)
 * applies it to the plain sum, b = a / (k + α · Σa²)^β.
 */
export type LrnConvention = 'pytorch' | 'paper';

/**
 * Local response normalization across channels (Krizhevsky et al. 2012),
 * by default PyTorch's formula: b_c = a_c / (k + alpha/n · Σ a_{c'}²)^beta, the sum over
 * a window of n = `size` channels around c (size//2 before, (size−1)//2
 * after), zero-padded at the ends; with convention 'paper', alpha multiplies
 * the plain sum. Built from pad and avgPool2d over the channel axis, so it
 * works on every backend and autograd derives its gradient.
 * @example localResponseNorm(x, 5, 1e-4, 0.75, 2, 'paper') // the paper's constants
 */
export function localResponseNorm(
  x: Tensor,
  size: number,
  alpha = 1e-4,
  beta = 0.75,
  k = 1,
  convention: LrnConvention = 'pytorch',
): Tensor {
  if (x.rank < 3) throw new ShapeError(`localResponseNorm: expected input [N, C, ...spatial], got ${fmt(x.shape)}`);
  if (!(Number.isInteger(size) && size >= 1))
    throw new ArgumentError(`localResponseNorm: size must be a positive integer, got ${size}`);
  if (convention !== 'pytorch' && convention !== 'paper')
    throw new ArgumentError(`localResponseNorm: convention must be 'pytorch' or 'paper', got ${String(convention)}`);
  const [n, c] = x.shape as [number, number];
  const sq = ops.reshape(ops.square(x), [n, 1, c, -1]);
  const padded = ops.pad(sq, [
    [Math.floor(size / 2), Math.floor((size - 1) / 2)],
    [0, 0],
  ]);
  const avg = ops.reshape(ops.avgPool2d(padded, [size, 1], { stride: 1 }), x.shape);
  // avg is Σa²/n: the paper's α·Σa² is (α·n)·avg.
  const scale = convention === 'paper' ? alpha * size : alpha;
  return ops.div(x, ops.pow(ops.add(ops.mul(avg, scale), k), beta));
}

// ---------------------------------------------------------------- more activations

/**
 * Parametric ReLU (He et al. 2015): x for x > 0, a·x otherwise, with the
 * learned slope `weight` of shape [1] (shared) or [C] (one per channel, axis 1).
 * @example prelu(x, weight)
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  if (weight.rank !== 1) throw new ShapeError(`prelu: weight must have shape [1] or [C], got ${fmt(weight.shape)}`);
  const p = weight.shape[0]!;
  let slope: Tensor;
  if (p === 1) slope = ops.reshape(weight, []);
  else {
    if (x.rank < 2 || x.shape[1] !== p) {
      throw new ShapeError(
        `prelu: weight ${fmt(weight.shape)} has ${p} slopes, so the input needs ${p} channels on axis 1, got ${fmt(x.shape)}`,
      );
    }
    slope = ops.reshape(weight, channelShape(p, x.rank));
  }
  return ops.where(ops.compare('gt', x, 0), x, ops.mul(x, slope));
}

/**
 * Randomized leaky ReLU (Xu et al. 2015): in training, every element below
 * zero gets its own slope drawn from U(lower, upper) (from `generator`, or
 * the default generator); in evaluation the fixed slope (lower + upper)/2.
 * @example rrelu(x, 1 / 8, 1 / 3, model.training)
 */
export function rrelu(x: Tensor, lower = 1 / 8, upper = 1 / 3, training = false, generator?: Generator): Tensor {
  if (!(lower <= upper)) throw new ArgumentError(`rrelu: lower ${lower} must not exceed upper ${upper}`);
  if (!isFloat(x.dtype)) throw new DTypeError(`rrelu: expected a float tensor, got ${x.dtype}`);
  if (!training) return ops.leakyRelu(x, (lower + upper) / 2);
  const slopes = uniform(x.shape, lower, upper, {
    backend: x.backend,
    dtype: x.dtype,
    ...(generator ? { generator } : {}),
  });
  return ops.where(ops.compare('gt', x, 0), x, ops.mul(x, slopes));
}

/**
 * Maxout (Goodfellow et al. 2013): splits `axis` (size C) into `pieces`
 * consecutive blocks of C/pieces entries and takes the elementwise maximum
 * over the blocks, so output entry j is max_k x[k·C/pieces + j]. Ties share
 * the gradient evenly.
 * @example maxout(x, 2) // [N, 8, H, W] -> [N, 4, H, W]
 */
export function maxout(x: Tensor, pieces: number, axis = 1): Tensor {
  if (!(Number.isInteger(pieces) && pieces >= 1))
    throw new ArgumentError(`maxout: pieces must be a positive integer, got ${pieces}`);
  const a = normalizeAxis(axis, x.rank, 'maxout');
  const c = x.shape[a]!;
  if (c % pieces !== 0) {
    throw new ShapeError(
      `maxout: axis ${a} of input ${fmt(x.shape)} has size ${c}, which does not split into ${pieces} pieces`,
    );
  }
  const split = [...x.shape.slice(0, a), pieces, c / pieces, ...x.shape.slice(a + 1)];
  return ops.max(ops.reshape(x, split), a);
}

// ---------------------------------------------------------------- transposed convolution

export interface ConvTranspose2dOptions {
  stride?: ops.Pair;
  /** Rows/columns cropped from each side of the full output (dilation·(k−1) − padding of implicit zero padding). */
  padding?: ops.Pair;
  /** Extra rows/columns added to one side (bottom/right) of the output; smaller than stride or dilation. */
  outputPadding?: ops.Pair;
  dilation?: ops.Pair;
  groups?: number;
}

/** H_out = (H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1, per axis, of resolved pairs. */
function transposedSize(
  input: readonly [number, number],
  kernel: readonly [number, number],
  s: readonly [number, number],
  p: readonly [number, number],
  op: readonly [number, number],
  d: readonly [number, number],
): [number, number] {
  return [0, 1].map((i) => (input[i]! - 1) * s[i]! - 2 * p[i]! + d[i]! * (kernel[i]! - 1) + op[i]! + 1) as [
    number,
    number,
  ];
}

/** H_out = (H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1, per axis. */
export function convTranspose2dOutputSize(
  inputSize: readonly [number, number],
  kernel: readonly [number, number],
  o: ConvTranspose2dOptions = {},
): [number, number] {
  const s = ops.pair(o.stride ?? 1, 'stride', 'convTranspose2d');
  const p = ops.pair(o.padding ?? 0, 'padding', 'convTranspose2d');
  const op = ops.pair(o.outputPadding ?? 0, 'outputPadding', 'convTranspose2d');
  const d = ops.pair(o.dilation ?? 1, 'dilation', 'convTranspose2d');
  return transposedSize(inputSize, kernel, s, p, op, d);
}

/** The conv2dGradInput parameters of one input and weight size, and the zero rows / columns padded after. */
interface TransposeCall {
  readonly params: OpParams['conv2dGradInput'];
  readonly extraH: number;
  readonly extraW: number;
  readonly cOut: number;
}

/**
 * A transposed convolution's geometry (stride, padding, outputPadding, dilation, groups) resolved and
 * checked once: ConvTranspose2d builds one when it is constructed and hands it to {@link convTranspose2d}
 * on every forward, so nothing is re-resolved per call (its pairs are frozen). The primitive's parameters
 * also depend on the input's and weight's sizes: resolved on the first call of each size, the last kept.
 * @example
 * const plan = new ConvTranspose2dPlan({ stride: 2, padding: 1 });
 * convTranspose2d(x, w, b, plan); // x [1, 4, 8, 8], w [4, 2, 4, 4] -> [1, 2, 16, 16]
 */
export class ConvTranspose2dPlan {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly outputPadding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
  /** The parameters of the last input and weight sizes seen. */
  private last: { sizes: readonly number[]; call: TransposeCall } | null = null;
  private derived: ConvTranspose2dPlan | null = null;

  /** Checks the options; `op` names the layer or function in the errors. */
  constructor(
    opts: ConvTranspose2dOptions = {},
    readonly op = 'convTranspose2d',
  ) {
    const groups = opts.groups ?? 1;
    if (!(Number.isInteger(groups) && groups >= 1))
      throw new ArgumentError(`${op}: groups must be a positive integer, got ${groups}`);
    const stride = ops.pair(opts.stride ?? 1, 'stride', op);
    const padding = ops.pair(opts.padding ?? 0, 'padding', op);
    const outPad = ops.pair(opts.outputPadding ?? 0, 'outputPadding', op);
    const dilation = ops.pair(opts.dilation ?? 1, 'dilation', op);
    if (![...stride, ...dilation].every((v) => v >= 1))
      throw new ArgumentError(
        `${op}: stride [${stride.join(', ')}] and dilation [${dilation.join(', ')}] must be positive`,
      );
    if (![...padding, ...outPad].every((v) => v >= 0))
      throw new ArgumentError(
        `${op}: padding [${padding.join(', ')}] and outputPadding [${outPad.join(', ')}] must be non-negative`,
      );
    for (let i = 0; i < 2; i++) {
      if (!(outPad[i]! < stride[i]! || outPad[i]! < dilation[i]!)) {
        throw new ArgumentError(
          `${op}: outputPadding [${outPad.join(', ')}] must be smaller than either stride [${stride.join(', ')}] or dilation [${dilation.join(', ')}]`,
        );
      }
    }
    // Frozen, so the cached primitive parameters (which share them) stay true to the plan.
    this.stride = Object.freeze(stride);
    this.padding = Object.freeze(padding);
    this.outputPadding = Object.freeze(outPad);
    this.dilation = Object.freeze(dilation);
    this.groups = groups;
  }

  /** The output [H, W] for this input size and kernel, with this plan's outputPadding unless given another. */
  outputSize(
    inputSize: readonly [number, number],
    kernel: readonly [number, number],
    outputPadding: readonly [number, number] = this.outputPadding,
  ): [number, number] {
    return transposedSize(inputSize, kernel, this.stride, this.padding, outputPadding, this.dilation);
  }

  /**
   * This geometry with another outputPadding (what forward(x, outputSize) picks), checked; the plan of the
   * last outputPadding asked for is kept, so a run of same-sized calls resolves it once.
   */
  withOutputPadding(outputPadding: ops.Pair): ConvTranspose2dPlan {
    const [h, w] = ops.pair(outputPadding, 'outputPadding', this.op);
    const d = this.derived;
    if (d && d.outputPadding[0] === h && d.outputPadding[1] === w) return d;
    const opts = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    this.derived = new ConvTranspose2dPlan({ ...opts, outputPadding: [h, w] }, this.op);
    return this.derived;
  }

  /** @internal The primitive's parameters for this input and weight (shapes already checked). */
  call(x: Tensor, weight: Tensor): TransposeCall {
    const [n, , h, w] = x.shape as [number, number, number, number];
    const [, outPerGroup, kh, kw] = weight.shape as [number, number, number, number];
    const sizes = [n, h, w, outPerGroup, kh, kw];
    const last = this.last;
    if (last && sizes.every((v, i) => v === last.sizes[i])) return last.call;
    const { stride, padding, dilation, groups } = this;
    const outPad = this.outputPadding;
    const cOut = outPerGroup * groups;
    const [hOut, wOut] = this.outputSize([h, w], [kh, kw]);
    if (hOut < 1 || wOut < 1) {
      throw new ShapeError(
        `convTranspose2d: input ${fmt(x.shape)} with weight ${fmt(weight.shape)}, stride [${stride.join(', ')}] and padding [${padding.join(', ')}] gives an empty output ${hOut}x${wOut}`,
      );
    }
    // The adjoint of a conv2d over a [N, Cout, H', W'] map: padding crops the top/left, and the
    // bottom/right crop is padding − outputPadding. Where outputPadding exceeds padding, the rows
    // past the end of the full output are zeros, added by an explicit pad.
    const extraH = Math.max(0, outPad[0] - padding[0]);
    const extraW = Math.max(0, outPad[1] - padding[1]);
    const params = {
      stride,
      padding: [padding[0], padding[0] - outPad[0] + extraH, padding[1], padding[1] - outPad[1] + extraW],
      dilation,
      groups,
      inputShape: [n, cOut, hOut - extraH, wOut - extraW],
    } as const;
    const call = { params, extraH, extraW, cOut };
    this.last = { sizes, call };
    return call;
  }
}

/**
 * 2-D transposed convolution (the adjoint of conv2d, sometimes called
 * deconvolution) of NCHW `x` with weight [Cin, Cout/groups, kH, kW], as
 * PyTorch's conv_transpose2d. The output has
 * H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1 rows.
 * It runs the conv2dGradInput primitive, so it works on every backend and
 * autograd covers its gradients. Takes options, or a {@link ConvTranspose2dPlan}
 * resolved once (what ConvTranspose2d layers pass).
 * @example convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 })
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvTranspose2dOptions | ConvTranspose2dPlan = {},
): Tensor {
  const op = 'convTranspose2d';
  if (weight.rank !== 4)
    throw new ShapeError(`${op}: weight must have rank 4 [Cin, Cout/groups, kH, kW], got ${fmt(weight.shape)}`);
  if (x.rank !== 4) throw new ShapeError(`${op}: expected input [N, C, H, W], got ${fmt(x.shape)}`);
  if (x.dtype !== weight.dtype || !isFloat(x.dtype))
    throw new DTypeError(`${op}: input (${x.dtype}) and weight (${weight.dtype}) must have the same float dtype`);
  const plan = opts instanceof ConvTranspose2dPlan ? opts : new ConvTranspose2dPlan(opts);
  const cIn = x.shape[1]!;
  const wIn = weight.shape[0]!;
  if (wIn !== cIn) {
    throw new ShapeError(
      `${op}: input ${fmt(x.shape)} has ${cIn} channels but weight ${fmt(weight.shape)} expects ${wIn} (weight is [Cin, Cout/groups, kH, kW])`,
    );
  }
  if (cIn % plan.groups !== 0)
    throw new ShapeError(
      `${op}: input channels ${cIn} (input ${fmt(x.shape)}) are not divisible by groups=${plan.groups}`,
    );
  const { params, extraH, extraW, cOut } = plan.call(x, weight);
  let y = run('conv2dGradInput', [x, weight], params);
  if (extraH > 0 || extraW > 0)
    y = ops.pad(y, [
      [0, extraH],
      [0, extraW],
    ]);
  if (bias) {
    if (bias.rank !== 1 || bias.shape[0] !== cOut)
      throw new ShapeError(`${op}: bias ${fmt(bias.shape)} must have shape [${cOut}] (the output channels)`);
    y = ops.add(y, ops.reshape(bias, [1, -1, 1, 1]));
  }
  return y;
}

// ---------------------------------------------------------------- stochastic pooling

export interface StochasticPool2dOptions {
  /** Default: the kernel size (non-overlapping windows). */
  stride?: ops.Pair;
  /** Sample (training) or take the probability-weighted average (evaluation). Default true. */
  training?: boolean;
  generator?: Generator;
}

/** The value of a scalar tensor where the backend can read synchronously. */
function peekScalar(t: Tensor): number | undefined {
  const c = t.contiguous();
  const v = c.backend.readSync(c.storage, c.dtype, c.offset + 1);
  return v ? v[c.offset] : undefined;
}

/**
 * A stochastic pooling's window (kernel and stride) resolved and checked once: StochasticPool2d builds
 * one when it is constructed and hands it to {@link stochasticPool2d} on every forward. It is frozen.
 * @example const plan = new StochasticPool2dPlan(3, { stride: 2 }); stochasticPool2d(relu(x), plan);
 */
export class StochasticPool2dPlan {
  readonly kernel: readonly [number, number];
  /** Default: the kernel size (non-overlapping windows). */
  readonly stride: readonly [number, number];

  /** Checks the kernel and stride; `op` names the layer or function in the errors. */
  constructor(kernel: ops.Pair, opts: { stride?: ops.Pair } = {}, op = 'stochasticPool2d') {
    const [kh, kw] = ops.pair(kernel, 'kernel', op);
    const [sh, sw] = ops.pair(opts.stride ?? [kh, kw], 'stride', op);
    if (![kh, kw, sh, sw].every((v) => v >= 1))
      throw new ArgumentError(`${op}: kernel [${kh}, ${kw}] and stride [${sh}, ${sw}] must be positive`);
    this.kernel = Object.freeze([kh, kw] as const);
    this.stride = Object.freeze([sh, sw] as const);
    Object.freeze(this);
  }
}

/**
 * Stochastic pooling (Zeiler & Fergus 2013) of non-negative NCHW input (e.g.
 * after a ReLU). In training each window picks one activation a_i with
 * probability a_i/Σa (an all-zero window gives 0), drawing one uniform number
 * per window from `generator`; the gradient flows to the picked element only.
 * In evaluation the output is the probability-weighted average
 * Σ a_i·p_i = Σa_i²/Σa_i (0 for an all-zero window). Windows may overlap
 * (stride < kernel). Takes a kernel size and options, or a {@link StochasticPool2dPlan}
 * resolved once (what StochasticPool2d layers pass; its stride then comes with the plan).
 * @example stochasticPool2d(relu(x), 2, { training: true, generator: new Generator(1) })
 */
export function stochasticPool2d(
  x: Tensor,
  kernel: ops.Pair | StochasticPool2dPlan,
  opts: StochasticPool2dOptions = {},
): Tensor {
  const op = 'stochasticPool2d';
  if (x.rank !== 4) throw new ShapeError(`${op}: expected input [N, C, H, W], got ${fmt(x.shape)}`);
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: expected a float tensor, got ${x.dtype}`);
  let plan: StochasticPool2dPlan;
  if (kernel instanceof StochasticPool2dPlan) {
    if (opts.stride !== undefined)
      throw new ArgumentError(
        `${op}: the stride comes with the StochasticPool2dPlan; pass a plan or a stride, not both`,
      );
    plan = kernel;
  } else plan = new StochasticPool2dPlan(kernel, opts);
  const [kh, kw] = plan.kernel;
  const [sh, sw] = plan.stride;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h < kh || w < kw) throw new ShapeError(`${op}: input ${fmt(x.shape)} is smaller than the ${kh}x${kw} window`);
  const lowest = peekScalar(noGrad(() => ops.min(x)));
  if (lowest !== undefined && lowest < 0)
    throw new ArgumentError(`${op}: input must be non-negative (apply it after a ReLU), got a value ${lowest}`);
  const ho = Math.floor((h - kh) / sh) + 1;
  const wo = Math.floor((w - kw) / sw) + 1;
  // One strided view per kernel tap: taps[t][n, c, i, j] is entry t of window (i, j).
  const taps: Tensor[] = [];
  for (let di = 0; di < kh; di++) {
    for (let dj = 0; dj < kw; dj++) {
      taps.push(ops.slice(x, [null, null, [di, di + sh * (ho - 1) + 1, sh], [dj, dj + sw * (wo - 1) + 1, sw]]));
    }
  }
  const add = (a: Tensor, b: Tensor): Tensor => ops.add(a, b);
  if (!(opts.training ?? true)) {
    const total = taps.reduce(add);
    const squares = taps.map((t) => ops.square(t)).reduce(add);
    const positive = ops.compare('gt', total, 0);
    return ops.where(positive, ops.div(squares, ops.where(positive, total, 1)), 0);
  }
  // Inverse-CDF sampling: tap t is picked when cum_{t−1} <= u·Σa < cum_t (an empty window picks none).
  const mask = noGrad(() => {
    const u = rand([n, c, ho, wo], {
      backend: x.backend,
      dtype: x.dtype,
      ...(opts.generator ? { generator: opts.generator } : {}),
    });
    const values = taps.map((t) => t.detach());
    const cums: Tensor[] = [];
    values.forEach((v, i) => cums.push(i === 0 ? v : ops.add(cums[i - 1]!, v)));
    const threshold = ops.mul(u, cums[cums.length - 1]!);
    return cums.map((cum, i) => {
      const above = ops.cast(ops.compare('gt', cum, threshold), x.dtype);
      return i === 0 ? above : ops.mul(above, ops.cast(ops.compare('le', cums[i - 1]!, threshold), x.dtype));
    });
  });
  return taps.map((t, i) => ops.mul(t, mask[i]!)).reduce(add);
}

// ---------------------------------------------------------------- large-margin softmax

/** Binomial coefficient C(n, k). */
function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** x^e for a small non-negative integer e, by repeated products (well-defined for negative x). */
function intPower(x: Tensor, e: number): Tensor | null {
  let r: Tensor | null = null;
  for (let i = 0; i < e; i++) r = r ? ops.mul(r, x) : x;
  return r;
}

/**
 * The L-Softmax angular margin function ψ(θ) = (−1)^k·cos(mθ) − 2k for
 * θ ∈ [kπ/m, (k+1)π/m], taken as a function of c = cos θ: cos(mθ) is the
 * binomial (Chebyshev) expansion Σ_n (−1)^n·C(m, 2n)·c^(m−2n)·(1 − c²)^n, and
 * k counts the thresholds cos(jπ/m), j = 1..m−1, that c does not exceed. It
 * is continuous, decreasing in θ, and differentiable in c (k is piecewise
 * constant). m = 1 gives ψ = cos θ.
 * @example lSoftmaxPsi(cosTheta, 2)
 */
export function lSoftmaxPsi(cosTheta: Tensor, margin: number): Tensor {
  if (!(Number.isInteger(margin) && margin >= 1))
    throw new ArgumentError(`lSoftmaxPsi: margin must be an integer >= 1, got ${margin}`);
  if (margin === 1) return cosTheta;
  const c = cosTheta;
  const s2 = ops.sub(1, ops.square(c));
  let cosM: Tensor | null = null;
  for (let k = 0; 2 * k <= margin; k++) {
    const cp = intPower(c, margin - 2 * k);
    const sp = intPower(s2, k);
    const prod = cp && sp ? ops.mul(cp, sp) : (cp ?? sp)!;
    const term = ops.mul(prod, (k % 2 === 0 ? 1 : -1) * binomial(margin, 2 * k));
    cosM = cosM ? ops.add(cosM, term) : term;
  }
  // (−1)^k as a product of sign flips, one per threshold passed, and k as their count.
  let sign: Tensor | null = null;
  let k: Tensor | null = null;
  for (let j = 1; j < margin; j++) {
    const passed = ops.cast(ops.compare('le', c, Math.cos((j * Math.PI) / margin)), c.dtype);
    const flip = ops.sub(1, ops.mul(passed, 2));
    sign = sign ? ops.mul(sign, flip) : flip;
    k = k ? ops.add(k, passed) : passed;
  }
  return ops.sub(ops.mul(cosM!, sign!), ops.mul(k!, 2));
}

export interface LSoftmaxLossOptions {
  /** The integer margin m >= 1 (1: plain softmax). */
  margin: number;
  /**
   * Annealing weight λ >= 0: the target logit is
   * (λ·‖W_y‖‖x‖cos θ + ‖W_y‖‖x‖ψ(θ))/(1 + λ). Default 0 (the full margin).
   */
  lambda?: number;
  reduction?: Reduction;
}

/**
 * Large-margin softmax loss (Liu et al. 2016, "Large-Margin Softmax Loss for
 * Convolutional Neural Networks") of features [N, D] against class weights
 * [C, D] (no bias) and int32 targets [N]. The logit of each sample's target
 * class, ‖W_y‖‖x‖cos θ, becomes ‖W_y‖‖x‖ψ(θ) (see lSoftmaxPsi), blended with
 * the plain logit by the annealing weight λ; the other logits stay W_j·x;
 * then softmax cross-entropy. With margin 1 it is crossEntropy(x·Wᵀ, targets).
 * A zero feature or weight row has no angle: its norm product is clamped to
 * 1e-12.
 * @example const loss = lSoftmaxLoss(features, weight, labels, { margin: 4, lambda: 5 });
 */
export function lSoftmaxLoss(features: Tensor, weight: Tensor, targets: Tensor, opts: LSoftmaxLossOptions): Tensor {
  const op = 'lSoftmaxLoss';
  if (features.rank !== 2 || weight.rank !== 2 || features.shape[1] !== weight.shape[1]) {
    throw new ShapeError(
      `${op}: expected features [N, D] and weight [C, D], got features ${fmt(features.shape)} and weight ${fmt(weight.shape)}`,
    );
  }
  const m = opts.margin;
  if (!(Number.isInteger(m) && m >= 1)) throw new ArgumentError(`${op}: margin must be an integer >= 1, got ${m}`);
  const lambda = opts.lambda ?? 0;
  if (!(lambda >= 0 && Number.isFinite(lambda)))
    throw new ArgumentError(`${op}: lambda must be a finite number >= 0, got ${lambda}`);
  const [n] = features.shape as [number, number];
  const classes = weight.shape[0]!;
  checkLabels(targets, n, classes, op);
  const logits = linear(features, weight);
  const onehot = ops.oneHot(targets, classes, logits.dtype);
  const plain = ops.sum(ops.mul(logits, onehot), 1);
  const wy = ops.matmul(onehot, weight);
  const norms = ops.mul(
    ops.unary('sqrt', ops.sum(ops.square(wy), 1)),
    ops.unary('sqrt', ops.sum(ops.square(features), 1)),
  );
  const safeNorms = ops.maximum(norms, 1e-12);
  const psi = lSoftmaxPsi(ops.div(plain, safeNorms), m);
  const target = ops.div(ops.add(ops.mul(plain, lambda), ops.mul(safeNorms, psi)), 1 + lambda);
  const adjusted = ops.add(logits, ops.mul(onehot, ops.unsqueeze(ops.sub(target, plain), 1)));
  return crossEntropy(adjusted, targets, { reduction: opts.reduction ?? 'mean' });
}
