// The backward engine itself, on graphs small enough to differentiate by hand: accumulation over
// several uses, broadcast gradients summed back, hooks, retained and freed graphs, and its errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeError, TsgradError, noGrad, tensor } from '../../src/index.js';
import { sumToShape } from '../../src/autograd/engine.js';
import type { Tensor } from '../../src/index.js';

const f64 = (v: number[] | number[][], requiresGrad = true) => tensor(v, { dtype: 'float64', requiresGrad });
const values = (t: Tensor | null) => Array.from(t!.dataSync());

test('a tensor used on several paths gets the sum of their gradients (diamond graphs)', () => {
  const x = f64([1, -2, 3]);
  // y = x·x + 3x, z = y·x  ⇒  z = x³ + 3x², dz/dx = 3x² + 6x.
  const y = x.mul(x).add(x.mul(3));
  y.mul(x).sum().backward();
  assert.deepEqual(values(x.grad), [9, 0, 45]);
  // A deep chain that revisits the same tensors: w = ((x + x) + (x + x)) = 4x.
  const a = f64([2]);
  const b = a.add(a);
  b.add(b).sum().backward();
  assert.deepEqual(values(a.grad), [4]);
});

test('leaf gradients accumulate over backward calls, and inputs that need none are skipped', () => {
  const x = f64([1, 2]);
  const c = f64([5, 7], false);
  x.mul(c).sum().backward();
  x.mul(c).sum().backward();
  assert.deepEqual(values(x.grad), [10, 14]);
  assert.equal(x.grad!.requiresGrad, false, 'without createGraph the sum of two passes is a constant too');
  // Also when the rule's product reads a tensor that requires a gradient (d/dq q² = 2q): nothing is recorded.
  const q = f64([1, 2]);
  q.mul(q).sum().backward();
  q.mul(q).sum().backward();
  assert.deepEqual(values(q.grad), [4, 8]);
  assert.equal(q.grad!.requiresGrad, false);
  assert.equal(c.grad, null);
  // A tensor reached only through a primitive without a gradient (sign) gets none, and backward goes on.
  const s = f64([-1, 2]);
  const t = f64([3, 4]);
  s.sign().mul(t).sum().backward();
  assert.equal(s.grad, null);
  assert.deepEqual(values(t.grad), [-1, 1]);
  // A gradient passed in weights the output.
  const v = f64([1, 2, 3]);
  v.mul(v).backward(f64([1, 0, -1], false));
  assert.deepEqual(values(v.grad), [2, 0, -6]);
});

test('broadcast inputs get their gradients summed back to their own shape', () => {
  const row = f64([[1, 2, 3]]); // [1, 3]
  const col = f64([[10], [20]]); // [2, 1]
  const s = f64([4]); // [1] against [2, 3]
  row.mul(col).mul(s).sum().backward();
  assert.deepEqual(values(row.grad), [120, 120, 120]);
  assert.deepEqual(values(col.grad), [24, 24]);
  assert.deepEqual(values(s.grad), [(1 + 2 + 3) * 30]);
  assert.deepEqual([...row.grad!.shape], [1, 3]);
  assert.deepEqual([...col.grad!.shape], [2, 1]);
  // Leading axes and size-1 axes together.
  const g = tensor(
    Array.from({ length: 2 * 3 * 1 * 4 }, (_, i) => i),
    { dtype: 'float64', shape: [2, 3, 1, 4] },
  );
  const r = sumToShape(g, [3, 1, 1]);
  assert.deepEqual([...r.shape], [3, 1, 1]);
  // Entry c sums g[b, c, 0, k] over b and k: Σ (12b + 4c + k) = 8·4c + 4·12 + 2·6.
  assert.deepEqual(
    values(r),
    [0, 1, 2].map((c) => 32 * c + 48 + 12),
  );
  assert.equal(sumToShape(g, [2, 3, 1, 4]), g, 'same shape: returned as is');
  assert.deepEqual(values(sumToShape(tensor([[1, 2, 3]]), [3])), [1, 2, 3], 'size-1 axes are only dropped');
});

