/**
 * The webgpu backend end to end: LeNet-5 training that matches the cpu backend's losses; a
 * short soak (20 steps on random data, bench/webgpu-soak.ts runs 2,000) that must train
 * without host fallbacks, keep the GPU pool bounded and the loss finite; plus registration, async-only reads and the float64 host path;
 * and the two kernel styles (tiled with barriers, direct without) agree with the cpu backend. Skips, naming the
 * reason, where no WebGPU adapter exists (CI has lavapipe, so it runs there).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as T from '../../src/index.js';
import { soak } from '../../bench/webgpu-soak.js';
import { trainSteps } from '../helpers/lenet-workload.js';
import { skipUnlessRequired } from '../helpers/require.js';

const ready = await T.initWebGPU();
const skip = skipUnlessRequired('webgpu', !ready && `no WebGPU adapter: ${T.webgpuStatus().reason}`);

describe('webgpu backend', { skip }, () => {
  const previous = T.getBackend();
  after(() => {
    T.setBackend(previous);
  });

  test('registers after initWebGPU and reads asynchronously only', async () => {
    assert.ok(T.listBackends().includes('webgpu'));
    T.setBackend('webgpu');
    const a = T.tensor([
      [1, 2],
      [3, 4],
    ]);
    const y = a.matmul(a).add(1);
    assert.equal(y.backend.name, 'webgpu');
    assert.throws(() => y.dataSync(), T.UnsupportedError);
    // [[1,2],[3,4]]² = [[7,10],[15,22]], plus one.
    assert.deepEqual(Array.from(await y.data()), [8, 11, 16, 23]);
  });

  test('sync reads refuse fresh and computed tensors alike, naming the method and its async twin', async () => {
    T.setBackend('webgpu');
    const fresh = T.tensor([1, 2, 3]);
    const computed = fresh.add(1);
    const scalar = T.tensor(5);
    for (const [t, call, twin] of [
      [fresh, () => fresh.dataSync(), 'await t.data()'],
      [computed, () => computed.dataSync(), 'await t.data()'],
      [fresh, () => fresh.arraySync(), 'await t.array()'],
      [scalar, () => scalar.itemSync(), 'await t.item()'],
      [scalar, () => scalar.add(1).itemSync(), 'await t.item()'],
    ] as const) {
      const method = /\.(\w+Sync)\(\)/.exec(call.toString())![1]!;
      assert.throws(call, (e: unknown) => {
        assert.ok(e instanceof T.UnsupportedError, String(e));
        assert.ok(e.message.startsWith(`${method}(): the 'webgpu' backend reads`), e.message);
        assert.ok(e.message.includes(`use ${twin} instead`), e.message);
        return true;
      });
      assert.equal(t.backend.name, 'webgpu');
    }
    assert.deepEqual(Array.from(await fresh.data()), [1, 2, 3]);
    assert.equal(await scalar.item(), 5);
    // Printing does not read either: the same placeholder for fresh and computed tensors.
    assert.match(String(fresh), /^tensor\(<values on webgpu: await t\.data\(\) to read them>, shape=\[3\]/);
    assert.equal(String(computed).split(',')[0], String(fresh).split(',')[0]);
    // float64 lives on the host on webgpu (gradient checks), and reads at once.
    assert.equal(T.tensor([2], { dtype: 'float64' }).itemSync(), 2);
  });

  test('float64 runs on the host and is listed by webgpuFallbacks()', async () => {
    T.setBackend('webgpu');
    const x = T.tensor([1, 2, 3], { dtype: 'float64' });
    const y = x.mul(x).sum();
    assert.equal(y.dtype, 'float64');
    assert.equal(await y.item(), 14);
    const ops = T.webgpuFallbacks().map((f) => `${f.op}:${f.dtype}`);
    assert.ok(ops.includes('mul:float64') && ops.includes('sum:float64'), ops.join(', '));
    assert.ok(T.webgpuFallbacks().every((f) => f.dtype === 'float64'));
  });

  test('LeNet-5 trains on webgpu as on cpu: the same losses (1e-3) over 8 Adam steps, and they fall', async () => {
    T.setBackend('cpu');
    const cpu = await trainSteps(T, 1);
    T.setBackend('webgpu');
    const gpu = await trainSteps(T, 1);
    assert.equal(gpu.backend, 'webgpu');
    gpu.losses.forEach((l, i) => {
      const want = cpu.losses[i]!;
      assert.ok(Math.abs(l - want) <= 1e-3 * Math.max(1, Math.abs(want)), `step ${i}: webgpu ${l}, cpu ${want}`);
    });
    assert.ok(gpu.losses.at(-1)! < gpu.losses[0]! * 0.75, `losses ${gpu.losses.join(' ')}`);
    assert.ok(T.webgpuFallbacks().every((f) => f.dtype === 'float64'));
  });

  test('LeNet-5 soak, 20 steps: finite loss, no host fallbacks, bounded GPU pool', async () => {
    const lines: string[] = [];
    const r = await soak({ steps: 20, batch: 8, readEvery: 5, logEvery: 10, log: (l) => lines.push(l) });
    const first = r.samples[0]!;
    const last = r.samples[r.samples.length - 1]!;
    assert.equal(last.step, 20);
    assert.ok(
      r.samples.every((s) => Number.isFinite(s.loss)),
      lines.join('\n'),
    );
    assert.ok(
      r.fallbacks.every((f) => f.dtype === 'float64'),
      JSON.stringify(r.fallbacks),
    );
    // Random labels: the loss stays near ln 10 ≈ 2.30 rather than falling; it must not blow up.
    assert.ok(last.loss < 3, `loss ${last.loss}`);
    // Dead tensors' buffers return to the pool: the pool may not grow without bound.
    assert.ok(last.poolBytes < 512 * 2 ** 20, `pool grew to ${last.poolBytes} bytes (from ${first.poolBytes})`);
  });

  test('tiled and direct (barrier-free) kernels both match cpu: matmul, conv2d and its gradients, sum / max / argmax', async () => {
    const style = T.webgpuStatus().kernels;
    // Each case: forward value, then gradients for a random upstream gradient, on one backend.
    const run = async (): Promise<number[][]> => {
      const g = new T.Generator(11);
      const r = (shape: number[]): T.Tensor => {
        const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < v.length; i++) v[i] = g.normal();
        return T.fromArray(v, shape);
      };
      const out: number[][] = [];
      const grads = async (y: T.Tensor, inputs: T.Tensor[]): Promise<void> => {
        out.push(Array.from(await y.data()));
        y.mul(r(y.shape as number[]))
          .sum()
          .backward();
        for (const x of inputs) out.push(Array.from(await x.grad!.data()));
      };
      // matmul: a batched case, a transposed view, and one with more than 65535 / 64 columns of work.
      for (const [m, k, n] of [
        [3, 5, 7],
        [70, 33, 20],
        [2, 300, 5],
      ] as const) {
        const a = r([2, m, k]).setRequiresGrad();
        const b = r([2, n, k]).setRequiresGrad();
        await grads(T.matmul(a, b.transpose(1, 2)), [a, b]);
      }
      // conv2d: padding, stride, dilation, groups; a large batch splits K of the weight gradient.
      for (const [shape, wShape, opts] of [
        [[2, 3, 9, 9], [4, 3, 3, 3], { padding: 1 }],
        [[1, 4, 11, 10], [6, 2, 3, 2], { stride: 2, dilation: [1, 2], groups: 2, padding: [1, 0] }],
        [[40, 1, 12, 12], [5, 1, 5, 5], { padding: 2 }],
      ] as const) {
        const x = r([...shape]).setRequiresGrad();
        const w = r([...wShape]).setRequiresGrad();
        await grads(T.conv2d(x, w, null, opts as T.Conv2dOptions), [x, w]);
      }
      const x = r([3, 4, 50]);
      out.push(Array.from(await T.sum(x, [0, 2]).data()), Array.from(await T.max(x, 2).data()));
      out.push(Array.from(await T.argmax(x, 1).data()), Array.from(await T.sum(x).data()));
      return out;
    };
    try {
      T.setBackend('cpu');
      const want = await run();
      T.setBackend('webgpu');
      for (const kernels of ['tiled', 'direct'] as const) {
        T.setWebGPUKernels(kernels);
        assert.equal(T.webgpuStatus().kernels, kernels);
        const got = await run();
        assert.equal(got.length, want.length);
        got.forEach((vals, i) => {
          assert.equal(vals.length, want[i]!.length, `${kernels}: result ${i} length`);
          vals.forEach((v, j) => {
            const w = want[i]![j]!;
            assert.ok(
              Math.abs(v - w) <= 1e-4 * Math.max(1, Math.abs(w)),
              `${kernels}: result ${i}[${j}] ${v}, cpu ${w}`,
            );
          });
        });
      }
    } finally {
      T.setWebGPUKernels('auto');
      assert.equal(T.webgpuStatus().kernels, style);
    }
  });
});
