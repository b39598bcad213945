/**
 * Where a DataParallel training step spends its time, per thread and per phase: the main
 * thread (state written to shared memory, batch scattered, waits for the replicas, outputs
 * gathered, gradients taken in; "outside" is the loss, the optimizer step and the rest of
 * the step) and each replica (idle between commands, weights loaded, forward, backward,
 * gradient copied out, barrier, its slice of the reduction). Wall and CPU ms per step: on a
 * loaded machine wall time includes waiting for a core, CPU time does not.
 *
 *   node dist/bench/parallel-profile.js [--net lenet|cifar] [--batch 64] [--replicas 2] [--steps 40] [--save NAME]
 */
import os from 'node:os';
import {
  DataParallel,
  SGD,
  crossEntropy,
  fromArray,
  manualSeed,
  randn,
  setBackend,
  setNumThreads,
} from '../src/index.js';
import { writeJsonAtomic } from '../src/io/index.js';
import { threadCpuMs } from '../src/parallel/profile.js';
import { option } from './args.js';
import { cifarNet, lenet } from './parallel-models.js';

const netName = option('net') ?? 'lenet';
const batch = Number(option('batch') ?? 64);
const replicas = Number(option('replicas') ?? 2);
const steps = Number(option('steps') ?? 40);
const save = option('save');
const spec =
  netName === 'cifar'
    ? { make: cifarNet, shape: [3, 32, 32], export: 'cifarNet' }
    : { make: lenet, shape: [1, 28, 28], export: 'lenet' };

setBackend('wasm');
setNumThreads(1);
const load0 = os.loadavg();
const factory = { module: new URL('./parallel-models.js', import.meta.url).href, export: spec.export };
const dp = new DataParallel(spec.make(), { replicas, factory, profile: true });
manualSeed(0);
const x = randn([batch, ...spec.shape]);
const y = fromArray(
  Int32Array.from({ length: batch }, (_, i) => i % 10),
  [batch],
);
const opt = new SGD(dp.parameters(), { lr: 0.01, momentum: 0.9 });
dp.train();
const step = async (): Promise<void> => {
  opt.zeroGrad();
  const loss = crossEntropy(dp.forward(x), y);
  loss.backward();
  opt.step();
  await loss.item();
};
for (let i = 0; i < 3; i++) await step();
dp.resetProfile();
const t0 = performance.now();
const c0 = threadCpuMs();
for (let i = 0; i < steps; i++) await step();
const wall = (performance.now() - t0) / steps;
const mainCpu = (threadCpuMs() - c0) / steps;
const prof = dp.profile();
await dp.close();
const load1 = os.loadavg();

const per = (v: number): number => Math.round((100 * v) / steps) / 100;
const mainWall = Object.values(prof.main).reduce((a, p) => a + p.wallMs, 0) / steps;
const mainPhaseCpu = Object.values(prof.main).reduce((a, p) => a + p.cpuMs, 0) / steps;
const rows: string[] = [`${netName} batch ${batch}, ${replicas} replicas: ${wall.toFixed(2)} ms/step wall`, ''];
rows.push('| thread | phase | wall ms/step | CPU ms/step |', '|---|---|---:|---:|');
for (const [phase, p] of Object.entries(prof.main))
  rows.push(`| main | ${phase} | ${per(p.wallMs)} | ${per(p.cpuMs)} |`);
rows.push(
  `| main | outside (loss, optimizer, rest) | ${(wall - mainWall).toFixed(2)} | ${(mainCpu - mainPhaseCpu).toFixed(2)} |`,
);
prof.replicas.forEach((phases, r) => {
  for (const [phase, p] of Object.entries(phases))
    if (p.count) rows.push(`| replica ${r} | ${phase} | ${per(p.wallMs)} | ${per(p.cpuMs)} |`);
});
rows.push(
  '',
  `load average ${load0.map((l) => l.toFixed(2)).join(' ')} at start, ${load1.map((l) => l.toFixed(2)).join(' ')} at end`,
);
console.log(rows.join('\n'));
if (save) {
  const path = `bench/results/${new Date().toISOString().slice(0, 10)}-parallel-profile-${save}.json`;
  writeJsonAtomic(path, {
    bench: 'parallel-profile',
    date: new Date().toISOString(),
    node: process.version,
    cores: os.cpus().length,
    loadavg: { start: load0, end: load1 },
    config: { net: netName, batch, replicas, steps },
    stepWallMs: wall,
    mainCpuMsPerStep: mainCpu,
    perStep: {
      main: Object.fromEntries(
        Object.entries(prof.main).map(([k, p]) => [k, { wallMs: per(p.wallMs), cpuMs: per(p.cpuMs) }]),
      ),
      replicas: prof.replicas.map((ph) =>
        Object.fromEntries(Object.entries(ph).map(([k, p]) => [k, { wallMs: per(p.wallMs), cpuMs: per(p.cpuMs) }])),
      ),
    },
  });
  console.log(`saved ${path}`);
}
