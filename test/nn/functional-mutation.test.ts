/**
 * The functional layer and loss ops (src/nn/functional.ts), case by case, for mutation testing
 * (npm run mutate): every check's error class and exact message (they name the op, the bad value and
 * the shapes involved), and outputs computed by hand here from the documented formulas (PyTorch's
 * where it has the op): dropout masks from the same seeded draws, batch / instance statistics and
 * their running averages, the reductions, label smoothing, LRN's two conventions, PReLU / RReLU slopes,
 * maxout blocks, transposed-convolution output sizes and values, stochastic pooling's picks, and the
 * L-Softmax margin function.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArgumentError,
  DTypeError,
  Generator,
  ShapeError,
  binaryCrossEntropyWithLogits,
  convTranspose2d,
  convTranspose2dOutputSize,
  crossEntropy,
  functional as F,
  groupNorm,
  instanceNorm,
  l1Loss,
  l1Penalty,
  l2Penalty,
  lSoftmaxLoss,
  lSoftmaxPsi,
  layerNorm,
  localResponseNorm,
  maxout,
  mseLoss,
  nllLoss,
  prelu,
  rand,
  rrelu,
  stochasticPool2d,
  tensor,
  uniform,
  zeros,
  type Tensor,
} from '../../src/index.js';
import { assertClose, throwsExactly, values } from '../helpers/nn-fixtures.js';

const near = (t: Tensor | number[], expected: number[], label: string, rtol = 1e-6): void =>
  assertClose(t, expected, rtol, label);
const f64 = (data: Parameters<typeof tensor>[0]): Tensor => tensor(data, { dtype: 'float64' });
const int = (data: number[]): Tensor => tensor(data, { dtype: 'int32' });
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const logSumExp = (xs: number[]): number => {
  const m = Math.max(...xs);
  return m + Math.log(sum(xs.map((x) => Math.exp(x - m))));
};

test('linear: x·Wᵀ + b, with or without bias, and the input width checked against the weight', () => {
  const x = f64([
    [1, 2, 3],
    [-1, 0, 2],
  ]);
  const w = f64([
    [1, 0, -1],
    [2, 1, 0.5],
  ]);
  near(F.linear(x, w), [-2, 5.5, -3, -1], 'no bias');
  near(F.linear(x, w, null), [-2, 5.5, -3, -1], 'null bias');
  near(F.linear(x, w, f64([10, 20])), [8, 25.5, 7, 19], 'bias');
  throwsExactly(
    () => F.linear(zeros([2, 4]), w),
    ShapeError,
    'linear: expected input [..., 3], got [2, 4] (weight [2, 3])',
  );
});

test('dropout: p in [0, 1]; identity in evaluation or at p = 0; zeros at p = 1; else the kept values scaled by 1/(1 − p)', () => {
  const x = f64([
    [1, -2, 3, 4, 5],
    [6, 7, -8, 9, 10],
  ]);
  assert.equal(F.dropout(x, 0.3, false), x, 'evaluation returns the input itself');
  assert.equal(F.dropout(x, 0), x, 'p = 0 returns the input itself');
  assert.equal(F.dropout(x, 1, false), x, 'p = 1 in evaluation is still the identity');
  near(F.dropout(x, 1), Array(10).fill(0), 'p = 1', 0);
  for (const p of [0.25, 0.5, 0.7]) {
    const seed = 11;
    // the mask is rand(shape) >= p, drawn from the generator in the input's dtype
    const u = values(rand(x.shape, { dtype: 'float64', generator: new Generator(seed) }));
    const expected = values(x).map((v, i) => (u[i]! >= p ? v / (1 - p) : 0));
    const y = F.dropout(x, p, true, new Generator(seed));
    assert.equal(y.dtype, 'float64');
    near(y, expected, `p = ${p}`, 1e-12);
    assert.ok(expected.some((v) => v === 0) && expected.some((v) => v !== 0), `p = ${p}: both kept and dropped`);
  }
  // the default probability is 0.5, and training is the default
  const u = values(rand([2, 5], { dtype: 'float64', generator: new Generator(3) }));
  near(
    F.dropout(x, undefined, undefined, new Generator(3)),
    values(x).map((v, i) => (u[i]! >= 0.5 ? 2 * v : 0)),
    'defaults',
    1e-12,
  );
  for (const [p, shown] of [
    [-0.1, '-0.1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
  ] as const) {
    throwsExactly(() => F.dropout(x, p), ArgumentError, `dropout: probability must be in [0, 1], got ${shown}`);
    throwsExactly(
      () => F.dropout2d(zeros([1, 1, 1, 1]), p),
      ArgumentError,
      `dropout2d: probability must be in [0, 1], got ${shown}`,
    );
  }
});

test('dropout2d: one draw per (sample, channel), the whole map kept (scaled) or dropped', () => {
  const x = tensor(Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i + 1)).reshape([2, 3, 2, 2]);
  assert.equal(F.dropout2d(x, 0.5, false), x);
  assert.equal(F.dropout2d(x, 0), x);
  near(F.dropout2d(x, 1), Array(24).fill(0), 'p = 1', 0);
  for (const p of [0.4, 0.6]) {
    const u = values(rand([2, 3, 1, 1], { generator: new Generator(5) }));
    const expected = values(x).map((v, i) => (u[Math.floor(i / 4)]! >= p ? v / (1 - p) : 0));
    near(F.dropout2d(x, p, true, new Generator(5)), expected, `p = ${p}`, 1e-6);
  }
  const u = values(rand([2, 3, 1, 1], { generator: new Generator(8) }));
  near(
    F.dropout2d(x, undefined, undefined, new Generator(8)),
    values(x).map((v, i) => (u[Math.floor(i / 4)]! >= 0.5 ? 2 * v : 0)),
    'defaults',
  );
  throwsExactly(
    () => F.dropout2d(zeros([2, 3, 4]), 0.5),
    ShapeError,
    'dropout2d: expected input [N, C, H, W], got [2, 3, 4]',
  );
});

test('batchNorm: batch statistics in training, unbiased running variance, momentum 0.1, null, or given', () => {
  // [N=2, C=2, L=2]; channel 0 holds 1, 3, 5, 7 and channel 1 holds 2, 2, 4, 8
  const x = f64([
    [
      [1, 3],
      [2, 2],
    ],
    [
      [5, 7],
      [4, 8],
    ],
  ]);
  const stats = [
    { mean: 4, biased: 5, unbiased: 20 / 3, xs: [1, 3, 5, 7] },
    { mean: 4, biased: 6, unbiased: 8, xs: [2, 2, 4, 8] },
  ];
  const order = [0, 0, 1, 1, 0, 0, 1, 1]; // channel of each flat entry
  const normalized = (eps: number): number[] =>
    values(x).map((v, i) => (v - stats[order[i]!]!.mean) / Math.sqrt(stats[order[i]!]!.biased + eps));
  const rm = f64([1, -1]);
  const rv = f64([2, 3]);
  const out = F.batchNorm(x, { training: true, runningMean: rm, runningVar: rv });
  near(out.y, normalized(1e-5), 'training output, eps 1e-5 by default', 1e-12);
  near(out.runningMean!, [0.9 * 1 + 0.1 * 4, 0.9 * -1 + 0.1 * 4], 'running mean, momentum 0.1', 1e-12);
  near(out.runningVar!, [0.9 * 2 + 0.1 * (20 / 3), 0.9 * 3 + 0.1 * 8], 'running var (unbiased)', 1e-12);
  const given = F.batchNorm(x, { training: true, runningMean: rm, runningVar: rv, momentum: 0.25, eps: 0.5 });
  near(given.y, normalized(0.5), 'eps given', 1e-12);
  near(given.runningMean!, [0.75 + 1, -0.75 + 1], 'momentum 0.25', 1e-12);
  near(given.runningVar!, [0.75 * 2 + 0.25 * (20 / 3), 0.75 * 3 + 0.25 * 8], 'momentum 0.25 var', 1e-12);
  // momentum null: the cumulative average, 1/(batches seen + 1)
  const cumulative = F.batchNorm(x, { training: true, runningMean: rm, runningVar: rv, momentum: null });
  near(cumulative.runningMean!, [4, 4], 'first batch replaces', 1e-12);
  const third = F.batchNorm(x, {
    training: true,
    runningMean: rm,
    runningVar: rv,
    momentum: null,
    numBatchesTracked: 2,
  });
  near(third.runningMean!, [(2 / 3) * 1 + 4 / 3, (2 / 3) * -1 + 4 / 3], 'third batch weighs 1/3', 1e-12);
  near(third.runningVar!, [(2 / 3) * 2 + 20 / 9, (2 / 3) * 3 + 8 / 3], 'third batch var', 1e-12);
  // running statistics keep their own dtype; none given, none returned
  const r32 = F.batchNorm(x, {
    training: true,
    runningMean: tensor([0, 0]),
    runningVar: tensor([1, 1]),
  });
  assert.equal(r32.runningMean!.dtype, 'float32');
  assert.equal(r32.runningVar!.dtype, 'float32');
  // the running statistics are not part of the graph, even when the input is
  const tracked = F.batchNorm(
    f64([
      [1, 2],
      [3, 5],
    ]).setRequiresGrad(),
    { training: true, runningMean: rm, runningVar: rv },
  );
  assert.equal(tracked.y.requiresGrad, true);
  assert.equal(tracked.runningMean!.requiresGrad, false);
  assert.equal(tracked.runningVar!.requiresGrad, false);
  const none = F.batchNorm(x, { training: true, runningMean: rm });
  assert.equal(none.runningMean, undefined);
  assert.equal(none.runningVar, undefined);
  // weight and bias per channel
  const affine = F.batchNorm(x, { training: true, weight: f64([2, -1]), bias: f64([0.5, 3]) });
  near(
    affine.y,
    normalized(1e-5).map((v, i) => (order[i] === 0 ? 2 * v + 0.5 : -v + 3)),
    'affine',
    1e-12,
  );
  // evaluation: the running statistics
  const ev = F.batchNorm(x, { training: false, runningMean: rm, runningVar: rv, eps: 0 });
  near(
    ev.y,
    values(x).map((v, i) => (order[i] === 0 ? (v - 1) / Math.SQRT2 : (v + 1) / Math.sqrt(3))),
    'evaluation',
    1e-12,
  );
  assert.equal(ev.runningMean, undefined);
  throwsExactly(
    () => F.batchNorm(x, { training: false, runningMean: rm }),
    ArgumentError,
    'batchNorm: evaluation mode needs running statistics',
  );
  throwsExactly(
    () => F.batchNorm(x, { training: false, runningVar: rv }),
    ArgumentError,
    'batchNorm: evaluation mode needs running statistics',
  );
  throwsExactly(
    () => F.batchNorm(f64([1, 2]), { training: true }),
    ShapeError,
    'batchNorm: expected input [N, C, ...], got [2]',
  );
  throwsExactly(
    () => F.batchNorm(zeros([1, 3]), { training: true }),
    ShapeError,
    'batchNorm: training needs more than one value per channel, got input [1, 3]',
  );
  // two values per channel are enough
  near(F.batchNorm(f64([[1], [3]]), { training: true, eps: 0 }).y, [-1, 1], 'two values', 1e-12);
});

test("losses' reductions: 'mean' by default, 'sum', 'none'; anything else is named", () => {
  const p = f64([1, 2, 4]);
  const t = f64([0, 4, 4]);
  near(mseLoss(p, t), [5 / 3], 'mse mean', 1e-12);
  near(mseLoss(p, t, { reduction: 'sum' }), [5], 'mse sum', 1e-12);
  near(mseLoss(p, t, { reduction: 'none' }), [1, 4, 0], 'mse none', 1e-12);
  near(l1Loss(p, t), [1], 'l1 mean', 1e-12);
  near(l1Loss(p, t, { reduction: 'sum' }), [3], 'l1 sum', 1e-12);
  near(l1Loss(p, t, { reduction: 'none' }), [1, 2, 0], 'l1 none', 1e-12);
  for (const [name, fn] of [
    ['mseLoss', () => mseLoss(p, t, { reduction: 'avg' as never })],
    ['l1Loss', () => l1Loss(p, t, { reduction: 'avg' as never })],
    ['binaryCrossEntropyWithLogits', () => binaryCrossEntropyWithLogits(p, t, { reduction: 'avg' as never })],
    ['crossEntropy', () => crossEntropy(f64([[1, 2]]), int([0]), { reduction: 'avg' as never })],
    ['nllLoss', () => nllLoss(f64([[1, 2]]), int([0]), { reduction: 'avg' as never })],
  ] as const) {
    throwsExactly(fn, ArgumentError, `${name}: reduction must be 'mean', 'sum' or 'none', got 'avg'`);
  }
  for (const [name, fn] of [
    ['mseLoss', mseLoss],
    ['l1Loss', l1Loss],
    ['binaryCrossEntropyWithLogits', binaryCrossEntropyWithLogits],
  ] as const) {
    throwsExactly(
      () => fn(zeros([2, 3]), zeros([3, 2])),
      ShapeError,
      `${name}: prediction [2, 3] and target [3, 2] differ in shape`,
    );
  }
});

test('binaryCrossEntropyWithLogits: softplus(x) − x·t, stable for large |x|', () => {
  const x = f64([0, 2, -3, 50, -50]);
  const t = f64([1, 0, 0.5, 1, 0]);
  const expected = [0, 2, -3, 50, -50].map(
    (v, i) => Math.log1p(Math.exp(-Math.abs(v))) + Math.max(v, 0) - v * [1, 0, 0.5, 1, 0][i]!,
  );
  near(binaryCrossEntropyWithLogits(x, t, { reduction: 'none' }), expected, 'none', 1e-12);
  near(binaryCrossEntropyWithLogits(x, t), [sum(expected) / 5], 'mean', 1e-12);
});

test('crossEntropy and nllLoss: log-softmax picked at the target, label smoothing mixes in the mean log-probability', () => {
  const rows = [
    [1, 2, 0.5],
    [-1, 3, 2],
  ];
  const logits = f64(rows);
  const targets = int([2, 1]);
  const logp = rows.map((r) => r.map((v) => v - logSumExp(r)));
  const nll = [-logp[0]![2]!, -logp[1]![1]!];
  near(crossEntropy(logits, targets, { reduction: 'none' }), nll, 'none', 1e-12);
  near(crossEntropy(logits, targets), [sum(nll) / 2], 'mean by default', 1e-12);
  near(crossEntropy(logits, targets, { reduction: 'sum' }), [sum(nll)], 'sum', 1e-12);
  for (const eps of [0.1, 1]) {
    const smoothed = nll.map((v, i) => (1 - eps) * v + eps * -(sum(logp[i]!) / 3));
    near(crossEntropy(logits, targets, { labelSmoothing: eps, reduction: 'none' }), smoothed, `eps ${eps}`, 1e-12);
  }
  near(crossEntropy(logits, targets, { labelSmoothing: 0 }), [sum(nll) / 2], 'eps 0', 1e-12);
  // a masked (−∞) logit: finite without smoothing (the mean log-probability, −∞, is not mixed in)
  const masked = f64([[0, Number.NEGATIVE_INFINITY, 1]]);
  near(crossEntropy(masked, int([2])), [Math.log1p(Math.exp(-1))], 'masked logit', 1e-12);
  near(crossEntropy(masked, int([2]), { labelSmoothing: 0 }), [Math.log1p(Math.exp(-1))], 'masked, eps 0', 1e-12);
  near(nllLoss(f64([[Number.NEGATIVE_INFINITY, -0.5]]), int([1])), [0.5], 'nllLoss, masked class', 1e-12);
  const maskedGrad = f64([[0, Number.NEGATIVE_INFINITY, 1]]).setRequiresGrad();
  crossEntropy(maskedGrad, int([2])).backward();
  near(maskedGrad.grad!, [1 / (1 + Math.E), 0, -1 / (1 + Math.E)], 'masked logit gradient', 1e-12);
  for (const [eps, shown] of [
    [-0.1, '-0.1'],
    [1.01, '1.01'],
    [Number.NaN, 'NaN'],
  ] as const) {
    throwsExactly(
      () => crossEntropy(logits, targets, { labelSmoothing: eps }),
      ArgumentError,
      `crossEntropy: labelSmoothing must be in [0, 1], got ${shown}`,
    );
  }
  const logProbs = f64(logp);
  near(nllLoss(logProbs, targets, { reduction: 'none' }), nll, 'nll none', 1e-12);
  near(nllLoss(logProbs, targets), [sum(nll) / 2], 'nll mean', 1e-12);
  near(nllLoss(logProbs, targets, { reduction: 'sum' }), [sum(nll)], 'nll sum', 1e-12);
  throwsExactly(() => crossEntropy(f64([1, 2]), int([0])), ShapeError, 'crossEntropy: expected logits [N, C], got [2]');
  throwsExactly(
    () => nllLoss(zeros([2, 3, 1]), int([0, 0])),
    ShapeError,
    'nllLoss: expected log-probabilities [N, C], got [2, 3, 1]',
  );
});

test('class targets: int32, shape [N], each in [0, C), the first bad one named with its index', () => {
  const logits = zeros([3, 4]);
  for (const [name, fn] of [
    ['crossEntropy', (t: Tensor) => crossEntropy(logits, t)],
    ['nllLoss', (t: Tensor) => nllLoss(logits, t)],
    ['lSoftmaxLoss', (t: Tensor) => lSoftmaxLoss(zeros([3, 2]), zeros([4, 2]), t, { margin: 1 })],
  ] as const) {
    throwsExactly(() => fn(tensor([0, 1, 2])), DTypeError, `${name}: targets must be int32 class indices, got float32`);
    throwsExactly(
      () => fn(int([0, 1])),
      ShapeError,
      `${name}: expected targets of shape [3] for input with 3 rows, got [2]`,
    );
    throwsExactly(
      () => fn(tensor([[0, 1, 2]], { dtype: 'int32' })),
      ShapeError,
      `${name}: expected targets of shape [3] for input with 3 rows, got [1, 3]`,
    );
    throwsExactly(
      () => fn(tensor([[0], [1], [2]], { dtype: 'int32' })),
      ShapeError,
      `${name}: expected targets of shape [3] for input with 3 rows, got [3, 1]`,
    );
    throwsExactly(
      () => fn(int([0, 4, 5])),
      ArgumentError,
      `${name}: target 4 at index 1 is out of range for 4 classes`,
    );
    throwsExactly(
      () => fn(int([0, 1, -1])),
      ArgumentError,
      `${name}: target -1 at index 2 is out of range for 4 classes`,
    );
    assert.doesNotThrow(() => fn(int([0, 3, 2])), `${name}: 0 and C − 1 are valid`);
  }
  // a view with an offset is read from its own start
  const labels = int([9, 9, 1, 2, 3]).slice([[2, 5]]);
  near(crossEntropy(logits, labels), [Math.log(4)], 'offset view', 1e-6);
  throwsExactly(
    () => crossEntropy(logits, int([0, 0, 1, 7, 3]).slice([[2, 5]])),
    ArgumentError,
    'crossEntropy: target 7 at index 1 is out of range for 4 classes',
  );
  throwsExactly(
    () => crossEntropy(logits, int([0, 0, 1, 2, 9]).slice([[2, 5]])),
    ArgumentError,
    'crossEntropy: target 9 at index 2 is out of range for 4 classes',
  );
});

test('l1Penalty and l2Penalty: Σ|w| and Σw² over every tensor given; none given is an error', () => {
  const a = f64([1, -2]);
  const b = f64([[-3], [0.5]]);
  near(l1Penalty([a]), [3], 'l1 one', 1e-12);
  near(l1Penalty([a, b]), [6.5], 'l1 two', 1e-12);
  near(l2Penalty([a]), [5], 'l2 one', 1e-12);
  near(l2Penalty([a, b]), [14.25], 'l2 two', 1e-12);
  throwsExactly(() => l1Penalty([]), ArgumentError, 'l1Penalty: no parameters given');
  throwsExactly(() => l2Penalty([]), ArgumentError, 'l2Penalty: no parameters given');
});

test('layerNorm: over the trailing normalizedShape axes, biased variance, eps 1e-5, then weight and bias', () => {
  const rows = [
    [1, 2, 3, 6],
    [0, 0, 4, 4],
  ];
  const x = f64(rows);
  const ln = (r: number[], eps: number): number[] => {
    const m = sum(r) / r.length;
    const v = sum(r.map((u) => (u - m) ** 2)) / r.length;
    return r.map((u) => (u - m) / Math.sqrt(v + eps));
  };
  near(
    layerNorm(x, 4),
    rows.flatMap((r) => ln(r, 1e-5)),
    'number shape',
    1e-12,
  );
  near(
    layerNorm(x, [4], null, null, 0.5),
    rows.flatMap((r) => ln(r, 0.5)),
    'eps',
    1e-12,
  );
  near(layerNorm(x, [2, 4]), ln(rows.flat(), 1e-5), 'both axes', 1e-12);
  const w = f64([1, 2, 3, 4]);
  const b = f64([0, 0, 1, -1]);
  near(
    layerNorm(x, [4], w, b),
    rows.flatMap((r) => ln(r, 1e-5).map((v, i) => v * (i + 1) + [0, 0, 1, -1][i]!)),
    'affine',
    1e-12,
  );
  near(
    layerNorm(x, [4], null, b),
    rows.flatMap((r) => ln(r, 1e-5).map((v, i) => v + [0, 0, 1, -1][i]!)),
    'bias only',
    1e-12,
  );
  throwsExactly(
    () => layerNorm(x, [3]),
    ShapeError,
    'layerNorm: expected input [..., 3] (normalized shape [3]), got [2, 4]',
  );
  throwsExactly(
    () => layerNorm(x, [3, 2, 4]),
    ShapeError,
    'layerNorm: expected input [..., 3, 2, 4] (normalized shape [3, 2, 4]), got [2, 4]',
  );
  throwsExactly(
    () => layerNorm(x, [4, 4]),
    ShapeError,
    'layerNorm: expected input [..., 4, 4] (normalized shape [4, 4]), got [2, 4]',
  );
  throwsExactly(
    () => layerNorm(x, []),
    ShapeError,
    'layerNorm: expected input [..., ] (normalized shape []), got [2, 4]',
  );
  throwsExactly(() => layerNorm(x, [4], f64([1, 2])), ShapeError, 'layerNorm: weight [2] must have shape [4]');
  throwsExactly(
    () => layerNorm(x, [4], w, f64([[1, 2, 3, 4]])),
    ShapeError,
    'layerNorm: bias [1, 4] must have shape [4]',
  );
});

test('instanceNorm: each (sample, channel) plane by itself; running statistics as PyTorch averages them', () => {
  // [N=2, C=1, 4]: planes [1, 2, 3, 6] and [0, 0, 4, 4]
  const planes = [
    [1, 2, 3, 6],
    [0, 0, 4, 4],
  ];
  const x = f64([[planes[0]!], [planes[1]!]]);
  const stat = (r: number[]): { m: number; v: number } => {
    const m = sum(r) / r.length;
    return { m, v: sum(r.map((u) => (u - m) ** 2)) / r.length };
  };
  const inorm = (eps: number): number[] =>
    planes.flatMap((r) => r.map((u) => (u - stat(r).m) / Math.sqrt(stat(r).v + eps)));
  near(instanceNorm(x, { useInputStats: true }).y, inorm(1e-5), 'eps 1e-5 by default', 1e-12);
  near(instanceNorm(x, { useInputStats: true, eps: 1 }).y, inorm(1), 'eps', 1e-12);
  const s = planes.map(stat);
  const batchMean = (s[0]!.m + s[1]!.m) / 2;
  const batchVar = ((s[0]!.v + s[1]!.v) / 2) * (4 / 3);
  const withRunning = instanceNorm(x, { useInputStats: true, runningMean: f64([1]), runningVar: f64([2]) });
  near(withRunning.runningMean!, [0.9 + 0.1 * batchMean], 'running mean, momentum 0.1', 1e-12);
  near(withRunning.runningVar!, [1.8 + 0.1 * batchVar], 'running var, unbiased', 1e-12);
  const m5 = instanceNorm(x, { useInputStats: true, runningMean: f64([1]), runningVar: f64([2]), momentum: 0.5 });
  near(m5.runningMean!, [0.5 + 0.5 * batchMean], 'momentum 0.5', 1e-12);
  near(m5.runningVar!, [1 + 0.5 * batchVar], 'momentum 0.5 var', 1e-12);
  const kept = instanceNorm(x, { useInputStats: true, runningMean: tensor([1]), runningVar: tensor([2]) });
  assert.equal(kept.runningMean!.dtype, 'float32');
  assert.equal(kept.runningVar!.dtype, 'float32');
  const tracked = instanceNorm(f64([[[1, 2, 4]]]).setRequiresGrad(), {
    useInputStats: true,
    runningMean: f64([1]),
    runningVar: f64([2]),
  });
  assert.equal(tracked.y.requiresGrad, true);
  assert.equal(tracked.runningMean!.requiresGrad, false);
  assert.equal(tracked.runningVar!.requiresGrad, false);
  const partial = instanceNorm(x, { useInputStats: true, runningMean: f64([1]) });
  assert.equal(partial.runningMean, undefined);
  assert.equal(partial.runningVar, undefined);
  // the running statistics, with weight and bias
  const ev = instanceNorm(x, {
    useInputStats: false,
    runningMean: f64([1]),
    runningVar: f64([3]),
    weight: f64([2]),
    bias: f64([-1]),
    eps: 1,
  });
  near(
    ev.y,
    planes.flat().map((u) => ((u - 1) / 2) * 2 - 1),
    'running statistics',
    1e-12,
  );
  assert.equal(ev.runningMean, undefined);
  near(
    instanceNorm(x, { useInputStats: true, bias: f64([5]) }).y,
    inorm(1e-5).map((v) => v + 5),
    'bias only',
    1e-12,
  );
  throwsExactly(
    () => instanceNorm(x, { useInputStats: false, runningMean: f64([1]) }),
    ArgumentError,
    'instanceNorm: normalizing without instance statistics needs running statistics',
  );
  throwsExactly(
    () => instanceNorm(x, { useInputStats: false, runningVar: f64([1]) }),
    ArgumentError,
    'instanceNorm: normalizing without instance statistics needs running statistics',
  );
  throwsExactly(
    () => instanceNorm(zeros([2, 3]), { useInputStats: true }),
    ShapeError,
    'instanceNorm: expected input [N, C, ...spatial], got [2, 3]',
  );
  throwsExactly(
    () => instanceNorm(zeros([2, 3, 1, 1]), { useInputStats: true }),
    ShapeError,
    'instanceNorm: normalizing with instance statistics needs more than one spatial element, got input [2, 3, 1, 1]',
  );
  near(instanceNorm(f64([[[1, 3]]]), { useInputStats: true, eps: 0 }).y, [-1, 1], 'two values', 1e-12);
  for (const [key, name] of [
    ['weight', 'weight'],
    ['bias', 'bias'],
    ['runningMean', 'running mean'],
    ['runningVar', 'running var'],
  ] as const) {
    throwsExactly(
      () => instanceNorm(x, { useInputStats: true, [key]: f64([1, 2]) }),
      ShapeError,
      `instanceNorm: ${name} [2] must have shape [1]`,
    );
  }
});

test('groupNorm: consecutive channels grouped, each group normalized, per-channel weight and bias', () => {
  // [N=1, C=4, 2]: groups of 2 channels: [1, 2, 3, 6] and [0, 0, 4, 4]
  const x = f64([
    [
      [1, 2],
      [3, 6],
      [0, 0],
      [4, 4],
    ],
  ]);
  const ln = (r: number[], eps: number): number[] => {
    const m = sum(r) / r.length;
    const v = sum(r.map((u) => (u - m) ** 2)) / r.length;
    return r.map((u) => (u - m) / Math.sqrt(v + eps));
  };
  const two = [...ln([1, 2, 3, 6], 1e-5), ...ln([0, 0, 4, 4], 1e-5)];
  near(groupNorm(x, 2), two, '2 groups', 1e-12);
  near(groupNorm(x, 1, null, null, 0.5), ln([1, 2, 3, 6, 0, 0, 4, 4], 0.5), '1 group, eps', 1e-12);
  near(
    groupNorm(x, 4),
    [-1, 1, -1, 1, 0, 0, 0, 0].map((v, i) =>
      i < 2 ? (v * 0.5) / Math.sqrt(0.25 + 1e-5) : i < 4 ? (v * 1.5) / Math.sqrt(2.25 + 1e-5) : 0,
    ),
    '4 groups',
    1e-9,
  );
  const w = [1, 2, 3, 4];
  const b = [0, 1, 0, -1];
  near(
    groupNorm(x, 2, f64(w), f64(b)),
    two.map((v, i) => v * w[Math.floor(i / 2)]! + b[Math.floor(i / 2)]!),
    'affine',
    1e-12,
  );
  near(
    groupNorm(x, 2, null, f64(b)),
    two.map((v, i) => v + b[Math.floor(i / 2)]!),
    'bias only',
    1e-12,
  );
  // [N, C] input: each group of channels of each sample
  near(groupNorm(f64([[1, 3, 2, 6]]), 2, null, null, 0), [-1, 1, -1, 1], '[N, C] input', 1e-12);
  throwsExactly(() => groupNorm(f64([1, 2]), 1), ShapeError, 'groupNorm: expected input [N, C, ...], got [2]');
  for (const [g, shown] of [
    [3, '3'],
    [0, '0'],
    [1.5, '1.5'],
    [-2, '-2'],
  ] as const) {
    throwsExactly(
      () => groupNorm(x, g),
      ShapeError,
      `groupNorm: input [1, 4, 2] has 4 channels, which do not split into ${shown} groups`,
    );
  }
  throwsExactly(() => groupNorm(x, 2, f64([1, 2])), ShapeError, 'groupNorm: weight [2] must have shape [4]');
  throwsExactly(() => groupNorm(x, 2, null, f64([1])), ShapeError, 'groupNorm: bias [1] must have shape [4]');
});

test("localResponseNorm: a window of size channels (size//2 before), PyTorch's α/n or the paper's α", () => {
  // [N=1, C=4, 1]: a = 1, 2, 3, 4
  const a = [1, 2, 3, 4];
  const x = f64([[[1], [2], [3], [4]]]);
  const lrn = (size: number, alpha: number, beta: number, k: number, paper: boolean): number[] =>
    a.map((v, c) => {
      let s = 0;
      for (let j = c - Math.floor(size / 2); j <= c + Math.floor((size - 1) / 2); j++)
        s += j >= 0 && j < 4 ? a[j]! ** 2 : 0;
      return v / (k + (paper ? alpha : alpha / size) * s) ** beta;
    });
  near(localResponseNorm(x, 3, 0.3, 0.6, 2), lrn(3, 0.3, 0.6, 2, false), 'pytorch, odd size', 1e-12);
  near(localResponseNorm(x, 2, 0.3, 0.6, 2), lrn(2, 0.3, 0.6, 2, false), 'pytorch, even size', 1e-12);
  near(localResponseNorm(x, 4, 0.3, 0.6, 2, 'paper'), lrn(4, 0.3, 0.6, 2, true), 'paper', 1e-12);
  near(localResponseNorm(x, 1, 0.5, 1, 1), lrn(1, 0.5, 1, 1, false), 'size 1', 1e-12);
  near(localResponseNorm(x, 3), lrn(3, 1e-4, 0.75, 1, false), 'defaults', 1e-12);
  near(
    localResponseNorm(f64([[[1], [2], [3], [4]]]).mul(100), 3),
    a.map(
      (v, c) => (100 * v) / (1 + (1e-4 / 3) * 1e4 * sum(a.slice(Math.max(0, c - 1), c + 2).map((u) => u * u))) ** 0.75,
    ),
    'defaults at scale',
    1e-12,
  );
  throwsExactly(
    () => localResponseNorm(zeros([2, 3]), 3),
    ShapeError,
    'localResponseNorm: expected input [N, C, ...spatial], got [2, 3]',
  );
  for (const [size, shown] of [
    [0, '0'],
    [2.5, '2.5'],
  ] as const) {
    throwsExactly(
      () => localResponseNorm(x, size),
      ArgumentError,
      `localResponseNorm: size must be a positive integer, got ${shown}`,
    );
  }
  throwsExactly(
    () => localResponseNorm(x, 3, 1e-4, 0.75, 1, 'caffe' as never),
    ArgumentError,
    "localResponseNorm: convention must be 'pytorch' or 'paper', got caffe",
  );
});

test('prelu: one shared slope or one per channel of axis 1; the gradient at 0 is the slope, as PyTorch', () => {
  const x = f64([
    [-2, 0, 3],
    [4, -1, -0.5],
  ]);
  near(prelu(x, f64([0.25])), [-0.5, 0, 3, 4, -0.25, -0.125], 'shared', 1e-12);
  near(prelu(x, f64([0.1, 0.2, 0.3])), [-0.2, 0, 3, 4, -0.2, -0.15], 'per channel', 1e-12);
  const input = f64([0, 0, 2, -2]).setRequiresGrad();
  const weight = f64([0.25]).setRequiresGrad();
  prelu(input, weight).sum().backward();
  near(input.grad!, [0.25, 0.25, 1, 0.25], 'x grad: the slope at 0 and below', 1e-12);
  near(weight.grad!, [-2], 'weight grad: Σx over x <= 0', 1e-12);
  throwsExactly(() => prelu(x, f64([[0.1]])), ShapeError, 'prelu: weight must have shape [1] or [C], got [1, 1]');
  throwsExactly(
    () => prelu(x, f64([0.1, 0.2])),
    ShapeError,
    'prelu: weight [2] has 2 slopes, so the input needs 2 channels on axis 1, got [2, 3]',
  );
  throwsExactly(
    () => prelu(f64([1, 2]), f64([0.1, 0.2])),
    ShapeError,
    'prelu: weight [2] has 2 slopes, so the input needs 2 channels on axis 1, got [2]',
  );
});

test('rrelu: (lower + upper)/2 in evaluation; in training each negative entry its own slope from U(lower, upper)', () => {
  const x = f64([-1, 2, -3, 0, -0.5, 4]);
  near(
    rrelu(x),
    [-1, 2, -3, 0, -0.5, 4].map((v) => (v > 0 ? v : (v * (1 / 8 + 1 / 3)) / 2)),
    'defaults: evaluation',
    1e-12,
  );
  near(rrelu(x, 0.1, 0.3), [-0.2, 2, -0.6, 0, -0.1, 4], 'evaluation', 1e-12);
  near(rrelu(x, 0.2, 0.2, true), [-0.2, 2, -0.6, 0, -0.1, 4], 'equal bounds in training', 1e-12);
  const slopes = values(uniform([6], 0.1, 0.4, { dtype: 'float64', generator: new Generator(4) }));
  near(
    rrelu(x, 0.1, 0.4, true, new Generator(4)),
    [-1, 2, -3, 0, -0.5, 4].map((v, i) => (v > 0 ? v : v * slopes[i]!)),
    'training',
    1e-12,
  );
  const slopesDefault = values(uniform([6], 1 / 8, 1 / 3, { dtype: 'float64', generator: new Generator(4) }));
  near(
    rrelu(x, undefined, undefined, true, new Generator(4)),
    [-1, 2, -3, 0, -0.5, 4].map((v, i) => (v > 0 ? v : v * slopesDefault[i]!)),
    'training, default bounds',
    1e-12,
  );
  // in training the gradient at 0 is the drawn slope (PyTorch's rrelu_with_noise uses the noise for x <= 0)
  const atZero = f64([0, 0, 1]).setRequiresGrad();
  rrelu(atZero, 0.1, 0.4, true, new Generator(4)).sum().backward();
  near(atZero.grad!, [slopes[0]!, slopes[1]!, 1], 'training gradient at 0', 1e-12);
  throwsExactly(() => rrelu(x, 0.5, 0.1), ArgumentError, 'rrelu: lower 0.5 must not exceed upper 0.1');
  throwsExactly(() => rrelu(x, Number.NaN, 0.1), ArgumentError, 'rrelu: lower NaN must not exceed upper 0.1');
  throwsExactly(() => rrelu(int([1, -1])), DTypeError, 'rrelu: expected a float tensor, got int32');
});

test('maxout: the maximum over pieces consecutive blocks of the axis', () => {
  const x = f64([
    [1, 5, 3, 2, 0, 4],
    [-1, -2, -3, -4, -5, -6],
  ]);
  near(maxout(x, 2), [2, 5, 4, -1, -2, -3], '2 pieces, blocks of 3', 1e-12);
  near(maxout(x, 3), [3, 5, -1, -2], '3 pieces, blocks of 2', 1e-12);
  near(maxout(x, 1), values(x), '1 piece', 1e-12);
  near(maxout(x, 2, -1), [2, 5, 4, -1, -2, -3], 'negative axis', 1e-12);
  near(maxout(x, 2, 0), [1, 5, 3, 2, 0, 4], 'axis 0', 1e-12);
  assert.deepEqual(maxout(x, 3).shape, [2, 2]);
  for (const [p, shown] of [
    [0, '0'],
    [1.5, '1.5'],
  ] as const) {
    throwsExactly(() => maxout(x, p), ArgumentError, `maxout: pieces must be a positive integer, got ${shown}`);
  }
  throwsExactly(
    () => maxout(x, 4),
    ShapeError,
    'maxout: axis 1 of input [2, 6] has size 6, which does not split into 4 pieces',
  );
  throwsExactly(() => maxout(x, 2, 2), ArgumentError, 'maxout: axis 2 is out of range for a tensor of rank 2');
});

test('convTranspose2dOutputSize: (H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1', () => {
  assert.deepEqual(convTranspose2dOutputSize([5, 7], [3, 2]), [7, 8]);
  assert.deepEqual(
    convTranspose2dOutputSize([5, 7], [3, 2], {
      stride: [2, 3],
      padding: [1, 2],
      outputPadding: [1, 2],
      dilation: [2, 3],
    }),
    [4 * 2 - 2 + 2 * 2 + 1 + 1, 6 * 3 - 4 + 3 * 1 + 2 + 1],
  );
  assert.deepEqual(convTranspose2dOutputSize([4, 4], [3, 3], { stride: 2, padding: 1, outputPadding: 1 }), [8, 8]);
});

test('convTranspose2d, its output size and stochasticPool2d name a non-integer option', () => {
  for (const key of ['stride', 'padding', 'outputPadding', 'dilation'] as const) {
    const message = `convTranspose2d: ${key} must be an integer or a pair of integers, got 1.5`;
    throwsExactly(() => convTranspose2dOutputSize([4, 4], [3, 3], { [key]: 1.5 }), ArgumentError, message);
    throwsExactly(
      () => convTranspose2d(zeros([1, 2, 3, 3]), zeros([2, 1, 2, 2]), null, { [key]: 1.5 }),
      ArgumentError,
      message,
    );
  }
  throwsExactly(
    () => stochasticPool2d(zeros([1, 1, 4, 4]), 1.5),
    ArgumentError,
    'stochasticPool2d: kernel must be an integer or a pair of integers, got 1.5',
  );
  throwsExactly(
    () => stochasticPool2d(zeros([1, 1, 4, 4]), 2, { stride: [1, 0.5] }),
    ArgumentError,
    'stochasticPool2d: stride must be an integer or a pair of integers, got [1, 0.5]',
  );
});

test('convTranspose2d: every check names the op and the bad value', () => {
  const x = zeros([1, 2, 3, 3]);
  const w = zeros([2, 1, 2, 2]);
  throwsExactly(
    () => convTranspose2d(x, zeros([2, 1, 2])),
    ShapeError,
    'convTranspose2d: weight must have rank 4 [Cin, Cout/groups, kH, kW], got [2, 1, 2]',
  );
  throwsExactly(
    () => convTranspose2d(zeros([2, 3, 3]), w),
    ShapeError,
    'convTranspose2d: expected input [N, C, H, W], got [2, 3, 3]',
  );
  throwsExactly(
    () => convTranspose2d(x, zeros([2, 1, 2, 2], { dtype: 'float64' })),
    DTypeError,
    'convTranspose2d: input (float32) and weight (float64) must have the same float dtype',
  );
  throwsExactly(
    () => convTranspose2d(zeros([1, 2, 3, 3], { dtype: 'int32' }), zeros([2, 1, 2, 2], { dtype: 'int32' })),
    DTypeError,
    'convTranspose2d: input (int32) and weight (int32) must have the same float dtype',
  );
  for (const [g, shown] of [
    [0, '0'],
    [1.5, '1.5'],
  ] as const) {
    throwsExactly(
      () => convTranspose2d(x, w, null, { groups: g }),
      ArgumentError,
      `convTranspose2d: groups must be a positive integer, got ${shown}`,
    );
  }
  throwsExactly(
    () => convTranspose2d(zeros([1, 3, 3, 3]), w),
    ShapeError,
    'convTranspose2d: input [1, 3, 3, 3] has 3 channels but weight [2, 1, 2, 2] expects 2 (weight is [Cin, Cout/groups, kH, kW])',
  );
  throwsExactly(
    () => convTranspose2d(zeros([1, 3, 3, 3]), zeros([3, 1, 2, 2]), null, { groups: 2 }),
    ShapeError,
    'convTranspose2d: input channels 3 (input [1, 3, 3, 3]) are not divisible by groups=2',
  );
  throwsExactly(
    () => convTranspose2d(x, w, null, { stride: [1, 0] }),
    ArgumentError,
    'convTranspose2d: stride [1, 0] and dilation [1, 1] must be positive',
  );
  throwsExactly(
    () => convTranspose2d(x, w, null, { dilation: [0, 1] }),
    ArgumentError,
    'convTranspose2d: stride [1, 1] and dilation [0, 1] must be positive',
  );
  throwsExactly(
    () => convTranspose2d(x, w, null, { padding: [0, -1] }),
    ArgumentError,
    'convTranspose2d: padding [0, -1] and outputPadding [0, 0] must be non-negative',
  );
  throwsExactly(
    () => convTranspose2d(x, w, null, { stride: 2, outputPadding: [-1, 0] }),
    ArgumentError,
    'convTranspose2d: padding [0, 0] and outputPadding [-1, 0] must be non-negative',
  );
  throwsExactly(
    () => convTranspose2d(x, w, null, { stride: 2, dilation: 2, outputPadding: [0, 2] }),
    ArgumentError,
    'convTranspose2d: outputPadding [0, 2] must be smaller than either stride [2, 2] or dilation [2, 2]',
  );
  throwsExactly(
    () => convTranspose2d(x, w, null, { stride: 2, dilation: 1, outputPadding: [2, 0] }),
    ArgumentError,
    'convTranspose2d: outputPadding [2, 0] must be smaller than either stride [2, 2] or dilation [1, 1]',
  );
  // smaller than the dilation is enough
  assert.deepEqual(convTranspose2d(x, w, null, { stride: 1, dilation: 2, outputPadding: 1 }).shape, [1, 1, 6, 6]);
  throwsExactly(
    () => convTranspose2d(zeros([1, 2, 1, 1]), w, null, { padding: 1 }),
    ShapeError,
    'convTranspose2d: input [1, 2, 1, 1] with weight [2, 1, 2, 2], stride [1, 1] and padding [1, 1] gives an empty output 0x0',
  );
  throwsExactly(
    () => convTranspose2d(zeros([1, 2, 1, 1]), w, null, { padding: [0, 1] }),
    ShapeError,
    'convTranspose2d: input [1, 2, 1, 1] with weight [2, 1, 2, 2], stride [1, 1] and padding [0, 1] gives an empty output 2x0',
  );
  throwsExactly(
    () => convTranspose2d(zeros([1, 2, 1, 1]), w, null, { padding: [1, 0] }),
    ShapeError,
    'convTranspose2d: input [1, 2, 1, 1] with weight [2, 1, 2, 2], stride [1, 1] and padding [1, 0] gives an empty output 0x2',
  );
  assert.deepEqual(convTranspose2d(zeros([1, 2, 1, 1]), zeros([2, 3, 1, 1])).shape, [1, 3, 1, 1], 'a 1x1 output');
  assert.deepEqual(convTranspose2d(zeros([1, 2, 1, 1]), w, null, { padding: [0, 0] }).shape, [1, 1, 2, 2]);
  throwsExactly(
    () => convTranspose2d(x, w, zeros([2])),
    ShapeError,
    'convTranspose2d: bias [2] must have shape [1] (the output channels)',
  );
  throwsExactly(
    () => convTranspose2d(x, w, zeros([1, 1])),
    ShapeError,
    'convTranspose2d: bias [1, 1] must have shape [1] (the output channels)',
  );
});

/** conv_transpose2d by its definition: each input pixel scatters weight·x into the (cropped) output. */
function convTransposeByHand(
  x: number[][][][],
  w: number[][][][],
  bias: number[] | null,
  o: {
    stride: [number, number];
    padding: [number, number];
    outputPadding: [number, number];
    dilation: [number, number];
    groups: number;
  },
): { shape: number[]; data: number[] } {
  const [n, cIn, h, wd] = [x.length, x[0]!.length, x[0]![0]!.length, x[0]![0]![0]!.length];
  const [kh, kw] = [w[0]![0]!.length, w[0]![0]![0]!.length];
  const perGroupIn = cIn / o.groups;
  const cOut = w[0]!.length * o.groups;
  const ho = (h - 1) * o.stride[0] - 2 * o.padding[0] + o.dilation[0] * (kh - 1) + o.outputPadding[0] + 1;
  const wo = (wd - 1) * o.stride[1] - 2 * o.padding[1] + o.dilation[1] * (kw - 1) + o.outputPadding[1] + 1;
  const out = new Array<number>(n * cOut * ho * wo).fill(0);
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < cIn; ci++) {
      const g = Math.floor(ci / perGroupIn);
      for (let co = 0; co < w[0]!.length; co++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < wd; j++)
            for (let a = 0; a < kh; a++)
              for (let c = 0; c < kw; c++) {
                const oi = i * o.stride[0] + a * o.dilation[0] - o.padding[0];
                const oj = j * o.stride[1] + c * o.dilation[1] - o.padding[1];
                if (oi < 0 || oi >= ho || oj < 0 || oj >= wo) continue;
                const oc = g * w[0]!.length + co;
                out[((b * cOut + oc) * ho + oi) * wo + oj]! += x[b]![ci]![i]![j]! * w[ci]![co]![a]![c]!;
              }
    }
  if (bias) for (let k = 0; k < out.length; k++) out[k]! += bias[Math.floor(k / (ho * wo)) % cOut]!;
  return { shape: [n, cOut, ho, wo], data: out };
}

