import { ArgumentError, TsgradError } from '../core/errors.js';
import type { LRScheduler } from '../optim/schedules.js';
import { noGrad } from '../tensor/dispatch.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Dataset } from '../data/dataset.js';
import { type Callback, type Logs, type MetricName, type Trainer, metricValue, setMetric } from './fit.js';
import { evaluate } from './metrics.js';

export type Mode = 'min' | 'max' | 'auto';

/** 'auto' watches accuracies for a rise and everything else for a fall. */
function resolveMode(mode: Mode, monitor: string): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return /acc|top/.test(monitor) ? 'max' : 'min';
}

function readMetric(logs: Logs, monitor: string, who: string): number {
  const v = metricValue(logs, monitor);
  if (v === undefined) {
    throw new TsgradError(
      `${who}: metric '${monitor}' is not in the epoch logs (available: ${Object.keys(logs).join(', ')}); pass a val set for val_* metrics`,
    );
  }
  return v;
}

/** Tracks the best value of a metric with a minimum improvement. */
class BestTracker {
  best: number;
  readonly mode: 'min' | 'max';
  constructor(
    monitor: string,
    mode: Mode,
    private readonly minDelta: number,
  ) {
    this.mode = resolveMode(mode, monitor);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }
  improves(v: number): boolean {
    return this.mode === 'min' ? v < this.best - this.minDelta : v > this.best + this.minDelta;
  }
}

export interface EarlyStoppingOptions {
  monitor?: MetricName;
  mode?: Mode;
  /** Epochs without improvement before stopping. */
  patience?: number;
  /** Smallest change that counts as an improvement. */
  minDelta?: number;
  /** At the end, put back the weights of the best epoch (or evaluation). */
  restoreBestWeights?: boolean;
  /**
   * When to look: after every epoch (the default), or every N optimizer steps
   * (`{ steps: 500 }`), evaluating the validation set (fit's `val`, or `data`)
   * then; `patience` then counts evaluations. A step-based stop ends the run
   * mid-epoch as finished, not interrupted.
   */
  every?: 'epoch' | { steps: number };
  /** The set evaluated every N steps (default: the Trainer's val set). */
  data?: Dataset;
}

/**
 * Stops training when a monitored metric stops improving, optionally
 * restoring the weights of the best epoch.
 * @example new EarlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true })
 */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  private readonly tracker: BestTracker;
  private wait = 0;
  bestEpoch = -1;
  /** Epoch (1-based) at which training was stopped, or 0. */
  stoppedEpoch = 0;
  private bestWeights: Map<string, Tensor> | null = null;

  /** Evaluate every this many steps (null: at epoch ends). */
  readonly everySteps: number | null;
  /** Optimizer step (1-based) of the best evaluation in step mode, or -1. */
  bestStep = -1;
  /** Step at which training was stopped in step mode, or 0. */
  stoppedStep = 0;

  constructor(readonly options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? 'val_loss';
    this.patience = options.patience ?? 0;
    if (!(this.patience >= 0)) throw new ArgumentError(`EarlyStopping: patience must be >= 0, got ${this.patience}`);
    this.tracker = new BestTracker(this.monitor, options.mode ?? 'auto', options.minDelta ?? 0);
    const every = options.every ?? 'epoch';
    if (every === 'epoch') this.everySteps = null;
    else if (typeof every === 'object' && every !== null && Number.isInteger(every.steps) && every.steps >= 1)
      this.everySteps = every.steps;
    else
      throw new ArgumentError(
        `EarlyStopping: every must be 'epoch' or { steps: N } with N a positive integer, got ${JSON.stringify(every)}`,
      );
    if (this.everySteps !== null && !/^val_(loss|accuracy|top5)$/.test(this.monitor))
      throw new ArgumentError(
        `EarlyStopping: every N steps it evaluates a validation set, so monitor must be val_loss, val_accuracy or val_top5, got '${this.monitor}'`,
      );
  }

  onTrainBegin(t: Trainer): void {
    if (this.everySteps !== null && !(this.options.data ?? t.options.val))
      throw new TsgradError('EarlyStopping({ every: { steps } }): give fit a val set, or pass data to EarlyStopping');
  }

  onBatchEnd(t: Trainer): void {
    if (this.everySteps === null || t.step % this.everySteps !== 0) return;
    const r = evaluate(t.model, (this.options.data ?? t.options.val)!, t.lossFn, {
      batchSize: t.options.evalBatchSize ?? 256,
    });
    const v = { val_loss: r.loss, val_accuracy: r.accuracy, val_top5: r.top5 }[this.monitor]!;
    const seen = this.observe(t, v);
    if (seen === 'best') {
      this.bestStep = t.step;
      this.bestEpoch = t.epoch + 1;
    } else if (seen === 'stop') {
      this.stoppedStep = t.step;
      this.stoppedEpoch = t.epoch + 1;
      t.stoppedEarly = true;
    }
  }

  /** Records a value: the new best, or one more without improvement ('stop' and stopTraining after `patience` of them). */
  private observe(t: Trainer, v: number): 'best' | 'wait' | 'stop' {
    if (this.tracker.improves(v)) {
      this.tracker.best = v;
      this.wait = 0;
      if (this.options.restoreBestWeights) {
        // Copies, not views: the optimizer replaces parameter storage on every step.
        this.bestWeights = new Map(noGrad(() => Object.entries(t.model.stateDict()).map(([k, w]) => [k, w.clone()])));
      }
      return 'best';
    }
    if (++this.wait <= this.patience) return 'wait';
    t.stopTraining = true;
    return 'stop';
  }

  get best(): number {
    return this.tracker.best;
  }

  onEpochEnd(t: Trainer, epoch: number, logs: Logs): void {
    if (this.everySteps !== null) return;
    const v = readMetric(logs, this.monitor, 'EarlyStopping');
    const seen = this.observe(t, v);
    if (seen === 'best') this.bestEpoch = epoch + 1;
    else if (seen === 'stop') this.stoppedEpoch = epoch + 1;
  }

  onTrainEnd(t: Trainer): void {
    if (this.options.restoreBestWeights && this.bestWeights) {
      t.model.loadStateDict(Object.fromEntries(this.bestWeights));
    }
  }

  /** The counters, and the best epoch's weights when restoring them (checkpoints store those as tensors). */
  stateDict(): unknown {
    const bestWeights = this.bestWeights ? Object.fromEntries(this.bestWeights) : null;
    return {
      best: this.tracker.best,
      wait: this.wait,
      bestEpoch: this.bestEpoch,
      bestStep: this.bestStep,
      bestWeights,
    };
  }

  loadStateDict(s: unknown): void {
    const st = s as {
      best: number | null;
      wait: number;
      bestEpoch: number;
      bestStep?: number;
      bestWeights?: Record<string, Tensor> | null;
    };
    // JSON writes ±Infinity as null.
    this.tracker.best = st.best ?? (this.tracker.mode === 'min' ? Infinity : -Infinity);
    this.wait = st.wait;
    this.bestEpoch = st.bestEpoch;
    this.bestStep = st.bestStep ?? -1;
    this.bestWeights = st.bestWeights ? new Map(Object.entries(st.bestWeights)) : null;
  }
}

