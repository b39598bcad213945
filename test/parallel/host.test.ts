/**
 * The copy-avoiding moves between tensors and shared memory that DataParallel's steps use:
 * in place on the host backends, and still correct for views (non-contiguous tensors) and
 * offsets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromArray, getBackend } from '../../src/index.js';
import { storesTypedArrays, tensorOver, valuesOf } from '../../src/parallel/host.js';

const backend = getBackend();

test(
  'tensorOver reads a shared view in place on host backends; valuesOf returns the values of views too',
  { skip: backend.name !== 'cpu' && backend.name !== 'wasm' ? `not a host backend: ${backend.name}` : false },
  () => {
    assert.equal(storesTypedArrays(backend), true);
    const shared = new Float32Array(new SharedArrayBuffer(6 * 4));
    shared.set([1, 2, 3, 4, 5, 6]);
    const t = tensorOver(shared.subarray(2), [2, 2], 'float32', backend);
    assert.deepEqual(Array.from(t.dataSync()), [3, 4, 5, 6]);
    // No copy: the tensor sees what is written to the view (DataParallel writes only between steps).
    shared[5] = 60;
    assert.deepEqual(Array.from(t.mul(2).dataSync()), [6, 8, 10, 120]);
    const m = fromArray(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    assert.deepEqual(Array.from(valuesOf(m.transpose(0, 1))), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(Array.from(valuesOf(m.reshape([6]).slice([[2, 5]]))), [3, 4, 5]);
    assert.deepEqual(Array.from(valuesOf(m)), [1, 2, 3, 4, 5, 6]);
  },
);
