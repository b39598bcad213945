/**
 * A Sequential runs a Conv2d or Linear and the ReLU / LeakyReLU right after it as one kernel
 * (conv2dBiasAct, matmulBiasAct). These tests check that the fused forward and every gradient
 * equal the layers run one by one, bit for bit, on each backend; that hooks and forward
 * observers turn the fusion off so they see every layer's own output; that a negative leaky
 * slope is never fused (the functional API then runs the activation apart); and that errors
 * still name the layer that failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Conv2d,
  Flatten,
  Generator,
  LeakyReLU,
  Linear,
  MaxPool2d,
  type Module,
  ReLU,
  Sequential,
  type Tensor,
  getBackend,
  listBackends,
  manualSeed,
  randn,
  setBackend,
} from '../../src/index.js';
import { observeOps } from '../../src/tensor/dispatch.js';
import * as T from '../../src/tensor/ops.js';
import { observeForward } from '../../src/nn/module.js';

function net(): Sequential {
  return new Sequential(
    new Conv2d(1, 4, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(4, 6, 3),
    new LeakyReLU(0.2),
    new Flatten(),
    new Linear(6 * 2 * 2, 10),
    new ReLU(),
    new Linear(10, 8),
    new LeakyReLU(0.1),
    new Linear(8, 3),
  );
}

/** The primitives a forward dispatches, in order. */
function opsOf(fn: () => unknown): string[] {
  const seen: string[] = [];
  observeOps((op) => seen.push(op), fn);
  return seen;
}

/** Output and every parameter's gradient of sum(y · r), with the layers fused or one by one. */
function run(model: Sequential, x: Tensor, r: Tensor, fused: boolean): Float32Array[] {
  model.zeroGrad();
  let y = x;
  if (fused) y = model.forward(x);
  else for (const layer of model.layers) y = (layer as unknown as { forward(t: Tensor): Tensor }).forward(y);
  y.mul(r).sum().backward();
  return [y, ...model.parameters().map((p) => p.grad!)].map((t) => t.dataSync() as Float32Array);
}

for (const backend of listBackends().filter((b) => b !== 'webgpu')) {
  test(`${backend}: a fused Sequential gives the layers' own outputs and gradients bit for bit`, () => {
    const before = getBackend().name;
    setBackend(backend);
    try {
      manualSeed(4);
      const model = net();
      const g = new Generator(9);
      const x = randn([5, 1, 8, 8], { generator: g });
      const r = randn([5, 3], { generator: g });
      const ops = opsOf(() => model.forward(x));
      assert.equal(ops.filter((o) => o === 'conv2dBiasAct').length, 2);
      assert.equal(ops.filter((o) => o === 'matmulBiasAct').length, 3);
      assert.ok(!ops.includes('relu') && !ops.includes('where'), `separate activations ran: ${ops.join(' ')}`);
      const fused = run(model, x, r, true);
      const apart = run(model, x, r, false);
      assert.equal(fused.length, 1 + model.parameters().length);
      fused.forEach((a, i) => assert.deepEqual(a, apart[i], i === 0 ? 'output' : `gradient ${i - 1}`));
    } finally {
      setBackend(before);
    }
  });
}

test('a hook on either layer, or a forward observer, turns the fusion off and sees each output', () => {
  manualSeed(5);
  const x = randn([2, 1, 8, 8]);
  for (const hooked of [0, 1] as const) {
    const model = net();
    const seen: Tensor[] = [];
    const h = (model.layers[hooked] as Module).registerForwardHook((_m, _in, out) => {
      seen.push(out as Tensor);
    });
    const ops = opsOf(() => model.forward(x));
    assert.equal(seen.length, 1);
    assert.equal(ops[0], 'conv2dBiasAct');
    assert.equal(ops[1], 'relu', 'the first pair ran apart');
    assert.equal(ops.filter((o) => o === 'matmulBiasAct').length, 3, 'the other pairs stay fused');
    if (hooked === 0)
      assert.ok(
        (seen[0]!.dataSync() as Float32Array).some((v) => v < 0),
        'the conv output before ReLU',
      );
    h.remove();
    assert.ok(!opsOf(() => model.forward(x)).includes('relu'), 'fused again once the hook is gone');
  }
  const model = net();
  const outputs: unknown[] = [];
  const ops = opsOf(() =>
    observeForward(
      (_m, out) => outputs.push(out),
      () => model.forward(x),
    ),
  );
  assert.equal(outputs.length, model.layers.length + 1, 'every layer and the Sequential');
  assert.ok(ops.includes('relu'));
});