/**
 * Steps a learning-rate schedule after every epoch (default) or every batch.
 * @example new LRSchedulerCallback(new CosineAnnealingLR(opt, { totalSteps: epochs }))
 */
export class LRSchedulerCallback implements Callback {
  constructor(
    readonly scheduler: LRScheduler,
    readonly every: 'epoch' | 'batch' = 'epoch',
  ) {}
  onBatchEnd(): void {
    if (this.every === 'batch') this.scheduler.step();
  }
  onEpochEnd(): void {
    if (this.every === 'epoch') this.scheduler.step();
  }
  stateDict(): unknown {
    return this.scheduler.stateDict();
  }
  loadStateDict(s: unknown): void {
    this.scheduler.loadStateDict(s as { stepCount: number });
  }
}

export interface ReduceLROnPlateauOptions {
  monitor?: MetricName;
  mode?: Mode;
  /** Multiply the lr by this when the metric plateaus. */
  factor?: number;
  patience?: number;
  minDelta?: number;
  /** Epochs to wait after a reduction before watching again. */
  cooldown?: number;
  minLr?: number;
}

/** Lowers the learning rate when a metric has stopped improving. @example new ReduceLROnPlateau({ factor: 0.5, patience: 2 }) */
export class ReduceLROnPlateau implements Callback {
  private readonly tracker: BestTracker;
  private wait = 0;
  private cooldownLeft = 0;
  readonly monitor: string;

  constructor(readonly options: ReduceLROnPlateauOptions = {}) {
    this.monitor = options.monitor ?? 'val_loss';
    const f = options.factor ?? 0.1;
    if (!(f > 0 && f < 1)) throw new ArgumentError(`ReduceLROnPlateau: factor must be in (0, 1), got ${f}`);
    this.tracker = new BestTracker(this.monitor, options.mode ?? 'auto', options.minDelta ?? 1e-4);
  }

  onEpochEnd(t: Trainer, _epoch: number, logs: Logs): void {
    const v = readMetric(logs, this.monitor, 'ReduceLROnPlateau');
    // An epoch of the cooldown is not counted as a bad one (as in PyTorch): cooldown N leaves out the N
    // epochs after a reduction. (Decrementing before the test made cooldown 1 a no-op.)
    const coolingDown = this.cooldownLeft > 0;
    if (coolingDown) this.cooldownLeft--;
    if (this.tracker.improves(v)) {
      this.tracker.best = v;
      this.wait = 0;
    } else if (!coolingDown && ++this.wait > (this.options.patience ?? 10)) {
      for (const g of t.optimizer.paramGroups)
        g.lr = Math.max(g.lr * (this.options.factor ?? 0.1), this.options.minLr ?? 0);
      this.cooldownLeft = this.options.cooldown ?? 0;
      this.wait = 0;
    }
  }

