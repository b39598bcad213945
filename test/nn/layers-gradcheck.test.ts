/**
 * Float64 gradient checks (central differences) of the extra layers and of
 * the L-Softmax loss. Random layers (RReLU, StochasticPool2d) are checked
 * with a generator re-seeded inside fn, so every evaluation draws the same
 * randoms; their evaluation mode is checked separately.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Concat,
  Conv2d,
  Generator,
  LSoftmaxLinear,
  Linear,
  Maxout,
  Parameter,
  Residual,
  Sequential,
  StochasticPool2d,
  Tanh,
  Upsample,
  convTranspose2d,
  fromArray,
  gradcheck,
  groupNorm,
  instanceNorm,
  lSoftmaxLoss,
  layerNorm,
  localResponseNorm,
  maxout,
  prelu,
  rand,
  rrelu,
  stochasticPool2d,
  tensor,
  type Module,
  type Tensor,
} from '../../src/index.js';
import { awayFromZero, rn } from '../helpers/random.js';

const f64 = { dtype: 'float64' } as const;

/** Positive values in [0.2, 1.2) (inputs of stochastic pooling, which come after a ReLU). */
function positive(shape: number[], seed: number): Tensor {
  return rand(shape, { ...f64, generator: new Generator(seed) }).add(0.2);
}

function check(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], expectChecked?: number): void {
  const r = gradcheck(fn, inputs);
  assert.ok(r.checked > 0, 'something was checked');
  if (expectChecked !== undefined) assert.equal(r.checked, expectChecked);
}

/** Swaps every parameter of a module for a float64 copy, so the whole layer computes in float64. */
function toFloat64<M extends Module>(m: M): M {
  for (const [, mod] of m.namedModules()) {
    const self = mod as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(self)) if (v instanceof Parameter) self[k] = new Parameter(v.double());
  }
  return m;
}

test('gradcheck: layerNorm w.r.t. x, weight and bias', () => {
  check((x, w, b) => layerNorm(x, [3, 4], w, b), [rn([2, 3, 4], 1), rn([3, 4], 2), rn([3, 4], 3)], 24 + 12 + 12);
  check((x) => layerNorm(x, 5, null, null, 1e-3), [rn([4, 5], 4)], 20);
});

test('gradcheck: instanceNorm with instance statistics and with running statistics', () => {
  const inorm = (x: Tensor, w: Tensor, b: Tensor): Tensor =>
    instanceNorm(x, { useInputStats: true, weight: w, bias: b }).y;
  check(inorm, [rn([2, 3, 2, 3], 5), rn([3], 6), rn([3], 7)], 36 + 3 + 3);
  // Running statistics being updated does not change the gradient.
  const rm = rn([3], 8);
  const rv = rn([3], 9).abs().add(0.5);
  check(
    (x) => instanceNorm(x, { useInputStats: true, runningMean: rm, runningVar: rv, momentum: 0.3 }).y,
    [rn([2, 3, 4], 10)],
  );
  check(
    (x, w, b) => instanceNorm(x, { useInputStats: false, runningMean: rm, runningVar: rv, weight: w, bias: b }).y,
    [rn([2, 3, 2, 2], 11), rn([3], 12), rn([3], 13)],
  );
});

test('gradcheck: groupNorm w.r.t. x, weight and bias', () => {
  check((x, w, b) => groupNorm(x, 2, w, b), [rn([2, 4, 2, 3], 14), rn([4], 15), rn([4], 16)], 48 + 4 + 4);
  check((x) => groupNorm(x, 3, null, null, 1e-3), [rn([2, 6, 3], 17)], 36);
});

test('gradcheck: localResponseNorm, odd and even window sizes', () => {
  for (const [size, seed] of [
    [1, 18],
    [2, 19],
    [3, 20],
    [5, 21],
  ] as const) {
    check((x) => localResponseNorm(x, size, 0.5, 0.75, 1), [rn([2, 4, 2, 2], seed)], 32);
  }
  check((x) => localResponseNorm(x, 4, 0.3, 1.2, 2), [rn([2, 5, 3], 22)], 30);
});