test('convTranspose2d: values by the definition, outputPadding past the padding, groups and bias', () => {
  const g = new Generator(21);
  const nested = (shape: number[]): number[][][][] => {
    const flat = values(rand(shape, { dtype: 'float64', generator: g })).map((v) => Math.round(v * 8) - 4);
    return tensor(flat, { dtype: 'float64' }).reshape(shape).arraySync() as number[][][][];
  };
  const cases: {
    xs: number[];
    ws: number[];
    bias: boolean;
    stride: [number, number];
    padding: [number, number];
    outputPadding: [number, number];
    dilation: [number, number];
    groups: number;
  }[] = [
    {
      xs: [1, 2, 3, 3],
      ws: [2, 2, 2, 2],
      bias: true,
      stride: [1, 1],
      padding: [0, 0],
      outputPadding: [0, 0],
      dilation: [1, 1],
      groups: 1,
    },
    {
      xs: [1, 2, 3, 2],
      ws: [2, 1, 3, 2],
      bias: true,
      stride: [2, 3],
      padding: [1, 0],
      outputPadding: [1, 2],
      dilation: [1, 1],
      groups: 1,
    },
    {
      xs: [2, 2, 2, 3],
      ws: [2, 1, 2, 2],
      bias: false,
      stride: [2, 2],
      padding: [0, 1],
      outputPadding: [1, 0],
      dilation: [1, 1],
      groups: 1,
    },
    {
      xs: [1, 4, 2, 2],
      ws: [4, 1, 2, 2],
      bias: true,
      stride: [1, 1],
      padding: [0, 0],
      outputPadding: [0, 1],
      dilation: [2, 2],
      groups: 2,
    },
  ];
  for (const [k, c] of cases.entries()) {
    const xv = nested(c.xs);
    const wv = nested(c.ws);
    const cOut = c.ws[1]! * c.groups;
    const bv = c.bias ? Array.from({ length: cOut }, (_, i) => i + 0.5) : null;
    const o = {
      stride: c.stride,
      padding: c.padding,
      outputPadding: c.outputPadding,
      dilation: c.dilation,
      groups: c.groups,
    };
    const y = convTranspose2d(
      tensor(xv, { dtype: 'float64' }),
      tensor(wv, { dtype: 'float64' }),
      bv ? tensor(bv, { dtype: 'float64' }) : null,
      o,
    );
    const expected = convTransposeByHand(xv, wv, bv, o);
    assertClose(y, expected, 1e-12, `case ${k}`);
  }
});

