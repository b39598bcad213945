/**
 * Conv2d / MaxPool2d / AvgPool2d resolve their geometry (stride, padding incl. SAME, dilation, groups,
 * ceil mode) once, when built, into a Conv2dPlan / Pool2dPlan, and every forward hands the primitive the
 * parameters resolved then: the very same object, call after call. SAME with a stride above 1 depends on
 * the input size: resolved once per size. Results equal the functional ops given the same options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  AvgPool2d,
  Conv2d,
  Conv2dPlan,
  Generator,
  MaxPool2d,
  Pool2dPlan,
  ShapeError,
  avgPool2d,
  conv2d,
  maxPool2d,
  noGrad,
  randn,
  type Tensor,
} from '../../src/index.js';
import { observeOps } from '../../src/tensor/dispatch.js';
import type { Conv2dParams, OpName } from '../../src/core/ops.js';

const gen = new Generator(11);

/** The parameters of every `op` primitive dispatched while running fn. */
function paramsOf(op: OpName, fn: () => unknown): unknown[] {
  const seen: unknown[] = [];
  observeOps((o, _inputs, params) => {
    if (o === op) seen.push(params);
  }, fn);
  return seen;
}

/** The convolution's own parameters among a fused primitive's (conv2dBiasAct adds the epilogue's). */
const convPart = (p: unknown): unknown => {
  const { stride, padding, dilation, groups } = p as Conv2dParams;
  return { stride, padding, dilation, groups };
};

const same = (a: Tensor, b: Tensor): void => {
  assert.deepEqual(a.shape, b.shape);
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
};

const convCases = [
  { name: 'padding 2', k: 5, o: { padding: 2 } },
  { name: "padding 'same', stride 1, dilation 2", k: 3, o: { padding: 'same' as const, dilation: 2 } },
  { name: "padding 'valid', stride 2", k: 3, o: { padding: 'valid' as const, stride: 2 } },
  {
    name: 'groups 2, stride [2, 1], padding [1, 0]',
    k: 3,
    o: { groups: 2, stride: [2, 1] as const, padding: [1, 0] as const },
  },
];

for (const c of convCases) {
  test(`Conv2d (${c.name}): one parameter object for every forward, same output as conv2d(options)`, () => {
    const layer = new Conv2d(4, 6, c.k, c.o);
    assert.ok(layer.plan instanceof Conv2dPlan);
    assert.ok(layer.plan.fixed, 'these options fix the primitive parameters at construction');
    const x1 = randn([2, 4, 11, 10], { generator: gen });
    const x2 = randn([1, 4, 9, 13], { generator: gen });
    // With a bias the layer runs conv2dBiasAct, whose parameters the plan also builds once.
    const forwards = () => noGrad(() => [layer.forward(x1), layer.forward(x2), layer.forward(x1)]);
    const seen = paramsOf('conv2dBiasAct', forwards);
    assert.equal(seen.length, 3);
    for (const p of seen) assert.equal(p, seen[0], 'forward re-resolved the parameters');
    assert.deepEqual(convPart(seen[0]), layer.plan.fixed);
    assert.equal(layer.plan.withEpilogue(layer.plan.fixed!, undefined), seen[0]);
    const plain = new Conv2d(4, 6, c.k, { ...c.o, bias: false });
    const unbiased = paramsOf('conv2d', () => noGrad(() => [plain.forward(x1), plain.forward(x2)]));
    for (const p of unbiased) assert.equal(p, plain.plan.fixed, 'forward re-resolved the parameters');
    for (const x of [x1, x2]) {
      const [viaOptions] = paramsOf('conv2dBiasAct', () => conv2d(x, layer.weight, layer.bias, c.o));
      assert.deepEqual(layer.plan.fixed, convPart(viaOptions));
      same(
        noGrad(() => layer.forward(x)),
        noGrad(() => conv2d(x, layer.weight, layer.bias, c.o)),
      );
    }
  });
}

test("Conv2d padding 'same' with stride 2: resolved once per input size, as TensorFlow pads", () => {
  const layer = new Conv2d(3, 8, 3, { stride: 2, padding: 'same' });
  assert.equal(layer.plan.fixed, null, 'SAME with stride 2 depends on the input size');
  const x13 = randn([1, 3, 13, 13], { generator: gen });
  const x12 = randn([1, 3, 12, 14], { generator: gen });
  const [a, b, c, d] = paramsOf('conv2dBiasAct', () =>
    noGrad(() => [layer.forward(x13), layer.forward(x13), layer.forward(x12), layer.forward(x12)]),
  ) as { padding: number[] }[];
  assert.equal(a, b);
  assert.equal(c, d);
  assert.notEqual(a, c);
  // 13 -> ceil(13 / 2) = 7 outputs need (7 − 1)·2 + 3 − 13 = 2 rows of padding, 1 each side;
  // 12 -> 6 outputs need 1 (after); 14 -> 7 outputs need 1 (after).
  assert.deepEqual(a!.padding, [1, 1, 1, 1]);
  assert.deepEqual(c!.padding, [0, 1, 0, 1]);
  assert.deepEqual(noGrad(() => layer.forward(x13)).shape, [1, 8, 7, 7]);
  same(
    noGrad(() => layer.forward(x12)),
    noGrad(() => conv2d(x12, layer.weight, layer.bias, { stride: 2, padding: 'same' })),
  );
});

