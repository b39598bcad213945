/**
 * Layouts without copies: reshape of a strided view shares storage wherever strides exist
 * (viewStrides), and a Linear weight's gradient comes back in the weight's own dense layout
 * (the matmul rule computes the transposed product for a transposed operand), so the
 * optimizer's elementwise updates never walk a transposed gradient.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { viewStrides } from '../../src/core/shape.js';

const arr = (t: Tensor): number[] => [...t.dataSync()];

describe('reshape without copies', () => {
  test('viewStrides merges and splits dense runs, and refuses what needs a copy', () => {
    // A transposed [3, 4] matrix: [4, 3] with strides [1, 4]. (A size-1 dimension's stride
    // is never used; viewStrides gives it the next one's extent.)
    assert.deepEqual(viewStrides([4, 3], [1, 4], [1, 4, 3]), [4, 1, 4]);
    assert.deepEqual(viewStrides([4, 3], [1, 4], [4, 3, 1]), [1, 4, 1]);
    assert.equal(viewStrides([4, 3], [1, 4], [12]), null);
    assert.equal(viewStrides([4, 3], [1, 4], [2, 6]), null);
    // Dense [2, 3, 4]: any regrouping.
    assert.deepEqual(viewStrides([2, 3, 4], [12, 4, 1], [6, 4]), [4, 1]);
    assert.deepEqual(viewStrides([2, 3, 4], [12, 4, 1], [2, 2, 2, 3]), [12, 6, 3, 1]);
    // A sliced row block: rows 8 apart, 4 wide; split the rows but not across them.
    assert.deepEqual(viewStrides([6, 4], [8, 1], [2, 3, 2, 2]), [24, 8, 2, 1]);
    assert.equal(viewStrides([6, 4], [8, 1], [24]), null);
    // A broadcast dimension keeps stride 0 when split.
    assert.deepEqual(viewStrides([6, 5], [0, 1], [2, 3, 5]), [0, 0, 1]);
  });

  test('reshape of a strided view shares storage where strides fit, copies where not', () => {
    const m = T.arange(12).reshape([3, 4]);
    const t = m.transpose(0, 1);
    const v = t.reshape([1, 4, 3]);
    assert.equal(v.storage, m.storage);
    assert.deepEqual(v.arraySync(), [t.arraySync()]);
    const flat = t.reshape([12]);
    assert.notEqual(flat.storage, m.storage);
    assert.deepEqual(arr(flat), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  test("a Linear weight's gradient comes back dense, in the weight's layout", () => {
    const lin = new T.Linear(30, 20);
    lin
      .forward(T.randn([5, 30]))
      .sum()
      .backward();
    assert.ok(lin.weight.grad!.isContiguous());
    // gradcheck throws on a mismatch.
    const gd = T.gradcheck(
      (a, b) => a.matmul(b.transpose(0, 1)).tanh().sum(),
      [T.randn([3, 4], { dtype: 'float64' }), T.randn([5, 4], { dtype: 'float64' })],
    );
    assert.ok(gd.checked > 0);
    const ga = T.gradcheck(
      (a, b) => a.transpose(0, 1).matmul(b).sigmoid().sum(),
      [T.randn([4, 3], { dtype: 'float64' }), T.randn([4, 5], { dtype: 'float64' })],
    );
    assert.ok(ga.checked > 0);
  });
});
