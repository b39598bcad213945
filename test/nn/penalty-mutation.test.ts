/**
 * regularizationLoss (src/nn/penalty.ts) beyond layers-mutation-penalty: a strength of 0 adds no term
 * at all (not 0·Σ|w|, which is NaN for a parameter holding ±Infinity), and a penalty of zeros set
 * directly on a parameter (the field is public) is skipped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Linear, Sequential, regularizationLoss, tensor } from '../../src/index.js';
import { assertClose } from '../helpers/nn-fixtures.js';

test('a zero strength adds no term: an infinite weight gives an infinite penalty, not NaN', () => {
  const l2only = new Linear(2, 1, { bias: false, weightPenalty: { l2: 0.5 } });
  l2only.weight.assign(tensor([[Number.POSITIVE_INFINITY, 1]]));
  assert.equal(regularizationLoss(l2only)!.itemSync(), Number.POSITIVE_INFINITY);
  const l1only = new Linear(2, 1, { bias: false, weightPenalty: { l1: 0.5 } });
  l1only.weight.assign(tensor([[Number.NEGATIVE_INFINITY, 1]]));
  assert.equal(regularizationLoss(l1only)!.itemSync(), Number.POSITIVE_INFINITY);
});

test('a penalty of zeros assigned directly is skipped, before or after a real one', () => {
  const a = new Linear(1, 1, { bias: false, weightPenalty: { l2: 2 } });
  a.weight.assign(tensor([[3]]));
  const b = new Linear(1, 1, { bias: false });
  b.weight.penalty = { l1: 0, l2: 0 };
  assertClose(regularizationLoss(new Sequential(a, b))!, [18], 1e-6, 'zeros after');
  assertClose(regularizationLoss(new Sequential(b, a))!, [18], 1e-6, 'zeros before');
  assert.equal(regularizationLoss(b), null);
});
