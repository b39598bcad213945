/**
 * The wasm backend's worker pool: GEMM, conv2d (forward and both gradients) and pooling with
 * 2 threads equal 1 thread bit for bit (work is split along outputs, never along a sum) and
 * match the cpu backend; a LeNet-5 training step gives the same losses with 1 and 2 threads;
 * and a script using the pool exits promptly (workers are unref'ed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import * as T from '../../src/index.js';
import {
  type Backend,
  Generator,
  SGD,
  type Tensor,
  cpuBackend as cpuTyped,
  crossEntropy,
  getBackend,
  getNumThreads,
  manualSeed,
  setBackend,
  setNumThreads,
  wasmBackend,
  wasmFeatures,
} from '../../src/index.js';
import { LeNet5 } from '../../src/models/index.js';
import { wasmThreadsReady } from '../../src/backend/wasm/index.js';
import { run } from '../../src/tensor/dispatch.js';
import { conv2dParams } from '../../src/tensor/ops.js';
import { assertClose } from '../helpers/assert.js';

const wasm = wasmBackend as Backend;
const cpu = cpuTyped as Backend;
const initialThreads = getNumThreads();
const canThread = wasmFeatures().kernels !== null && setNumThreads(2) === 2;
setNumThreads(initialThreads);
const skip = canThread ? false : 'no wasm worker threads on this platform';

function randn(g: Generator, shape: readonly number[], backend: Backend, scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = g.normal() * scale;
  return T.tensor(data, { shape, backend });
}
const on = (t: Tensor, backend: Backend): Tensor =>
  T.tensor(t.dataSync().slice(), { shape: t.shape, dtype: t.dtype, backend });

/** f's output with 1 and with 2 threads (pool started and ready), as arrays. */
async function oneAndTwo(f: () => Tensor): Promise<[Float32Array, Float32Array]> {
  setNumThreads(1);
  const one = f().dataSync() as Float32Array;
  setNumThreads(2);
  assert.ok(await wasmThreadsReady(), 'worker threads should start');
  assert.equal(wasmFeatures().threads, true);
  const two = f().dataSync() as Float32Array;
  return [one, two];
}

