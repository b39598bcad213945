/**
 * Memory over a long training run: LeNet-5, batch 64, Adam, random data,
 * 2,000 steps by default on the current default backend, with no dispose()
 * anywhere. Samples the resident set size every 100 steps and reports the
 * growth from the end of warm-up (step 200) to the end; exits non-zero when
 * it exceeds 5%.
 *
 *   npm run build && node dist/bench/memory.js [--steps 2000] [--backend wasm]
 */
import { Adam, LeNet5, crossEntropy, getBackend, manualSeed, randint, randn, setBackend } from '../src/index.js';
import { option } from './args.js';

const arg = (name: string, fallback: string): string => option(name) ?? fallback;

const steps = Number(arg('steps', '2000'));
const backend = arg('backend', getBackend().name);
const warmup = Math.min(200, Math.floor(steps / 4));
setBackend(backend);
manualSeed(0);
const model = new LeNet5();
const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
const samples: { step: number; rssMiB: number; heapMiB: number }[] = [];
const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
const start = performance.now();
for (let step = 1; step <= steps; step++) {
  // Fresh inputs every step, as a data loader would produce them.
  const x = randn([64, 1, 28, 28]);
  const y = randint(0, 10, [64]);
  const loss = crossEntropy(model.forward(x), y);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  loss.itemSync();
  if (step % 100 === 0 || step === warmup) {
    const m = process.memoryUsage();
    samples.push({ step, rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed) });
  }
}
const seconds = (performance.now() - start) / 1000;
const atWarmup = samples.find((s) => s.step === warmup)!;
const last = samples[samples.length - 1]!;
const peakAfter = Math.max(...samples.filter((s) => s.step >= warmup).map((s) => s.rssMiB));
const growth = (peakAfter - atWarmup.rssMiB) / atWarmup.rssMiB;
for (const s of samples) console.log(`step ${String(s.step).padStart(5)}  rss ${s.rssMiB} MiB  heap ${s.heapMiB} MiB`);
console.log(
  JSON.stringify({
    benchmark: 'memory',
    backend: getBackend().name,
    steps,
    seconds,
    rss_at_warmup_mib: atWarmup.rssMiB,
    rss_peak_after_warmup_mib: peakAfter,
    rss_end_mib: last.rssMiB,
    growth_after_warmup: growth,
    flat: growth < 0.05,
  }),
);
process.exitCode = growth < 0.05 ? 0 : 1;
