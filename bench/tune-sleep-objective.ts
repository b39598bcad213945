/**
 * A fixed-length trial for bench/tune-scale.ts: TSGRAD_BENCH_TRIAL_MS (default 10000)
 * split into 10 steps, each followed by a report (a pruning round trip), so the time a
 * trial takes beyond its length is the runner's overhead.
 */
import type { Trial } from '../src/tune/study.js';

export async function objective(trial: Trial): Promise<number> {
  const total = Number(process.env['TSGRAD_BENCH_TRIAL_MS'] ?? 10000);
  for (let step = 1; step <= 10; step++) {
    await new Promise((r) => setTimeout(r, total / 10));
    await trial.report(step, trial.params['x'] as number);
  }
  return trial.params['x'] as number;
}
