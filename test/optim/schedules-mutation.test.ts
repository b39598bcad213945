// The learning-rate schedules step by step against their closed forms (as PyTorch's StepLR, MultiStepLR,
// ExponentialLR and a warm-up + cosine schedule define them), over two parameter groups with different
// base rates; their option checks; and their state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  CosineAnnealingLR,
  ExponentialLR,
  type LRScheduler,
  MultiStepLR,
  SGD,
  StepLR,
  tensor,
} from '../../src/index.js';
import { throwsExactly } from '../helpers/nn-fixtures.js';

/** An optimizer with two groups, base lrs 1 and 0.5. */
function twoGroups(): SGD {
  return new SGD(
    [{ params: [tensor([0], { requiresGrad: true })] }, { params: [tensor([0], { requiresGrad: true })], lr: 0.5 }],
    { lr: 1 },
  );
}

/** The first group's lr at steps 0..n (after constructing, then after each step()), and checks the second group. */
function trace(s: LRScheduler, opt: SGD, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= n; i++) {
    if (i > 0) s.step();
    const [a, b] = opt.lrs as [number, number];
    assert.ok(Math.abs(b - a * 0.5) <= 1e-15, `group 2 follows the same factor: ${a} ${b}`);
    assert.deepEqual(s.lrs, [a, b]);
    out.push(a);
  }
  return out;
}

function close(actual: number[], expected: number[], label: string): void {
  assert.equal(actual.length, expected.length, label);
  actual.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]!) <= 1e-12, `${label} step ${i}: ${v} vs ${expected[i]}`),
  );
}

test('StepLR: lr·gamma^⌊step/stepSize⌋, gamma 0.1 by default', () => {
  const opt = twoGroups();
  const s = new StepLR(opt, { stepSize: 3, gamma: 0.5 });
  assert.deepEqual(s.baseLrs, [1, 0.5]);
  close(trace(s, opt, 7), [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25], 'StepLR');
  assert.equal(s.stepCount, 7);
  const opt2 = twoGroups();
  close(trace(new StepLR(opt2, { stepSize: 1 }), opt2, 2), [1, 0.1, 0.01], 'default gamma');
  throwsExactly(() => new StepLR(twoGroups(), { stepSize: 0 }), ArgumentError, 'StepLR: stepSize must be >= 1, got 0');
  throwsExactly(
    () => new StepLR(twoGroups(), { stepSize: NaN }),
    ArgumentError,
    'StepLR: stepSize must be >= 1, got NaN',
  );
});

test('MultiStepLR: one factor gamma at each milestone reached (step >= milestone)', () => {
  const opt = twoGroups();
  close(
    trace(new MultiStepLR(opt, { milestones: [2, 5], gamma: 0.5 }), opt, 6),
    [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25],
    'MultiStepLR',
  );
  const opt2 = twoGroups();
  close(trace(new MultiStepLR(opt2, { milestones: [1] }), opt2, 2), [1, 0.1, 0.1], 'default gamma 0.1');
});

test('ExponentialLR: lr·gamma^step', () => {
  const opt = twoGroups();
  close(trace(new ExponentialLR(opt, { gamma: 0.5 }), opt, 4), [1, 0.5, 0.25, 0.125, 0.0625], 'ExponentialLR');
});

test('CosineAnnealingLR: linear warm-up to the peak, then half a cosine to minFactor·lr, flat after totalSteps', () => {
  const c = (t: number) => (1 + Math.cos(Math.PI * t)) / 2;
  const opt = twoGroups();
  close(
    trace(new CosineAnnealingLR(opt, { totalSteps: 4 }), opt, 6),
    [1, c(0.25), 0.5, c(0.75), 0, 0, 0],
    'no warm-up',
  );
  const opt2 = twoGroups();
  close(
    trace(new CosineAnnealingLR(opt2, { totalSteps: 6, warmupSteps: 2, minFactor: 0.1 }), opt2, 7),
    [1 / 3, 2 / 3, 1, 0.1 + 0.9 * c(0.25), 0.1 + 0.9 * c(0.5), 0.1 + 0.9 * c(0.75), 0.1, 0.1],
    'warm-up 2, minFactor 0.1',
  );
  throwsExactly(
    () => new CosineAnnealingLR(twoGroups(), { totalSteps: 0 }),
    ArgumentError,
    'CosineAnnealingLR: totalSteps must be >= 1, got 0',
  );
  throwsExactly(
    () => new CosineAnnealingLR(twoGroups(), { totalSteps: NaN }),
    ArgumentError,
    'CosineAnnealingLR: totalSteps must be >= 1, got NaN',
  );
  throwsExactly(
    () => new CosineAnnealingLR(twoGroups(), { totalSteps: 3, warmupSteps: 3 }),
    ArgumentError,
    'CosineAnnealingLR: warmupSteps (3) must be below totalSteps (3)',
  );
  // One step in all, with warm-up 0 below it: allowed.
  const opt3 = twoGroups();
  close(trace(new CosineAnnealingLR(opt3, { totalSteps: 1 }), opt3, 1), [1, 0], 'totalSteps 1');
});

test('schedules: state is the step count; loading it sets the lr it implies, from the base lrs', () => {
  const opt = twoGroups();
  const s = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
  s.step();
  s.step();
  s.step();
  assert.deepEqual(s.stateDict(), { stepCount: 3 });
  const opt2 = twoGroups();
  const back = new StepLR(opt2, { stepSize: 2, gamma: 0.5 });
  back.loadStateDict(JSON.parse(JSON.stringify(s.stateDict())) as { stepCount: number });
  assert.equal(back.stepCount, 3);
  assert.deepEqual(opt2.lrs, [0.5, 0.25]);
  back.step();
  assert.deepEqual(opt2.lrs, [0.25, 0.125]);
  // The base lrs are those of the optimizer when the schedule was built, whatever the groups say later.
  opt2.paramGroups[0]!.lr = 123;
  back.loadStateDict({ stepCount: 0 });
  assert.deepEqual(opt2.lrs, [1, 0.5]);
});
