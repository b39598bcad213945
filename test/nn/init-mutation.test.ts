/**
 * nn.init (src/nn/init.ts) beyond layers-mutation-init: constant_ fills whatever the tensor held
 * before, as PyTorch's torch.nn.init.constant_ does (it once multiplied by 0 and added the value, which
 * left NaN where the tensor held NaN or ±Infinity: a diverged parameter could not be reset).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Linear, init, tensor } from '../../src/index.js';
import { values } from '../helpers/nn-fixtures.js';

test('constant_ overwrites NaN and infinities, in place, keeping dtype and shape', () => {
  const t = tensor(
    [
      [Number.NaN, Number.POSITIVE_INFINITY],
      [Number.NEGATIVE_INFINITY, 2],
    ],
    { dtype: 'float64' },
  );
  assert.equal(init.constant_(t, 0.5), t);
  assert.deepEqual(values(t), [0.5, 0.5, 0.5, 0.5]);
  assert.equal(t.dtype, 'float64');
  assert.deepEqual(t.shape, [2, 2]);
  // filled in the tensor's own dtype: 0.1 exactly in float64, not float32's nearest value
  assert.deepEqual(values(init.constant_(t, 0.1)), [0.1, 0.1, 0.1, 0.1]);
  const fc = new Linear(2, 2);
  fc.bias!.assign(tensor([Number.NaN, 1]));
  init.constant_(fc.bias!, 0);
  assert.deepEqual(values(fc.bias!), [0, 0]);
  assert.equal(fc.bias!.node, null, 'not recorded by autograd');
  assert.equal(fc.bias!.requiresGrad, true);
});
