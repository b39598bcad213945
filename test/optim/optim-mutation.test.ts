/**
 * SGD's and Adam's option checks (each bound, with its exact message) and two cases of the op-by-op rules
 * the mutation run showed untested: SGD without momentum ignores dampening and keeps no momentum buffer, and
 * weight decay 0 adds nothing to the gradient, not even 0·p (an infinite parameter stays infinite, as in
 * PyTorch, where `weight_decay != 0` guards the term). float64 parameters take the op-by-op rule; the same
 * cases in float32 on the default backend take the fused kernels where it has them. And Adam resumed from
 * an unusual saved state (only one of the two moments; AMSGrad's maximum kept by a run without AMSGrad)
 * gives the same result with the wasm backend's fused kernel as with the op-by-op rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { after } from 'node:test';
import {
  Adam,
  AdamW,
  ArgumentError,
  type Backend,
  type OptimizerStateDict,
  SGD,
  tensor,
  wasmBackend,
  wasmFeatures,
  type DType,
  type Tensor,
} from '../../src/index.js';
import { setFusedOptimizers } from '../../src/optim/fused.js';
import { throwsExactly, values } from '../helpers/nn-fixtures.js';

after(() => setFusedOptimizers(true));

const param = (data: number[], dtype: DType): Tensor => tensor(data, { dtype, requiresGrad: true });

/** Runs `steps` steps with the same gradient each time; returns the parameter's values. */
function run(p: Tensor, opt: { step(): void }, grad: number[], steps: number): number[] {
  for (let i = 0; i < steps; i++) {
    p.grad = tensor(grad, { dtype: p.dtype });
    opt.step();
  }
  return values(p);
}

test('Adam and AdamW refuse betas outside [0, 1) and a negative eps, naming the optimizer and the values', () => {
  const p = param([1], 'float32');
  for (const [Opt, name] of [
    [Adam, 'Adam'],
    [AdamW, 'AdamW'],
  ] as const) {
    for (const betas of [
      [-0.1, 0.9],
      [1, 0.9],
      [0.9, -0.5],
      [0.9, 1],
      [Number.NaN, 0.9],
    ] as [number, number][]) {
      throwsExactly(
        () => new Opt([p], { betas }),
        ArgumentError,
        `${name}: betas must be in [0, 1), got [${betas[0]}, ${betas[1]}]`,
      );
    }
    throwsExactly(() => new Opt([p], { eps: -1e-8 }), ArgumentError, `${name}: eps must be >= 0, got -1e-8`);
    throwsExactly(() => new Opt([p], { eps: Number.NaN }), ArgumentError, `${name}: eps must be >= 0, got NaN`);
    // The bounds themselves are allowed.
    assert.doesNotThrow(() => new Opt([p], { betas: [0, 0], eps: 0 }));
  }
});

test('SGD refuses a negative momentum, and Nesterov without momentum or with dampening', () => {
  const p = param([1], 'float32');
  throwsExactly(() => new SGD([p], { lr: 0.1, momentum: -0.5 }), ArgumentError, 'SGD: momentum must be >= 0, got -0.5');
  for (const opts of [
    { momentum: 0, nesterov: true },
    { momentum: 0.9, dampening: 0.1, nesterov: true },
  ]) {
    throwsExactly(
      () => new SGD([p], { lr: 0.1, ...opts }),
      ArgumentError,
      'SGD: Nesterov momentum needs momentum > 0 and dampening 0',
    );
  }
});

