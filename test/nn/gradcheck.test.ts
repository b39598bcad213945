/**
 * Float64 gradient checks (central differences) of the composite layers and
 * losses in nn.functional, and of a small conv → relu → pool → linear
 * pipeline built from functional ops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  TsgradError,
  binaryCrossEntropyWithLogits,
  conv2d,
  crossEntropy,
  flatten,
  fromArray,
  functional as F,
  gradcheck,
  l1Loss,
  l1Penalty,
  l2Penalty,
  logSoftmax,
  maxPool2d,
  mseLoss,
  nllLoss,
  rand,
  relu,
  softmax,
  tensor,
  type Reduction,
  type Tensor,
} from '../../src/index.js';
import { awayFromZero, rn } from '../helpers/random.js';

const f64 = { dtype: 'float64' } as const;

const labels = tensor([2, 0, 4, 1], { dtype: 'int32' });
const reductions: Reduction[] = ['mean', 'sum', 'none'];

function check(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], expectChecked?: number): void {
  const r = gradcheck(fn, inputs);
  assert.ok(r.checked > 0, 'something was checked');
  if (expectChecked !== undefined) assert.equal(r.checked, expectChecked);
}

test('gradcheck itself catches a wrong gradient', () => {
  // x·detach(x) has true gradient 2x but autograd sees only x: gradcheck must object.
  assert.throws(() => gradcheck((x) => x.mul(x.detach()).sum(), [rn([4], 1)]), TsgradError);
});

test('gradcheck: linear (x, weight, bias)', () => {
  check((x, w, b) => F.linear(x, w, b), [rn([3, 4], 1), rn([5, 4], 2), rn([5], 3)], 12 + 20 + 5);
  check((x, w) => F.linear(x, w), [rn([2, 3, 4], 4), rn([2, 4], 5)]);
});

test('gradcheck: batchNorm in training mode w.r.t. x, weight and bias', () => {
  const bn = (x: Tensor, w: Tensor, b: Tensor): Tensor => F.batchNorm(x, { training: true, weight: w, bias: b }).y;
  check(bn, [rn([5, 3], 6), rn([3], 7), rn([3], 8)], 15 + 3 + 3);
  check(bn, [rn([2, 3, 2, 2], 9), rn([3], 10), rn([3], 11)], 24 + 3 + 3);
  // Running statistics passed in do not change the gradient in training.
  const rm = rn([3], 12);
  const rv = rn([3], 13).abs().add(0.5);
  check(
    (x, w, b) => F.batchNorm(x, { training: true, weight: w, bias: b, runningMean: rm, runningVar: rv, eps: 1e-3 }).y,
    [rn([4, 3, 2], 14), rn([3], 15), rn([3], 16)],
  );
});

test('gradcheck: batchNorm in eval mode', () => {
  const rm = rn([3], 17);
  const rv = rn([3], 18).abs().add(0.5);
  check(
    (x, w, b) => F.batchNorm(x, { training: false, weight: w, bias: b, runningMean: rm, runningVar: rv }).y,
    [rn([4, 3], 19), rn([3], 20), rn([3], 21)],
  );
});

for (const reduction of reductions) {
  for (const labelSmoothing of [0, 0.1]) {
    test(`gradcheck: crossEntropy reduction=${reduction} labelSmoothing=${labelSmoothing}`, () => {
      check((z) => crossEntropy(z, labels, { reduction, labelSmoothing }), [rn([4, 5], 22, 2)], 20);
    });
  }
  test(`gradcheck: nllLoss reduction=${reduction}`, () => {
    check((lp) => nllLoss(lp, labels, { reduction }), [rn([4, 5], 23)], 20);
    // Composed with logSoftmax, as used for classification.
    check((z) => nllLoss(logSoftmax(z, 1), labels, { reduction }), [rn([4, 5], 24)], 20);
  });
}

test('gradcheck: mseLoss w.r.t. prediction and target', () => {
  for (const reduction of reductions)
    check((p, t) => mseLoss(p, t, { reduction }), [rn([3, 4], 25), rn([3, 4], 26)], 24);
});

test('gradcheck: l1Loss away from its kink', () => {
  const target = rn([3, 4], 27);
  const pred = target.add(awayFromZero([3, 4], 28));
  for (const reduction of reductions) check((p, t) => l1Loss(p, t, { reduction }), [pred, target], 24);
});

test('gradcheck: binaryCrossEntropyWithLogits', () => {
  const target = rand([3, 4], { ...f64, generator: new Generator(29) });
  for (const reduction of reductions) {
    check((z, t) => binaryCrossEntropyWithLogits(z, t, { reduction }), [rn([3, 4], 30, 3), target], 24);
  }
});

test('gradcheck: l1Penalty and l2Penalty over several tensors', () => {
  check((a, b) => l1Penalty([a, b]), [awayFromZero([3, 2], 31), awayFromZero([4], 32)], 10);
  check((a, b) => l2Penalty([a, b]), [rn([3, 2], 33), rn([4], 34)], 10);
  check(
    (a) =>
      l2Penalty([a])
        .mul(0.5)
        .add(l1Penalty([a]).mul(0.1)),
    [awayFromZero([5], 35)],
  );
});

test('gradcheck: softmax and logSoftmax along each axis', () => {
  for (const axis of [0, 1, -1]) {
    check((x) => softmax(x, axis), [rn([3, 4], 36, 2)], 12);
    check((x) => logSoftmax(x, axis), [rn([3, 4], 37, 2)], 12);
  }
  check((x) => softmax(x, 1), [rn([2, 3, 2], 38)]);
});

test('gradcheck: dropout with a fixed mask', () => {
  const p = 0.4;
  // A fresh generator with the same seed inside fn: every evaluation draws the same mask.
  const fn = (x: Tensor): Tensor => F.dropout(x, p, true, new Generator(99));
  const x = rn([6, 5], 39);
  check(fn, [x], 30);
  // The mask is non-trivial and the gradient is 0 or 1/(1−p).
  const xg = fromArray(x.dataSync(), [6, 5], { ...f64, requiresGrad: true });
  fn(xg).sum().backward();
  const g = Array.from(xg.grad!.dataSync());
  const kept = g.filter((v) => Math.abs(v - 1 / (1 - p)) < 1e-12).length;
  const dropped = g.filter((v) => v === 0).length;
  assert.equal(kept + dropped, 30);
  assert.ok(kept > 5 && dropped > 5, `kept ${kept}, dropped ${dropped}`);
  check((x2) => F.dropout2d(x2, 0.5, true, new Generator(7)), [rn([2, 4, 2, 2], 40)], 32);
});

test('gradcheck: conv2d → relu → maxPool2d → flatten → linear → crossEntropy in float64', () => {
  const pipeline = (x: Tensor, w: Tensor, b: Tensor, fw: Tensor, fb: Tensor): Tensor => {
    const h = maxPool2d(relu(conv2d(x, w, b, { padding: 1 })), 2);
    return crossEntropy(F.linear(flatten(h, 1), fw, fb), tensor([1, 2], { dtype: 'int32' }), { labelSmoothing: 0.05 });
  };
  // x [2,1,4,4] → conv (pad 1) [2,2,4,4] → pool [2,2,2,2] → 8 features → 3 classes.
  const inputs = [
    rn([2, 1, 4, 4], 41),
    rn([2, 1, 3, 3], 42, 0.5),
    rn([2], 43, 0.1),
    rn([3, 8], 44, 0.5),
    rn([3], 45, 0.1),
  ];
  check(pipeline, inputs, 32 + 18 + 2 + 24 + 3);
  // The output really is float64 all the way.
  assert.equal(pipeline(...(inputs as [Tensor, Tensor, Tensor, Tensor, Tensor])).dtype, 'float64');
});