test('LeakyReLU fuses only with a slope >= 0; a negative slope runs apart with the same values', () => {
  manualSeed(6);
  const x = randn([3, 4]);
  for (const slope of [0, 0.3, -0.5]) {
    const model = new Sequential(new Linear(4, 5), new LeakyReLU(slope));
    const ops = opsOf(() => model.forward(x));
    assert.equal(
      ops.includes('matmulBiasAct') && !ops.includes('where'),
      slope >= 0,
      `slope ${slope}: ${ops.join(' ')}`,
    );
    const apart = (model.layers[1] as LeakyReLU).forward((model.layers[0] as Linear).forward(x));
    assert.deepEqual(model.forward(x).dataSync(), apart.dataSync());
  }
});

test('an error inside a fused pair names the layer', () => {
  const model = new Sequential(new Linear(3, 3), new ReLU(), new Conv2d(2, 4, 3), new ReLU());
  assert.throws(
    () => model.forward(randn([1, 3])),
    (e: unknown) => {
      assert.match((e as Error).message, /2 \(Conv2d\(2, 4, kernel=3x3\)\)/);
      assert.match((e as Error).message, /expected input \[N, 2, H, W\]/);
      return true;
    },
  );
});

test('a forward pre-hook or a full backward hook also runs the pair apart', () => {
  manualSeed(7);
  const x = randn([2, 1, 8, 8]);
  const pre = net();
  const seenInputs: Tensor[] = [];
  (pre.layers[1] as Module).registerForwardPreHook((_m, inputs) => {
    seenInputs.push(inputs[0] as Tensor);
  });
  const ops = opsOf(() => pre.forward(x));
  assert.equal(ops[1], 'relu');
  assert.ok(
    (seenInputs[0]!.dataSync() as Float32Array).some((v) => v < 0),
    "ReLU's input: the conv output",
  );
  const back = net();
  const gradOut: Tensor[] = [];
  (back.layers[0] as Module).registerFullBackwardHook((_m, _gIn, gOut) => {
    gradOut.push(gOut[0] as Tensor);
  });
  const y = back.forward(x);
  assert.ok(opsOf(() => back.forward(x)).includes('relu'), 'the pair ran apart');
  y.sum().backward();
  // The gradient at the conv's own output (before ReLU): 0 exactly where ReLU cut it, not everywhere.
  const g = gradOut[0]!.dataSync() as Float32Array;
  assert.deepEqual(gradOut[0]!.shape, [2, 4, 8, 8]);
  assert.ok(g.some((v) => v === 0) && g.some((v) => v !== 0));
});

test('conv2d and linearBiasAct with a negative leaky slope: the bias in the kernel, the activation apart, same values and gradients', () => {
  manualSeed(9);
  const epilogue = { activation: 'leakyRelu' as const, negativeSlope: -0.5 };
  // Each case: its inputs, the product with the epilogue, and the product alone.
  const cases: [string, () => Tensor[], (t: Tensor[]) => Tensor, (t: Tensor[]) => Tensor][] = [
    [
      'conv2d',
      () => [randn([2, 3, 6, 6]), randn([4, 3, 3, 3]), randn([4])],
      ([x, w, b]) => T.conv2d(x!, w!, b!, { padding: 1 }, epilogue),
      ([x, w, b]) => T.conv2d(x!, w!, b!, { padding: 1 }),
    ],
    [
      'linearBiasAct',
      () => [randn([5, 4]), randn([3, 4]), randn([3])],
      ([x, w, b]) => T.linearBiasAct(x!, w!, b!, epilogue),
      ([x, w, b]) => T.linearBiasAct(x!, w!, b!),
    ],
  ];
  for (const [name, make, withEpilogue, product] of cases) {
    const inputs = make().map((t) => ((t.requiresGrad = true), t));
    const grads = (f: (t: Tensor[]) => Tensor) => {
      for (const t of inputs) t.grad = null;
      const y = f(inputs);
      y.mul(y).sum().backward();
      return [y.dataSync(), ...inputs.map((t) => t.grad!.dataSync())] as Float32Array[];
    };
    const got = grads(withEpilogue);
    assert.deepEqual(
      got,
      grads((t) => T.leakyRelu(product(t), epilogue.negativeSlope)),
      name,
    );
    // Some pre-activations are negative, so the slope was really applied: there y = -0.5·v > 0.
    const pre = product(inputs).dataSync() as Float32Array;
    const scaled = Array.from(pre).filter((v) => v < 0);
    assert.ok(scaled.length > 0, `${name}: negative pre-activations`);
    pre.forEach((v, i) => assert.equal(got[0]![i], v < 0 ? Math.fround(v * -0.5) : v, `${name}: element ${i}`));
  }
});