  stateDict(): unknown {
    return { best: this.tracker.best, wait: this.wait, cooldownLeft: this.cooldownLeft };
  }

  loadStateDict(s: unknown): void {
    const st = s as { best: number | null; wait: number; cooldownLeft: number };
    this.tracker.best = st.best ?? (this.tracker.mode === 'min' ? Infinity : -Infinity);
    this.wait = st.wait;
    this.cooldownLeft = st.cooldownLeft;
  }
}

function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .filter(([k]) => k !== 'epoch')
    .map(
      ([k, v]) =>
        `${k} ${k === 'lr' ? v.toExponential(2) : /acc|top/.test(k) ? (v * 100).toFixed(2) + '%' : v.toFixed(4)}`,
    )
    .join('  ');
}

function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
    : `${m}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Reports progress: a live bar with ETA and running loss on a terminal, and
 * plain lines (every `lineEvery` seconds and at each epoch end) otherwise.
 */
export class ProgressBar implements Callback {
  private start = 0;
  private lastLine = 0;
  private runningLoss = 0;
  private count = 0;
  private readonly tty: boolean;

  private readonly out: { write(s: string): unknown; isTTY?: boolean };

  /** `out` defaults to stderr in Node and to console.log lines in browsers. */
  constructor(
    out?: { write(s: string): unknown; isTTY?: boolean },
    private readonly lineEvery = 30,
  ) {
    const proc = (globalThis as { process?: { stderr?: { write(s: string): unknown; isTTY?: boolean } } }).process;
    this.out = out ?? proc?.stderr ?? { write: (s: string) => console.log(s.replace(/\n$/, '')) };
    this.tty = Boolean(this.out.isTTY);
  }

  onEpochBegin(): void {
    this.start = performance.now();
    this.lastLine = this.start;
    this.runningLoss = 0;
    this.count = 0;
  }

  onBatchEnd(t: Trainer, batch: number, logs: Logs): void {
    // A run resumed in the middle of an epoch starts here, without onEpochBegin.
    if (this.start === 0) this.onEpochBegin();
    this.runningLoss += logs['loss']!;
    this.count++;
    const now = performance.now();
    const done = batch + 1;
    const total = t.batchesPerEpoch;
    const elapsed = (now - this.start) / 1000;
    const eta = (elapsed / this.count) * (total - done);
    const head = `epoch ${t.epoch + 1}/${t.options.epochs}`;
    const loss = `loss ${(this.runningLoss / this.count).toFixed(4)}`;
    if (this.tty) {
      if (now - this.lastLine < 100 && done < total) return;
      this.lastLine = now;
      const width = 24;
      const filled = Math.round((done / total) * width);
      this.out.write(
        `\r${head} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}  ${loss}  ETA ${formatTime(eta)} `,
      );
    } else if (now - this.lastLine >= this.lineEvery * 1000) {
      this.lastLine = now;
      this.out.write(`${head} batch ${done}/${total}  ${loss}  ETA ${formatTime(eta)}\n`);
    }
  }

  onEpochEnd(t: Trainer, epoch: number, logs: Logs): void {
    const seconds = (performance.now() - this.start) / 1000;
    this.out.write(
      `${this.tty ? '\r\x1b[K' : ''}epoch ${epoch + 1}/${t.options.epochs}  ${formatLogs(logs)}  ${formatTime(seconds)}\n`,
    );
  }
}

/**
 * Evaluates the model on another dataset after every epoch and adds
 * `<prefix>_loss`, `<prefix>_accuracy` and `<prefix>_top5` to the epoch logs,
 * for learning curves on a held-out test set. Put it before the callbacks
 * that print or log the epoch. Choose hyperparameters on a validation split,
 * not on these numbers.
 * @example new Trainer(model, { ..., callbacks: [new EvaluateEachEpoch(testSet, 'test'), new ProgressBar()] });
 */
export class EvaluateEachEpoch implements Callback {
  constructor(
    readonly data: Dataset,
    readonly prefix = 'test',
    readonly batchSize = 256,
  ) {}
  onEpochEnd(t: Trainer, _epoch: number, logs: Logs): void {
    const r = evaluate(t.model, this.data, t.lossFn, { batchSize: this.batchSize });
    setMetric(logs, `${this.prefix}_loss`, r.loss);
    setMetric(logs, `${this.prefix}_accuracy`, r.accuracy);
    setMetric(logs, `${this.prefix}_top5`, r.top5);
  }
}
