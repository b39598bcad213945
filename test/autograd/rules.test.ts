// Gradient rules that the fast reference tests do not reach (strided slices, padding, concatenation,
// non-differentiable primitives inside a graph, casts, the second-order rules of the convolution and
// pooling gradients), checked against central differences in float64 on inputs small enough to run in
// a second. The full op table (test/ops/op-table.test.ts) covers them too, but takes a minute a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsupportedError } from '../../src/core/errors.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { FIRST_ORDER_ONLY } from '../../src/autograd/rules.js';
import { run, withGradMode } from '../../src/tensor/dispatch.js';
import { Generator } from '../../src/tensor/random.js';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

const gen = new Generator(2024);
const rand = (shape: number[]): Tensor => T.randn(shape, { dtype: 'float64', generator: gen });
/** Distinct values spread apart, so max / argmax / sign stay away from ties and kinks under the ±1e-6 steps. */
const distinct = (shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2 + 0.3) * 0.37);
  gen.shuffle(v);
  return T.tensor(v, { dtype: 'float64', shape });
};

test('strided slices: the gradient lands on the sliced entries only, steps and starts included', () => {
  gradcheck(
    (x) =>
      x.slice([
        [1, 5, 2],
        [0, 7, 3],
      ]),
    [rand([5, 7])],
  );
  gradcheck((x) => x.slice([null, [2, 6, 2], [1, 4]]), [rand([2, 6, 4])]);
  gradcheck((x) => x.slice([[0, 4, 3], null, [0, 5, 4]]), [rand([4, 3, 5])]);
  // Hand-computed: d/dx Σ x[1::2] is 1 at the odd entries.
  const x = T.tensor([1, 2, 3, 4, 5, 6], { dtype: 'float64', requiresGrad: true });
  x.slice([[1, 6, 2]])
    .sum()
    .backward();
  assert.deepEqual(Array.from(x.grad!.dataSync()), [0, 1, 0, 1, 0, 1]);
  // An empty strided slice contributes nothing, and the rest of the graph is unaffected.
  const z = T.tensor([1, 2, 3, 4], { dtype: 'float64', requiresGrad: true });
  z.slice([[2, 2, 2]])
    .sum()
    .add(z.mul(3).sum())
    .backward();
  assert.deepEqual(Array.from(z.grad!.dataSync()), [3, 3, 3, 3]);
});

test('pad and concat send each part of the gradient back to its own input', () => {
  gradcheck(
    (x) =>
      x.pad([
        [1, 2],
        [0, 1],
        [2, 0],
      ]),
    [rand([2, 3, 2])],
  );
  gradcheck((a, b, c) => T.concat([a, b, c], 1), [rand([2, 1, 3]), rand([2, 3, 3]), rand([2, 2, 3])]);
  gradcheck((a, b) => T.concat([a, b], 0).mul(T.concat([b, a], 0)), [rand([2, 3]), rand([2, 3])]);
});

test('permutations, reshapes and broadcasts pass the gradient through unchanged in value', () => {
  const weights = rand([4, 2, 3]);
  gradcheck((x) => x.permute([2, 0, 1]).mul(weights), [rand([2, 3, 4])]);
  gradcheck((x) => x.permute([1, 3, 0, 2]), [rand([2, 3, 1, 2])]);
  // contiguous() copies a transposed view into dense memory: a primitive of its own, gradient passed through.
  const w = rand([3, 2]);
  gradcheck((x) => x.permute([1, 0]).contiguous().mul(w), [rand([2, 3])]);
  const v = T.tensor(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    { dtype: 'float64', requiresGrad: true },
  );
  const dense = v.permute([1, 0]).contiguous();
  assert.equal(dense.node?.op, 'contiguous');
  dense
    .mul(
      T.tensor(
        [
          [1, 10],
          [100, 1000],
          [1e4, 1e5],
        ],
        { dtype: 'float64' },
      ),
    )
    .sum()
    .backward();
  assert.deepEqual(Array.from(v.grad!.dataSync()), [1, 100, 1e4, 10, 1000, 1e5]);
});

test('sign, compare and argmax carry no gradient but may sit inside a graph', () => {
  // x·sign(x) = |x|: only the product's own rule contributes, giving sign(x).
  gradcheck((x) => x.mul(x.sign()), [distinct([7])]);
  // where(x > 0, x², −x): 2x or −1.
  gradcheck((x) => T.where(T.compare('gt', x, 0), x.mul(x), x.neg()), [distinct([8])]);
  gradcheck((a, b) => T.where(T.compare('lt', a, b), a.mul(b), a.add(b)), [distinct([6]), distinct([6]).add(0.1)]);
  // x scaled by the position of its row's maximum (a constant under small steps).
  gradcheck((x) => x.mul(T.argmax(x, 1, true).cast('float64').add(1)), [distinct([3, 4])]);
  const x = T.tensor([-2, 0.5, 3], { dtype: 'float64', requiresGrad: true });
  x.mul(x.sign()).sum().backward();
  assert.deepEqual(Array.from(x.grad!.dataSync()), [-1, 1, 1]);
});

