/**
 * End to end: `tsgrad train` on Fashion-MNIST against a plain PyTorch script with the same recipe, on this
 * machine, one after the other, each at its default thread count.
 *
 *   npm run bench:e2e                       2 epochs (a few minutes; for trying)
 *   node dist/bench/end-to-end.js --epochs 10 [--save NAME] [--order torch-first] [--data-dir DIR]
 *        [--torch-threads N] [--tsgrad-threads N]   (override a side's default thread count)
 *        (NAME: bench/results/<date>-end-to-end-NAME.json)
 *
 * tsgrad: `node dist/src/cli/main.js train --dataset fashion-mnist --epochs N --eval-test --json --out <tmp>`,
 * every other option at its default (zoo LeNet-5, Adam lr 0.002, cosine schedule with half an epoch of
 * warm-up, batch 64, no augmentation for fashion-mnist, no validation split), TSGRAD_NUM_THREADS removed
 * from its environment so the library picks its default. `--eval-test` adds the test pass after every
 * epoch that the PyTorch script makes (tsgrad also evaluates the test set once more at the end).
 * PyTorch: bench/fashion_torch.py with /usr/bin/python3, OMP/MKL/OPENBLAS_NUM_THREADS removed from its
 * environment (PyTorch's default threads). Needs the dataset-fashion-mnist package (or --data-dir).
 *
 * Figures: wall seconds of each whole process (start-up, data loading, training, test passes), their ratio
 * (tsgrad / PyTorch; below 1 means tsgrad is faster), each side's own training seconds where it reports
 * them, and the final test accuracies. Wall times on a shared machine are noisy: the load average before
 * and after each run goes into the JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../src/io/index.js';
import { option } from './args.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const TORCH_SCRIPT = join(ROOT, 'bench/fashion_torch.py');
const PYTHON = '/usr/bin/python3';

const epochs = Number(option('epochs') ?? 2);
if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`--epochs: expected a positive integer`);
const order = option('order') ?? 'tsgrad-first';
if (order !== 'tsgrad-first' && order !== 'torch-first') throw new Error(`--order: tsgrad-first or torch-first`);
const dataDir = option('data-dir');
const save = option('save');
const torchThreads = option('torch-threads');
const tsgradThreads = option('tsgrad-threads');

interface Side {
  command: string;
  wall_seconds: number;
  loadavg_before: number[];
  loadavg_after: number[];
  exit: number | null;
  result: Record<string, unknown> | null;
  error?: string;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

function runSide(cmd: string, args: string[], env: NodeJS.ProcessEnv): Side {
  const loadBefore = os.loadavg().map(round2);
  process.stderr.write(`[e2e] ${cmd} ${args.join(' ')}\n`);
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  const wall = (performance.now() - t0) / 1000;
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let result: Record<string, unknown> | null = null;
  try {
    result = JSON.parse(last) as Record<string, unknown>;
  } catch {
    result = null;
  }
  const side: Side = {
    command: [cmd, ...args].join(' '),
    wall_seconds: wall,
    loadavg_before: loadBefore,
    loadavg_after: os.loadavg().map(round2),
    exit: r.status,
    result,
  };
  if (r.error || r.status !== 0 || !result)
    side.error = r.error ? r.error.message : `exit ${r.status ?? r.signal}; last stdout line: ${last.slice(0, 300)}`;
  process.stderr.write(`[e2e]   ${wall.toFixed(1)} s${side.error ? ` — ${side.error}` : ''}\n`);
  return side;
}

function tsgradSide(): Side {
  const out = mkdtempSync(join(os.tmpdir(), 'tsgrad-e2e-'));
  const env = { ...process.env };
  delete env['TSGRAD_NUM_THREADS'];
  if (tsgradThreads !== undefined) env['TSGRAD_NUM_THREADS'] = tsgradThreads;
  const args = [CLI, 'train', '--dataset', 'fashion-mnist', '--epochs', String(epochs), '--eval-test', '--json'];
  if (dataDir) args.push('--data-dir', dataDir);
  args.push('--out', join(out, 'run'));
  try {
    return runSide(process.execPath, args, env);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function torchSide(): Side {
  const env = { ...process.env };
  for (const k of ['OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS']) delete env[k];
  const args = [TORCH_SCRIPT, '--epochs', String(epochs)];
  if (torchThreads !== undefined) args.push('--threads', torchThreads);
  if (dataDir) args.push('--data-dir', dataDir);
  return runSide(PYTHON, args, env);
}

const started = new Date();
const sides = order === 'tsgrad-first' ? [tsgradSide(), torchSide()] : [torchSide(), tsgradSide()].reverse();
const [ts, torch] = sides as [Side, Side];
const num = (r: Record<string, unknown> | null, k: string): number | null =>
  typeof r?.[k] === 'number' ? (r[k] as number) : null;
const tsAcc = num(ts.result, 'test_accuracy');
const torchAcc = num(torch.result, 'test_accuracy');
const ratio = !ts.error && !torch.error ? ts.wall_seconds / torch.wall_seconds : null;
const tsTrain = num(ts.result, 'seconds');
const torchTrain = num(torch.result, 'train_seconds');

const pctText = (v: number | null): string => (v === null ? '—' : `${(100 * v).toFixed(2)}%`);
const secText = (v: number | null): string => (v === null ? '—' : `${v.toFixed(1)} s`);
const lines = [
  `Fashion-MNIST, LeNet-5, ${epochs} epoch${epochs > 1 ? 's' : ''}, each at its default threads — ${started.toISOString()}, ` +
    `${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`,
  `${'side'.padEnd(9)}${'wall'.padStart(10)}${'training'.padStart(11)}${'test acc'.padStart(10)}   load avg before → after`,
  ...(
    [
      ['tsgrad', ts, tsTrain, tsAcc],
      ['PyTorch', torch, torchTrain, torchAcc],
    ] as const
  ).map(
    ([name, s, train, acc]) =>
      `${name.padEnd(9)}${secText(s.wall_seconds).padStart(10)}${secText(train).padStart(11)}${pctText(acc).padStart(10)}   ` +
      `${s.loadavg_before[0]} → ${s.loadavg_after[0]}${s.error ? `   ERROR: ${s.error}` : ''}`,
  ),
  ratio === null
    ? 'ratio: — (a side failed)'
    : `wall-time ratio tsgrad / PyTorch: ${ratio.toFixed(2)}× (target ≤ 1.5×, stretch ≤ 1.0×)`,
  `PyTorch threads: ${String(torch.result?.['threads'] ?? '—')}; tsgrad backend: ${String(ts.result?.['backend'] ?? '—')}, ` +
    `threads: ${tsgradThreads ?? 'its default'}`,
];
console.log(lines.join('\n'));

const json = {
  benchmark: 'tsgrad-end-to-end',
  date: started.toISOString(),
  machine: { cpu: os.cpus()[0]?.model ?? null, cores: os.cpus().length, node: process.version },
  config: {
    epochs,
    order,
    dataset: 'fashion-mnist',
    data_dir: dataDir ?? null,
    torch_threads: torchThreads ?? 'default',
    tsgrad_threads: tsgradThreads ?? 'default',
  },
  tsgrad: ts,
  torch,
  wall_ratio_tsgrad_vs_torch: ratio,
  test_accuracy: { tsgrad: tsAcc, torch: torchAcc },
};
if (save) {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, `bench/results/${json.date.slice(0, 10)}-end-to-end-${save}.json`);
  writeJsonAtomic(file, json);
  console.log(`saved ${file}`);
}
process.exitCode = ratio === null ? 1 : 0;