test('stochasticPool2d: checks, the evaluation average Σa²/Σa, and training picks drawn from the same uniforms', () => {
  const x = f64([
    [
      [
        [1, 3, 0, 0],
        [0, 4, 0, 0],
        [2, 2, 5, 0],
        [2, 2, 0, 1],
      ],
    ],
  ]);
  // windows (2x2, stride 2): [1, 3, 0, 4], [0, 0, 0, 0], [2, 2, 2, 2], [5, 0, 0, 1]
  const windows = [
    [1, 3, 0, 4],
    [0, 0, 0, 0],
    [2, 2, 2, 2],
    [5, 0, 0, 1],
  ];
  const weighted = windows.map((w) => (sum(w) > 0 ? sum(w.map((v) => v * v)) / sum(w) : 0));
  near(stochasticPool2d(x, 2, { training: false }), weighted, 'evaluation', 1e-12);
  // its gradient (2·a_j·Σa − Σa²)/(Σa)², and 0 (not NaN) in the all-zero window
  const xe = x.detach().setRequiresGrad();
  stochasticPool2d(xe, 2, { training: false }).sum().backward();
  const grads = windows.map((w) => {
    const s1 = sum(w);
    const s2 = sum(w.map((v) => v * v));
    return w.map((v) => (s1 > 0 ? (2 * v * s1 - s2) / (s1 * s1) : 0));
  });
  // window k covers rows 2·⌊k/2⌋.., columns 2·(k mod 2)..; entry t of it is (t div 2, t mod 2)
  const gradPlane = Array.from({ length: 16 }, (_, i) => {
    const [r, c] = [Math.floor(i / 4), i % 4];
    return grads[2 * Math.floor(r / 2) + Math.floor(c / 2)]![2 * (r % 2) + (c % 2)]!;
  });
  near(xe.grad!, gradPlane, 'evaluation gradient', 1e-12);
  // overlapping windows: stride 1, a 3x3 output
  const ev = stochasticPool2d(x, 2, { stride: 1, training: false });
  assert.deepEqual(ev.shape, [1, 1, 3, 3]);
  near([values(ev)[0]!], [weighted[0]!], 'first overlapping window', 1e-12);
  near([values(ev)[1]!], [(9 + 16) / 7], 'second overlapping window', 1e-12);
  // training: u·Σa falls in the cumulative sum's slot of the picked entry
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const u = values(rand([1, 1, 2, 2], { dtype: 'float64', generator: new Generator(seed) }));
    const expected = windows.map((w, i) => {
      const threshold = u[i]! * sum(w);
      let cum = 0;
      for (const v of w) {
        const before = cum;
        cum += v;
        if (cum > threshold && before <= threshold) return v;
      }
      return 0;
    });
    near(stochasticPool2d(x, 2, { generator: new Generator(seed) }), expected, `training, seed ${seed}`, 1e-12);
  }
  // the gradient reaches the picked entry only; an all-zero window passes none
  const xg = f64([
    [
      [
        [0, 3, 0, 0],
        [0, 0, 0, 0],
      ],
    ],
  ]).setRequiresGrad();
  stochasticPool2d(xg, 2, { training: true, generator: new Generator(1) })
    .sum()
    .backward();
  near(xg.grad!, [0, 1, 0, 0, 0, 0, 0, 0], 'gradient of the pick', 1e-12);
  throwsExactly(
    () => stochasticPool2d(zeros([1, 4, 4]), 2),
    ShapeError,
    'stochasticPool2d: expected input [N, C, H, W], got [1, 4, 4]',
  );
  throwsExactly(
    () => stochasticPool2d(zeros([1, 1, 4, 4], { dtype: 'int32' }), 2),
    DTypeError,
    'stochasticPool2d: expected a float tensor, got int32',
  );
  throwsExactly(
    () => stochasticPool2d(x, [2, 0]),
    ArgumentError,
    'stochasticPool2d: kernel [2, 0] and stride [2, 0] must be positive',
  );
  throwsExactly(
    () => stochasticPool2d(x, 2, { stride: [0, 1] }),
    ArgumentError,
    'stochasticPool2d: kernel [2, 2] and stride [0, 1] must be positive',
  );
  throwsExactly(
    () => stochasticPool2d(x, [5, 2]),
    ShapeError,
    'stochasticPool2d: input [1, 1, 4, 4] is smaller than the 5x2 window',
  );
  throwsExactly(
    () => stochasticPool2d(x, [2, 5]),
    ShapeError,
    'stochasticPool2d: input [1, 1, 4, 4] is smaller than the 2x5 window',
  );
  assert.deepEqual(stochasticPool2d(x, 4, { training: false }).shape, [1, 1, 1, 1]);
  throwsExactly(
    () =>
      stochasticPool2d(
        f64([
          [
            [
              [1, -0.5],
              [2, 3],
            ],
          ],
        ]),
        2,
      ),
    ArgumentError,
    'stochasticPool2d: input must be non-negative (apply it after a ReLU), got a value -0.5',
  );
});

