/**
 * Search quality: the Bayesian strategy (TPE) against random search at equal budget on
 * Branin (2-d, optimum 0.397887) and Hartmann-6 (6-d, optimum −3.32237), over 20 seeds.
 * Prints the median and quartiles of the best value after 10, 20 and 40 evaluations
 * and saves them to bench/results/<date>-tune-search.json.
 *   node dist/bench/tune-search.js [--seeds 20] [--name suffix]
 * TPE_OPTS='{"startupTrials":5}' tries other TPE options (the saved run uses the defaults).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../src/io/atomic.js';
import { type Space, hp } from '../src/tune/space.js';
import { RandomStrategy, type Strategy, TPEStrategy } from '../src/tune/strategies.js';
import { Study } from '../src/tune/study.js';
import { option } from './args.js';

function branin(p: Record<string, unknown>): number {
  const x1 = p['x1'] as number;
  const x2 = p['x2'] as number;
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
}

const H_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const H_ALPHA = [1, 1.2, 3, 3.2];
function hartmann6(p: Record<string, unknown>): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += H_A[i]![j]! * ((p[`x${j + 1}`] as number) - H_P[i]![j]! * 1e-4) ** 2;
    s -= H_ALPHA[i]! * Math.exp(-inner);
  }
  return s;
}

const PROBLEMS: { name: string; optimum: number; space: Space; f: (p: Record<string, unknown>) => number }[] = [
  { name: 'branin', optimum: 0.397887, space: { x1: hp.float(-5, 10), x2: hp.float(0, 15) }, f: branin },
  {
    name: 'hartmann6',
    optimum: -3.32237,
    space: Object.fromEntries(Array.from({ length: 6 }, (_, j) => [`x${j + 1}`, hp.float(0, 1)])),
    f: hartmann6,
  },
];

const quantile = (sorted: number[], q: number): number => {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.ceil(pos)]! - sorted[lo]!) * (pos - lo);
};

async function bestCurve(
  space: Space,
  f: (p: Record<string, unknown>) => number,
  strategy: Strategy,
  seed: number,
  n: number,
): Promise<number[]> {
  const study = new Study({ space, strategy, seed });
  await study.optimize((t) => f(t.params), { trials: n });
  const curve: number[] = [];
  let best = Infinity;
  for (const t of study.trials) curve.push((best = Math.min(best, t.value ?? Infinity)));
  return curve;
}

const seeds = Number(option('seeds') ?? 20);
const budgets = [10, 20, 40];
const out: Record<string, unknown>[] = [];
const start = performance.now();
for (const prob of PROBLEMS) {
  const row: Record<string, unknown> = { problem: prob.name, optimum: prob.optimum, seeds };
  for (const [label, make] of [
    ['random', () => new RandomStrategy()],
    ['bayesian', () => new TPEStrategy(JSON.parse(process.env['TPE_OPTS'] ?? '{}') as Record<string, number>)],
  ] as const) {
    const curves = [];
    for (let s = 0; s < seeds; s++) curves.push(await bestCurve(prob.space, prob.f, make(), s, 40));
    const stats: Record<string, { q1: number; median: number; q3: number }> = {};
    for (const b of budgets) {
      const v = curves.map((c) => c[b - 1]!).sort((a, c) => a - c);
      stats[String(b)] = { q1: quantile(v, 0.25), median: quantile(v, 0.5), q3: quantile(v, 0.75) };
    }
    row[label] = stats;
  }
  out.push(row);
  console.log(`${prob.name} (optimum ${prob.optimum}), best value over ${seeds} seeds: median [q1, q3]`);
  for (const b of budgets) {
    const r = (row['random'] as Record<string, { q1: number; median: number; q3: number }>)[String(b)]!;
    const t = (row['bayesian'] as Record<string, { q1: number; median: number; q3: number }>)[String(b)]!;
    const f = (s: { q1: number; median: number; q3: number }): string =>
      `${s.median.toFixed(4)} [${s.q1.toFixed(4)}, ${s.q3.toFixed(4)}]`;
    console.log(
      `  ${String(b).padStart(2)} evals: random ${f(r)}   bayesian ${f(t)}   gap to optimum: random ${(r.median - prob.optimum).toFixed(4)}, bayesian ${(t.median - prob.optimum).toFixed(4)} (${t.median < r.median ? 'bayesian better' : 'random better'})`,
    );
  }
}
const seconds = (performance.now() - start) / 1000;
const date = new Date().toISOString().slice(0, 10);
const name = option('name');
mkdirSync('bench/results', { recursive: true });
const file = join('bench/results', `${date}-tune-search${name ? `-${name}` : ''}.json`);
writeJsonAtomic(file, { benchmark: 'tune-search', date, strategy: 'TPE (defaults) vs random', seconds, results: out });
console.log(`saved ${file} (${seconds.toFixed(1)} s)`);