test('cast: the gradient comes back in the input’s float dtype; through an int cast none flows', () => {
  const x = T.tensor([0.5, -1.25, 2], { requiresGrad: true });
  x.cast('float64')
    .mul(T.tensor([2, 3, 4], { dtype: 'float64' }))
    .sum()
    .backward();
  assert.equal(x.grad!.dtype, 'float32');
  assert.deepEqual(Array.from(x.grad!.dataSync()), [2, 3, 4]);
  gradcheck((v) => v.cast('int32').cast('float64').add(v.mul(2)), [T.tensor([0.25, 1.5, -2.5], { dtype: 'float64' })]);
});

test('matmul gradients keep their operand’s layout: dense for dense parameters, also behind a transposed view', () => {
  const dense = (t: Tensor) => assert.ok(t.isContiguous(), `gradient strides [${t.strides.join(', ')}] are not dense`);
  const a = T.randn([2, 3, 5], { requiresGrad: true, generator: gen });
  const b = T.randn([2, 4, 5], { requiresGrad: true, generator: gen });
  // b enters as a column-major view [2, 5, 4], as a Linear layer's weight does.
  a.matmul(b.permute([0, 2, 1]))
    .mul(T.randn([2, 3, 4], { generator: gen }))
    .sum()
    .backward();
  dense(a.grad!);
  dense(b.grad!);
  const c = T.randn([2, 5, 3], { requiresGrad: true, generator: gen });
  const d = T.randn([2, 5, 4], { requiresGrad: true, generator: gen });
  c.permute([0, 2, 1])
    .matmul(d)
    .mul(T.randn([2, 3, 4], { generator: gen }))
    .sum()
    .backward();
  dense(c.grad!);
  dense(d.grad!);
  const fc = new T.Linear(3, 4);
  fc.forward(T.randn([6, 3], { generator: gen }))
    .square()
    .sum()
    .backward();
  dense(fc.weight.grad!);
  // And the values are right in every layout.
  gradcheck((p, q) => p.matmul(q.permute([0, 2, 1])), [rand([2, 3, 5]), rand([2, 4, 5])]);
  gradcheck((p, q) => p.permute([0, 2, 1]).matmul(q), [rand([2, 5, 3]), rand([2, 5, 4])]);
});

/** Gradients of `loss` w.r.t. `xs`, built with createGraph so that they can be differentiated again. */
function gradsWithGraph(loss: () => Tensor, xs: readonly Tensor[]): Tensor[] {
  return withGradMode(true, () => {
    loss().backward(undefined, { createGraph: true, retainGraph: true });
    const gs = xs.map((x) => x.grad!);
    for (const x of xs) x.grad = null;
    return gs;
  });
}

test('second order through conv2d: the rules of conv2dGradInput and conv2dGradWeight', () => {
  const opts = { stride: 2, padding: [1, 0] as [number, number], dilation: [1, 2] as [number, number], groups: 2 };
  gradcheck(
    (x, w) => {
      const [gx, gw] = gradsWithGraph(() => T.conv2d(x, w, null, opts).pow(3).sum(), [x, w]);
      return T.concat([gx!.reshape([-1]), gw!.reshape([-1])]);
    },
    [rand([1, 4, 5, 6]), rand([4, 2, 3, 3]).mul(0.5)],
  );
  // Each second-order rule on its own: d/dx only, and d/dw only.
  gradcheck(
    (x, w) => gradsWithGraph(() => T.conv2d(x, w, null, opts).pow(3).sum(), [x, w])[0]!,
    [rand([1, 4, 5, 6]), rand([4, 2, 3, 3])],
  );
  gradcheck(
    (x, w) => gradsWithGraph(() => T.conv2d(x, w, null, opts).pow(3).sum(), [x, w])[1]!,
    [rand([1, 4, 5, 6]), rand([4, 2, 3, 3])],
  );
});

test('second order through avgPool2d: avgPool2dGrad’s rule is avgPool2d again', () => {
  gradcheck(
    (x) =>
      gradsWithGraph(
        () => T.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }).pow(3).sum(),
        [x],
      )[0]!,
    [rand([2, 2, 6, 5])],
  );
});

