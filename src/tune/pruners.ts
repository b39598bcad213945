/**
 * Pruners stop unpromising trials early from the values they report along the way
 * (`trial.report(step, value)`, then `trial.shouldPrune()`).
 */
import { TsgradError } from '../core/errors.js';

/** What a pruner sees of a trial: its reported (step, score) pairs, lower-is-better. */
export interface PrunerTrial {
  number: number;
  state: 'waiting' | 'running' | 'complete' | 'pruned' | 'failed';
  /** [step, score] in report order; score is lower-is-better (maximized values negated). */
  intermediate: readonly (readonly [number, number])[];
}

export interface Pruner {
  readonly name: string;
  /** Whether `trial`, which just reported at `step`, should stop, given the other trials. */
  shouldPrune(trial: PrunerTrial, step: number, others: readonly PrunerTrial[]): boolean;
  options(): Record<string, number>;
}

const valueAt = (t: PrunerTrial, step: number): number | undefined => {
  for (let i = t.intermediate.length - 1; i >= 0; i--) if (t.intermediate[i]![0] === step) return t.intermediate[i]![1];
  return undefined;
};

/** Never prunes. */
export class NopPruner implements Pruner {
  readonly name = 'none';
  shouldPrune(): boolean {
    return false;
  }
  options(): Record<string, number> {
    return {};
  }
}

export interface MedianPrunerOptions {
  /** Finished trials needed before anything is pruned; default 5. */
  startupTrials?: number;
  /** Steps of a trial that are never pruned (the first `warmupSteps` reports); default 0. */
  warmupSteps?: number;
}

/**
 * Prunes a trial whose value at a step is worse than the median of the values that
 * finished trials (complete or pruned) reported at the same step.
 * @example const pruner = new MedianPruner({ startupTrials: 5, warmupSteps: 1 });
 */
export class MedianPruner implements Pruner {
  readonly name = 'median';
  readonly startupTrials: number;
  readonly warmupSteps: number;

  constructor(opts: MedianPrunerOptions = {}) {
    this.startupTrials = opts.startupTrials ?? 5;
    this.warmupSteps = opts.warmupSteps ?? 0;
  }

  options(): Record<string, number> {
    return { startupTrials: this.startupTrials, warmupSteps: this.warmupSteps };
  }

  shouldPrune(trial: PrunerTrial, step: number, others: readonly PrunerTrial[]): boolean {
    if (trial.intermediate.length <= this.warmupSteps) return false;
    const finished = others.filter(
      (t) => t.number !== trial.number && (t.state === 'complete' || t.state === 'pruned'),
    );
    if (finished.filter((t) => t.state === 'complete').length < this.startupTrials) return false;
    const values = finished
      .map((t) => valueAt(t, step))
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length === 0) return false;
    values.sort((a, b) => a - b);
    const mid = values.length >> 1;
    const median = values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
    const mine = valueAt(trial, step);
    return mine !== undefined && (!Number.isFinite(mine) || mine > median);
  }
}

export interface SuccessiveHalvingOptions {
  /** Step of the first rung; default 1. */
  minResource?: number;
  /** Rungs are minResource·η^k; a trial goes on only if it is in the top 1/η of its rung; default 3. */
  reductionFactor?: number;
}

/**
 * Asynchronous successive halving (ASHA, Li et al. 2018): at every rung step
 * (minResource·η^k) a trial continues only if its value is in the top 1/η of the values
 * every trial has reported at that rung so far (itself included). The first trial at a
 * rung always continues, so no trial waits for others.
 * @example const pruner = new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 3 });
 */
export class SuccessiveHalvingPruner implements Pruner {
  readonly name = 'asha';
  readonly minResource: number;
  readonly reductionFactor: number;

  constructor(opts: SuccessiveHalvingOptions = {}) {
    this.minResource = opts.minResource ?? 1;
    this.reductionFactor = opts.reductionFactor ?? 3;
    if (!(this.reductionFactor >= 2))
      throw new TsgradError(`ASHA: reductionFactor must be >= 2, got ${this.reductionFactor}`);
    if (!(this.minResource > 0)) throw new TsgradError(`ASHA: minResource must be > 0, got ${this.minResource}`);
  }

  options(): Record<string, number> {
    return { minResource: this.minResource, reductionFactor: this.reductionFactor };
  }

  private isRung(step: number): boolean {
    const k = Math.log(step / this.minResource) / Math.log(this.reductionFactor);
    return step >= this.minResource && Math.abs(k - Math.round(k)) < 1e-9;
  }

  shouldPrune(trial: PrunerTrial, step: number, others: readonly PrunerTrial[]): boolean {
    if (!this.isRung(step)) return false;
    const mine = valueAt(trial, step);
    if (mine === undefined) return false;
    if (!Number.isFinite(mine)) return true;
    const rivals = others
      .filter((t) => t.number !== trial.number && t.state !== 'failed')
      .map((t) => valueAt(t, step))
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (rivals.length === 0) return false;
    const all = [...rivals, mine].sort((a, b) => a - b);
    const keep = Math.max(1, Math.floor(all.length / this.reductionFactor));
    return mine > all[keep - 1]!;
  }
}

/** A pruner by name: none, median, asha (with options as saved in a study journal). */
export function makePruner(name: string, options: Record<string, number> = {}): Pruner {
  switch (name) {
    case 'none':
      return new NopPruner();
    case 'median':
      return new MedianPruner(options);
    case 'asha':
    case 'successive-halving':
      return new SuccessiveHalvingPruner(options);
  }
  throw new TsgradError(`unknown pruner '${name}': use none, median or asha`);
}
