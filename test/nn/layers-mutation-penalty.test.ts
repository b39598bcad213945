/**
 * Per-parameter L1 / L2 penalties (src/nn/penalty.ts), case by case, for mutation testing
 * (npm run mutate): which parameters penalize() reaches, what a penalty must look like (each error
 * names where it was given and the bad value), and regularizationLoss computed by hand, with its
 * gradient l1·sign(w) + 2·l2·w.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArgumentError,
  BatchNorm1d,
  Linear,
  Sequential,
  penalize,
  penalizedParameters,
  regularizationLoss,
  tensor,
} from '../../src/index.js';
import { assertClose, throwsExactly, values } from '../helpers/nn-fixtures.js';

test('a penalty is { l1?, l2? } of finite numbers >= 0; zero or empty means none', () => {
  const fc = (p: unknown): Linear => new Linear(2, 2, { weightPenalty: p as never });
  assert.equal(fc(undefined).weight.penalty, null);
  assert.equal(fc(null).weight.penalty, null);
  assert.equal(fc({}).weight.penalty, null);
  assert.equal(fc({ l1: 0, l2: 0 }).weight.penalty, null);
  assert.deepEqual(fc({ l1: 0.1 }).weight.penalty, { l1: 0.1, l2: 0 });
  assert.deepEqual(fc({ l2: 0.2 }).weight.penalty, { l1: 0, l2: 0.2 });
  assert.deepEqual(fc({ l1: 0, l2: 0.2 }).weight.penalty, { l1: 0, l2: 0.2 });
  for (const [bad, shown] of [
    [5, '5'],
    [[1], '1'],
    ['l2', 'l2'],
  ] as const) {
    throwsExactly(
      () => fc(bad),
      ArgumentError,
      `Linear weightPenalty: a penalty is an object like { l2: 1e-4 }, got ${shown}`,
    );
  }
  throwsExactly(
    () => fc({ l3: 1, decay: 2 }),
    ArgumentError,
    'Linear weightPenalty: unknown penalty l3, decay (accepted: l1, l2)',
  );
  for (const [key, v, shown] of [
    ['l1', -1, '-1'],
    ['l2', -0.5, '-0.5'],
    ['l1', Number.NaN, 'NaN'],
    ['l2', Number.POSITIVE_INFINITY, 'Infinity'],
    ['l1', '0.1', '0.1'],
  ] as const) {
    throwsExactly(
      () => fc({ [key]: v }),
      ArgumentError,
      `Linear weightPenalty: penalty ${key} must be a finite number >= 0, got ${shown}`,
    );
  }
});

test('penalize: weights (rank >= 2) by default, every parameter with which: all; {} removes', () => {
  const net = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
  assert.equal(penalize(net, { l2: 1e-3 }), net);
  assert.deepEqual(
    net.namedParameters().map(([n, p]) => [n, p.penalty]),
    [
      ['0.weight', { l1: 0, l2: 1e-3 }],
      ['0.bias', null],
      ['1.weight', null],
      ['1.bias', null],
    ],
  );
  assert.deepEqual(penalizedParameters(net), [net.namedParameters()[0]![1]]);
  penalize(net, { l1: 2e-3 }, { which: 'weights' });
  assert.deepEqual(net.namedParameters()[0]![1].penalty, { l1: 2e-3, l2: 0 }, 'replaced, not added');
  penalize(net, { l1: 1e-2 }, { which: 'all' });
  assert.ok(net.parameters().every((p) => p.penalty?.l1 === 1e-2));
  assert.equal(penalizedParameters(net).length, 4);
  penalize(net, {}, { which: 'all' });
  assert.deepEqual(penalizedParameters(net), []);
  assert.equal(regularizationLoss(net), null, 'no penalty, no loss term');
  throwsExactly(
    () => penalize(net, { l2: 1 }, { which: 'biases' as never }),
    ArgumentError,
    "penalize: which must be 'weights' or 'all', got biases",
  );
  throwsExactly(
    () => penalize(net, { l4: 1 } as never),
    ArgumentError,
    'penalize: unknown penalty l4 (accepted: l1, l2)',
  );
});

test('regularizationLoss = Σ l1·Σ|w| + l2·Σw² by hand, and its gradient l1·sign(w) + 2·l2·w', () => {
  const a = new Linear(2, 1, { weightPenalty: { l1: 0.5 }, biasPenalty: { l2: 2 } });
  a.weight.assign(tensor([[3, -4]]));
  a.bias!.assign(tensor([-1.5]));
  const b = new Linear(1, 1, { bias: false, weightPenalty: { l1: 0.25, l2: 0.5 } });
  b.weight.assign(tensor([[-2]]));
  const net = new Sequential(a, b);
  const loss = regularizationLoss(net)!;
  // a.weight: 0.5·7; a.bias: 2·2.25; b.weight: 0.25·2 + 0.5·4
  assertClose(loss, [3.5 + 4.5 + 0.5 + 2], 1e-6, 'loss');
  loss.backward();
  assertClose(a.weight.grad!, [0.5, -0.5], 1e-6, 'l1 gradient');
  assertClose(a.bias!.grad!, [2 * 2 * -1.5], 1e-6, 'l2 gradient');
  assertClose(b.weight.grad!, [-0.25 + 2 * 0.5 * -2], 1e-6, 'l1 + l2 gradient');
  const only = new Linear(2, 1, { bias: false, weightPenalty: { l2: 0.1 } });
  only.weight.assign(tensor([[1, 2]]));
  assertClose(regularizationLoss(only)!, [0.5], 1e-6, 'l2 alone');
  assert.equal(regularizationLoss(new Linear(2, 2)), null);
  assert.deepEqual(values(only.weight), [1, 2]);
});
