/**
 * Memory over a long training run: LeNet-5, batch 64, Adam, random data, 2,000 steps by
 * default on the current default backend, with no dispose() anywhere. Samples the resident
 * set size (and V8's young-generation size and the external ArrayBuffer bytes) every 20
 * steps and reports two growth figures:
 *
 * - `growth_after_warmup`: peak RSS after step 200 against the RSS sampled at step 200.
 * - `growth_after_v8_settled`: V8 sizes its young generation by the allocation rate it sees,
 *   doubling the semi-space (8 → 16 → 32 MiB of new space here) a few hundred steps into the
 *   run; each doubling raises RSS once, by up to the added size, whatever the run's length.
 *   This figure starts after the last such resize (and after step 200): the peak RSS in the
 *   last fifth of the run against the peak in the first fifth after that point. A leak shows
 *   in both figures; V8's one-time resize only in the first.
 *
 * Exits non-zero when `growth_after_v8_settled` exceeds 5%, or when fewer than 500 steps
 * remain after V8 settled (then the run is too short to tell).
 *
 *   npm run build && node dist/bench/memory.js [--steps 2000] [--backend wasm]
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { Adam, LeNet5, crossEntropy, getBackend, manualSeed, randint, randn, setBackend } from '../src/index.js';
import { wasmMemoryStats } from '../src/backend/wasm/index.js';
import { option } from './args.js';

const arg = (name: string, fallback: string): string => option(name) ?? fallback;

const steps = Number(arg('steps', '2000'));
const backend = arg('backend', getBackend().name);
const warmup = Math.min(200, Math.floor(steps / 4));
const every = 20;
setBackend(backend);
manualSeed(0);
const model = new LeNet5();
const optimizer = new Adam(model.parameters(), { lr: 1e-3 });

interface Sample {
  step: number;
  rssMiB: number;
  heapMiB: number;
  externalMiB: number;
  newSpaceMiB: number;
}
const samples: Sample[] = [];
const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
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
  if (step % every === 0 || step === warmup) {
    const m = process.memoryUsage();
    samples.push({
      step,
      rssMiB: mib(m.rss),
      heapMiB: mib(m.heapUsed),
      externalMiB: mib(m.arrayBuffers),
      newSpaceMiB: mib(newSpace()),
    });
  }
}
const seconds = (performance.now() - start) / 1000;
const peak = (xs: readonly Sample[]): number => Math.max(...xs.map((s) => s.rssMiB));

const atWarmup = samples.find((s) => s.step === warmup)!;
const afterWarmup = samples.filter((s) => s.step >= warmup);
const growth = (peak(afterWarmup) - atWarmup.rssMiB) / atWarmup.rssMiB;

// The first sample at which V8's new space has its final size, and no earlier than warm-up.
let settledAt = warmup;
for (let i = 1; i < samples.length; i++) {
  if (samples[i]!.newSpaceMiB !== samples[i - 1]!.newSpaceMiB) settledAt = Math.max(settledAt, samples[i]!.step);
}
const settled = samples.filter((s) => s.step >= settledAt);
const span = steps - settledAt;
const fifth = span / 5;
const early = settled.filter((s) => s.step <= settledAt + fifth);
const late = settled.filter((s) => s.step >= steps - fifth);
const conclusive = span >= 500 && early.length > 0 && late.length > 0;
const growthSettled = conclusive ? (peak(late) - peak(early)) / peak(early) : null;
const flat = growthSettled !== null && growthSettled < 0.05;

for (const s of samples.filter((s) => s.step % 100 === 0 || s.step === warmup || s.step === settledAt)) {
  console.log(
    `step ${String(s.step).padStart(5)}  rss ${s.rssMiB} MiB  heap ${s.heapMiB} MiB  external ${s.externalMiB} MiB  new space ${s.newSpaceMiB} MiB`,
  );
}
console.log(
  JSON.stringify({
    benchmark: 'memory',
    backend: getBackend().name,
    steps,
    seconds,
    sample_every: every,
    rss_at_warmup_mib: atWarmup.rssMiB,
    rss_peak_after_warmup_mib: peak(afterWarmup),
    rss_end_mib: samples[samples.length - 1]!.rssMiB,
    growth_after_warmup: growth,
    v8_new_space_mib: [...new Set(samples.map((s) => s.newSpaceMiB))],
    v8_settled_at_step: settledAt,
    rss_peak_first_fifth_after_settled_mib: early.length ? peak(early) : null,
    rss_peak_last_fifth_mib: late.length ? peak(late) : null,
    growth_after_v8_settled: growthSettled,
    flat,
    resident_mib_env: process.env['TSGRAD_WASM_RESIDENT_MIB'] ?? null,
    wasm_heap: getBackend().name === 'wasm' ? wasmMemoryStats() : null,
  }),
);
process.exitCode = flat ? 0 : 1;
