/**
 * Data-parallel replicas against intra-op threads against PyTorch, on LeNet-5 and the CIFAR
 * net at batch 64 and 256: training samples/s (forward + loss + backward + SGD step, the
 * loss read back every step) of
 *   tsgrad 1 thread         one model, wasm backend, setNumThreads(1)
 *   tsgrad 2 threads        one model, setNumThreads(2) (kernels split across 2 threads)
 *   tsgrad 1 replica        DataParallel with 1 replica (its overhead: copies in and out)
 *   tsgrad 2 replicas       DataParallel, 2 replica threads × 1 thread, batch split in two
 *   torch 1 / 2 threads     bench/torch_peer.py's train(), torch.set_num_threads(n)
 * Prints the table, the ratios, the scaling efficiency (2-core rate / 2 × 1-core rate) and a
 * projection to 4 and 8 cores, and saves everything as JSON under bench/results/.
 *
 *   node dist/bench/parallel.js [--seconds 3] [--out bench/results/<date>-parallel.json] [--baseline DIR]
 *
 * --nets lenet,cifar and --batches 64,256 pick the workloads; --rounds R measures every tsgrad
 * figure R times, interleaved, and keeps the medians (the torch peer runs once per workload).
 * Each figure also has the process's CPU time per sample (every thread counted), which a
 * loaded machine disturbs far less than wall time.
 *
 * --baseline DIR: also measures DataParallel (1 and 2 replicas) of another built checkout
 * of tsgrad (DIR/dist/src/index.js and DIR/dist/bench/parallel-models.js), interleaved with
 * this one's in the same run, as `baseline_1replica` / `baseline_2replicas`: an A/B of a
 * change on a machine whose load drifts.
 *
 * The projection is a model, not a measurement: step time T(R) = T₁ / R + c, with T₁ the
 * 1-thread step and c the per-step cost of replication measured with 1 replica (weights
 * written to shared memory, its gradient copied out and summed, two thread wake-ups each way),
 * taken as constant in R (the reduction is split across replicas; the copies are not).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import * as tsgrad from '../src/index.js';
import { DataParallel, setBackend, setNumThreads, type Module, type Tensor } from '../src/index.js';
import { option } from './args.js';
import { cifarNet, lenet } from './parallel-models.js';

type Net = Module & { forward(x: Tensor): Tensor };
const NETS = {
  lenet: { make: lenet, shape: [1, 28, 28], export: 'lenet', torch: 'lenet5' },
  cifar: { make: cifarNet, shape: [3, 32, 32], export: 'cifarNet', torch: 'cifar_net' },
} as const;
const BATCHES = (option('batches') ?? '64,256').split(',').map(Number);
const netNames = (option('nets') ?? 'lenet,cifar').split(',') as (keyof typeof NETS)[];
const seconds = Number(option('seconds') ?? 3);
const rounds = Number(option('rounds') ?? 1);

/** What samplesPerSecond needs of a tsgrad build (this one, or the --baseline one). */
type Lib = Pick<typeof tsgrad, 'SGD' | 'crossEntropy' | 'fromArray' | 'manualSeed' | 'randn'>;

/** One figure: training samples/s, and the process's CPU time (every thread) per sample. */
interface Rate {
  samplesPerSecond: number;
  cpuMsPerSample: number;
}