test('maxPool2dGrad is the one first-order-only rule, and a second derivative through it says so', () => {
  assert.deepEqual([...FIRST_ORDER_ONLY], ['maxPool2dGrad']);
  const x = T.tensor(distinct([1, 1, 4, 6]).dataSync(), { dtype: 'float64', shape: [1, 1, 4, 6], requiresGrad: true });
  const y = T.maxPool2d(x, [2, 3]);
  y.mul(y).sum().backward(undefined, { createGraph: true });
  const gx = x.grad!;
  x.grad = null;
  assert.throws(
    () => gx.sum().backward(),
    (e: unknown) =>
      e instanceof UnsupportedError &&
      e.message ===
        'second derivative through maxPool2d (kernel 2x3) is not supported; backward with createGraph works for every other primitive',
  );
});

test('relu backward selects the gradient (reluBackward): 0 where x ≤ 0 even for an infinite gradient, g where x is NaN', () => {
  const x = T.tensor([-1, 0, 2, NaN], { requiresGrad: true });
  const y = x.relu();
  y.backward(T.tensor([Infinity, NaN, -3, 5]));
  // A product with a 0/1 mask would give NaN for the first two (∞·0, NaN·0); PyTorch gives 0.
  assert.deepEqual(Array.from(x.grad!.dataSync()), [0, 0, -3, 5]);
  // Second order: reluBackward is linear in g with the same mask, and constant in x.
  const u = T.tensor([-2, 3], { dtype: 'float64', requiresGrad: true });
  const gy = T.tensor([1.5, -4], { dtype: 'float64', requiresGrad: true });
  const r = T.reluBackward(gy, u);
  r.mul(r).sum().backward();
  assert.deepEqual(Array.from(gy.grad!.dataSync()), [0, -8]);
  assert.equal(u.grad, null);
  // Both inputs checked against central differences (x's derivative is 0 away from the kink).
  gradcheck((g, v) => T.reluBackward(g, v).mul(g), [rand([3, 4]), distinct([3, 4])]);
});

// The fused epilogues. Positive x and w keep every product in [0, bound]; a bias of ±(bound + 1) by
// channel puts each channel's pre-activations all above or all below 0, away from the kink.
const positive = (shape: number[]): Tensor => rand(shape).abs().add(0.05);
const splitBias = (n: number, bound: number): Tensor =>
  T.tensor(
    Array.from({ length: n }, (_, c) => (c % 2 === 0 ? bound + 1 : -(bound + 1))),
    { dtype: 'float64' },
  );
const conv = { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 } as const;

test('conv2dBiasAct and matmulBiasAct: gradients of x, w and the bias for each activation (float64)', () => {
  for (const activation of ['none', 'relu', 'leakyRelu'] as const) {
    const epilogue = { activation, negativeSlope: 0.25 };
    gradcheck(
      (x, w, b) => run('conv2dBiasAct', [x, w, b], { ...conv, ...epilogue }),
      [positive([2, 2, 4, 4]), positive([4, 2, 3, 3]), splitBias(4, 2 * 9 * 1.1 * 4)],
    );
    gradcheck(
      (a, b, bias) => run('matmulBiasAct', [a, b, bias], epilogue),
      [positive([2, 3, 4]), positive([2, 4, 5]), splitBias(5, 4 * 4.5 * 4.5)],
    );
  }
});

test('the fused epilogues at a pre-activation of exactly 0: relu passes 0, leakyRelu the slope (as PyTorch)', () => {
  for (const [activation, factor] of [
    ['relu', 0],
    ['leakyRelu', 0.25],
    ['none', 1],
  ] as const) {
    const x = T.zeros([1, 1, 3, 3], { dtype: 'float64', requiresGrad: true });
    const w = T.ones([2, 1, 3, 3], { dtype: 'float64', requiresGrad: true });
    const b = T.zeros([2], { dtype: 'float64', requiresGrad: true });
    const g = T.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1], {
      dtype: 'float64',
      shape: [1, 2, 3, 3],
    });
    run('conv2dBiasAct', [x, w, b], { ...conv, activation, negativeSlope: 0.25 }).backward(g);
    assert.deepEqual(Array.from(b.grad!.dataSync()), [45 * factor, 9 * factor], activation);
    const a = T.zeros([1, 2, 2], { dtype: 'float64', requiresGrad: true });
    const m = T.ones([1, 2, 3], { dtype: 'float64' });
    const bias = T.zeros([3], { dtype: 'float64', requiresGrad: true });
    run('matmulBiasAct', [a, m, bias], { activation, negativeSlope: 0.25 }).backward(
      T.tensor([1, 2, 3, 4, 5, 6], { dtype: 'float64', shape: [1, 2, 3] }),
    );
    assert.deepEqual(Array.from(bias.grad!.dataSync()), [5 * factor, 7 * factor, 9 * factor], activation);
    assert.deepEqual(Array.from(a.grad!.dataSync()), [6 * factor, 6 * factor, 15 * factor, 15 * factor]);
  }
});