for (const dtype of ['float64', 'float32'] as const) {
  test(`SGD without momentum ignores dampening and keeps no momentum buffer (${dtype})`, () => {
    const p = param([1, -2], dtype);
    const opt = new SGD([p], { lr: 0.1, momentum: 0, dampening: 0.5 });
    // Two plain steps of -lr·g: the second is not damped.
    const got = run(p, opt, [1, 2], 2);
    assert.ok(Math.abs(got[0]! - 0.8) < 1e-6 && Math.abs(got[1]! + 2.4) < 1e-6, `got ${got.join(', ')}`);
    assert.deepEqual(opt.stateDict().state, { 0: {} });
  });

  test(`weight decay 0 adds nothing to the gradient: an infinite parameter stays infinite (${dtype})`, () => {
    for (const make of [
      (ps: Tensor[]) => new Adam(ps, { lr: 0.1 }),
      (ps: Tensor[]) => new AdamW(ps, { lr: 0.1, weightDecay: 0 }),
      (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9 }),
    ]) {
      const p = param([Number.POSITIVE_INFINITY, 1], dtype);
      const opt = make([p]);
      const got = run(p, opt, [1, 2], 2);
      assert.equal(got[0], Number.POSITIVE_INFINITY, `${opt.constructor.name}: ${got.join(', ')}`);
      assert.ok(Number.isFinite(got[1]), `${opt.constructor.name}: ${got.join(', ')}`);
    }
  });
}

/** One Adam step on a float32 wasm parameter from a loaded state; the parameter's values and the new state. */
function adamFrom(fused: boolean, amsgrad: boolean, state: Record<string, number | number[]>) {
  setFusedOptimizers(fused);
  try {
    const p = tensor([1, -2], { requiresGrad: true, backend: wasmBackend as Backend });
    const opt = new Adam([p], { lr: 0.1, amsgrad });
    const sd = opt.stateDict();
    const entry: OptimizerStateDict['state'][number] = {};
    for (const [k, v] of Object.entries(state)) entry[k] = typeof v === 'number' ? v : { shape: [2], data: v };
    opt.loadStateDict({ ...sd, state: { 0: entry } });
    p.grad = tensor([0.5, 1], { backend: wasmBackend as Backend });
    opt.step();
    return { param: values(p), state: opt.stateDict().state };
  } finally {
    setFusedOptimizers(true);
  }
}

const noSimd = wasmFeatures().kernels ? false : 'WebAssembly SIMD is not available on this engine';

test('Adam from a saved state with only the first moment: fused and op-by-op agree', { skip: noSimd }, () => {
  const state = { step: 3, expAvg: [0.2, -0.1] };
  const fused = adamFrom(true, false, state);
  const plain = adamFrom(false, false, state);
  assert.deepEqual(fused, plain);
  // The op-by-op rule: the missing second moment starts from zero, the first continues.
  const m = [0.2 * 0.9 + 0.05, -0.1 * 0.9 + 0.1];
  const v = [0.001 * 0.25, 0.001 * 1];
  const expected = [1, -2].map(
    (x, i) => x - (0.1 * (m[i]! / (1 - 0.9 ** 4))) / (Math.sqrt(v[i]! / (1 - 0.999 ** 4)) + 1e-8),
  );
  plain.param.forEach((x, i) => assert.ok(Math.abs(x - expected[i]!) < 1e-5, `param ${i}: ${x} vs ${expected[i]}`));
});

test('Adam without AMSGrad ignores a saved AMSGrad maximum: fused and op-by-op agree', { skip: noSimd }, () => {
  const state = { step: 2, expAvg: [0.1, 0.1], expAvgSq: [0.01, 0.01], maxExpAvgSq: [100, 100] };
  const fused = adamFrom(true, false, state);
  assert.deepEqual(fused, adamFrom(false, false, state));
  // Without the maximum the step is the plain Adam step from these moments.
  const { maxExpAvgSq: _ignored, ...moments } = state;
  void _ignored;
  assert.deepEqual(fused.param, adamFrom(false, false, moments).param);
});

test('Adam with AMSGrad resumed from a state saved without it: fused and op-by-op agree', { skip: noSimd }, () => {
  // The saved run had amsgrad off, so there is no maximum yet: this step's second moment is the maximum.
  const state = { step: 2, expAvg: [0.1, 0.1], expAvgSq: [0.01, 0.01] };
  const fused = adamFrom(true, true, state);
  assert.deepEqual(fused, adamFrom(false, true, state));
  assert.deepEqual(fused.param, adamFrom(false, false, state).param);
});
