/**
 * webgpu throughput on a real GPU: fp32 GEMM TFLOP/s (n = 1024, 2048, 4096), LeNet-5 and a
 * CIFAR-style CNN training samples/s at batch 64 and 256. Prints one JSON line.
 * `--tiny` shrinks every size so the script can be checked on lavapipe. In the same command it
 * runs PyTorch on the same workloads (bench/torch_peer.py: fp32, TF32 off; on CUDA unless
 * `--torch-device cpu`; `--no-torch` skips it) and adds each figure's ratio tsgrad / torch.
 * `--save` also writes the JSON to bench/results/<date>-webgpu.json.
 *
 *   node dist/bench/webgpu.js [--tiny] [--torch-device cuda|cpu] [--no-torch] [--save]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LeNet5,
  SGD,
  Sequential,
  crossEntropy,
  initWebGPU,
  manualSeed,
  randint,
  randn,
  setBackend,
  shutdownWebGPU,
  webgpuFallbacks,
  webgpuStatus,
  writeJsonAtomic,
} from '../src/index.js';
import { option } from './args.js';
import { cifarNet } from './parallel-models.js';

const tiny = process.argv.includes('--tiny');
/** The repository root (this file runs as dist/bench/webgpu.js). */
const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');

/** PyTorch's figures for the same workloads, or why there are none. */
function torchPeer(): Record<string, unknown> {
  const args = [join(ROOT, 'bench', 'torch_peer.py'), '--device', option('torch-device') ?? 'cuda'];
  if (tiny) args.push('--tiny');
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, args, { encoding: 'utf8' });
    const last = r.stdout?.trim().split('\n').at(-1);
    if (r.status === 0 && last) return JSON.parse(last) as Record<string, unknown>;
    if (last?.startsWith('{')) return JSON.parse(last) as Record<string, unknown>;
  }
  return { error: 'no python3 with torch' };
}

async function gemm(n: number, reps: number): Promise<number> {
  const a = randn([1, n, n]);
  const b = randn([1, n, n]);
  await a.matmul(b).sum().item(); // compile and warm up
  const t0 = performance.now();
  let c = a;
  for (let i = 0; i < reps; i++) c = a.matmul(b);
  await c.sum().item();
  const s = (performance.now() - t0) / 1000;
  return (2 * n ** 3 * reps) / s / 1e12;
}

async function train(
  make: () => Sequential | LeNet5,
  shape: readonly number[],
  batch: number,
  steps: number,
): Promise<number> {
  manualSeed(0);
  const model = make();
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([batch, ...shape]);
  const y = randint(0, 10, [batch]);
  const step = (): ReturnType<typeof crossEntropy> => {
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  await step().item(); // compile pipelines
  const t0 = performance.now();
  let loss = step();
  for (let i = 1; i < steps; i++) loss = step();
  await loss.item();
  return (batch * steps) / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  if (!(await initWebGPU())) {
    console.error(`bench/webgpu: no WebGPU adapter: ${webgpuStatus().reason}`);
    process.exit(2);
  }
  setBackend('webgpu');
  const gemmSizes = tiny ? [64, 128] : [1024, 2048, 4096];
  const batches = tiny ? [4, 8] : [64, 256];
  const steps = tiny ? 2 : 20;
  const result: Record<string, unknown> = { adapter: webgpuStatus().adapter, tiny };
  for (const n of gemmSizes) result[`gemm_${n}_tflops`] = await gemm(n, tiny ? 1 : n >= 4096 ? 5 : 20);
  for (const b of batches) {
    result[`lenet5_b${b}_samples_per_s`] = await train(() => new LeNet5(), [1, 28, 28], b, steps);
  }
  for (const b of batches) result[`cifar_b${b}_samples_per_s`] = await train(cifarNet, [3, 32, 32], b, steps);
  result['host_fallbacks'] = webgpuFallbacks();
  await shutdownWebGPU();
  if (!process.argv.includes('--no-torch')) {
    const torch = torchPeer();
    result['torch'] = torch;
    for (const [k, v] of Object.entries(result)) {
      const t = torch[k];
      if (typeof v === 'number' && typeof t === 'number' && t > 0) result[`ratio_${k}`] = v / t;
    }
  }
  result['date'] = new Date().toISOString().slice(0, 10);
  console.log(JSON.stringify(result));
  if (process.argv.includes('--save')) {
    writeJsonAtomic(join(ROOT, 'bench', 'results', `${result['date'] as string}-webgpu.json`), result);
  }
}

await main();