test('gradcheck: prelu with a shared slope and per-channel slopes', () => {
  check((x, w) => prelu(x, w), [awayFromZero([2, 3, 2, 2], 23), rn([1], 24, 0.3)], 24 + 1);
  check((x, w) => prelu(x, w), [awayFromZero([2, 3, 2, 2], 25), rn([3], 26, 0.3)], 24 + 3);
  check((x, w) => prelu(x, w), [awayFromZero([4, 5], 27), rn([5], 28, 0.3)], 20 + 5);
});

test('gradcheck: rrelu with fixed slopes in training, and in evaluation', () => {
  check((x) => rrelu(x, 0.1, 0.4, true, new Generator(77)), [awayFromZero([3, 5], 29)], 15);
  check((x) => rrelu(x, 0.1, 0.4, false), [awayFromZero([3, 5], 30)], 15);
  // The fixed draw really is random: the negative part has several slopes.
  const x = fromArray(new Float64Array(10).fill(-1), [10], f64);
  const y = Array.from(rrelu(x, 0.1, 0.4, true, new Generator(77)).dataSync());
  assert.ok(new Set(y).size > 5, `slopes ${y.join(', ')}`);
});

test('gradcheck: maxout over channels and over the last axis (no ties)', () => {
  check((x) => maxout(x, 2), [rn([2, 4, 2, 2], 31)], 32);
  check((x) => new Maxout({ pieces: 3, axis: -1 }).forward(x), [rn([2, 6], 32)], 12);
});

const convTransposeConfigs = [
  { name: 'stride 1', w: [3, 2, 3, 3], x: [2, 3, 3, 3], opts: {} },
  {
    name: 'stride 2, padding 1, outputPadding 1',
    w: [3, 2, 3, 3],
    x: [1, 3, 3, 2],
    opts: { stride: 2, padding: 1, outputPadding: 1 },
  },
  {
    name: 'stride 3, outputPadding 2 > padding 0',
    w: [2, 2, 2, 3],
    x: [1, 2, 2, 3],
    opts: { stride: 3, outputPadding: 2 },
  },
  {
    name: 'dilation 2, outputPadding 1 >= stride 1',
    w: [2, 2, 3, 3],
    x: [1, 2, 3, 3],
    opts: { dilation: 2, outputPadding: 1 },
  },
  {
    name: 'groups 2, stride (2, 1), padding (1, 0)',
    w: [4, 1, 3, 2],
    x: [1, 4, 3, 3],
    opts: { groups: 2, stride: [2, 1] as const, padding: [1, 0] as const },
  },
];

for (const c of convTransposeConfigs) {
  test(`gradcheck: convTranspose2d ${c.name} w.r.t. x, weight and bias`, () => {
    const cout = c.w[1]! * ((c.opts as { groups?: number }).groups ?? 1);
    check((x, w, b) => convTranspose2d(x, w, b, c.opts), [rn(c.x, 33), rn(c.w, 34, 0.5), rn([cout], 35)]);
  });
}

test('gradcheck: Upsample layer, nearest and bilinear', () => {
  check((x) => new Upsample({ scaleFactor: 2 }).forward(x), [rn([1, 2, 2, 3], 36)], 12);
  check((x) => new Upsample({ size: [5, 4], mode: 'bilinear' }).forward(x), [rn([1, 2, 3, 3], 37)], 18);
});

test('gradcheck: stochasticPool2d with a fixed draw in training, and in evaluation', () => {
  for (const [k, s] of [
    [2, 2],
    [3, 2],
    [2, 1],
  ] as const) {
    check((x) => stochasticPool2d(x, k, { stride: s, generator: new Generator(55) }), [positive([2, 2, 5, 5], 38)]);
    check((x) => stochasticPool2d(x, k, { stride: s, training: false }), [positive([2, 2, 5, 5], 39)]);
  }
  // An all-zero window stays differentiable in evaluation (gradient 0 there, no NaN).
  const x = fromArray(Float64Array.from([0, 0, 0, 0, 1, 2, 3, 4]), [1, 2, 2, 2], { ...f64, requiresGrad: true });
  new StochasticPool2d(2).eval().forward(x).sum().backward();
  const g = Array.from(x.grad!.dataSync());
  assert.deepEqual(g.slice(0, 4), [0, 0, 0, 0]);
  // d/da_i Σa²/Σa = 2a_i/S − Σa²/S²
  const q = 1 + 4 + 9 + 16;
  const sum = 10;
  g.slice(4).forEach((v, i) => assert.ok(Math.abs(v - ((2 * (i + 1)) / sum - q / (sum * sum))) < 1e-12));
});

