/**
 * The objective's side of a trial run elsewhere (a worker thread, a Redis worker): an
 * objective module exports `objective(trial, payload)`; reports travel to the
 * coordinator, which answers with the pruning decision.
 */
import { TsgradError } from '../core/errors.js';
import type { Params } from './space.js';
import { type Trial, TrialPruned } from './study.js';

/** What an objective module exports. */
export type ModuleObjective = (trial: Trial, payload: unknown) => number | Promise<number>;

/** A finished remote trial, as sent back to the coordinator. */
export type TrialOutcome =
  | { state: 'complete'; value: number; attrs: Record<string, unknown> }
  | { state: 'pruned'; attrs: Record<string, unknown> }
  | { state: 'failed'; error: string; attrs: Record<string, unknown> };

/** Loads `objective` from a module (a path or file:// URL). */
export async function loadObjective(moduleUrl: string): Promise<ModuleObjective> {
  let mod: { objective?: unknown };
  try {
    mod = (await import(moduleUrl)) as { objective?: unknown };
  } catch (e) {
    throw new TsgradError(`cannot load the objective module ${moduleUrl}: ${(e as Error).message}`);
  }
  if (typeof mod.objective !== 'function')
    throw new TsgradError(`the objective module ${moduleUrl} does not export a function named 'objective'`);
  return mod.objective as ModuleObjective;
}

/**
 * Runs one trial of a module objective. `decide(step, value)` delivers a report and
 * resolves to the pruning decision.
 */
export async function runModuleTrial(
  objective: ModuleObjective,
  job: { number: number; params: Params; dir: string | null; payload: unknown },
  decide: (step: number, value: number) => Promise<boolean>,
): Promise<TrialOutcome> {
  const attrs: Record<string, unknown> = {};
  let prune = false;
  const trial: Trial = {
    number: job.number,
    params: job.params,
    dir: job.dir,
    report: async (step, value) => {
      prune = await decide(step, value);
    },
    shouldPrune: () => prune,
    setAttr: (key, value) => {
      attrs[key] = value;
    },
  };
  try {
    const value = await objective(trial, job.payload);
    if (typeof value !== 'number' || !Number.isFinite(value))
      return { state: 'failed', error: `the objective returned ${String(value)}, not a finite number`, attrs };
    return { state: 'complete', value, attrs };
  } catch (e) {
    if (e instanceof TrialPruned || (e instanceof Error && e.name === 'TrialPruned')) return { state: 'pruned', attrs };
    return { state: 'failed', error: e instanceof Error ? e.message : String(e), attrs };
  }
}

/** Turns an outcome back into what a TrialRunner returns: the value, or TrialPruned / an error thrown. */
export function settleOutcome(trial: Trial, outcome: TrialOutcome): number {
  for (const [k, v] of Object.entries(outcome.attrs ?? {})) trial.setAttr(k, v);
  if (outcome.state === 'complete') return outcome.value;
  if (outcome.state === 'pruned') throw new TrialPruned();
  throw new TsgradError(outcome.error);
}
