/**
 * Where a LeNet-5 training step spends its time: inside backend kernels, in dispatch around them, or in
 * JavaScript elsewhere (composite ops, modules, the autograd engine, the optimizer).
 *
 *   npm run bench:profile                                  wasm backend, its default threads, Adam, batch 64
 *   node dist/bench/profile-step.js [--backend wasm] [--threads N] [--steps 200] [--warmup 30]
 *        [--batch 64] [--optimizer adam|sgd] [--save NAME]  (NAME: bench/results/<date>-profile-step-NAME.json)
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile-step.js --plain [--threads 1] [--optimizer sgd]
 *   node scripts/cpuprofile-summary.mjs /tmp/prof/*.cpuprofile
 *        --plain runs the same steps with no timers of its own and prints samples/s, for V8's sampling
 *        profiler; the summary splits its self time into wasm kernels, backend JS, other tsgrad JS and GC.
 *
 * The step is the one `tsgrad train` runs: zoo LeNet5 on random 1×28×28 batches, cross-entropy, zeroGrad,
 * backward, optimizer step, the loss read back. Timing is tensor/dispatch.ts's opt-in profileOps(): for each
 * primitive, its calls, the time inside the backend's kernel (for a backend that copies operands in and out,
 * the copies are inside) and the time in run() as a whole (shape inference, output allocation, views, the
 * graph node, the kernel). Per step:
 *   kernels    = Σ kernel time
 *   dispatch   = Σ run() time − kernels
 *   elsewhere  = step wall time − Σ run() time
 * "Outside kernels" is dispatch + elsewhere. The same steps are also timed with profiling off (alternating
 * blocks of steps, so drift in machine load hits both alike) to show what the timers themselves cost.
 * Wall times on a shared machine are noisy: the load average at start and end goes into the output.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import {
  Adam,
  LeNet5,
  SGD,
  crossEntropy,
  getBackend,
  getNumThreads,
  manualSeed,
  randint,
  randn,
  setBackend,
  setNumThreads,
  wasmReady,
} from '../src/index.js';
import { writeJsonAtomic } from '../src/io/index.js';
import { wasmMemoryStats, wasmStagingCopies } from '../src/backend/wasm/index.js';
import { type OpTiming, profileOps } from '../src/tensor/dispatch.js';
import { option } from './args.js';

const f3 = (v: number): string => v.toFixed(3);
const backend = option('backend') ?? 'wasm';
const steps = Number(option('steps') ?? 200);
const warmup = Number(option('warmup') ?? 30);
const batch = Number(option('batch') ?? 64);
const optimizerName = option('optimizer') ?? 'adam';
const threadsOpt = option('threads');
const save = option('save');
const plain = process.argv.includes('--plain');
for (const [name, v] of [
  ['steps', steps],
  ['warmup', warmup],
  ['batch', batch],
] as const) {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`--${name}: expected a positive integer, got ${v}`);
}
if (optimizerName !== 'adam' && optimizerName !== 'sgd')
  throw new Error(`--optimizer: adam or sgd, got ${optimizerName}`);

if (backend === 'wasm' && !(await wasmReady())) throw new Error('profile-step: the wasm backend is unavailable here');
setBackend(backend);
if (threadsOpt !== undefined) setNumThreads(Number(threadsOpt));
manualSeed(0);
const model = new LeNet5();
const opt =
  optimizerName === 'adam' ? new Adam(model.parameters(), { lr: 1e-3 }) : new SGD(model.parameters(), { lr: 0.01 });
const x = randn([batch, 1, 28, 28]);
const y = randint(0, 10, [batch]);
const step = (): void => {
  const loss = crossEntropy(model.forward(x), y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  loss.itemSync();
};

const load0 = os.loadavg();
for (let i = 0; i < warmup; i++) step();
const heapAtStart = backend === 'wasm' ? wasmMemoryStats() : null;
const stagingAtStart = backend === 'wasm' ? wasmStagingCopies() : null;
if (plain) {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - t0) / steps;
  console.log(
    `LeNet-5 training step, backend ${getBackend().name}, ${getNumThreads()} thread(s), ${optimizerName}, ` +
      `batch ${batch}: ${f3(ms)} ms/step, ${((1000 * batch) / ms).toFixed(0)} samples/s`,
  );
  process.exit(0);
}

// Alternate blocks of profiled and plain steps so that changes in machine load fall on both.
const block = Math.max(1, Math.min(20, Math.floor(steps / 4)));
const totals = new Map<string, OpTiming>();
let profiledMs = 0;
let plainMs = 0;
let profiledSteps = 0;
let plainSteps = 0;
while (profiledSteps < steps) {
  const n = Math.min(block, steps - profiledSteps);
  const t0 = performance.now();
  const { ops } = profileOps(() => {
    for (let i = 0; i < n; i++) step();
  });
  profiledMs += performance.now() - t0;
  profiledSteps += n;
  for (const [op, t] of ops) {
    const acc = totals.get(op) ?? { calls: 0, kernelMs: 0, runMs: 0 };
    acc.calls += t.calls;
    acc.kernelMs += t.kernelMs;
    acc.runMs += t.runMs;
    totals.set(op, acc);
  }
  const t1 = performance.now();
  for (let i = 0; i < n; i++) step();
  plainMs += performance.now() - t1;
  plainSteps += n;
}
const load1 = os.loadavg();
const heapAtEnd = backend === 'wasm' ? wasmMemoryStats() : null;
const stagingAtEnd = backend === 'wasm' ? wasmStagingCopies() : null;
/** The wasm heap's resident storage over the measured steps (its forced full GCs fall in "dispatch": they run in output allocation). */
const resident = heapAtEnd && {
  budget_mib_env: process.env['TSGRAD_WASM_RESIDENT_MIB'] ?? null,
  resident_bytes_end: heapAtEnd.residentBytes,
  memory_bytes_end: heapAtEnd.memoryBytes,
  host_fallbacks_per_step: (heapAtEnd.hostFallbacks - heapAtStart!.hostFallbacks) / (profiledSteps + plainSteps),
  reclaimed_per_step: (heapAtEnd.reclaimed - heapAtStart!.reclaimed) / (profiledSteps + plainSteps),
  full_gcs_per_step: (heapAtEnd.fullGcs - heapAtStart!.fullGcs) / (profiledSteps + plainSteps),
  full_gc_ms_per_step: (heapAtEnd.fullGcMs - heapAtStart!.fullGcMs) / (profiledSteps + plainSteps),
  temporary_mib_env: process.env['TSGRAD_WASM_TEMPORARY_MIB'] ?? null,
  temporaries_per_step: (heapAtEnd.temporaries - heapAtStart!.temporaries) / (profiledSteps + plainSteps),
  recycled_per_step: (heapAtEnd.recycled - heapAtStart!.recycled) / (profiledSteps + plainSteps),
  /** Operand copies into and out of linear memory (host storages staged for a kernel). */
  staging_copies_per_step: (stagingAtEnd!.count - stagingAtStart!.count) / (profiledSteps + plainSteps),
  staging_mb_per_step: (stagingAtEnd!.bytes - stagingAtStart!.bytes) / 1e6 / (profiledSteps + plainSteps),
};