function assertSame(a: Float32Array, b: Float32Array, label: string): void {
  assert.equal(a.length, b.length, label);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${label}: element ${i}: ${a[i]} (1 thread) vs ${b[i]} (2 threads)`);
  }
}

describe('wasm threads', { skip }, () => {
  after(() => setNumThreads(initialThreads));

  test('setNumThreads / getNumThreads / features', () => {
    assert.equal(setNumThreads(1), 1);
    assert.equal(getNumThreads(), 1);
    assert.equal(wasmFeatures().threads, false);
    assert.equal(setNumThreads(2), 2);
    assert.equal(wasmFeatures().threads, true);
    assert.throws(() => setNumThreads(0), RangeError);
    assert.throws(() => setNumThreads(1.5), RangeError);
  });

  test('GEMM: 2 threads equal 1 thread bit for bit, and match cpu', async () => {
    const g = new Generator(1);
    const shapes: [number[], number[], boolean][] = [
      [[1, 256, 300], [1, 300, 200], false],
      [[1, 37, 513], [1, 513, 301], false], // edge tiles, columns split off the tile grid
      [[3, 130, 70], [3, 70, 129], true], // batched, transposed b
      [[1, 600, 64], [1, 64, 40], false], // tall: split over rows
    ];
    for (const [sa, sb, transB] of shapes) {
      const a = randn(g, sa, wasm);
      const b = transB ? randn(g, [sb[0]!, sb[2]!, sb[1]!], wasm).transpose(1, 2) : randn(g, sb, wasm);
      const [one, two] = await oneAndTwo(() => T.matmul(a, b));
      assertSame(one, two, `matmul [${sa}]·[${sb}]`);
      assertClose(two, T.matmul(on(a, cpu), on(b, cpu)).dataSync(), 1e-4, `matmul [${sa}] vs cpu`);
    }
  });

  test('conv2d forward, dX, dW and pooling: 2 threads equal 1 thread, and match cpu', async () => {
    const g = new Generator(2);
    const cases: { x: number[]; w: number[]; o: T.Conv2dOptions; scale?: number }[] = [
      { x: [16, 3, 28, 28], w: [8, 3, 5, 5], o: { padding: 2 } },
      { x: [9, 6, 14, 14], w: [16, 6, 5, 5], o: {} },
      { x: [4, 8, 20, 20], w: [8, 2, 3, 3], o: { groups: 4, stride: 2, padding: 1 } },
      // One sample per im2col chunk: channel and column splits.
      { x: [2, 16, 96, 96], w: [8, 16, 3, 3], o: { padding: 1 }, scale: 1 / 8 },
      // Direct kernels: one sample split by blocks of output channels; grouped, split by samples.
      { x: [1, 8, 64, 64], w: [12, 8, 3, 3], o: { padding: 1 }, scale: 1 / 4 },
      // Six output channels: two blocks of the three-row tiles, one per lane.
      { x: [1, 8, 64, 96], w: [6, 8, 3, 3], o: { padding: 1 }, scale: 1 / 4 },
      { x: [8, 8, 32, 32], w: [8, 4, 3, 3], o: { groups: 2, padding: 1 }, scale: 1 / 4 },
    ];
    for (const c of cases) {
      const label = `x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`;
      const x = randn(g, c.x, wasm, c.scale);
      const w = randn(g, c.w, wasm, c.scale);
      const p = conv2dParams([c.w[2]!, c.w[3]!], c.o);
      const y = T.conv2d(on(x, cpu), on(w, cpu), null, c.o);
      const dy = randn(g, y.shape, wasm, c.scale);
      const inputShape = c.x as [number, number, number, number];
      const weightShape = c.w as [number, number, number, number];
      const checks: [string, () => Tensor, () => Tensor][] = [
        ['forward', () => T.conv2d(x, w, null, c.o), () => y],
        [
          'dX',
          () => run('conv2dGradInput', [dy, w], { ...p, inputShape }),
          () => run('conv2dGradInput', [on(dy, cpu), on(w, cpu)], { ...p, inputShape }),
        ],
        [
          'dW',
          () => run('conv2dGradWeight', [x, dy], { ...p, weightShape }),
          () => run('conv2dGradWeight', [on(x, cpu), on(dy, cpu)], { ...p, weightShape }),
        ],
        ['maxPool', () => T.maxPool2d(x, 2), () => T.maxPool2d(on(x, cpu), 2)],
      ];
      for (const [name, f, ref] of checks) {
        const [one, two] = await oneAndTwo(f);
        assertSame(one, two, `${name} ${label}`);
        assertClose(two, ref().dataSync(), 1e-4, `${name} ${label} vs cpu`);
      }
    }
  });

  test('elementwise ops split across lanes: 2 threads equal 1 thread, and match cpu', async () => {
    const g = new Generator(4);
    // 2^19 elements (above the split threshold): same shape (split along the only axis), a
    // per-channel bias over NCHW (split along N), a row over a matrix, an odd length.
    const x = randn(g, [8, 16, 64, 64], wasm);
    const bias = randn(g, [1, 16, 1, 1], wasm);
    const m = randn(g, [1, 1 << 19], wasm);
    const row = randn(g, [1 << 10], wasm);
    const mat = T.reshape(m, [1 << 9, 1 << 10]);
    const odd = randn(g, [(1 << 19) + 3], wasm);
    const cols = randn(g, [5, 100003], wasm);
    const checks: [string, () => Tensor, () => Tensor][] = [
      ['add same shape', () => T.add(m, m), () => T.add(on(m, cpu), on(m, cpu))],
      ['mul bias', () => T.mul(x, bias), () => T.mul(on(x, cpu), on(bias, cpu))],
      ['sub row', () => T.sub(mat, row), () => T.sub(on(mat, cpu), on(row, cpu))],
      [
        'compare',
        () => T.cast(run('compare', [x, bias], { op: 'gt' }), 'float32'),
        () => T.cast(run('compare', [on(x, cpu), on(bias, cpu)], { op: 'gt' }), 'float32'),
      ],
      ['relu odd', () => T.relu(odd), () => T.relu(on(odd, cpu))],
      ['exp odd', () => run('exp', [odd], {}), () => run('exp', [on(odd, cpu)], {})],
      // Sums split along their kept axes: a conv bias's gradient (N, H, W summed: split along
      // C), rows of a matrix (split along the rows), columns (split along the columns), an odd
      // number of columns, and everything (one lane).
      ['sum bias grad', () => T.sum(x, [0, 2, 3]), () => T.sum(on(x, cpu), [0, 2, 3])],
      ['sum rows', () => T.sum(mat, [1]), () => T.sum(on(mat, cpu), [1])],
      ['sum columns', () => T.sum(mat, [0]), () => T.sum(on(mat, cpu), [0])],
      ['sum odd columns', () => T.sum(cols, [0]), () => T.sum(on(cols, cpu), [0])],
      ['sum of 5 long rows', () => T.sum(cols, [1]), () => T.sum(on(cols, cpu), [1])],
      ['sum all', () => T.sum(x), () => T.sum(on(x, cpu))],
    ];
    for (const [name, f, ref] of checks) {
      const [one, two] = await oneAndTwo(f);
      assertSame(one, two, name);
      assertClose(two, ref().dataSync(), 1e-6, `${name} vs cpu`);
    }
  });

  test('LeNet-5 training steps: same losses and weights with 1 and 2 threads', async () => {
    const g = new Generator(3);
    const xs = randn(g, [64, 1, 28, 28], cpu).dataSync().slice();
    const ys = Int32Array.from({ length: 64 }, (_, i) => i % 10);
    const train = (): number[] => {
      manualSeed(5);
      const prev = getBackend();
      setBackend('wasm');
      try {
        const net = new LeNet5();
        const opt = new SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
        const x = T.tensor(xs, { shape: [64, 1, 28, 28] });
        const y = T.tensor(ys, { shape: [64], dtype: 'int32' });
        const out: number[] = [];
        for (let step = 0; step < 3; step++) {
          opt.zeroGrad();
          const loss = crossEntropy(net.forward(x), y);
          loss.backward();
          opt.step();
          out.push(loss.itemSync());
        }
        for (const p of net.parameters()) out.push(...p.dataSync());
        return out;
      } finally {
        setBackend(prev);
      }
    };
    setNumThreads(1);
    const one = train();
    setNumThreads(2);
    assert.ok(await wasmThreadsReady());
    const two = train();
    assertSame(Float32Array.from(one), Float32Array.from(two), 'LeNet-5 losses and parameters');
  });

  test('a script using the pool exits promptly', () => {
    const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
    const script = `
      const T = await import(${JSON.stringify(index)});
      T.setNumThreads(2);
      T.setBackend('wasm');
      const a = T.ones([512, 512]);
      console.log(T.matmul(a, a).dataSync()[0], T.getNumThreads());
    `;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '512 2');
    assert.ok(Date.now() - t0 < 10000, 'the process should exit once its work is done');
  });
});