test('gradient hooks run in registration order; a returned tensor replaces the gradient, undefined keeps it', () => {
  const x = f64([1, 2]);
  const y = x.mul(3);
  const seen: string[] = [];
  y.registerHook((g) => void seen.push(`first ${values(g).join(',')}`));
  const h = y.registerHook((g) => {
    seen.push(`second ${values(g).join(',')}`);
    return g.mul(10);
  });
  y.registerHook((g) => void seen.push(`third ${values(g).join(',')}`));
  y.mul(y).sum().backward(); // dL/dy = 2y = [6, 12]
  assert.deepEqual(seen, ['first 6,12', 'second 6,12', 'third 60,120']);
  assert.deepEqual(values(x.grad), [180, 360]);
  h.remove();
  // A hook on a leaf sees and can change what accumulates.
  const leaf = f64([1, 1]);
  leaf.registerHook((g) => g.neg());
  leaf
    .mul(f64([2, 5], false))
    .sum()
    .backward();
  assert.deepEqual(values(leaf.grad), [-2, -5]);
});

test('a hook returning the wrong shape is a ShapeError naming both shapes', () => {
  const x = f64([1, 2, 3]);
  const y = x.mul(2);
  y.registerHook(() => f64([1, 2], false));
  assert.throws(
    () => y.sum().backward(),
    (e: unknown) =>
      e instanceof ShapeError && e.message === 'backward: a gradient hook returned shape [2] for a tensor of shape [3]',
  );
});

test('retainGrad keeps an intermediate gradient, accumulating over retained backward calls', () => {
  const x = f64([1, 2]);
  const y = x.mul(x).retainGrad();
  const loss = y.mul(3).sum();
  loss.backward(undefined, { retainGraph: true });
  assert.deepEqual(values(y.grad), [3, 3]);
  assert.equal(y.grad!.requiresGrad, false, 'detached');
  loss.backward();
  assert.deepEqual(values(y.grad), [6, 6]);
  assert.deepEqual(values(x.grad), [12, 24]);
});

test('the graph is freed after backward; a second pass says how to keep it', () => {
  const x = f64([1, 2]);
  const loss = x.mul(x).sum();
  loss.backward();
  assert.throws(
    () => loss.backward(),
    (e: unknown) =>
      e instanceof TsgradError &&
      e.message ===
        'backward: part of this graph was already freed by an earlier backward(); pass { retainGraph: true } to the first call to run backward twice',
  );
  // retainGraph: twice the gradient, and no error.
  const z = f64([1, 2]);
  const l2 = z.mul(z).sum();
  l2.backward(undefined, { retainGraph: true });
  l2.backward(undefined, { retainGraph: true });
  assert.deepEqual(values(z.grad), [4, 8]);
});

test('createGraph makes the gradient differentiable and retains the graph; without it gradients are constants', () => {
  const x = f64([0.5, -1, 2]);
  x.mul(x).mul(x).sum().backward(undefined, { createGraph: true });
  const g = x.grad!;
  assert.equal(g.requiresGrad, true);
  assert.deepEqual(values(g), [0.75, 3, 12]);
  x.grad = null;
  g.sum().backward(); // d/dx Σ3x² = 6x
  assert.deepEqual(values(x.grad), [3, -6, 12]);

  const w = f64([2]);
  w.mul(w).sum().backward();
  assert.equal(w.grad!.requiresGrad, false);
  // A constant gradient leaves later graphs alone: using it does not make them require grad.
  const usedLater = noGrad(() => w.grad!.mul(2));
  assert.equal(usedLater.requiresGrad, false);
});

test('backward refuses outputs that need no gradient, non-scalars without a gradient, and a mis-shaped gradient', () => {
  assert.throws(
    () => f64([1, 2], false).sum().backward(),
    (e: unknown) =>
      e instanceof TsgradError && e.message.startsWith('backward: this tensor does not require a gradient'),
  );
  const y = f64([1, 2]).mul(2);
  assert.throws(
    () => y.backward(),
    (e: unknown) =>
      e instanceof ShapeError &&
      e.message === 'backward: a gradient can only be implied for a scalar output, got shape [2]; pass one',
  );
  assert.throws(
    () => y.backward(f64([1, 2, 3], false)),
    (e: unknown) =>
      e instanceof ShapeError && e.message === 'backward: gradient shape [3] does not match output shape [2]',
  );
  // A one-element output of any rank implies a gradient of ones.
  const one = f64([[3]]);
  one.mul(one).backward();
  assert.deepEqual(values(one.grad), [6]);
});
