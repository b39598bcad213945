/**
 * A cheap objective module for tune tests (CLI, worker threads, Redis workers):
 * (x − 0.3)² reported over a few sleeps, so a trial takes long enough to be killed
 * mid-way. TSGRAD_TEST_TUNE_LOG names a file that gets one line per completed trial
 * ("<trial number> <pid>"), TSGRAD_TEST_TUNE_STEP_MS the sleep per step.
 */
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { type Trial, TrialPruned } from '../../src/tune/study.js';

export async function objective(trial: Trial): Promise<number> {
  const x = trial.params['x'] as number;
  const stepMs = Number(process.env['TSGRAD_TEST_TUNE_STEP_MS'] ?? 100);
  const value = (x - 0.3) ** 2;
  if (trial.params['fail'] === true) throw new Error(`trial ${trial.number} failed on purpose`);
  for (let step = 1; step <= 4; step++) {
    await new Promise((r) => setTimeout(r, stepMs));
    await trial.report(step, value + 1 / step);
    if (trial.shouldPrune()) throw new TrialPruned();
  }
  trial.setAttr('pid', process.pid);
  trial.setAttr('thread', threadId);
  const log = process.env['TSGRAD_TEST_TUNE_LOG'];
  if (log) appendFileSync(log, `${trial.number} ${process.pid}\n`);
  return value;
}