test('lSoftmaxPsi: (−1)^k·cos(mθ) − 2k on [kπ/m, (k+1)π/m]; margin 1 is cos θ itself', () => {
  const thetas = Array.from({ length: 25 }, (_, i) => (i * Math.PI) / 24);
  const cos = f64(thetas.map(Math.cos));
  assert.equal(lSoftmaxPsi(cos, 1), cos);
  for (const m of [2, 3, 4, 5]) {
    const expected = thetas.map((t) => {
      const k = Math.min(m - 1, Math.floor((t * m) / Math.PI + 1e-9));
      return (k % 2 === 0 ? 1 : -1) * Math.cos(m * t) - 2 * k;
    });
    near(lSoftmaxPsi(cos, m), expected, `margin ${m}`, 1e-9);
  }
  // dψ/dc at θ = 0 and θ = π is m² (Chebyshev: T_m'(±1) = (±1)^(m+1)·m², times the sign (−1)^k)
  for (const m of [2, 3, 4]) {
    const c = f64([1, -1]).setRequiresGrad();
    lSoftmaxPsi(c, m).sum().backward();
    near(c.grad!, [m * m, m * m], `margin ${m}: slope at the ends`, 1e-12);
  }
  for (const [m, shown] of [
    [0, '0'],
    [2.5, '2.5'],
  ] as const) {
    throwsExactly(
      () => lSoftmaxPsi(cos, m),
      ArgumentError,
      `lSoftmaxPsi: margin must be an integer >= 1, got ${shown}`,
    );
  }
});

