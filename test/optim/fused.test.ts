/**
 * Fused optimizer updates (the wasm backend's sgdStep / adamStep, one kernel per parameter)
 * against the op-by-op rules of src/optim: for SGD (plain, momentum, dampening, Nesterov,
 * weight decay) and Adam / AdamW (weight decay, AMSGrad), several steps from the same
 * parameters and gradients give bit-identical parameters and state with the fused kernels
 * on and off, including a parameter large enough to be split across the worker pool, with
 * 1 and with 2 threads. Also: the fused kernels are what actually ran, and float64
 * parameters take the op-by-op rule.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  Adam,
  AdamW,
  type Backend,
  Generator,
  type Optimizer,
  Parameter,
  SGD,
  type Tensor,
  getNumThreads,
  setNumThreads,
  tensor,
  wasmBackend,
  wasmFeatures,
} from '../../src/index.js';
import { wasmThreadsReady } from '../../src/backend/wasm/index.js';
import { setFusedOptimizers } from '../../src/optim/fused.js';

const wasm = wasmBackend as Backend;
const skip = wasmFeatures().kernels ? false : 'WebAssembly SIMD is not available on this engine';
const initialThreads = getNumThreads();
after(() => {
  setNumThreads(initialThreads);
  setFusedOptimizers(true);
});

/** [7, 5] (a tail after the SIMD lanes), [3] and [600, 500] (split across lanes with threads). */
const SHAPES = [[7, 5], [3], [600, 500]];

function random(g: Generator, shape: number[], scale: number, dtype: 'float32' | 'float64'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = g.normal() * scale;
  return tensor(data, { shape, dtype, backend: wasm });
}

type Make = (params: Parameter[]) => Optimizer<{ lr: number }>;

const CASES: [string, Make][] = [
  ['sgd plain', (ps) => new SGD(ps, { lr: 0.1 })],
  ['sgd momentum + dampening', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.1 })],
  ['sgd nesterov + weight decay', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 1e-2 })],
  ['adam', (ps) => new Adam(ps, { lr: 1e-2 })],
  ['adam weight decay + amsgrad', (ps) => new Adam(ps, { lr: 1e-2, weightDecay: 0.1, amsgrad: true })],
  ['adamw', (ps) => new AdamW(ps, { lr: 1e-2, weightDecay: 0.05, betas: [0.8, 0.95], eps: 1e-6 })],
];

/** Runs 4 steps of a fresh optimizer; returns every parameter's and state tensor's values. */
function trajectory(make: Make, fused: boolean, dtype: 'float32' | 'float64' = 'float32'): Float64Array[] {
  setFusedOptimizers(fused);
  const g = new Generator(7);
  const params = SHAPES.map((s) => new Parameter(random(g, s, 1, dtype)));
  const opt = make(params);
  const values: Float64Array[] = [];
  for (let step = 0; step < 4; step++) {
    for (const p of params) p.grad = random(g, [...p.shape], step === 2 ? 1e-3 : 1, dtype);
    opt.step();
  }
  for (const p of params) values.push(Float64Array.from(p.dataSync()));
  const sd = opt.stateDict();
  for (const entry of Object.values(sd.state)) {
    // By name: the two paths may create the state entries in another order.
    for (const k of Object.keys(entry).sort()) {
      const v = entry[k]!;
      values.push(typeof v === 'number' ? Float64Array.of(v) : Float64Array.from(v.data));
    }
  }
  return values;
}

function assertBitIdentical(a: Float64Array[], b: Float64Array[], label: string): void {
  assert.equal(a.length, b.length, `${label}: state entries`);
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.equal(x.length, y.length, `${label}: entry ${i} length`);
    for (let j = 0; j < x.length; j++) {
      if (!Object.is(x[j], y[j])) assert.fail(`${label}: entry ${i}[${j}]: fused ${x[j]} vs op-by-op ${y[j]}`);
    }
  });
}

