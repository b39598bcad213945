/**
 * gradcheck (src/autograd/gradcheck.ts) case by case, for mutation testing (npm run mutate): which
 * inputs it checks (float64 ones by default, `wrt` when given, every entry counted), its central
 * difference step, the largest error it reports, inputs that do not reach the output, and its error
 * messages (the input, its shape, the flat index and both values).
 *
 * A wrong gradient with the right forward value: x·(1 + δ) − detach(x)·δ equals x, but backward sees
 * the factor 1 + δ.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DTypeError, Generator, TsgradError, gradcheck, randn, tensor, type Tensor } from '../../src/index.js';
import { throwsExactly, values } from '../helpers/nn-fixtures.js';
import { rn } from '../helpers/random.js';

const skewed = (x: Tensor, delta: number): Tensor => x.mul(1 + delta).sub(x.detach().mul(delta));

/** The weights gradcheck projects an output of this shape on (its fixed Generator(1234)). */
const projection = (shape: number[]): number[] =>
  values(randn(shape, { dtype: 'float64', generator: new Generator(1234) }));

test('gradcheck checks the float64 inputs by default and counts every entry it compares', () => {
  const a = rn([2, 3], 1);
  const b = rn([4], 2);
  assert.equal(gradcheck((x, y) => x.sum().mul(y.sum()), [a, b]).checked, 10);
  // a float32 or int32 input is a constant unless named in wrt
  const c = tensor([1, 2, 3, 4]);
  const labels = tensor([0, 1], { dtype: 'int32' });
  assert.equal(gradcheck((x, y, z) => x.sum().mul(y.sum()).add(z.sum()), [a, c, b, labels]).checked, 10);
  // wrt picks inputs: a wrong gradient in an input left out passes
  assert.equal(gradcheck((x, y) => skewed(x, 0.1).mul(y), [rn([3], 3), rn([3], 4)], { wrt: [1] }).checked, 3);
  assert.throws(() => gradcheck((x, y) => skewed(x, 0.1).mul(y), [rn([3], 3), rn([3], 4)], { wrt: [0] }), TsgradError);
  throwsExactly(
    () => gradcheck((x, y) => x.mul(y), [rn([3], 3), c.narrow(0, 0, 3)], { wrt: [0, 1] }),
    DTypeError,
    'gradcheck: input 1 must be float64, got float32',
  );
  throwsExactly(
    () => gradcheck((x) => x, [tensor([1, 2])], { wrt: [0] }),
    DTypeError,
    'gradcheck: input 0 must be float64, got float32',
  );
});

test('only the checked inputs require a gradient: the others reach fn as constants', () => {
  const seen: boolean[][] = [];
  const r = gradcheck(
    (x, y, z) => {
      seen.push([x.requiresGrad, y.requiresGrad, z.requiresGrad]);
      return x.mul(y).sum().add(z.sum());
    },
    [rn([2], 11), rn([2], 12), tensor([1, 2, 3])],
    { wrt: [1] },
  );
  assert.equal(r.checked, 2);
  // the first call records the graph; the central differences run without one
  assert.deepEqual(seen[0], [false, true, false]);
  assert.equal(seen.length, 1 + 2 * 2);
});

test('an input that does not reach the output has gradient zero, which central differences confirm', () => {
  const r = gradcheck((x) => x.mul(2), [rn([3], 5), rn([2, 2], 6)]);
  assert.equal(r.checked, 7);
  assert.ok(r.maxAbsError < 1e-8, `maxAbsError ${r.maxAbsError}`);
});

test('an entry passes when |analytic − numeric| <= atol + rtol·|numeric|, equality included', () => {
  // x·0: analytic and numeric gradients are both exactly 0, and 0 <= 0 passes with no tolerance at all
  const r = gradcheck((x) => x.mul(0), [rn([3], 13)], { atol: 0, rtol: 0 });
  assert.equal(r.checked, 3);
  assert.equal(r.maxAbsError, 0);
});

test('maxAbsError is the largest |analytic − numeric| over all entries', () => {
  // f = 10·skewed(x, 1%): analytic 10.1·w_j, numeric 10·w_j, so the error of entry j is 0.1·|w_j|
  const x = rn([6], 7);
  const w = projection([6]);
  const r = gradcheck((v) => skewed(v, 0.01).mul(10), [x], { rtol: 0.02 });
  const expected = 0.1 * Math.max(...w.map(Math.abs));
  assert.ok(Math.abs(r.maxAbsError - expected) < 1e-6 * expected, `maxAbsError ${r.maxAbsError}, expected ${expected}`);
  assert.equal(r.checked, 6);
  // exact gradients: tiny errors
  assert.ok(gradcheck((v) => v.square(), [x]).maxAbsError < 1e-7);
});

test('the default step is 1e-6: a kink 0.5e-6 away spoils it, a step of 1e-7 does not', () => {
  // |x| at x = 0.5e-6: central differences with step 1e-6 straddle the kink (numeric 0.5, analytic 1)
  const near = tensor([0.5e-6], { dtype: 'float64' });
  assert.throws(() => gradcheck((v) => v.abs(), [near]), TsgradError);
  assert.equal(gradcheck((v) => v.abs(), [near], { eps: 1e-7 }).checked, 1);
  assert.equal(gradcheck((v) => v.abs(), [tensor([2e-6], { dtype: 'float64' })]).checked, 1);
});

test("the inputs' own values are never touched, even by a function that reads them directly", () => {
  const x = rn([4], 8);
  const before = values(x);
  // fn multiplies its argument by the original tensor: d/dv Σ v·x·w = x·w
  assert.equal(gradcheck((v) => v.mul(x), [x]).checked, 4);
  assert.deepEqual(values(x), before);
});

test('a mismatch names the input, its shape, the flat index and both values', () => {
  const a = rn([2], 9);
  const b = rn([2, 3], 10);
  const w = projection([2, 3]);
  assert.throws(
    () => gradcheck((x, y) => skewed(y, 0.5).add(x.sum()), [a, b]),
    (e: unknown) => {
      assert.ok(e instanceof TsgradError);
      const m =
        /^gradcheck: gradient of input 1 \[2,3\] at flat index 0 is (\S+), central differences give (\S+) \(\|diff\| (\S+)\)$/.exec(
          e.message,
        );
      assert.ok(m, e.message);
      const [analytic, numeric, diff] = [Number(m[1]), Number(m[2]), Number(m[3])];
      assert.ok(Math.abs(analytic - 1.5 * w[0]!) < 1e-12, `analytic ${analytic}`);
      assert.ok(Math.abs(numeric - w[0]!) < 1e-6, `numeric ${numeric}`);
      assert.equal(m[3], Math.abs(analytic - numeric).toExponential(2));
      assert.ok(diff > 0);
      return true;
    },
  );
});
