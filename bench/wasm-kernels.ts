/**
 * The wasm backend's GEMM (square sizes of `npm run bench`, and the fully connected layers of the benchmark
 * nets), convolution and pooling kernels at the shapes of the benchmark nets (LeNet-5 and the CIFAR net,
 * batch 64), one thread, timed kernel by kernel. With `--against DIR`, the same kernels of another
 * build (DIR: a checkout whose dist/ is built, e.g. main) run interleaved with this one, call for call, so
 * machine load hits both alike, and the ratios (other / this: above 1 means this build is faster) are printed.
 *
 *   node dist/bench/wasm-kernels.js [--against /path/to/main] [--reps 20] [--only conv|matmul|…] [--save NAME]
 *        (NAME: bench/results/<date>-wasm-kernels-NAME.json)
 *
 * Timings on a shared machine are noisy: the load average at start and end goes into the output.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Backend, View } from '../src/backend/backend.js';
import type { KernelOpName } from '../src/core/ops.js';
import { writeJsonAtomic } from '../src/io/index.js';
import { option } from './args.js';

const against = option('against');
const reps = Number(option('reps') ?? 20);
const only = option('only');
const save = option('save');

type MakeBackend = (variant: 'simd' | 'relaxed-simd') => Backend;
const wasm = await import('../src/backend/wasm/index.js');
// Probing turns relaxed SIMD on where the engine needs a flag for it (Node 20).
const variant = wasm.wasmFeatures().relaxedSimd ? 'relaxed-simd' : 'simd';
const thisBackend = (wasm.createWasmBackend as unknown as MakeBackend)(variant);
let otherBackend: Backend | null = null;
if (against) {
  const url = pathToFileURL(path.resolve(against, 'dist/src/backend/wasm/index.js')).href;
  otherBackend = ((await import(url)) as { createWasmBackend: MakeBackend }).createWasmBackend(variant);
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const strides = (s: readonly number[]): number[] => {
  const out = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    out[i] = acc;
    acc *= s[i]!;
  }
  return out;
};
let seed = 1;
const random = (): number => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
};
const view = (shape: readonly number[], fill = true): View<Float32Array> => {
  const storage = new Float32Array(size(shape));
  if (fill) for (let i = 0; i < storage.length; i++) storage[i] = random();
  return { storage, dtype: 'float32', shape, strides: strides(shape), offset: 0 };
};

interface Case {
  name: string;
  op: KernelOpName;
  inputs: View<Float32Array>[];
  outShape: number[];
  params: unknown;
}

const convParams = (pad: number) => ({
  stride: [1, 1],
  padding: [pad, pad, pad, pad],
  dilation: [1, 1],
  groups: 1,
});
const convCases = (net: string, n: number, cIn: number, hw: number, cOut: number, k: number, pad: number): Case[] => {
  const x = [n, cIn, hw, hw];
  const w = [cOut, cIn, k, k];
  const o = hw + 2 * pad - k + 1;
  const y = [n, cOut, o, o];
  const p = convParams(pad);
  const label = `${net} ${cIn}→${cOut} ${hw}×${hw} k${k}`;
  return [
    { name: `conv2d ${label}`, op: 'conv2d', inputs: [view(x), view(w)], outShape: y, params: p },
    {
      name: `conv2dGradInput ${label}`,
      op: 'conv2dGradInput',
      inputs: [view(y), view(w)],
      outShape: x,
      params: { ...p, inputShape: x },
    },
    {
      name: `conv2dGradWeight ${label}`,
      op: 'conv2dGradWeight',
      inputs: [view(x), view(y)],
      outShape: w,
      params: { ...p, weightShape: w },
    },
    // The backward of conv2dBiasAct with ReLU: the same kernels with dY masked by the output.
    {
      name: `conv2dGradInputAct relu ${label}`,
      op: 'conv2dGradInputAct',
      inputs: [view(y), view(w), view(y)],
      outShape: x,
      params: { ...p, inputShape: x, activation: 'relu', negativeSlope: 0.01 },
    },
    {
      name: `conv2dGradWeightAct relu ${label}`,
      op: 'conv2dGradWeightAct',
      inputs: [view(x), view(y), view(y)],
      outShape: w,
      params: { ...p, weightShape: w, activation: 'relu', negativeSlope: 0.01 },
    },
  ];
};
const poolCases = (net: string, n: number, c: number, hw: number): Case[] => {
  const x = [n, c, hw, hw];
  const y = [n, c, hw / 2, hw / 2];
  const p = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false };
  return [
    { name: `maxPool2d ${net} ${c}×${hw}×${hw}`, op: 'maxPool2d', inputs: [view(x)], outShape: y, params: p },
    {
      name: `maxPool2dGrad ${net} ${c}×${hw}×${hw}`,
      op: 'maxPool2dGrad',
      inputs: [view(x), view(y)],
      outShape: x,
      params: p,
    },
  ];
};

const matmulCase = (label: string, m: number, k: number, n: number): Case => ({
  name: `matmul ${label} ${m}×${k}×${n}`,
  op: 'matmul',
  // The matmul primitive is batched: [batch, m, k] · [batch, k, n].
  inputs: [view([1, m, k]), view([1, k, n])],
  outShape: [1, m, n],
  params: {},
});

const N = 64;
const cases: Case[] = [
  matmulCase('gemm', 256, 256, 256),
  matmulCase('gemm', 512, 512, 512),
  matmulCase('gemm', 1024, 1024, 1024),
  matmulCase('lenet fc1', N, 400, 120),
  matmulCase('lenet fc2', N, 120, 84),
  matmulCase('cifar fc', N, 4096, 512),
  ...convCases('lenet', N, 1, 28, 6, 5, 2),
  ...convCases('lenet', N, 6, 14, 16, 5, 0),
  ...convCases('cifar', N, 3, 32, 32, 3, 1),
  ...convCases('cifar', N, 32, 32, 32, 3, 1),
  ...convCases('cifar', N, 32, 16, 64, 3, 1),
  ...convCases('cifar', N, 64, 16, 64, 3, 1),
  ...poolCases('lenet', N, 6, 28),
  ...poolCases('lenet', N, 16, 10),
  ...poolCases('cifar', N, 32, 32),
].filter((c) => !only || c.name.includes(only));

const call = (b: Backend, c: Case, out: View<Float32Array>): void => {
  const k = b.kernels[c.op] as unknown as (i: View[], o: View, p: unknown) => void;
  k(c.inputs, out, c.params);
};
const best = (xs: number[]): number => Math.min(...xs);

const load0 = os.loadavg();
const rows: { kernel: string; this_ms: number; other_ms?: number; other_over_this?: number; max_abs_diff?: number }[] =
  [];
for (const c of cases) {
  const outThis = view(c.outShape, false);
  const outOther = view(c.outShape, false);
  const tThis: number[] = [];
  const tOther: number[] = [];
  for (let r = 0; r < reps + 2; r++) {
    let t0 = performance.now();
    call(thisBackend, c, outThis);
    if (r >= 2) tThis.push(performance.now() - t0);
    if (otherBackend?.kernels[c.op]) {
      t0 = performance.now();
      call(otherBackend, c, outOther);
      if (r >= 2) tOther.push(performance.now() - t0);
    }
  }
  const row: (typeof rows)[number] = { kernel: c.name, this_ms: best(tThis) };
  if (otherBackend?.kernels[c.op]) {
    let diff = 0;
    for (let i = 0; i < outThis.storage.length; i++)
      diff = Math.max(diff, Math.abs(outThis.storage[i]! - outOther.storage[i]!));
    row.other_ms = best(tOther);
    row.other_over_this = row.other_ms / row.this_ms;
    row.max_abs_diff = diff;
  }
  rows.push(row);
  const f = (v: number): string => v.toFixed(3).padStart(9);
  process.stdout.write(
    `${c.name.padEnd(44)}${f(row.this_ms)} ms` +
      (row.other_ms !== undefined ? `${f(row.other_ms)} ms  ×${row.other_over_this!.toFixed(2)}  Δ${diff(row)}` : '') +
      '\n',
  );
}
function diff(r: (typeof rows)[number]): string {
  return (r.max_abs_diff ?? 0).toExponential(1);
}
const load1 = os.loadavg();
process.stdout.write(
  `fastest of ${reps} calls each (the least disturbed by load); load avg ${load0[0]!.toFixed(2)} → ${load1[0]!.toFixed(2)} on ${os.cpus().length} cores\n`,
);
if (save) {
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().slice(0, 10)}-wasm-kernels-${save}.json`;
  writeJsonAtomic(file, { against: against ?? null, reps, load_avg: [load0[0], load1[0]], rows });
  process.stdout.write(`saved ${file}\n`);
}
