/**
 * A study: a search space, a strategy, a pruner and the trials run so far, journaled
 * atomically to `<dir>/study.json` after every change (a trial started, a value reported,
 * a trial finished), so a crash loses nothing and `Study.open(dir)` continues where it
 * stopped, re-running only the trials that had not finished.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DataFileError, TsgradError } from '../core/errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { Generator } from '../tensor/random.js';
import { type Pruner, NopPruner, makePruner } from './pruners.js';
import { type Params, type Space, validateSpace } from './space.js';
import { type Observation, type Strategy, makeStrategy } from './strategies.js';

export type TrialState = 'waiting' | 'running' | 'complete' | 'pruned' | 'failed';
export type Direction = 'minimize' | 'maximize';

/** Thrown by an objective (after `trial.shouldPrune()`) to stop its trial as pruned. */
export class TrialPruned extends TsgradError {
  constructor(message = 'pruned') {
    super(message);
  }
}

/** One trial as journaled. */
export interface TrialRecord {
  number: number;
  params: Params;
  state: TrialState;
  /** Final value (complete), last reported value (pruned), null otherwise. */
  value: number | null;
  /** [step, value] in report order. */
  intermediate: [number, number][];
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
  /** How many times it was started (more than 1 after a crash, a resume or a worker lost mid-trial). */
  attempts: number;
  /** Who ran it: 'main', 'thread-2', a Redis worker's id. */
  worker: string | null;
  /** Where the objective may save files (weights); relative to the study directory. */
  dir: string | null;
  /** Free-form results the objective attached (test accuracy, epochs run, ...). */
  attrs: Record<string, unknown>;
}

export interface StudyFile {
  format: 'tsgrad-study';
  version: 1;
  name: string;
  /** Random id of this study, so queue jobs of another study with the same name are never mixed in. */
  id: string;
  direction: Direction;
  metric: string;
  seed: number;
  /** Trials the study aims for. */
  targetTrials: number;
  strategy: { name: string; options: Record<string, number> };
  pruner: { name: string; options: Record<string, number> };
  space: Space;
  /** Free-form settings of the caller (the CLI's fixed train options, the redacted Redis URL, ...). */
  meta: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  trials: TrialRecord[];
}

/** The objective's handle on its trial. */
export interface Trial {
  readonly number: number;
  readonly params: Params;
  /** The trial's own directory (absolute), or null for a study without a directory. */
  readonly dir: string | null;
  /** Records an intermediate value; the pruner decides from it (await it: a remote decision takes a round trip). */
  report(step: number, value: number): Promise<void>;
  /** Whether the pruner asked this trial to stop after the last report. */
  shouldPrune(): boolean;
  /** Attaches a result to the trial's record (JSON-serializable). */
  setAttr(key: string, value: unknown): void;
}

export type Objective = (trial: Trial) => number | Promise<number>;

/** Runs trials somewhere (in this thread, in worker threads, on Redis workers). */
export interface TrialRunner {
  readonly concurrency: number;
  /** Runs the trial to its value; throws TrialPruned when pruned, any other error when failed. */
  run(trial: Trial): Promise<number>;
  close?(): Promise<void>;
}

export interface StudyOptions {
  space: Space;
  /** Default: a Bayesian (TPE) strategy. */
  strategy?: Strategy;
  /** Default: no pruning. */
  pruner?: Pruner;
  direction?: Direction;
  /** Name of the value, for tables ('value' by default). */
  metric?: string;
  seed?: number;
  /** Journal directory; without it the study lives in memory. */
  dir?: string;
  name?: string;
  meta?: Record<string, unknown>;
}

export interface OptimizeOptions {
  /** Total trials the study should hold (finished ones included). */
  trials: number;
  /** Trials at once with the default in-process runner; default 1. */
  concurrency?: number;
  runner?: TrialRunner;
  onTrialStart?(t: TrialRecord): void;
  onTrialEnd?(t: TrialRecord, study: Study): void;
}

/** 32-bit mix of the study seed and a trial number: each trial's own random stream. */
function trialSeed(seed: number, n: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  return (h ^ (h >>> 12)) >>> 0;
}

const now = (): string => new Date().toISOString();

/**
 * A hyperparameter study.
 * @example
 * const study = new Study({ space: { x: hp.float(-5, 5) }, strategy: new TPEStrategy(), seed: 1 });
 * await study.optimize((trial) => (trial.params.x as number) ** 2, { trials: 30 });
 * study.best?.params; // x near 0
 */
