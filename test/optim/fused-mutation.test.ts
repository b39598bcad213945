// The switch and helpers of src/optim/fused.ts: which parameters get fused kernels, the
// TSGRAD_FUSED_OPTIM=0 switch read at load time, and the views and tensors handed to and from kernels.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Backend, cpuBackend, tensor, wasmBackend } from '../../src/index.js';
import { fusedKernels, setFusedOptimizers, tensorOn, viewOf } from '../../src/optim/fused.js';

const wasm = wasmBackend as Backend;
const cpu = cpuBackend as Backend;
const initial = setFusedOptimizers(true);
after(() => void setFusedOptimizers(initial));

test('fusedKernels: the backend’s kernels while enabled, null when disabled or where the backend has none', () => {
  const onWasm = tensor([1, 2], { backend: wasm });
  const onCpu = tensor([1, 2], { backend: cpu });
  assert.ok(wasm.optimizerKernels, 'the wasm backend has fused kernels');
  assert.equal(cpu.optimizerKernels, undefined);
  assert.equal(fusedKernels(onWasm), wasm.optimizerKernels);
  assert.equal(fusedKernels(onCpu), null);
  assert.equal(setFusedOptimizers(false), true, 'returns the previous setting');
  assert.equal(fusedKernels(onWasm), null);
  assert.equal(setFusedOptimizers(true), false);
  assert.equal(fusedKernels(onWasm), wasm.optimizerKernels);
});

test('TSGRAD_FUSED_OPTIM=0 at load time turns the fused updates off; any other value leaves them on', async () => {
  const url = new URL('../../src/optim/fused.js', import.meta.url).href;
  const load = async (value: string | undefined, tag: string): Promise<typeof import('../../src/optim/fused.js')> => {
    const saved = process.env['TSGRAD_FUSED_OPTIM'];
    if (value === undefined) delete process.env['TSGRAD_FUSED_OPTIM'];
    else process.env['TSGRAD_FUSED_OPTIM'] = value;
    try {
      // A new URL is a new module instance, evaluated with the variable as it is now.
      return (await import(`${url}?${tag}`)) as typeof import('../../src/optim/fused.js');
    } finally {
      if (saved === undefined) delete process.env['TSGRAD_FUSED_OPTIM'];
      else process.env['TSGRAD_FUSED_OPTIM'] = saved;
    }
  };
  const p = tensor([1], { backend: wasm });
  assert.equal((await load('0', 'off')).fusedKernels(p), null);
  assert.equal((await load('1', 'on')).fusedKernels(p), wasm.optimizerKernels);
  assert.equal((await load(undefined, 'unset')).fusedKernels(p), wasm.optimizerKernels);
  // Where there is no process (browsers), or a process without env, the fused updates are on.
  const g = globalThis as { process?: unknown };
  const saved = g.process;
  for (const [stand, tag] of [
    [undefined, 'no-process'],
    [{}, 'no-env'],
  ] as const) {
    g.process = stand;
    let mod: typeof import('../../src/optim/fused.js');
    try {
      mod = (await import(`${url}?${tag}`)) as typeof import('../../src/optim/fused.js');
    } finally {
      g.process = saved;
    }
    assert.equal(mod.fusedKernels(p), wasm.optimizerKernels, tag);
  }
});

test('viewOf and tensorOn: the layout a kernel reads, and a dense tensor like another on a kernel’s storage', () => {
  const base = tensor(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    { backend: wasm },
  );
  const t = base.transpose(0, 1); // a strided view
  const v = viewOf(t);
  assert.deepEqual(v, { storage: t.storage, dtype: t.dtype, shape: t.shape, strides: t.strides, offset: t.offset });
  assert.deepEqual([...v.strides], [1, 3]);
  const dense = tensor(
    [
      [10, 40],
      [20, 50],
      [30, 60],
    ],
    { backend: wasm },
  );
  const out = tensorOn(dense.storage, t);
  assert.deepEqual([...out.shape], [3, 2]);
  assert.deepEqual([...out.strides], [2, 1], 'contiguous, not the strides of `like`');
  assert.equal(out.offset, 0);
  assert.equal(out.dtype, t.dtype);
  assert.equal(out.backend, wasm);
  assert.equal(out.storage, dense.storage);
  assert.deepEqual(Array.from(out.dataSync()), [10, 40, 20, 50, 30, 60]);
});
