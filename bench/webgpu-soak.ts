/**
 * Soak test for the webgpu backend: trains LeNet-5 on random data for many steps, printing
 * the loss, the process RSS and the GPU buffer pool every 100 steps, then shuts the device
 * down and exits with code 0. Growth of RSS or pool bytes across the run means a leak;
 * an abort at exit means Dawn was not shut down cleanly.
 *
 *   XDG_RUNTIME_DIR=/tmp node dist/bench/webgpu-soak.js [--steps 2000] [--batch 64] [--read-every 10] [--log-every 100]
 */
import { fileURLToPath } from 'node:url';
import {
  LeNet5,
  SGD,
  crossEntropy,
  initWebGPU,
  manualSeed,
  randint,
  randn,
  setBackend,
  shutdownWebGPU,
  webgpuFallbacks,
  webgpuStatus,
} from '../src/index.js';
import { option } from './args.js';

export interface SoakOptions {
  steps?: number;
  batch?: number;
  /** Read the loss back every this many steps (the reads bound the queued GPU work). */
  readEvery?: number;
  /** Lines of progress go here (default: console.log). */
  log?: (line: string) => void;
  logEvery?: number;
}

export interface SoakSample {
  step: number;
  loss: number;
  rssBytes: number;
  poolBytes: number;
}

export interface SoakResult {
  adapter: string;
  samples: SoakSample[];
  seconds: number;
  fallbacks: ReturnType<typeof webgpuFallbacks>;
}

/**
 * Runs the soak on the webgpu backend (which must be initialised); restores no backend.
 * @example if (await initWebGPU()) console.log(await soak({ steps: 50 }));
 */
export async function soak(opts: SoakOptions = {}): Promise<SoakResult> {
  const steps = opts.steps ?? 2000;
  const batch = opts.batch ?? 64;
  const readEvery = opts.readEvery ?? 10;
  const logEvery = opts.logEvery ?? 100;
  const log = opts.log ?? ((l: string) => console.log(l));
  setBackend('webgpu');
  manualSeed(1);
  const model = new LeNet5();
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const samples: SoakSample[] = [];
  const t0 = performance.now();
  let loss = NaN;
  for (let step = 1; step <= steps; step++) {
    const x = randn([batch, 1, 28, 28]);
    const y = randint(0, 10, [batch]);
    opt.zeroGrad();
    const l = crossEntropy(model.forward(x), y);
    l.backward();
    opt.step();
    if (step % readEvery === 0 || step === steps || step % logEvery === 0) loss = await l.item();
    if (step % logEvery === 0 || step === steps || step === 1) {
      if (step === 1) loss = await l.item();
      const sample = {
        step,
        loss,
        rssBytes: process.memoryUsage().rss,
        poolBytes: webgpuStatus().poolBytes,
      };
      samples.push(sample);
      log(
        `step ${step}: loss ${loss.toFixed(4)}  rss ${(sample.rssBytes / 2 ** 20).toFixed(1)} MiB  ` +
          `gpu pool ${(sample.poolBytes / 2 ** 20).toFixed(2)} MiB`,
      );
    }
  }
  return {
    adapter: webgpuStatus().adapter ?? '',
    samples,
    seconds: (performance.now() - t0) / 1000,
    fallbacks: webgpuFallbacks(),
  };
}

function arg(name: string, fallback: number): number {
  const v = option(name);
  return v !== undefined ? Number(v) : fallback;
}

async function main(): Promise<void> {
  if (!(await initWebGPU())) {
    console.error(`webgpu-soak: no WebGPU adapter: ${webgpuStatus().reason}`);
    process.exit(2);
  }
  console.log(`adapter: ${webgpuStatus().adapter}`);
  const r = await soak({
    steps: arg('steps', 2000),
    batch: arg('batch', 64),
    readEvery: arg('read-every', 10),
    logEvery: arg('log-every', 100),
  });
  const first = r.samples[0]!;
  const last = r.samples[r.samples.length - 1]!;
  console.log(
    `done: ${last.step} steps in ${r.seconds.toFixed(1)} s; rss ${(first.rssBytes / 2 ** 20).toFixed(1)} -> ` +
      `${(last.rssBytes / 2 ** 20).toFixed(1)} MiB; gpu pool ${(first.poolBytes / 2 ** 20).toFixed(2)} -> ` +
      `${(last.poolBytes / 2 ** 20).toFixed(2)} MiB; host fallbacks ${JSON.stringify(r.fallbacks)}`,
  );
  await shutdownWebGPU();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
