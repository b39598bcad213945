/**
 * gradcheck's own verdicts: it must reject a gradient wrong by 1%, and its default
 * tolerance must be the documented |analytic − numeric| ≤ 1e-6 + 1e-4·|numeric|, within a
 * factor of 2 either way (a loosened default would let wrong gradients through every
 * gradcheck of the suite).
 *
 * A wrong gradient with the right forward value: y = x·(1 + δ) − detach(x)·δ equals x, but
 * backward sees the factor 1 + δ, so the analytic gradient is off by the relative error δ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, TsgradError, gradcheck, randn, type Tensor } from '../../src/index.js';
import { rn } from '../helpers/random.js';

/** x with its gradient scaled by 1 + delta (forward value unchanged). */
const skewed = (x: Tensor, delta: number): Tensor => x.mul(1 + delta).sub(x.detach().mul(delta));

/** The output weight gradcheck projects a one-entry output on (its fixed Generator(1234)). */
const firstWeight = Math.abs(randn([1], { dtype: 'float64', generator: new Generator(1234) }).itemSync());

test('gradcheck rejects a gradient wrong by 1%, in smooth functions of every size of value', () => {
  for (const scale of [1e-2, 1, 1e3]) {
    const x = rn([3, 4], 7).mul(scale);
    // The correct gradient passes ...
    assert.ok(gradcheck((v) => v.tanh().mul(v), [x]).checked === 12, `scale ${scale}: correct gradient passes`);
    // ... and 1% more on it does not.
    assert.throws(
      () => gradcheck((v) => skewed(v.tanh().mul(v), 0.01), [x]),
      TsgradError,
      `scale ${scale}: 1% wrong must fail`,
    );
  }
  // 1% wrong in only one input of two is caught, and the message names that input.
  assert.throws(
    () => gradcheck((a, b) => a.mul(skewed(b, 0.01)).sum(), [rn([5], 1), rn([5], 2)]),
    (e: Error) => e instanceof TsgradError && /input 1/.test(e.message),
  );
});

test('gradcheck default rtol is 1e-4: half of it passes, twice it fails', () => {
  // Large values (|numeric| = 1e3·|w|) make atol negligible: only rtol decides.
  const x = rn([8], 3);
  const big = (delta: number) => (v: Tensor) => skewed(v, delta).mul(1e3);
  assert.doesNotThrow(() => gradcheck(big(0.5e-4), [x]));
  assert.throws(() => gradcheck(big(2e-4), [x]), TsgradError);
});

test('gradcheck default atol is 1e-6: where the true gradient is 0, an error of half of it passes, twice it fails', () => {
  // y = x·d − detach(x)·d is 0 with gradient d: the numeric gradient is 0, the analytic one d·|w|.
  const zeroWithGradient = (d: number) => (v: Tensor) => v.mul(d).sub(v.detach().mul(d));
  const x = rn([1], 4);
  assert.doesNotThrow(() => gradcheck(zeroWithGradient(0.5e-6 / firstWeight), [x]));
  assert.throws(() => gradcheck(zeroWithGradient(2e-6 / firstWeight), [x]), TsgradError);
});

test('gradcheck options: a looser rtol accepts what the default rejects, a tighter one rejects what it accepts', () => {
  const x = rn([8], 5);
  const f = (v: Tensor) => skewed(v, 0.01).mul(10);
  assert.throws(() => gradcheck(f, [x]), TsgradError);
  assert.doesNotThrow(() => gradcheck(f, [x], { rtol: 0.02 }));
  const g = (v: Tensor) => skewed(v, 1e-5).mul(10);
  assert.doesNotThrow(() => gradcheck(g, [x]));
  assert.throws(() => gradcheck(g, [x], { rtol: 1e-6, atol: 0 }), TsgradError);
});