export class Study {
  readonly space: Space;
  readonly strategy: Strategy;
  readonly pruner: Pruner;
  readonly direction: Direction;
  readonly metric: string;
  readonly seed: number;
  readonly dir: string | null;
  readonly name: string;
  readonly id: string;
  meta: Record<string, unknown>;
  trials: TrialRecord[] = [];
  targetTrials = 0;
  private createdAt = now();
  private stopping = false;

  constructor(opts: StudyOptions) {
    validateSpace(opts.space);
    this.space = opts.space;
    this.strategy = opts.strategy ?? makeStrategy('bayesian');
    this.pruner = opts.pruner ?? new NopPruner();
    this.direction = opts.direction ?? 'minimize';
    this.metric = opts.metric ?? 'value';
    this.seed = opts.seed ?? 0;
    this.dir = opts.dir ?? null;
    this.name = opts.name ?? 'study';
    this.id = randomBytes(6).toString('hex');
    this.meta = opts.meta ?? {};
    if (this.dir) {
      if (existsSync(join(this.dir, 'study.json')))
        throw new TsgradError(`${this.dir} already holds a study; continue it with Study.open (tsgrad tune --resume)`);
      mkdirSync(this.dir, { recursive: true });
      this.save();
    }
  }

  /**
   * Reopens a journaled study. Trials that were running or waiting when it stopped go back
   * to waiting and are run first, with the same parameters.
   */
  static open(dir: string): Study {
    const file = readStudyFile(dir);
    const study = Object.create(Study.prototype) as Study;
    Object.assign(study, {
      space: file.space,
      strategy: makeStrategy(file.strategy.name, file.strategy.options),
      pruner: makePruner(file.pruner.name, file.pruner.options),
      direction: file.direction,
      metric: file.metric,
      seed: file.seed,
      dir,
      name: file.name,
      id: file.id,
      meta: file.meta,
      trials: file.trials,
      targetTrials: file.targetTrials,
      createdAt: file.createdAt,
      stopping: false,
    });
    for (const t of study.trials) if (t.state === 'running') t.state = 'waiting';
    return study;
  }

  /** Lower-is-better score of a value. */
  score(value: number): number {
    return this.direction === 'maximize' ? -value : value;
  }

  /** Adds a known configuration to try before the strategy's own (a seed configuration). */
  enqueue(params: Params): TrialRecord {
    const t = this.newRecord(params);
    this.save();
    return t;
  }

  /** The best complete trial (ties: the earlier one), or null. */
  get best(): TrialRecord | null {
    let best: TrialRecord | null = null;
    for (const t of this.trials) {
      if (t.state !== 'complete' || t.value === null || !Number.isFinite(t.value)) continue;
      if (!best || this.score(t.value) < this.score(best.value!)) best = t;
    }
    return best;
  }

  /** Trials sorted best first: complete by value, then pruned by last value, then the rest. */
  sortedTrials(): TrialRecord[] {
    const rank = (t: TrialRecord): number => ({ complete: 0, pruned: 1, running: 2, waiting: 3, failed: 4 })[t.state];
    return [...this.trials].sort(
      (a, b) =>
        rank(a) - rank(b) ||
        (a.value !== null && b.value !== null ? this.score(a.value) - this.score(b.value) : 0) ||
        a.number - b.number,
    );
  }

  /** Asks optimize() to start no new trial; running ones finish. */
  stop(): void {
    this.stopping = true;
  }

  toJSON(): StudyFile {
    return {
      format: 'tsgrad-study',
      version: 1,
      name: this.name,
      id: this.id,
      direction: this.direction,
      metric: this.metric,
      seed: this.seed,
      targetTrials: this.targetTrials,
      strategy: { name: this.strategy.name, options: this.strategy.options() },
      pruner: { name: this.pruner.name, options: this.pruner.options() },
      space: this.space,
      meta: this.meta,
      createdAt: this.createdAt,
      updatedAt: now(),
      trials: this.trials,
    };
  }

  /** Writes the journal (atomically); a no-op without a directory. */
  save(): void {
    if (this.dir) writeJsonAtomic(join(this.dir, 'study.json'), this.toJSON());
  }

  private newRecord(params: Params): TrialRecord {
    const t: TrialRecord = {
      number: this.trials.length,
      params,
      state: 'waiting',
      value: null,
      intermediate: [],
      error: null,
      startedAt: null,
      finishedAt: null,
      seconds: null,
      attempts: 0,
      worker: null,
      dir: null,
      attrs: {},
    };
    this.trials.push(t);
    return t;
  }

  private observations(): Observation[] {
    return this.trials
      .filter((t) => (t.state === 'complete' || t.state === 'pruned') && t.value !== null)
      .map((t) => ({
        number: t.number,
        params: t.params,
        state: t.state as 'complete' | 'pruned',
        score: this.score(t.value!),
      }));
  }