/** Simple: after 2 warm-up steps, as many steps as fit in `seconds` (at least 3). */
async function samplesPerSecond(net: Net, shape: readonly number[], batch: number, lib: Lib = tsgrad): Promise<Rate> {
  const { SGD, crossEntropy, fromArray, manualSeed, randn } = lib;
  manualSeed(0);
  const x = randn([batch, ...shape]);
  const y = fromArray(
    Int32Array.from({ length: batch }, (_, i) => i % 10),
    [batch],
  );
  const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  net.train();
  const step = async (): Promise<void> => {
    opt.zeroGrad();
    const loss = crossEntropy(net.forward(x), y);
    loss.backward();
    opt.step();
    await loss.item();
  };
  await step();
  await step();
  let steps = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (steps < 3 || performance.now() - t0 < seconds * 1000) {
    await step();
    steps++;
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    samplesPerSecond: (batch * steps) / ((performance.now() - t0) / 1000),
    cpuMsPerSample: (cpu.user + cpu.system) / 1000 / (batch * steps),
  };
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function torchRate(net: string, batch: number, threads: number): number | null {
  const code = [
    'import sys, json, torch',
    "sys.path.insert(0, 'bench')",
    'import torch_peer as p',
    `torch.set_num_threads(${threads})`,
    `shape = (1, 28, 28) if '${net}' == 'lenet5' else (3, 32, 32)`,
    `steps = 5`,
    `r = p.train(p.${net}, shape, ${batch}, steps, 'cpu')`,
    `r = p.train(p.${net}, shape, ${batch}, max(5, int(r * ${seconds} / ${batch})), 'cpu')`,
    'print(json.dumps(r))',
  ].join('\n');
  try {
    return Number(
      execFileSync('/usr/bin/python3', ['-c', code], {
        encoding: 'utf8',
        env: { ...process.env, OMP_NUM_THREADS: String(threads) },
      }).trim(),
    );
  } catch (e) {
    console.error(`torch peer failed: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

const baselineDir = option('baseline');
type Models = { lenet: () => Net; cifarNet: () => Net };
const baseline = baselineDir
  ? {
      lib: (await import(pathToFileURL(resolve(baselineDir, 'dist/src/index.js')).href)) as typeof tsgrad,
      modelsUrl: pathToFileURL(resolve(baselineDir, 'dist/bench/parallel-models.js')).href,
    }
  : null;
const baselineModels = baseline ? ((await import(baseline.modelsUrl)) as Models) : null;
if (baseline) {
  baseline.lib.setBackend('wasm');
  baseline.lib.setNumThreads(1);
}

setBackend('wasm');
const load0 = os.loadavg();
const results: Record<string, Record<string, number | null>> = {};
const cpuPerSample: Record<string, Record<string, number>> = {};
/** Every round measures every tsgrad configuration once, interleaved; the figures are the medians over the rounds. */
const samples: Record<string, Record<string, Rate[]>> = {};
for (let round = 0; round < rounds; round++) {
  for (const name of netNames) {
    const spec = NETS[name];
    for (const batch of BATCHES) {
      const key = `${name}_b${batch}`;
      const r = (samples[key] ??= {});
      const add = (k: string, rate: Rate): void => void (r[k] ??= []).push(rate);
      setNumThreads(1);
      add('tsgrad_1thread', await samplesPerSecond(spec.make(), spec.shape, batch));
      setNumThreads(2);
      add('tsgrad_2threads', await samplesPerSecond(spec.make(), spec.shape, batch));
      setNumThreads(1);
      const factory = { module: new URL('./parallel-models.js', import.meta.url).href, export: spec.export };
      for (const replicas of [1, 2]) {
        const suffix = `${replicas}replica${replicas > 1 ? 's' : ''}`;
        const dp = new DataParallel(spec.make(), { replicas, factory });
        add(`tsgrad_${suffix}`, await samplesPerSecond(dp, spec.shape, batch));
        await dp.close();
        if (baseline && baselineModels) {
          const make = baselineModels[spec.export];
          const old = new baseline.lib.DataParallel(make(), {
            replicas,
            factory: { module: baseline.modelsUrl, export: spec.export },
          });
          add(`baseline_${suffix}`, await samplesPerSecond(old as unknown as Net, spec.shape, batch, baseline.lib));
          await old.close();
        }
      }
      console.error(
        `round ${round + 1}/${rounds}`,
        key,
        JSON.stringify(
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v.at(-1)!.samplesPerSecond)])),
        ),
      );
    }
  }
}
for (const [key, r] of Object.entries(samples)) {
  const [name, b] = key.split('_b') as [keyof typeof NETS, string];
  results[key] = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v.map((x) => x.samplesPerSecond))]));
  cpuPerSample[key] = Object.fromEntries(
    Object.entries(r).map(([k, v]) => [k, median(v.map((x) => x.cpuMsPerSample))]),
  );
  results[key]!['torch_1thread'] = torchRate(NETS[name].torch, Number(b), 1);
  results[key]!['torch_2threads'] = torchRate(NETS[name].torch, Number(b), 2);
  console.error(key, JSON.stringify(results[key]));
}
const load1 = os.loadavg();

const f = (v: number | null | undefined): string => (v == null ? 'n/a' : v.toFixed(0));
const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
  a == null || b == null ? 'n/a' : `${(a / b).toFixed(2)}x`;
const lines: string[] = [];
lines.push(
  '| workload | tsgrad 1 thread | tsgrad 2 threads | tsgrad 1 replica | tsgrad 2 replicas | torch 1 thread | torch 2 threads | 2 replicas / 1 thread | 2 replicas / 2 threads | 2 replicas / torch 2 |',
);
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [k, r] of Object.entries(results))
  lines.push(
    `| ${k} | ${f(r['tsgrad_1thread'])} | ${f(r['tsgrad_2threads'])} | ${f(r['tsgrad_1replica'])} | ${f(r['tsgrad_2replicas'])} | ${f(r['torch_1thread'])} | ${f(r['torch_2threads'])} | ${ratio(r['tsgrad_2replicas'], r['tsgrad_1thread'])} | ${ratio(r['tsgrad_2replicas'], r['tsgrad_2threads'])} | ${ratio(r['tsgrad_2replicas'], r['torch_2threads'])} |`,
  );
lines.push(
  '',
  'CPU time of the whole process (every thread) per training sample, ms (lower is better; robust to load):',
  '',
  `| workload | ${Object.keys(Object.values(cpuPerSample)[0] ?? {}).join(' | ')} |`,
  `|---|${Object.keys(Object.values(cpuPerSample)[0] ?? {})
    .map(() => '---:')
    .join('|')}|`,
);
for (const [k, c] of Object.entries(cpuPerSample))
  lines.push(
    `| ${k} | ${Object.values(c)
      .map((v) => v.toFixed(3))
      .join(' | ')} |`,
  );
if (baseline) {
  lines.push('', `A/B against the baseline build in ${baselineDir} (same run, interleaved):`, '');
  lines.push(
    '| workload | baseline 1 replica | this 1 replica | baseline 2 replicas | this 2 replicas | 2 replicas: this / baseline | baseline 2 replicas / 1 thread | this 2 replicas / 1 thread |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const [k, r] of Object.entries(results))
    lines.push(
      `| ${k} | ${f(r['baseline_1replica'])} | ${f(r['tsgrad_1replica'])} | ${f(r['baseline_2replicas'])} | ${f(r['tsgrad_2replicas'])} | ${ratio(r['tsgrad_2replicas'], r['baseline_2replicas'])} | ${ratio(r['baseline_2replicas'], r['tsgrad_1thread'])} | ${ratio(r['tsgrad_2replicas'], r['tsgrad_1thread'])} |`,
    );
}
lines.push('', 'Scaling efficiency on 2 cores (2-core samples/s ÷ 2 × 1-core samples/s):', '');
lines.push('| workload | tsgrad intra-op threads | tsgrad replicas | torch threads |', '|---|---:|---:|---:|');
const eff = (two: number | null | undefined, one: number | null | undefined): string =>
  two == null || one == null ? 'n/a' : `${((100 * two) / (2 * one)).toFixed(0)}%`;
const projection: Record<string, Record<string, number>> = {};
for (const [k, r] of Object.entries(results)) {
  lines.push(
    `| ${k} | ${eff(r['tsgrad_2threads'], r['tsgrad_1thread'])} | ${eff(r['tsgrad_2replicas'], r['tsgrad_1thread'])} | ${eff(r['torch_2threads'], r['torch_1thread'])} |`,
  );
  const batch = Number(k.split('_b')[1]);
  const t1 = batch / r['tsgrad_1thread']!;
  const c = Math.max(0, batch / r['tsgrad_1replica']! - t1);
  projection[k] = Object.fromEntries([2, 4, 8].map((n) => [`${n}_cores_samples_per_s`, batch / (t1 / n + c)]));
  projection[k]!['replication_overhead_ms'] = c * 1000;
}
lines.push('', 'Projection (a model, not a measurement: T(R) = T1/R + c, c = 1-replica overhead):', '');
lines.push(
  '| workload | c (ms/step) | 2 cores | 4 cores | 8 cores | efficiency at 8 |',
  '|---|---:|---:|---:|---:|---:|',
);
for (const [k, p] of Object.entries(projection))
  lines.push(
    `| ${k} | ${p['replication_overhead_ms']!.toFixed(1)} | ${f(p['2_cores_samples_per_s'])} | ${f(p['4_cores_samples_per_s'])} | ${f(p['8_cores_samples_per_s'])} | ${((100 * p['8_cores_samples_per_s']!) / (8 * results[k]!['tsgrad_1thread']!)).toFixed(0)}% |`,
  );
lines.push(
  '',
  `load average ${load0.map((l) => l.toFixed(2)).join(' ')} at start, ${load1.map((l) => l.toFixed(2)).join(' ')} at end; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'})`,
);
console.log(lines.join('\n'));
const out = option('out') ?? `bench/results/${new Date().toISOString().slice(0, 10)}-parallel.json`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      bench: 'parallel',
      date: new Date().toISOString(),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      loadavg: { start: load0, end: load1 },
      secondsPerFigure: seconds,
      rounds,
      ...(baselineDir ? { baseline: baselineDir } : {}),
      samplesPerSecond: results,
      cpuMsPerSample: cpuPerSample,
      projection,
    },
    null,
    2,
  ) + '\n',
);
console.log(`saved ${out}`);