describe('fused optimizer kernels', { skip }, () => {
  const threadCounts = [1, ...(setNumThreads(2) === 2 ? [2] : [])];
  setNumThreads(initialThreads);
  for (const threads of threadCounts) {
    test(`fused and op-by-op updates agree bit for bit (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      setNumThreads(threads);
      if (threads > 1) assert.ok(await wasmThreadsReady(), 'the worker threads start');
      for (const [name, make] of CASES) {
        assertBitIdentical(trajectory(make, true), trajectory(make, false), name);
      }
    });
  }

  test('the fused kernels are what ran on float32, and float64 takes the op-by-op rule', () => {
    const kernels = wasm.optimizerKernels!;
    const calls = { sgd: 0, adam: 0 };
    const { sgd, adam } = kernels;
    const counting = kernels as { -readonly [K in keyof typeof kernels]: (typeof kernels)[K] };
    counting.sgd = (...a) => (calls.sgd++, sgd(...a));
    counting.adam = (...a) => (calls.adam++, adam(...a));
    try {
      trajectory(CASES[1]![1], true);
      trajectory(CASES[3]![1], true);
      assert.deepEqual(calls, { sgd: 4 * SHAPES.length, adam: 4 * SHAPES.length });
      // float64 (gradient checks) is not fused: the kernel declines and the op-by-op rule runs.
      assertBitIdentical(trajectory(CASES[4]![1], true, 'float64'), trajectory(CASES[4]![1], false, 'float64'), 'f64');
    } finally {
      counting.sgd = sgd;
      counting.adam = adam;
    }
  });

  test("a fused update hands the state it replaced back to the backend, never an op-by-op update's", () => {
    setFusedOptimizers(true);
    const g = new Generator(3);
    const handedBack: unknown[] = [];
    const p = new Parameter(random(g, [64, 32], 1, 'float32'));
    const backend = p.backend as { recycle?: (s: unknown) => void };
    const recycle = backend.recycle!;
    backend.recycle = (st) => (handedBack.push(st), recycle(st));
    try {
      const adam = new Adam([p], { lr: 1e-2, amsgrad: true });
      p.grad = random(g, [64, 32], 1, 'float32');
      adam.step(); // the first step has no state to replace
      const state = (adam as unknown as { state: Map<Tensor, Record<string, Tensor>> }).state.get(p)!;
      const replaced = [state['expAvg']!.storage, state['expAvgSq']!.storage, state['maxExpAvgSq']!.storage];
      assert.equal(handedBack.length, 0);
      p.grad = random(g, [64, 32], 1, 'float32');
      adam.step();
      assert.deepEqual(handedBack, replaced, 'expAvg, expAvgSq and maxExpAvgSq of step 1');
      const param = p.storage;
      p.grad = random(g, [64, 32], 1, 'float32');
      adam.step();
      assert.ok(!handedBack.includes(param), "the parameter's own storage is left to the GC (views of it may live on)");

      // Op by op, SGD's first momentum buffer is the gradient itself, which the user may hold:
      // the fused steps after it must leave that storage alone.
      handedBack.length = 0;
      const q = new Parameter(random(g, [64, 32], 1, 'float32'));
      const sgd = new SGD([q], { lr: 0.1, momentum: 0.9 });
      const grad = random(g, [64, 32], 1, 'float32');
      const kept = Float32Array.from(grad.dataSync());
      q.grad = grad;
      setFusedOptimizers(false);
      try {
        sgd.step();
      } finally {
        setFusedOptimizers(true);
      }
      for (let i = 0; i < 10; i++) {
        q.grad = random(g, [64, 32], 1, 'float32');
        sgd.step(); // each step after the first fused one reuses what the backend took back
      }
      assert.ok(!handedBack.includes(grad.storage), 'the op-by-op buffer is not handed back');
      assert.equal(handedBack.length, 9, 'each fused step but the first retires the buffer it replaced');
      assert.deepEqual(grad.dataSync(), kept, 'the gradient the user holds is intact');
    } finally {
      backend.recycle = recycle;
    }
  });

  test('a backend without recycle() keeps the replaced state for the GC', () => {
    setFusedOptimizers(true);
    const g = new Generator(4);
    const bare = { ...(wasm as object), recycle: undefined } as unknown as Backend;
    const on = (t: Tensor): Tensor => tensor(Float32Array.from(t.dataSync()), { shape: [...t.shape], backend: bare });
    const p = new Parameter(on(random(g, [16, 8], 1, 'float32')));
    const adam = new Adam([p], { lr: 1e-2 });
    for (let i = 0; i < 3; i++) {
      p.grad = on(random(g, [16, 8], 1, 'float32'));
      adam.step();
    }
    assert.equal(p.backend, bare);
    assert.ok(p.dataSync().every(Number.isFinite));
  });
});
