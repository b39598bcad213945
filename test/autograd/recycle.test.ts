// The backward pass hands its temporaries back to the backend (Backend.recycle), so a training
// step's next forward reuses them: what is recycled (rule intermediates, consumed gradients), what
// never is (a .grad, a retained gradient, whatever a hook saw, a recorded graph's tensors, a
// traced pass), and that gradients stay exact when the recycled storages are reused at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/index.js';
import { type Backend, cpuBackend, fromArray } from '../../src/index.js';
import { StorageRecycler, hostRecycler } from '../../src/backend/cpu/recycler.js';
import { observeOps } from '../../src/tensor/dispatch.js';
import { createWasmBackendWithHeap } from '../../src/backend/wasm/index.js';
import type { Tensor } from '../../src/index.js';

/** The cpu backend without recycle(): the engine then recycles nothing (the reference for the checks). */
const plain = { ...cpuBackend, name: 'cpu-plain', recycle: undefined } as unknown as Backend;
const cpu = cpuBackend as unknown as Backend;
const values = (t: Tensor | null): number[] => Array.from(t!.dataSync());

function leaf(data: number[], shape: number[], backend: Backend): Tensor {
  return fromArray(Float32Array.from(data), shape, { backend, requiresGrad: true });
}

/** A small CNN step: conv, relu, max-pool, a reshape, matmul, a tensor used twice, cross-entropy. */
function stepGrads(backend: Backend, seed: number): number[][] {
  const rand = (n: number, k: number): number[] =>
    Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * k) * 0.5);
  const x = fromArray(Float32Array.from(rand(2 * 1 * 6 * 6, 1.3)), [2, 1, 6, 6], { backend });
  const w = leaf(rand(3 * 1 * 3 * 3, 0.7), [3, 1, 3, 3], backend);
  const b = leaf(rand(3, 2.9), [1, 3, 1, 1], backend);
  const v = leaf(rand(12 * 4, 0.31), [12, 4], backend);
  const h = T.conv2d(x, w).add(b).relu();
  const p = T.maxPool2d(h, 2).reshape([2, 12]);
  // The add hands one gradient tensor to both of its inputs (held twice while pending); the
  // second input's chain, differentiated first, allocates that shape again and again meanwhile.
  const logits = T.matmul(p, v).add(T.matmul(p.mul(p), v).mul(0.25).tanh().mul(2).sigmoid().relu());
  const y = fromArray(Int32Array.from([1, 3]), [2], { backend });
  T.crossEntropy(logits, y).backward();
  return [values(w.grad), values(b.grad), values(v.grad)];
}

test('backward recycles its temporaries, and the next steps reusing them still get exact gradients', () => {
  const before = hostRecycler.stats();
  const first = stepGrads(cpu, 1);
  const after = hostRecycler.stats();
  assert.ok(after.recycled > before.recycled, 'the backward pass handed storages back');
  // Step after step on the recycling backend, each equal bit for bit to the same step without recycling.
  for (let seed = 1; seed <= 4; seed++) {
    assert.deepEqual(seed === 1 ? first : stepGrads(cpu, seed), stepGrads(plain, seed), `step ${seed}`);
  }
  assert.ok(hostRecycler.stats().reused > after.reused, 'later steps took recycled storages');
});

test('on the wasm backend, resident blocks go straight back to the heap, host storages to the host pool', (t) => {
  const kernels = T.wasmFeatures().kernels;
  if (!kernels) return t.skip('WebAssembly SIMD is not available on this engine');
  const { backend, heap } = createWasmBackendWithHeap(kernels, 256 * 2 ** 20);
  const wasm = backend as unknown as Backend;
  const first = stepGrads(wasm, 2);
  const recycled = heap.stats().recycled;
  assert.ok(recycled > 0, 'resident temporaries were freed by the engine, not left to the GC');
  assert.ok(heap.stats().temporaries > 0, "the backward pass's storages were allocated as temporaries");
  for (let seed = 2; seed <= 4; seed++) {
    const grads = seed === 2 ? first : stepGrads(wasm, seed);
    const reference = stepGrads(plain, seed);
    grads.forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - reference[i]![j]!) < 1e-5, `step ${seed}`)));
  }
  assert.ok(heap.stats().recycled > recycled);
  // A storage that is not a resident view of this heap (a host array, or a view freed already) goes to the host pool.
  const [hostBefore, heapBefore] = [hostRecycler.stats().recycled, heap.stats().recycled];
  backend.recycle!(new Float32Array(3));
  const view = heap.residentF32(16)!;
  assert.equal(heap.recycle(view), true);
  assert.equal(heap.recycle(view), false, 'a block is freed once');
  assert.equal(heap.recycle(new Float32Array(16)), false);
  assert.deepEqual([hostRecycler.stats().recycled, heap.stats().recycled], [hostBefore + 1, heapBefore + 1]);
});

test('a .grad, a retained gradient and what a hook saw are never recycled', () => {
  const x = leaf([1, -2, 3, -4], [4], cpu);
  const h = x.mul(2).relu();
  h.retainGrad();
  let seen: Tensor | null = null;
  let seenValues: number[] = [];
  const m = h.mul(3);
  m.registerHook((g) => {
    seen = g;
    seenValues = values(g);
  });
  m.mul(m).sum().backward();
  const grads = { x: values(x.grad), h: values(h.grad) };
  assert.deepEqual(grads.x, [72, 0, 216, 0]);
  assert.deepEqual(grads.h, [36, 0, 108, 0]);
  // Heavy reuse of every size that backward produced: none of them may land on the tensors above.
  for (let i = 0; i < 20; i++) {
    const z = leaf([i, i, i, i], [4], cpu);
    z.mul(z).mul(5).relu().sum().backward();
  }
  assert.deepEqual(values(x.grad), grads.x);
  assert.deepEqual(values(h.grad), grads.h);
  assert.deepEqual(values(seen), seenValues);
  assert.deepEqual(seenValues, [12, 0, 36, 0]);
});