  /** The next trial to run: a waiting one, else a new one from the strategy; null when done. */
  private nextTrial(): TrialRecord | null {
    const waiting = this.trials.find((t) => t.state === 'waiting');
    if (waiting) return waiting;
    if (this.trials.length >= this.targetTrials) return null;
    const params = this.strategy.suggest({
      space: this.space,
      history: this.observations(),
      taken: this.trials.map((t) => t.params),
      rng: new Generator(trialSeed(this.seed, this.trials.length)),
    });
    return params ? this.newRecord(params) : null;
  }

  private handle(t: TrialRecord): Trial {
    let prune = false;
    const dir = this.dir ? join(this.dir, 'trials', String(t.number)) : null;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      t.dir = join('trials', String(t.number));
    }
    return {
      number: t.number,
      params: { ...t.params },
      dir,
      report: async (step: number, value: number) => {
        if (!Number.isFinite(step))
          throw new TsgradError(`trial ${t.number}: report step must be a number, got ${step}`);
        // A retried attempt reports the same steps again: the newer value replaces the older.
        t.intermediate = t.intermediate.filter(([s]) => s !== step);
        t.intermediate.push([step, value]);
        const others = this.trials.map((o) => ({
          number: o.number,
          state: o.state,
          intermediate: o.intermediate.map(([s, v]) => [s, this.score(v)] as const),
        }));
        const me = others[t.number]!;
        prune = this.pruner.shouldPrune(me, step, others);
        this.save();
      },
      shouldPrune: () => prune,
      setAttr: (key: string, value: unknown) => {
        t.attrs[key] = value;
      },
    };
  }

  private finish(t: TrialRecord, state: TrialState, value: number | null, error: string | null, start: number): void {
    t.state = state;
    t.value = value;
    t.error = error;
    t.finishedAt = now();
    t.seconds = (performance.now() - start) / 1000;
    t.worker = typeof t.attrs['worker'] === 'string' ? t.attrs['worker'] : 'main';
    this.save();
  }

  /** Runs one trial to its end and records the outcome; never throws for the objective's errors. */
  async runOne(
    t: TrialRecord,
    runner: TrialRunner,
    opts: Pick<OptimizeOptions, 'onTrialStart' | 'onTrialEnd'> = {},
  ): Promise<void> {
    t.state = 'running';
    t.attempts++;
    t.startedAt = now();
    t.intermediate = [];
    t.error = null;
    this.save();
    opts.onTrialStart?.(t);
    const start = performance.now();
    const trial = this.handle(t);
    try {
      const value = await runner.run(trial);
      if (typeof value !== 'number' || !Number.isFinite(value))
        this.finish(t, 'failed', null, `the objective returned ${String(value)}, not a finite number`, start);
      else this.finish(t, 'complete', value, null, start);
    } catch (e) {
      if (e instanceof TrialPruned) {
        const last = t.intermediate[t.intermediate.length - 1];
        this.finish(t, 'pruned', last ? last[1] : null, null, start);
      } else {
        this.finish(t, 'failed', null, e instanceof Error ? e.message : String(e), start);
      }
    }
    opts.onTrialEnd?.(t, this);
  }

  /**
   * Runs trials until the study holds `trials` finished ones (or the grid is exhausted).
   * A trial whose objective throws or returns NaN is recorded as failed with the message,
   * and the study goes on.
   */
  async optimize(objective: Objective | null, opts: OptimizeOptions): Promise<TrialRecord | null> {
    this.targetTrials = Math.max(this.targetTrials, opts.trials);
    this.stopping = false;
    const runner: TrialRunner =
      opts.runner ??
      (() => {
        if (!objective) throw new TsgradError('Study.optimize: give an objective or a runner');
        return { concurrency: opts.concurrency ?? 1, run: async (trial: Trial) => objective(trial) };
      })();
    this.save();
    const running = new Set<Promise<void>>();
    for (;;) {
      while (!this.stopping && running.size < runner.concurrency) {
        const t = this.nextTrial();
        if (!t) break;
        const p: Promise<void> = this.runOne(t, runner, opts).finally(() => running.delete(p));
        running.add(p);
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
    return this.best;
  }
}

/** Reads and checks `<dir>/study.json`. */
export function readStudyFile(dir: string): StudyFile {
  const path = join(dir, 'study.json');
  if (!existsSync(path)) throw new DataFileError(path, 'not found: the directory holds no tsgrad study');
  let file: StudyFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as StudyFile;
  } catch (e) {
    throw new DataFileError(path, `not valid JSON (${(e as Error).message})`);
  }
  if (file.format !== 'tsgrad-study' || !Array.isArray(file.trials))
    throw new DataFileError(path, 'not a tsgrad study journal');
  return file;
}
