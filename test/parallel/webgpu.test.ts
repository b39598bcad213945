/**
 * Data-parallel replicas on two GPUDevices: each webgpu replica thread opens its own device
 * (two devices from one adapter stand in for two GPUs: lavapipe in CI), and training follows
 * the single-device loss curve. Skips, naming the reason, where no WebGPU adapter exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataParallel,
  SGD,
  Trainer,
  createModel,
  fromArray,
  initWebGPU,
  manualSeed,
  randn,
  shutdownWebGPU,
  webgpuStatus,
  type Module,
  type Tensor,
} from '../../src/index.js';
import { skipUnlessRequired } from '../helpers/require.js';

const ready = await initWebGPU();
const skip = skipUnlessRequired('webgpu', !ready && `no WebGPU adapter: ${webgpuStatus().reason}`);
// Only the replicas use WebGPU; the main thread checked that an adapter exists.
await shutdownWebGPU();

const LENET = { zoo: 'lenet5', options: { numClasses: 10, inChannels: 1, inputSize: 28 } } as const;

async function losses(replicas: string[] | null): Promise<{ losses: number[]; dp: DataParallel | null }> {
  manualSeed(3);
  const x = randn([48, 1, 28, 28]);
  const y = fromArray(
    Int32Array.from({ length: 48 }, (_, i) => i % 10),
    [48],
  );
  manualSeed(42);
  const model = createModel('lenet5', LENET.options) as Module & { forward(x: Tensor): Tensor };
  const dp = replicas ? new DataParallel(model, { devices: replicas, factory: LENET }) : null;
  const net = dp ?? model;
  const out: number[] = [];
  await new Trainer(net, {
    train: [x, y],
    epochs: 1,
    batchSize: 16,
    optimizer: new SGD(net.parameters(), { lr: 0.05 }),
    callbacks: [{ onBatchEnd: (_t, _b, logs) => void out.push(logs.loss) }],
  }).fit();
  return { losses: out, dp };
}

test('two webgpu replicas on their own GPUDevices follow the single-device loss curve', { skip }, async () => {
  const single = await losses(null);
  const gpu = await losses(['webgpu:0', 'webgpu:1']);
  const backends = gpu.dp!.replicaBackends();
  assert.equal(backends.length, 2);
  for (const b of backends) assert.match(b, /^webgpu \(/);
  assert.equal(gpu.losses.length, 3);
  gpu.losses.forEach((l, i) => {
    const rel = Math.abs(l - single.losses[i]!) / single.losses[i]!;
    // The GPU kernels sum in another order than the CPU ones: float32 rounding, not bit for bit.
    assert.ok(rel < 1e-4, `step ${i + 1}: ${l} on webgpu replicas vs ${single.losses[i]} on one device`);
  });
  await gpu.dp!.close();
});
