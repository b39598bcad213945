/**
 * The wasm backend's linear-memory heap (src/backend/wasm/heap.ts) and resident storage:
 * size classes, reuse of freed blocks, growth (views made before a growth stay valid, and
 * pointers past 2 GiB reach the kernels), the tail slack past the top, the error at the limit;
 * the engine rules the freeing of resident blocks relies on (WeakRefs and V8's kept-objects
 * set); that dead tensors' blocks come back inside one synchronous loop; that kernels on
 * resident tensors (conv and pooling included, forward and backward) copy nothing in or
 * out; that a tiny resident budget (host fallback for most tensors) and garbage collection
 * (blocks freed and reused) leave every value correct; and what `t.data()` returns.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as T from '../../src/index.js';
import { Adam, type Backend, TsgradError, crossEntropy, manualSeed, wasmFeatures } from '../../src/index.js';
import { LeNet5 } from '../../src/models/index.js';
import {
  DEFAULT_RESIDENT_MIB,
  DEFAULT_TEMPORARY_MIB,
  WasmHeap,
  WasmMemoryLimitError,
  fullGcFunction,
  keptObjectsClearer,
  sizeClass,
} from '../../src/backend/wasm/heap.js';
import { UNARY_CODES } from '../../src/backend/wasm/kernels-abi.js';
import {
  createWasmBackendWithHeap,
  setWasmResidentBudget,
  wasmMemoryStats,
  wasmStagingCopies,
  wasmThreadsReady,
} from '../../src/backend/wasm/index.js';
import { WasmRuntime, kernelBytes } from '../../src/backend/wasm/runtime.js';
import { assertClose } from '../helpers/assert.js';

const features = wasmFeatures();
const skip = features.kernels ? false : 'WebAssembly SIMD is not available on this engine';
const PAGE = 65536;
const BIG = 256 * 2 ** 20;

function sharedMemory(initial: number, maximum: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial, maximum, shared: true });
}

/** A V8 full garbage collection (flags set at run time, so the test needs no node option). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function randn(shape: number[], backend: Backend, seed: number): T.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    data[i] = s / 2 ** 30 - 1;
  }
  return T.tensor(data, { shape, dtype: 'float32', backend });
}

describe('wasm heap: allocator', () => {
  test('size classes: 64-byte multiples, at least the request, at most a quarter waste above 256 bytes', () => {
    let previous = 0;
    for (let b = 1; b < 300000; b += 1 + Math.floor(b / 7)) {
      const c = sizeClass(b);
      assert.ok(c >= b, `class ${c} < request ${b}`);
      assert.equal(c % 64, 0, `class ${c} of ${b} not 64-byte aligned`);
      assert.ok(c >= previous, 'classes are monotone');
      if (b > 256) assert.ok(c <= b * 1.25 + 64, `class ${c} wastes too much for ${b}`);
      previous = c;
    }
    // Four classes per power of two.
    assert.deepEqual([513, 700, 800, 900, 1000].map(sizeClass), [640, 768, 896, 1024, 1024]);
  });

  test('a freed block is reused by the next request of its class; other classes get their own', () => {
    const heap = new WasmHeap(sharedMemory(1, 64), 1000);
    const a = heap.malloc(5000);
    const b = heap.malloc(5000);
    assert.notEqual(a, b);
    assert.equal(a % 64, 0);
    heap.release(a);
    assert.equal(heap.malloc(4900), a, 'same class: the freed block comes back');
    const c = heap.malloc(100);
    assert.ok(c !== a && c !== b);
    assert.equal(heap.stats().reused, 1);
    assert.throws(() => heap.release(12345), /not an allocated block/);
    // The topmost block, freed, lowers the top: a larger block replacing it starts at the same place.
    const top = heap.malloc(10000);
    heap.release(top);
    assert.equal(heap.malloc(30000), top);
  });

  test('the memory grows to what allocations need; resident views made before a growth keep their values', () => {
    const memory = sharedMemory(1, 256);
    const heap = new WasmHeap(memory, 0, { residentBudget: 2 ** 30 });
    const early = heap.residentF32(1000)!;
    early.set(Array.from({ length: 1000 }, (_, i) => i * 0.5));
    const before = memory.buffer.byteLength;
    const big = heap.residentF32(200000)!; // 800 KB: several pages past the first
    assert.ok(memory.buffer.byteLength > before, 'memory grew');
    big.fill(7);
    assert.equal(early[999], 999 * 0.5, 'a view made before the growth still reads its values');
    assert.ok(heap.pointerOf(early) >= 0 && heap.pointerOf(big) >= 0, 'both views are recognised as resident');
    assert.equal(heap.pointerOf(new Float32Array(4)), -1, 'a host array is not');
  });

  test("every block is followed by at least 64 addressable bytes (kernels' masked tail loads stay in bounds)", () => {
    const memory = sharedMemory(1, 1024);
    const heap = new WasmHeap(memory, 0, { residentBudget: 2 ** 30 });
    // Requests that end exactly on a page, or exactly at the memory's end, without the slack.
    for (const bytes of [PAGE - 64, 64, 3 * PAGE, 16 * PAGE - 64, 8 * PAGE, 100, 40 * PAGE]) {
      const ptr = heap.malloc(bytes);
      const end = ptr + heap.blockSize(ptr)!;
      assert.ok(
        memory.buffer.byteLength - end >= 64,
        `block [${ptr}, ${end}) ends ${memory.buffer.byteLength - end} bytes before the memory's end`,
      );
      assert.ok(memory.buffer.byteLength - heap.stats().topBytes >= 64);
    }
  });

  test('the resident budget: TSGRAD_WASM_RESIDENT_MIB, else the default (64 MiB)', () => {
    const raw = process.env['TSGRAD_WASM_RESIDENT_MIB'];
    const expected = (raw === undefined || raw === '' ? DEFAULT_RESIDENT_MIB : Number(raw)) * 2 ** 20;
    assert.equal(new WasmHeap(sharedMemory(1, 4), 0).residentBudget, expected);
    assert.equal(DEFAULT_RESIDENT_MIB, 64, 'heap.ts says why');
    const withBudget = new WasmHeap(sharedMemory(1, 4), 0, { residentBudget: 32 * 2 ** 20 });
    assert.equal(withBudget.residentBudget, 32 * 2 ** 20);
  });

  test("temporaries (a backward pass's storages): their own budget, freed at once when recycled, by a sweep after the GC when they escape", () => {
    const raw = process.env['TSGRAD_WASM_TEMPORARY_MIB'];
    const expected = (raw === undefined || raw === '' ? DEFAULT_TEMPORARY_MIB : Number(raw)) * 2 ** 20;
    assert.equal(new WasmHeap(sharedMemory(1, 4), 0).temporaryBudget, expected);
    assert.equal(new WasmHeap(new WebAssembly.Memory({ initial: 1 }), 0).temporaryF32(4), null, 'not shared: host');
    const heap = new WasmHeap(sharedMemory(1, 64), 0, { residentBudget: 0, temporaryBudget: 4096, fullGc: null });
    const a = heap.temporaryF32(512)!;
    a.fill(5);
    const ptrA = heap.pointerOf(a);
    assert.ok(ptrA >= 0, 'resident');
    let b: Float32Array | null = heap.temporaryF32(500)!;
    b.fill(6);
    assert.deepEqual([heap.stats().temporaryBytes, heap.stats().temporaries], [4096, 2]);
    assert.equal(heap.temporaryF32(1), null, 'the budget is spent');
    assert.equal(heap.residentF32(1), null, 'and the resident budget (0) is its own');
    assert.equal(heap.recycle(a), true);
    assert.equal(heap.stats().temporaryBytes, 2048);
    const c = heap.temporaryF32(512)!;
    assert.equal(heap.pointerOf(c), ptrA, "a recycled temporary's block is the next one of its class");
    assert.ok(
      c.every((v) => v === 0),
      'zero-filled',
    );
    assert.ok(
      b.every((v) => v === 6),
      'the other temporary keeps its values',
    );
    // One that is never handed back (a .grad) is freed once the GC has collected its view.
    // (A sweep first lets go of the job's kept-objects set, as a training loop's periodic sweeps do.)
    b = null;
    heap.sweep();
    fullGc();
    heap.sweep();
    assert.equal(heap.stats().temporaryBytes, 2048, "the collected temporary's block is back");
    assert.equal(heap.stats().residentBytes, 0, 'temporaries never count in the resident budget');
  });

  test('past the limit: a WasmMemoryLimitError (a TsgradError) naming the sizes; resident storage falls back to null', () => {
    const heap = new WasmHeap(sharedMemory(1, 4), 0, { maximumPages: 4, residentBudget: 2 ** 30 });
    heap.malloc(3 * PAGE); // 3 pages and the tail slack: all 4
    assert.throws(
      () => heap.malloc(2 * PAGE),
      (e: unknown) =>
        e instanceof WasmMemoryLimitError &&
        e instanceof TsgradError &&
        /cannot allocate 131072 bytes/.test(e.message) &&
        /262144 bytes/.test(e.message),
    );
    assert.equal(heap.residentF32(2 * 16384), null, 'tensor storage goes to the host instead');
    assert.equal(heap.stats().hostFallbacks, 1);
    // A memory whose declared maximum is below the engine's limit fails at grow(): same error.
    const small = new WasmHeap(sharedMemory(1, 16), 0);
    small.malloc(14 * PAGE); // growing ahead (16 pages at least) does not fit: exactly what is needed does
    assert.equal(small.memory.buffer.byteLength, 15 * PAGE, '14 pages and the tail slack past them');
    assert.throws(() => small.malloc(2 * PAGE), WasmMemoryLimitError);
  });

  test('linear memory grows past 2 GiB and kernels reach pointers above 2^31', { skip }, () => {
    const memory = sharedMemory(1, 65536);
    const module = new WebAssembly.Module(kernelBytes(features.kernels!, true));
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const rt = new WasmRuntime(features.kernels!, instance, memory);
    rt.heap.malloc(2 ** 31 + 2 ** 20); // untouched, so it costs address space, not resident memory
    const n = 1000;
    const px = rt.heap.malloc(4 * n);
    const po = rt.heap.malloc(4 * n);
    assert.ok(px > 2 ** 31 && po > 2 ** 31, `pointers ${px}, ${po} above 2 GiB`);
    assert.ok(memory.buffer.byteLength > 2 ** 31);
    const x = new Float32Array(memory.buffer, px, n);
    for (let i = 0; i < n; i++) x[i] = i % 2 ? -i : i;
    rt.exports.unary(UNARY_CODES.relu, px, po, n);
    const y = new Float32Array(memory.buffer, po, n);
    for (let i = 0; i < n; i++) assert.equal(y[i], i % 2 ? 0 : i);
  });
});

describe('wasm heap: freeing resident blocks inside one synchronous job', () => {
  test('engine rule: WeakRefs made in this job survive a full GC, unless the kept-objects set is cleared (Node)', () => {
    const sab = new SharedArrayBuffer(1024);
    const make = (): WeakRef<Float32Array>[] =>
      Array.from({ length: 200 }, () => new WeakRef(new Float32Array(sab, 0, 16)));
    const cleared = (refs: WeakRef<Float32Array>[]): number => refs.filter((r) => r.deref() === undefined).length;
    const kept = make();
    fullGc();
    assert.equal(cleared(kept), 0, "the spec keeps a new WeakRef's target until the job ends");
    const freed = make();
    const clear = keptObjectsClearer();
    clear();
    fullGc();
    assert.equal(cleared(freed), 200, 'after keptObjectsClearer(), the next full GC clears them all');
    const held = new Float32Array(sab, 0, 16);
    const ref = new WeakRef(held);
    clear();
    fullGc();
    assert.equal(ref.deref(), held, 'a reachable target is never cleared');
  });

  test('fullGcFunction: a working full GC, and no `gc` global left in contexts made afterwards', () => {
    const gc = fullGcFunction();
    assert.equal(typeof gc, 'function');
    const sab = new SharedArrayBuffer(64);
    const refs = Array.from({ length: 50 }, () => new WeakRef(new Float32Array(sab, 0, 4)));
    keptObjectsClearer()();
    gc!();
    assert.equal(refs.filter((r) => r.deref() === undefined).length, 50);
    assert.equal(runInNewContext('typeof gc'), 'undefined');
  });

  test("dead views' blocks are reclaimed and reused without the event loop turning; live views keep their values", () => {
    // No await anywhere: one job, as a synchronous training loop. gcCostRatio 0: this loop does
    // no work between allocations, so the default cap (forced GCs at most ~1/10 of the time)
    // would hold most of them back.
    const budget = 1 << 20;
    let gcs = 0;
    const heap = new WasmHeap(sharedMemory(1, 1024), 0, {
      residentBudget: budget,
      fullGc: () => (gcs++, fullGc()),
      gcCostRatio: 0,
    });
    const live: Float32Array[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = heap.residentF32(4096); // 16 KiB: the budget holds 64
      if (v) v.fill(i);
      if (i % 100 === 0 && v) live.push(v);
    }
    const s = heap.stats();
    assert.ok(s.reclaimed > 1500, `${s.reclaimed} blocks reclaimed within the job`);
    assert.ok(s.hostFallbacks < 200, `${s.hostFallbacks} of 2000 storages went to the host`);
    assert.ok(s.topBytes <= budget + 64, `the heap stayed within the budget: top ${s.topBytes}`);
    assert.ok(gcs > 0 && gcs === s.fullGcs && gcs < 200, `${gcs} forced GCs`);
    assert.ok(live.length >= 15);
    live.forEach((v) => assert.ok(v.every((x) => x === v[0]) && v[0]! % 100 === 0, 'a live view kept its values'));
  });
});

describe('wasm backend: resident storage', { skip }, () => {
  test('float32 tensors live in linear memory and a chain of wasm kernels (conv, pooling, elementwise, sum, matmul; forward and backward) copies nothing in or out', () => {
    const { backend: typed, heap } = createWasmBackendWithHeap(features.kernels!, BIG);
    const backend = typed as Backend;
    const x = randn([8, 3, 12, 12], backend, 1);
    const w = randn([4, 3, 3, 3], backend, 2); // unit stride: the direct kernels
    const w2 = randn([6, 4, 3, 3], backend, 4); // stride 2: im2col + GEMM
    assert.ok(heap.pointerOf(x.storage as Float32Array) >= 0, 'an uploaded tensor is resident');
    for (const t of [x, w, w2]) t.requiresGrad = true;
    const before = wasmStagingCopies();
    const y = T.maxPool2d(T.relu(T.conv2d(x, w, null, { padding: 1 })), 2);
    const r = T.relu(T.add(y, y));
    const z = T.sum(T.mul(r, y), [1, 2, 3]);
    const m = T.matmul(T.reshape(r, [8, 144]), T.reshape(y, [144, 8]));
    const q = T.avgPool2d(T.conv2d(r, w2, null, { stride: 2, padding: 1 }), 2);
    const c = randn([8, 6, 1, 1], backend, 6); // dense upstream gradients (a broadcast one is materialised on the host)
    const loss = (qq: T.Tensor, zz: T.Tensor, mm: T.Tensor, cc: T.Tensor): T.Tensor =>
      T.add(T.sum(T.mul(qq, cc)), T.add(T.sum(T.mul(zz, zz)), T.sum(T.mul(mm, mm))));
    loss(q, z, m, c).backward();
    const after = wasmStagingCopies();
    // ReLU's backward masks are bool tensors, which always live on the host: only float32 data must not move.
    const copies = after.float32 - before.float32;
    assert.equal(copies, 0, `float32 staging copies between wasm kernels: ${copies}`);
    for (const t of [y, r, z, m, q, x.grad!, w.grad!, w2.grad!])
      assert.ok(heap.pointerOf(t.storage as Float32Array) >= 0, 'outputs and gradients are resident');
    // The same values as the cpu reference.
    const onCpu = (t: T.Tensor): T.Tensor => {
      const c = T.tensor(t.dataSync().slice(), { shape: t.shape });
      c.requiresGrad = true;
      return c;
    };
    const [xc, wc, w2c] = [onCpu(x), onCpu(w), onCpu(w2)];
    const yc = T.maxPool2d(T.relu(T.conv2d(xc, wc, null, { padding: 1 })), 2);
    assertClose(y.dataSync(), yc.dataSync(), 1e-4);
    const rc = T.relu(T.add(yc, yc));
    const zc = T.sum(T.mul(rc, yc), [1, 2, 3]);
    assertClose(z.dataSync(), zc.dataSync(), 1e-4);
    const mc = T.matmul(T.reshape(rc, [8, 144]), T.reshape(yc, [144, 8]));
    assertClose(m.dataSync(), mc.dataSync(), 1e-4);
    const qc = T.avgPool2d(T.conv2d(rc, w2c, null, { stride: 2, padding: 1 }), 2);
    assertClose(q.dataSync(), qc.dataSync(), 1e-4);
    loss(qc, zc, mc, T.tensor(c.dataSync().slice(), { shape: c.shape })).backward();
    assertClose(x.grad!.dataSync(), xc.grad!.dataSync(), 1e-3);
    assertClose(w.grad!.dataSync(), wc.grad!.dataSync(), 1e-3);
    assertClose(w2.grad!.dataSync(), w2c.grad!.dataSync(), 1e-3);
  });

  test('host operands (past the budget) are staged: copied in and the output copied back', () => {
    const { backend: typed, heap } = createWasmBackendWithHeap(features.kernels!, 0);
    const backend = typed as Backend;
    const x = randn([64, 64], backend, 3);
    assert.equal(heap.pointerOf(x.storage as Float32Array), -1, 'budget 0: host storage');
    const before = wasmStagingCopies();
    const y = T.relu(x);
    assert.equal(wasmStagingCopies().count - before.count, 2, 'one copy in, one copy out');
    assert.deepEqual(
      Array.from(y.dataSync()),
      Array.from(x.dataSync(), (v) => Math.max(v, 0)),
    );
  });

  test('LeNet-5 under a tiny resident budget (most tensors on the host) trains exactly as with a large one', () => {
    const losses = (budget: number): number[] => {
      const { backend: typed, heap } = createWasmBackendWithHeap(features.kernels!, budget);
      const backend = typed as Backend;
      T.setBackend(backend);
      try {
        manualSeed(7);
        const model = new LeNet5();
        const opt = new Adam(model.parameters(), { lr: 1e-3 });
        const out: number[] = [];
        for (let step = 0; step < 3; step++) {
          const x = T.randn([16, 1, 28, 28]);
          const y = T.randint(0, 10, [16]);
          const loss = crossEntropy(model.forward(x), y);
          opt.zeroGrad();
          loss.backward();
          opt.step();
          out.push(loss.itemSync());
        }
        const s = heap.stats();
        if (budget < BIG) {
          assert.ok(s.hostFallbacks > 0, 'the tiny budget sent tensors to the host');
          assert.ok(s.residentArrays > 0, 'and some stayed resident');
          assert.ok(s.reclaimed > 0, "dead tensors' blocks were reclaimed within the loop");
        } else assert.equal(s.hostFallbacks, 0);
        return out;
      } finally {
        T.setBackend('cpu');
      }
    };
    const big = losses(BIG);
    const tiny = losses(64 * 1024);
    assert.deepEqual(tiny, big, 'bit-identical losses whichever tensors were resident');
  });

  test('garbage-collected tensors free their blocks, new tensors reuse them, live tensors keep their values', () => {
    const { backend: typed, heap } = createWasmBackendWithHeap(features.kernels!, BIG);
    const backend = typed as Backend;
    const keep = randn([1000], backend, 5);
    const expected = Array.from(keep.dataSync());
    const churn = (): void => {
      for (let i = 0; i < 50; i++) T.relu(randn([1000], backend, i));
    };
    churn();
    const high = heap.stats().topBytes;
    const live = heap.stats().residentArrays;
    assert.ok(live >= 100, `${live} resident arrays before collection`);
    // Synchronously: a sweep lets go of the kept set, a full GC collects, the next sweep frees.
    heap.sweep();
    fullGc();
    heap.sweep();
    const after = heap.stats();
    assert.ok(after.residentArrays <= 10, `dead tensors freed: ${after.residentArrays} resident arrays left`);
    assert.ok(after.freeBytes > 0 || after.topBytes < high, 'their blocks went back to free lists or the top');
    churn();
    assert.ok(heap.stats().topBytes <= high, 'new tensors took the freed space: the heap did not grow');
    assert.deepEqual(Array.from(keep.dataSync()), expected, 'the live tensor kept its values through reuse');
    assert.equal(T.relu(keep).dataSync()[0], Math.max(expected[0]!, 0));
  });

  test('data() and dataSync() return a copy on the host, never a view of linear memory', async () => {
    const { backend: typed, heap } = createWasmBackendWithHeap(features.kernels!, BIG);
    const backend = typed as Backend;
    const x = randn([4, 5], backend, 9);
    assert.ok(heap.pointerOf(x.storage as Float32Array) >= 0);
    for (const d of [x.dataSync(), await x.data()]) {
      assert.ok(d instanceof Float32Array);
      assert.equal(heap.pointerOf(d as Float32Array), -1, 'not in linear memory');
      assert.ok(!(d.buffer instanceof SharedArrayBuffer));
      const first = x.dataSync()[0];
      (d as Float32Array)[0] = 12345;
      assert.equal(x.dataSync()[0], first, 'writing the copy leaves the tensor unchanged');
    }
  });
});

describe('wasm backend: resident storage with the worker pool', { skip }, () => {
  test('the threaded runtime shares the heap: resident operands, no staging copies, the same bits as 1 thread', async () => {
    const initial = T.getNumThreads();
    T.setBackend('wasm');
    const budget = setWasmResidentBudget(BIG);
    try {
      const compute = (): { y: Float32Array; copies: number } => {
        const x = T.randn([8, 3, 20, 20]);
        const w = T.randn([6, 3, 5, 5]);
        const c = T.maxPool2d(T.conv2d(x, w, null, { padding: 2 }), 2);
        const before = wasmStagingCopies().count;
        const y = T.matmul(T.reshape(T.relu(T.add(c, c)), [8, 600]), T.reshape(c, [600, 8]));
        const copies = wasmStagingCopies().count - before;
        assert.ok(x.storage instanceof Float32Array && x.storage.buffer instanceof SharedArrayBuffer, 'x is resident');
        return { y: y.dataSync() as Float32Array, copies };
      };
      T.setNumThreads(1);
      manualSeed(3);
      const one = compute();
      if (T.setNumThreads(2) === 2) await wasmThreadsReady();
      manualSeed(3);
      const two = compute();
      assert.equal(one.copies, 0);
      assert.equal(two.copies, 0);
      assert.deepEqual(Array.from(two.y), Array.from(one.y), 'bit-identical across thread counts');
      assert.ok(wasmMemoryStats()!.residentArrays > 0);
    } finally {
      setWasmResidentBudget(budget);
      T.setNumThreads(initial);
      T.setBackend('cpu');
    }
  });
});