test('the fused epilogues give no gradient to an input that needs none, and differentiate twice', () => {
  const x = positive([1, 2, 4, 4]).setRequiresGrad();
  const w = positive([3, 2, 3, 3]);
  const b = splitBias(3, 2 * 9 * 1.1 * 4);
  run('conv2dBiasAct', [x, w, b], { ...conv, activation: 'relu', negativeSlope: 0.01 })
    .sum()
    .backward();
  assert.ok(x.grad);
  assert.equal(w.grad, null);
  assert.equal(b.grad, null);
  const a = positive([1, 3, 4]);
  const m = positive([1, 4, 2]).setRequiresGrad();
  const bias = splitBias(2, 4 * 4.5 * 4.5).setRequiresGrad();
  run('matmulBiasAct', [a, m, bias], { activation: 'leakyRelu', negativeSlope: 0.5 }).sum().backward();
  assert.equal(a.grad, null);
  // The bias's gradient counts each live output once and each dead one at the slope: 3 rows each.
  assert.deepEqual(Array.from(bias.grad!.dataSync()), [3, 1.5]);
  // Second order: the gradient of Σ(∂L/∂m)² with respect to m, through the fused rule (createGraph).
  gradcheck(
    (mm) => {
      const y = () => run('matmulBiasAct', [a, mm, bias.detach()], { activation: 'leakyRelu', negativeSlope: 0.5 });
      return gradsWithGraph(() => y().mul(y()).sum(), [mm])[0]!;
    },
    [positive([1, 4, 2])],
  );
});

test('second order through conv2dBiasAct: the rules of conv2dGradInputAct, conv2dGradWeightAct and biasActGrad', () => {
  for (const activation of ['relu', 'leakyRelu'] as const) {
    const p = { ...conv, activation, negativeSlope: 0.25 };
    // The bias keeps every pre-activation on one side of 0 under the ±1e-6 steps (even channels live, odd dead).
    const inputs = () => [positive([1, 2, 4, 4]), positive([3, 2, 3, 3]), splitBias(3, 2 * 9 * 1.1 * 4)];
    const grads = (x: Tensor, w: Tensor, b: Tensor) =>
      gradsWithGraph(() => run('conv2dBiasAct', [x, w, b], p).mul(0.02).pow(3).sum(), [x, w, b]);
    gradcheck((x, w, b) => T.concat(grads(x, w, b).map((g) => g.reshape([-1]))), inputs());
    // Each second-order rule on its own.
    for (const k of [0, 1, 2]) gradcheck((x, w, b) => grads(x, w, b)[k]!, inputs());
  }
});

test('logSoftmax is one primitive: its gradient g − softmax·Σg, twice differentiable, and the edge values', () => {
  gradcheck((x) => T.logSoftmax(x, 1), [rand([3, 5])]);
  gradcheck((x) => T.logSoftmax(x, 0).mul(x), [rand([4, 2])]);
  // Second order: through the rule's exp(y) and sum.
  gradcheck((x) => gradsWithGraph(() => T.logSoftmax(x, -1).pow(2).sum(), [x])[0]!, [rand([2, 4])]);
  for (const backend of T.listBackends().filter((b) => b !== 'webgpu')) {
    const before = T.getBackend().name;
    T.setBackend(backend);
    try {
      const x = T.tensor(
        [
          [1, 2, 3],
          [-Infinity, 0, 1],
          [-Infinity, -Infinity, -Infinity],
          [Infinity, 0, 1],
          [NaN, 0, 1],
          [1000, 1000, -1000],
        ],
        { dtype: 'float32' },
      );
      const y = Array.from(T.logSoftmax(x, 1).dataSync());
      const lse = (v: number[]): number => Math.log(v.reduce((s, u) => s + Math.exp(u), 0));
      const expect = [
        ...[1, 2, 3].map((v) => Math.fround(v - lse([1, 2, 3]))),
        -Infinity,
        ...[0, 1].map((v) => Math.fround(v - lse([0, 1]))),
        NaN,
        NaN,
        NaN,
        NaN,
        -Infinity,
        -Infinity,
        NaN,
        NaN,
        NaN,
        Math.fround(-Math.log(2)),
        Math.fround(-Math.log(2)),
        Math.fround(-2000 - Math.log(2)),
      ];
      assert.deepEqual(y, expect, backend);
    } finally {
      T.setBackend(before);
    }
  }
});