test('gradcheck: Residual and Concat blocks w.r.t. their input', () => {
  const res = toFloat64(new Residual(new Sequential(new Linear(3, 3), new Tanh()), new Linear(3, 3)));
  check((x) => res.forward(x), [rn([2, 3], 40)], 6);
  const plain = toFloat64(new Residual(new Sequential(new Linear(3, 3), new Tanh())));
  check((x) => plain.forward(x), [rn([2, 3], 41)], 6);
  const cat = toFloat64(new Concat([new Conv2d(2, 1, 1), new Conv2d(2, 2, 3, { padding: 1 })]));
  check((x) => cat.forward(x), [rn([1, 2, 3, 3], 42)], 18);
});

/** Smallest distance of each sample's target angle θ from the ψ breakpoints kπ/m. */
function boundaryDistance(x: Tensor, w: Tensor, labels: number[], m: number): number {
  const xs = x.arraySync() as number[][];
  const ws = w.arraySync() as number[][];
  let worst = Infinity;
  labels.forEach((y, i) => {
    const a = xs[i]!;
    const b = ws[y]!;
    const dot = a.reduce((s, v, j) => s + v * b[j]!, 0);
    const n = Math.sqrt(a.reduce((s, v) => s + v * v, 0)) * Math.sqrt(b.reduce((s, v) => s + v * v, 0));
    const theta = Math.acos(dot / n);
    for (let k = 0; k <= m; k++) worst = Math.min(worst, Math.abs(theta - (k * Math.PI) / m));
  });
  return worst;
}

for (const m of [1, 2, 3, 4]) {
  for (const lambda of [0, 2.5]) {
    test(`gradcheck: lSoftmaxLoss margin ${m}, λ ${lambda}, w.r.t. features and weight`, () => {
      const labels = [0, 1, 2, 3, 1, 0];
      const t = tensor(labels, { dtype: 'int32' });
      // Seeds picked so that every sample's θ keeps clear of the breakpoints (asserted below).
      const x = rn([6, 3], m === 4 ? 84 : 43 + m, 1.5);
      const w = rn([4, 3], m === 4 ? 94 : 53 + m);
      // Away from the breakpoints θ = kπ/m (where ψ has a kink in its derivative) and from 0 and π.
      assert.ok(boundaryDistance(x, w, labels, m) > 0.02, 'inputs keep clear of the breakpoints');
      check((f, wt) => lSoftmaxLoss(f, wt, t, { margin: m, lambda }), [x, w], 18 + 12);
      check((f, wt) => lSoftmaxLoss(f, wt, t, { margin: m, lambda, reduction: 'none' }), [x, w], 18 + 12);
    });
  }
}

test('lSoftmaxLoss samples span several angle intervals (the piecewise part of ψ is exercised)', () => {
  const labels = [0, 1, 2, 3, 1, 0];
  const x = rn([6, 3], 84, 1.5);
  const w = rn([4, 3], 94);
  const xs = x.arraySync() as number[][];
  const ws = w.arraySync() as number[][];
  const ks = new Set(
    labels.map((y, i) => {
      const a = xs[i]!;
      const b = ws[y]!;
      const dot = a.reduce((s, v, j) => s + v * b[j]!, 0);
      const n = Math.hypot(...a) * Math.hypot(...b);
      return Math.floor((Math.acos(dot / n) * 4) / Math.PI);
    }),
  );
  assert.equal(ks.size, 4, `intervals k for m=4: ${[...ks].join(', ')}`);
});

test('gradcheck: LSoftmaxLinear.loss w.r.t. features (eval mode keeps λ fixed)', () => {
  const head = toFloat64(new LSoftmaxLinear(3, 4, { margin: 2, lambda: { base: 1, gamma: 0 } })).eval();
  const t = tensor([0, 1, 2, 3, 1, 0], { dtype: 'int32' });
  const x = rn([6, 3], 45, 1.5);
  assert.ok(boundaryDistance(x, head.weight, [0, 1, 2, 3, 1, 0], 2) > 0.02);
  check((f) => head.loss(f, t), [x], 18);
});
