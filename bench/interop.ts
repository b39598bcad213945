/**
 * Interop benchmark: inference of imported ONNX models in tsgrad (wasm backend, 1 and 2
 * threads) against onnxruntime-node (CPU, 1 and 2 intra-op threads) on the same file, for
 * LeNet-5 (28×28), a CIFAR ResNet-18 (32×32, small-input stem) and the full-size ResNet-18
 * (224×224, 1000 classes), at batch 1 and 32: samples/s and the ratios tsgrad / ORT.
 * The files are exported by tsgrad from models with random weights (the weights do not change
 * the speed). Then the import of a full-size ResNet-50 (random weights, exported here,
 * not committed): time and the peak resident memory (VmHWM) of a fresh process doing only
 * that, beside the same process only loading tsgrad. Timings on a shared machine are noisy.
 *
 *   node dist/bench/interop.js [--quick] [--save]
 *
 * --quick: batch 1 and 4 and the two small models only. --save writes
 * bench/results/<date>-interop.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import {
  createModel,
  exportOnnxBytes,
  getBackend,
  importOnnx,
  init,
  noGrad,
  randn,
  setBackend,
  setNumThreads,
  writeJsonAtomic,
} from '../src/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const quick = process.argv.includes('--quick');
const MIN_SECONDS = quick ? 0.3 : 1.5;

/** Runs `fn` (one batch) until MIN_SECONDS have passed (at least twice, after one warm-up); samples/s. */
async function rate(batch: number, fn: () => Promise<void>): Promise<number> {
  await fn();
  let runs = 0;
  const t0 = performance.now();
  while (runs < 2 || performance.now() - t0 < MIN_SECONDS * 1000) {
    await fn();
    runs++;
  }
  return (batch * runs) / ((performance.now() - t0) / 1000);
}

const MODELS: { name: string; zoo: string; channels: number; size: number; classes: number }[] = [
  { name: 'lenet5', zoo: 'lenet5', channels: 1, size: 28, classes: 10 },
  { name: 'resnet18_cifar', zoo: 'resnet18', channels: 3, size: 32, classes: 10 },
  { name: 'resnet18_224', zoo: 'resnet18', channels: 3, size: 224, classes: 1000 },
];

async function inference(result: Record<string, unknown>): Promise<void> {
  setBackend('wasm');
  const batches = quick ? [1, 4] : [1, 32];
  for (const m of quick ? MODELS.slice(0, 2) : MODELS) {
    const net = init.skipInit(() =>
      createModel(m.zoo, { numClasses: m.classes, inChannels: m.channels, inputSize: m.size }),
    );
    // Random weights, so that no kernel sees special values.
    noGrad(() => {
      for (const p of net.parameters()) p.assign(randn(p.shape).mul(0.05));
    });
    const bytes = await exportOnnxBytes(net, randn([1, m.channels, m.size, m.size]));
    const model = await importOnnx(bytes);
    model.eval();
    for (const batch of batches) {
      const shape = [batch, m.channels, m.size, m.size];
      const x = randn(shape);
      const xData = x.dataSync() as Float32Array;
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        result[`${m.name}_b${batch}_tsgrad_wasm_t${threads}`] = await rate(batch, async () => {
          await noGrad(() => model.forward(x)).data();
        });
        const session = await ort.InferenceSession.create(bytes, {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
        });
        const feeds = { input: new ort.Tensor('float32', xData, shape) };
        result[`${m.name}_b${batch}_ort_t${threads}`] = await rate(batch, async () => {
          await session.run(feeds);
        });
        const ratio =
          (result[`${m.name}_b${batch}_tsgrad_wasm_t${threads}`] as number) /
          (result[`${m.name}_b${batch}_ort_t${threads}`] as number);
        result[`ratio_${m.name}_b${batch}_t${threads}`] = ratio;
        console.error(
          `${m.name} batch ${batch}, ${threads} thread(s): tsgrad-wasm ${(result[`${m.name}_b${batch}_tsgrad_wasm_t${threads}`] as number).toFixed(1)} samples/s, onnxruntime ${(result[`${m.name}_b${batch}_ort_t${threads}`] as number).toFixed(1)} samples/s, ratio ${ratio.toFixed(3)}`,
        );
        await session.release();
      }
    }
  }
}

/** Import time and peak RSS of full-size ResNet-50 in a fresh process, beside an idle one. */
async function resnet50Import(result: Record<string, unknown>): Promise<void> {
  setBackend('cpu');
  const net = init.skipInit(() => createModel('resnet50', { numClasses: 1000, inChannels: 3, inputSize: 224 }));
  noGrad(() => {
    for (const p of net.parameters()) p.assign(randn(p.shape).mul(0.05));
  });
  const bytes = await exportOnnxBytes(net, randn([1, 3, 224, 224]));
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-bench-interop-'));
  const file = join(dir, 'resnet50.onnx');
  writeFileSync(file, bytes);
  const index = join(ROOT, 'dist', 'src', 'index.js');
  const script = join(dir, 'child.mjs');
  writeFileSync(
    script,
    `const T = await import(${JSON.stringify(index)});
const onlyLoad = process.argv[2] === 'idle';
let seconds = 0;
if (!onlyLoad) {
  const t0 = performance.now();
  const m = await T.importOnnx(process.argv[3]);
  seconds = (performance.now() - t0) / 1000;
  if (m.numParameters() < 1e6) throw new Error('too few parameters');
}
// VmHWM (peak RSS of this process image): getrusage's maxRSS would include the parent's RSS at fork.
const { readFileSync } = await import('node:fs');
const hwm = Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
console.log(JSON.stringify({ seconds, maxRssMiB: hwm / 1024 }));`,
  );
  const child = (mode: string) => {
    const r = spawnSync(process.execPath, [script, mode, file], {
      encoding: 'utf8',
      env: { ...process.env, TSGRAD_BACKEND: 'cpu' },
    });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim()) as { seconds: number; maxRssMiB: number };
  };
  const idle = child('idle');
  const runs = [child('import'), child('import'), child('import')];
  const best = runs.reduce((a, b) => (a.seconds < b.seconds ? a : b));
  result['resnet50_file_mib'] = bytes.length / 2 ** 20;
  result['resnet50_import_seconds'] = best.seconds;
  result['resnet50_import_seconds_runs'] = runs.map((r) => r.seconds);
  result['resnet50_import_peak_rss_mib'] = Math.max(...runs.map((r) => r.maxRssMiB));
  result['idle_process_peak_rss_mib'] = idle.maxRssMiB;
  console.error(
    `resnet50 import: ${(bytes.length / 2 ** 20).toFixed(1)} MiB file, ${best.seconds.toFixed(2)} s (best of 3), peak RSS ${(result['resnet50_import_peak_rss_mib'] as number).toFixed(0)} MiB (idle process ${idle.maxRssMiB.toFixed(0)} MiB)`,
  );
}

async function main(): Promise<void> {
  const result: Record<string, unknown> = {
    date: new Date().toISOString().slice(0, 10),
    quick,
    node: process.version,
    ort: ort.env.versions?.common ?? 'unknown',
  };
  await inference(result);
  await resnet50Import(result);
  result['backend_after'] = getBackend().name;
  console.log(JSON.stringify(result));
  if (process.argv.includes('--save')) {
    writeJsonAtomic(
      join(ROOT, 'bench', 'results', `${result['date'] as string}-interop${quick ? '-quick' : ''}.json`),
      result,
    );
  }
}

await main();