test('a Conv2dPlan refuses a weight of another kernel size, naming both', () => {
  const plan = new Conv2dPlan(3, { padding: 1 });
  const x = randn([1, 2, 6, 6], { generator: gen });
  assert.throws(
    () => conv2d(x, randn([4, 2, 5, 5]), null, plan),
    (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match((e as Error).message, /\[4, 2, 5, 5\].*3x3/);
      return true;
    },
  );
});

test('bad geometry still fails when the layer is built, naming the layer', () => {
  assert.throws(() => new Conv2d(3, 4, 3, { stride: 0 }), /Conv2d: stride must be positive/);
  assert.throws(() => new Conv2d(3, 4, 3, { padding: 'full' as never }), /Conv2d: padding must be 'same', 'valid'/);
  assert.throws(() => new MaxPool2d(2, { padding: 2 }), /MaxPool2d: padding 2 must be at most half the kernel/);
  assert.throws(() => new AvgPool2d(3, { padding: 'same', ceilMode: true }), /AvgPool2d: ceilMode does not apply/);
});

const poolCases = [
  { name: 'kernel 2', k: 2, o: {} },
  { name: 'kernel 3, stride 2, padding 1, ceil mode', k: 3, o: { stride: 2, padding: 1, ceilMode: true } },
  { name: "kernel 3, padding 'valid'", k: 3, o: { padding: 'valid' as const } },
];

for (const c of poolCases) {
  for (const [Layer, fn, prim] of [
    [MaxPool2d, maxPool2d, 'maxPool2d'],
    [AvgPool2d, avgPool2d, 'avgPool2d'],
  ] as const) {
    test(`${Layer.name} (${c.name}): one parameter object for every forward, same output as the function`, () => {
      const layer = new Layer(c.k, c.o);
      assert.ok(layer.plan instanceof Pool2dPlan);
      const x1 = randn([2, 3, 9, 8], { generator: gen });
      const x2 = randn([1, 3, 12, 7], { generator: gen });
      const seen = paramsOf(prim, () => [layer.forward(x1), layer.forward(x2), layer.forward(x1)]);
      assert.equal(seen.length, 3);
      assert.equal(seen[0], seen[1]);
      assert.equal(seen[1], seen[2]);
      for (const x of [x1, x2]) {
        const [viaOptions] = paramsOf(prim, () => fn(x, c.k, c.o));
        assert.deepEqual(seen[0], viaOptions);
        same(layer.forward(x), fn(x, c.k, c.o));
      }
    });
  }
}

test("MaxPool2d / AvgPool2d padding 'same': once per input size; asymmetric padding explicit, as before", () => {
  for (const [Layer, fn, prim] of [
    [MaxPool2d, maxPool2d, 'maxPool2d'],
    [AvgPool2d, avgPool2d, 'avgPool2d'],
  ] as const) {
    const layer = new Layer(3, { stride: 2, padding: 'same' });
    const x9 = randn([1, 2, 9, 9], { generator: gen });
    const x8 = randn([1, 2, 8, 10], { generator: gen });
    const seen = paramsOf(prim, () => [layer.forward(x9), layer.forward(x9), layer.forward(x8)]) as {
      padding: number[];
    }[];
    assert.equal(seen[0], seen[1]);
    assert.notEqual(seen[1], seen[2]);
    // 9 -> 5 outputs: (5 − 1)·2 + 3 − 9 = 2, symmetric [1, 1], native. 8 -> 4: 1 row, asymmetric: explicit pad.
    assert.deepEqual(seen[0]!.padding, [1, 1]);
    assert.deepEqual(seen[2]!.padding, [0, 0]);
    for (const x of [x9, x8]) same(layer.forward(x), fn(x, 3, { stride: 2, padding: 'same' }));
  }
});

test('a Pool2dPlan comes with its options: more beside it are refused', () => {
  const plan = new Pool2dPlan(2);
  const x = randn([1, 1, 4, 4], { generator: gen });
  assert.throws(() => maxPool2d(x, plan, { stride: 1 }), ArgumentError);
  same(maxPool2d(x, plan), maxPool2d(x, 2));
});