const perStep = (ms: number): number => ms / profiledSteps;
const stepMs = perStep(profiledMs);
const kernelMs = perStep([...totals.values()].reduce((a, t) => a + t.kernelMs, 0));
const runMs = perStep([...totals.values()].reduce((a, t) => a + t.runMs, 0));
const dispatchMs = runMs - kernelMs;
const elsewhereMs = stepMs - runMs;
const pct = (ms: number): number => (100 * ms) / stepMs;
const rows = [...totals.entries()]
  .map(([op, t]) => ({
    op,
    calls_per_step: t.calls / profiledSteps,
    kernel_ms_per_step: perStep(t.kernelMs),
    dispatch_ms_per_step: perStep(t.runMs - t.kernelMs),
    kernel_pct_of_step: pct(perStep(t.kernelMs)),
  }))
  .sort((a, b) => b.kernel_ms_per_step - a.kernel_ms_per_step);

const command = `node dist/bench/profile-step.js ${process.argv.slice(2).join(' ')}`.trim();
const threads = getNumThreads();
const f = (v: number, d = 3): string => v.toFixed(d);
const out: string[] = [];
out.push(`# ${command}`);
out.push(
  `LeNet-5 training step, backend ${getBackend().name}, ${threads} thread${threads === 1 ? '' : 's'}, ` +
    `${optimizerName}, batch ${batch}, ${profiledSteps} profiled steps after ${warmup} warm-up; ` +
    `load avg ${f(load0[0]!, 2)} → ${f(load1[0]!, 2)} on ${os.cpus().length} cores`,
);
out.push('');
out.push(
  `${'op'.padEnd(20)}${'calls'.padStart(7)}${'kernel ms'.padStart(11)}${'% step'.padStart(8)}${'dispatch ms'.padStart(13)}`,
);
for (const r of rows) {
  out.push(
    `${r.op.padEnd(20)}${f(r.calls_per_step, 1).padStart(7)}${f(r.kernel_ms_per_step).padStart(11)}` +
      `${f(r.kernel_pct_of_step, 1).padStart(8)}${f(r.dispatch_ms_per_step).padStart(13)}`,
  );
}
out.push('');
out.push(`step            ${f(stepMs)} ms (with profiling; ${f(plainMs / plainSteps)} ms without)`);
out.push(`kernels         ${f(kernelMs)} ms  ${f(pct(kernelMs), 1)}%`);
out.push(`dispatch        ${f(dispatchMs)} ms  ${f(pct(dispatchMs), 1)}%  (run() around the kernels)`);
out.push(
  `elsewhere       ${f(elsewhereMs)} ms  ${f(pct(elsewhereMs), 1)}%  (composites, modules, autograd, optimizer)`,
);
out.push(`outside kernels ${f(dispatchMs + elsewhereMs)} ms  ${f(pct(dispatchMs + elsewhereMs), 1)}%`);
if (resident) {
  out.push(
    `wasm heap       budget ${resident.budget_mib_env ?? 'default'} MiB: ${f(resident.host_fallbacks_per_step, 1)} host storages, ` +
      `${f(resident.reclaimed_per_step, 1)} blocks reclaimed, ${f(resident.full_gcs_per_step, 2)} full GCs ` +
      `(${f(resident.full_gc_ms_per_step)} ms) per step`,
    `                ${f(resident.temporaries_per_step, 1)} temporaries, ${f(resident.recycled_per_step, 1)} recycled, ` +
      `${f(resident.staging_copies_per_step, 1)} staging copies (${f(resident.staging_mb_per_step, 2)} MB) per step`,
  );
}
console.log(out.join('\n'));

const json = {
  benchmark: 'tsgrad-profile-step',
  command,
  date: new Date().toISOString(),
  machine: {
    cpu: os.cpus()[0]?.model ?? null,
    cores: os.cpus().length,
    node: process.version,
    loadavg_start: load0.map((v) => Math.round(v * 100) / 100),
    loadavg_end: load1.map((v) => Math.round(v * 100) / 100),
  },
  config: { backend: getBackend().name, threads, optimizer: optimizerName, batch, steps: profiledSteps, warmup },
  step_ms: stepMs,
  step_ms_unprofiled: plainMs / plainSteps,
  kernels_ms: kernelMs,
  dispatch_ms: dispatchMs,
  elsewhere_ms: elsewhereMs,
  outside_kernels_pct: pct(dispatchMs + elsewhereMs),
  kernels_pct: pct(kernelMs),
  by_op: rows,
  wasm_resident: resident,
};
if (save) {
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${json.date.slice(0, 10)}-profile-step-${save}.json`;
  writeJsonAtomic(file, json);
  console.log(`saved ${file}`);
}