test('lSoftmaxLoss: the target logit ‖W‖‖x‖ψ(θ), blended by λ; margin 1 is plain cross-entropy; checks named', () => {
  const feats = [
    [1, 2],
    [-1, 0.5],
    [0.5, -2],
  ];
  const wts = [
    [1, 0],
    [0.5, 1],
    [-1, 1],
  ];
  const labels = [1, 0, 2];
  const features = f64(feats);
  const weight = f64(wts);
  const targets = int(labels);
  const dot = (a: number[], b: number[]): number => a[0]! * b[0]! + a[1]! * b[1]!;
  const norm = (a: number[]): number => Math.hypot(a[0]!, a[1]!);
  const byHand = (m: number, lambda: number): number[] =>
    feats.map((f, i) => {
      const logits = wts.map((w) => dot(w, f));
      const y = labels[i]!;
      const nn = norm(wts[y]!) * norm(f);
      const t = Math.acos(logits[y]! / nn);
      const k = Math.min(m - 1, Math.floor((t * m) / Math.PI));
      const psi = (k % 2 === 0 ? 1 : -1) * Math.cos(m * t) - 2 * k;
      logits[y] = (lambda * logits[y]! + nn * psi) / (1 + lambda);
      return logSumExp(logits) - logits[y]!;
    });
  near(lSoftmaxLoss(features, weight, targets, { margin: 1 }), [sum(byHand(1, 0)) / 3], 'margin 1', 1e-10);
  near(
    lSoftmaxLoss(features, weight, targets, { margin: 1 }),
    values(crossEntropy(F.linear(features, weight), targets)),
    'margin 1 is crossEntropy',
    1e-12,
  );
  near(lSoftmaxLoss(features, weight, targets, { margin: 3, reduction: 'none' }), byHand(3, 0), 'margin 3', 1e-10);
  near(
    lSoftmaxLoss(features, weight, targets, { margin: 2, lambda: 4, reduction: 'sum' }),
    [sum(byHand(2, 4))],
    'margin 2, λ 4',
    1e-10,
  );
  // a zero feature row has no angle: its norm product is clamped, its loss is that of the plain logits
  const zeroRow = lSoftmaxLoss(f64([[0, 0]]), weight, int([1]), { margin: 2, reduction: 'none' });
  assert.ok(Number.isFinite(values(zeroRow)[0]!), 'finite for a zero feature');
  throwsExactly(
    () => lSoftmaxLoss(f64([1, 2]), weight, int([0]), { margin: 2 }),
    ShapeError,
    'lSoftmaxLoss: expected features [N, D] and weight [C, D], got features [2] and weight [3, 2]',
  );
  throwsExactly(
    () => lSoftmaxLoss(features, f64([1, 2]), targets, { margin: 2 }),
    ShapeError,
    'lSoftmaxLoss: expected features [N, D] and weight [C, D], got features [3, 2] and weight [2]',
  );
  throwsExactly(
    () => lSoftmaxLoss(zeros([3, 2, 1], { dtype: 'float64' }), weight, targets, { margin: 2 }),
    ShapeError,
    'lSoftmaxLoss: expected features [N, D] and weight [C, D], got features [3, 2, 1] and weight [3, 2]',
  );
  throwsExactly(
    () => lSoftmaxLoss(features, zeros([3, 2, 1], { dtype: 'float64' }), targets, { margin: 2 }),
    ShapeError,
    'lSoftmaxLoss: expected features [N, D] and weight [C, D], got features [3, 2] and weight [3, 2, 1]',
  );
  throwsExactly(
    () => lSoftmaxLoss(features, zeros([3, 3], { dtype: 'float64' }), targets, { margin: 2 }),
    ShapeError,
    'lSoftmaxLoss: expected features [N, D] and weight [C, D], got features [3, 2] and weight [3, 3]',
  );
  for (const [m, shown] of [
    [0, '0'],
    [1.5, '1.5'],
  ] as const) {
    throwsExactly(
      () => lSoftmaxLoss(features, weight, targets, { margin: m }),
      ArgumentError,
      `lSoftmaxLoss: margin must be an integer >= 1, got ${shown}`,
    );
  }
  for (const [l, shown] of [
    [-1, '-1'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NaN, 'NaN'],
  ] as const) {
    throwsExactly(
      () => lSoftmaxLoss(features, weight, targets, { margin: 2, lambda: l }),
      ArgumentError,
      `lSoftmaxLoss: lambda must be a finite number >= 0, got ${shown}`,
    );
  }
  assert.doesNotThrow(() => lSoftmaxLoss(features, weight, targets, { margin: 2, lambda: 0 }));
});