/** The cpu backend, counting what it allocates and what it is handed back. */
function counting(): { backend: Backend; allocs: () => number; recycled: unknown[] } {
  let allocs = 0;
  const recycled: unknown[] = [];
  const backend = {
    ...cpuBackend,
    name: 'cpu-counting',
    alloc: (dtype: T.DType, size: number) => (allocs++, cpuBackend.alloc(dtype, size)),
    recycle: (s: T.TypedArray) => (recycled.push(s), cpuBackend.recycle!(s)),
  } as unknown as Backend;
  return { backend, allocs: () => allocs, recycled };
}

test('every storage a backward pass allocates is recycled by its end, except the gradients it hands out', () => {
  const c = counting();
  const x = leaf([1, -2, 3], [3], c.backend);
  // A chain, and a tensor used twice (its two gradients summed: both parts are temporaries).
  const a = x.neg();
  const b = a.neg().neg();
  const loss = b.add(a.neg()).sum();
  const before = c.allocs();
  loss.backward();
  const allocated = c.allocs() - before;
  assert.ok(allocated >= 5, `backward allocated ${allocated}`);
  // (A storage handed back may be handed out again within the pass, and back again: count events.)
  assert.equal(c.recycled.length, allocated - 1, 'all but x.grad');
  assert.deepEqual(
    values(x.grad).map((v) => v + 0),
    [0, 0, 0],
  ); // b + (−a) = a − a
  // A second pass adds to x.grad: the new sum is kept, the old one (the user's) is never handed back.
  const old = x.grad!.storage;
  c.recycled.length = 0;
  const loss2 = x.mul(x).sum();
  const before2 = c.allocs();
  loss2.backward();
  assert.equal(c.recycled.length, c.allocs() - before2 - 1);
  assert.ok(!c.recycled.includes(old));
  assert.deepEqual(values(x.grad), [2, -4, 6]);
});

test('nothing is recycled when backward records a graph (createGraph) or while ops are observed', () => {
  const count = (): number => hostRecycler.stats().recycled;
  const x = leaf([0.5, -1, 2], [3], cpu);
  let start = count();
  x.mul(x).exp().sum().backward(undefined, { createGraph: true });
  assert.equal(count(), start, 'createGraph: every temporary belongs to the new graph');
  const gx = x.grad!;
  x.grad = null;
  // Hooks and retained gradients work there too.
  const h = x.mul(2);
  h.retainGrad();
  let hooked = 0;
  h.registerHook(() => void hooked++);
  h.exp().sum().backward(undefined, { createGraph: true });
  assert.equal(hooked, 1);
  assert.equal(count(), start);
  assert.deepEqual(
    values(h.grad),
    [1, -2, 4].map((v) => Math.fround(Math.exp(v))),
  );
  x.grad = null;
  gx.sum().backward();
  const e = [0.5, -1, 2].map((v) => Math.exp(v * v) * (2 + 4 * v * v));
  values(x.grad).forEach((v, i) => assert.ok(Math.abs(v - e[i]!) < 1e-4 * Math.abs(e[i]!), `${v} vs ${e[i]}`));
  start = count();
  const y = leaf([1, 2], [2], cpu);
  observeOps(
    () => {},
    () => y.mul(y).relu().sum().backward(),
  );
  assert.equal(count(), start, 'an op observer may keep what it sees');
  y.grad = null;
  y.mul(y).relu().sum().backward();
  assert.ok(count() > start, 'and without one the same pass recycles');
});

test('the host pool: exact type and length, zero-filled, views refused, bounded per size and in bytes', () => {
  const pool = new StorageRecycler(64, 2);
  const a = new Float32Array(4).fill(3);
  pool.give(a);
  assert.equal(pool.take(Int32Array, 4), undefined, 'another type');
  assert.equal(pool.take(Float32Array, 5), undefined, 'another length');
  const back = pool.take(Float32Array, 4);
  assert.equal(back, a);
  assert.deepEqual(Array.from(back!), [0, 0, 0, 0]);
  pool.give(new Float32Array(8).subarray(0, 4));
  pool.give(new Float32Array(0));
  assert.equal(pool.stats().held, 0, 'a subarray and an empty array are not kept');
  pool.give(new Uint8Array(2));
  pool.give(new Uint8Array(2));
  pool.give(new Uint8Array(2));
  assert.deepEqual([pool.stats().held, pool.stats().heldBytes], [2, 4], 'two per size at most');
  pool.give(new Float64Array(8)); // 64 bytes: over the total, so the pool is emptied first
  assert.deepEqual([pool.stats().held, pool.stats().heldBytes], [1, 64]);
  pool.give(new Float64Array(9));
  assert.deepEqual([pool.stats().held, pool.stats().heldBytes], [1, 64], 'larger than the whole pool: not kept');
  assert.equal(pool.stats().recycled, 4);
  assert.equal(pool.stats().reused, 1);
});
