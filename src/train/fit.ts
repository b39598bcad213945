/**
 * The training loop: mini-batches in a seeded order, train/eval modes,
 * metrics, gradient clipping, a guard against NaN/Inf losses, callbacks,
 * and a state that can be saved and restored to resume exactly.
 */
import { backward } from '../autograd/engine.js';
import { TsgradError } from '../core/errors.js';
import { type DataSource, type Dataset, batchOf, toDataset } from '../data/dataset.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../nn/functional.js';
import { penalizedParameters, regularizationLoss } from '../nn/penalty.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import { noGrad } from '../tensor/dispatch.js';
import { Generator, defaultGenerator } from '../tensor/random.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { evaluate } from './metrics.js';

/** The metrics the Trainer itself reports, by name. */
export type KnownMetric = 'epoch' | 'loss' | 'reg_loss' | 'accuracy' | 'lr' | 'val_loss' | 'val_accuracy' | 'val_top5';

/**
 * A metric name: one the Trainer reports (listed for completion) or any custom one, e.g.
 * EvaluateEachEpoch's `test_accuracy`.
 */
export type MetricName = KnownMetric | (string & Record<never, never>);

/**
 * Named numbers reported after a batch (`loss`, `lr`) or an epoch (`epoch`, `loss`, `lr`,
 * `accuracy`, and `val_loss`, `val_accuracy`, `val_top5` with a val set). The known names are
 * typed, so a misspelt one (`logs.val_acc`) is a compile error. Metrics added by callbacks
 * under other names are typed with `Custom`: `Logs<'test_accuracy'>`, or `Logs<string>` for
 * any name.
 * @example { onEpochEnd: (_t, epoch, logs) => console.log(epoch, logs.loss, logs.val_accuracy) }
 */
export interface KnownLogs {
  /** 1-based epoch number (epoch logs). */
  epoch?: number;
  /** Mean training loss over the epoch, or the batch's loss. */
  loss: number;
  /** The L1/L2 penalty part of `loss` (with per-layer penalties; see nn/penalty.ts). */
  reg_loss?: number;
  /** Learning rate of the first parameter group. */
  lr: number;
  /** Training accuracy over the epoch (unless trainAccuracy: false). */
  accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  /** Fraction of val samples whose class is among the 5 highest scores. */
  val_top5?: number;
}

/** KnownLogs, plus the custom metric names `Custom` (none by default; `string` for any). */
export type Logs<Custom extends string = never> = [Custom] extends [never]
  ? KnownLogs
  : KnownLogs & { [K in Custom]?: number };

/** The value of any metric, custom ones included, by name (undefined when absent). */
export function metricValue(logs: Logs | Partial<Logs>, name: MetricName): number | undefined {
  return (logs as Logs<string>)[name];
}

/** @internal Sets a metric that is not one of the known names (e.g. EvaluateEachEpoch's test_loss). */
export function setMetric(logs: Logs, name: string, value: number): void {
  (logs as Logs<string>)[name] = value;
}

/** Hooks into the loop. Every method is optional and may be async. */
export interface Callback {
  onTrainBegin?(t: Trainer): void | Promise<void>;
  onEpochBegin?(t: Trainer, epoch: number): void | Promise<void>;
  onBatchEnd?(t: Trainer, batch: number, logs: Logs): void | Promise<void>;
  onEpochEnd?(t: Trainer, epoch: number, logs: Logs): void | Promise<void>;
  /** The last epoch's logs, or an empty object when no epoch ran. */
  onTrainEnd?(t: Trainer, logs: Logs | Partial<Logs>): void | Promise<void>;
  /**
   * Runs once every callback's onBatchEnd has run, when the state of the batch is complete:
   * the place to snapshot it (ModelCheckpoint), whatever the order of the callbacks.
   */
  afterBatch?(t: Trainer, batch: number): void | Promise<void>;
  /** Runs once every callback's onEpochEnd has run (see afterBatch). */
  afterEpoch?(t: Trainer, epoch: number, logs: Logs): void | Promise<void>;
  /** State to save in a checkpoint (JSON-serializable). */
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

/** Thrown when the loss stops being a finite number. */
export class NonFiniteLossError extends TsgradError {}

export type LossFn = (output: Tensor, target: Tensor) => Tensor;

export interface FitOptions {
  /** A Dataset, or tensors `[x, y]` / `{ x, y }`. */
  train: DataSource;
  val?: DataSource;
  epochs: number;
  optimizer: Optimizer<{ lr: number }>;
  /** Default: cross-entropy from logits. */
  loss?: LossFn;
  batchSize?: number;
  callbacks?: Callback[];
  /** Rescale gradients so their global L2 norm is at most this. */
  clipGradNorm?: number;
  /** Clamp every gradient entry to [−v, v]. */
  clipGradValue?: number;
  /** Orders the batches; its state is part of a checkpoint. Default: seeded with 0. */
  generator?: Generator;
  /** Compute training accuracy from the batches (cheap); default true. */
  trainAccuracy?: boolean;
  evalBatchSize?: number;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Batches completed in the current epoch (non-zero after an interruption). */
  batchInEpoch: number;
  /** Optimizer steps taken in total. */
  step: number;
  /** Batch-order generator state at the start of the current epoch. */
  epochOrderState: ReturnType<Generator['getState']>;
  /** Default generator (dropout, initialization) state now. */
  defaultRng: ReturnType<Generator['getState']>;
  /** Running sums of the current, unfinished epoch (regSum: the penalties' part of lossSum; absent in older checkpoints). */
  partial: { lossSum: number; correct: number; seen: number; regSum?: number };
  optimizer: OptimizerStateDict;
  callbacks: unknown[];
  history: Logs[];
}

/** Global L2 norm of the gradients, rescaled to at most maxNorm. Returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return 0;
  return noGrad(() => {
    const total = Math.sqrt(grads.map((g) => ops.sum(ops.square(g)).itemSync()).reduce((a, b) => a + b, 0));
    if (total > maxNorm) {
      const scale = maxNorm / (total + 1e-6);
      for (const p of params) if (p.grad) p.grad = ops.mul(p.grad, scale);
    }
    return total;
  });
}

/** Clamps every gradient entry to [−value, value]. */
export function clipGradValue(params: readonly Tensor[], value: number): void {
  noGrad(() => {
    for (const p of params) if (p.grad) p.grad = ops.clamp(p.grad, -value, value);
  });
}

/** Lets signal handlers, timers and UI events run between batches (setImmediate in Node, a macrotask in browsers). */
const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * Runs the loop. Create it with the model and options, then `await trainer.fit()`;
 * `trainer.stopTraining = true` (from a callback or a signal handler) ends it after the current batch.
 */
export class Trainer {
  readonly model: Module & { forward(x: Tensor): Tensor };
  readonly optimizer: Optimizer<{ lr: number }>;
  readonly lossFn: LossFn;
  readonly callbacks: Callback[];
  readonly generator: Generator;
  /** The training data as a Dataset (options.train, wrapped when given as tensors). */
  readonly trainSet: Dataset;
  readonly valSet: Dataset | undefined;
  /** Set to end training after the current batch. */
  stopTraining = false;
  /** True when training ended because stopTraining was set mid-epoch (not by early stopping). */
  interrupted = false;
  /** Set (with stopTraining) by a callback that ends training for good, e.g. EarlyStopping between epochs' ends: the run is finished, not interrupted. */
  stoppedEarly = false;
  epoch = 0;
  step = 0;
  batchInEpoch = 0;
  history: Logs[] = [];
  private epochOrderState: ReturnType<Generator['getState']>;
  private partial = { lossSum: 0, correct: 0, seen: 0, regSum: 0 };

  constructor(
    model: Module & { forward(x: Tensor): Tensor },
    readonly options: FitOptions,
  ) {
    if (!(Number.isInteger(options.epochs) && options.epochs >= 0)) {
      throw new TsgradError(`fit: epochs must be a non-negative integer, got ${options.epochs}`);
    }
    this.model = model;
    this.trainSet = toDataset(options.train, 'fit: train');
    this.valSet = options.val === undefined ? undefined : toDataset(options.val, 'fit: val');
    this.optimizer = options.optimizer;
    this.lossFn = options.loss ?? ((out, y) => crossEntropy(out, y));
    this.callbacks = options.callbacks ?? [];
    this.generator = options.generator ?? new Generator(0);
    this.epochOrderState = this.generator.getState();
  }

  get batchSize(): number {
    return this.options.batchSize ?? 32;
  }

  /** Batches per epoch (the last one may be smaller). */
  get batchesPerEpoch(): number {
    return Math.ceil(this.trainSet.length / this.batchSize);
  }

  getState(): TrainingState {
    return {
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      step: this.step,
      epochOrderState: this.epochOrderState,
      defaultRng: defaultGenerator.getState(),
      partial: { ...this.partial },
      optimizer: this.optimizer.stateDict(),
      callbacks: this.callbacks.map((c) => c.stateDict?.() ?? null),
      history: this.history.map((h) => ({ ...h })),
    };
  }

  /** Restores a state from getState() (the model's weights are restored separately). */
  setState(s: TrainingState): void {
    this.epoch = s.epoch;
    this.batchInEpoch = s.batchInEpoch;
    this.step = s.step;
    this.epochOrderState = s.epochOrderState;
    this.generator.setState(s.epochOrderState);
    defaultGenerator.setState(s.defaultRng);
    this.partial = { regSum: 0, ...s.partial };
    this.optimizer.loadStateDict(s.optimizer);
    this.callbacks.forEach((c, i) => {
      if (c.loadStateDict && s.callbacks[i] !== null && s.callbacks[i] !== undefined) c.loadStateDict(s.callbacks[i]);
    });
    this.history = s.history.map((h) => ({ ...h }));
  }

  private async emit<K extends keyof Callback>(hook: K, ...args: unknown[]): Promise<void> {
    for (const c of this.callbacks) {
      const f = c[hook] as ((...a: unknown[]) => void | Promise<void>) | undefined;
      if (f) await f.call(c, this, ...args);
    }
  }

  /** Trains until `epochs` epochs are done or stopTraining is set; returns the per-epoch history. */
  async fit(): Promise<Logs[]> {
    const { trainSet: train, valSet: val } = this;
    const { epochs } = this.options;
    const params = this.model.parameters();
    const penalized = penalizedParameters(this.model).length > 0;
    await this.emit('onTrainBegin');
    while (this.epoch < epochs && !this.stopTraining) {
      const epoch = this.epoch;
      // The order is drawn at the start of the epoch; a resumed epoch redraws it from the saved state.
      this.generator.setState(this.epochOrderState);
      const order = Array.from({ length: train.length }, (_, i) => i);
      this.generator.shuffle(order);
      if (this.batchInEpoch === 0) await this.emit('onEpochBegin', epoch);
      this.model.train();
      const nb = this.batchesPerEpoch;
      while (this.batchInEpoch < nb) {
        if (this.stopTraining) {
          this.interrupted = !this.stoppedEarly;
          break;
        }
        const idx = order.slice(this.batchInEpoch * this.batchSize, (this.batchInEpoch + 1) * this.batchSize);
        const batch = batchOf(train, idx);
        const out = this.model.forward(batch.x);
        const dataLoss = this.lossFn(out, batch.y);
        // Per-layer L1/L2 penalties join the loss that is minimized (and reported, as Keras does).
        const reg = penalized ? regularizationLoss(this.model) : null;
        const loss = reg ? ops.add(dataLoss, reg) : dataLoss;
        const lossValue = await loss.item();
        const regValue = reg ? await reg.item() : 0;
        if (!Number.isFinite(lossValue)) {
          throw new NonFiniteLossError(
            `fit: the loss became ${lossValue} at epoch ${epoch + 1}, batch ${this.batchInEpoch + 1} (step ${this.step + 1}); ` +
              'try a lower learning rate, gradient clipping (clipGradNorm), or check the inputs for NaN',
          );
        }
        this.optimizer.zeroGrad();
        backward(loss, undefined);
        if (this.options.clipGradValue !== undefined) clipGradValue(params, this.options.clipGradValue);
        if (this.options.clipGradNorm !== undefined) clipGradNorm(params, this.options.clipGradNorm);
        this.optimizer.step();
        const n = idx.length;
        this.partial.lossSum += lossValue * n;
        this.partial.regSum += regValue * n;
        this.partial.seen += n;
        if (this.options.trainAccuracy ?? true) this.partial.correct += countCorrect(out, batch.y);
        this.batchInEpoch++;
        this.step++;
        await this.emit('onBatchEnd', this.batchInEpoch - 1, {
          loss: lossValue,
          ...(penalized ? { reg_loss: regValue } : {}),
          lr: this.optimizer.paramGroups[0]!.lr,
        });
        await this.emit('afterBatch', this.batchInEpoch - 1);
        await yieldToEventLoop();
      }
      if (this.interrupted) break;
      // Key order is the CSV column order.
      const logs: Logs = {
        epoch: epoch + 1,
        loss: this.partial.lossSum / this.partial.seen,
        ...(penalized && { reg_loss: this.partial.regSum / this.partial.seen }),
        ...((this.options.trainAccuracy ?? true) && { accuracy: this.partial.correct / this.partial.seen }),
        lr: this.optimizer.paramGroups[0]!.lr,
      };
      if (val) {
        const r = evaluate(this.model, val, this.lossFn, { batchSize: this.options.evalBatchSize ?? 256 });
        logs.val_loss = r.loss;
        logs.val_accuracy = r.accuracy;
        logs.val_top5 = r.top5;
      }
      this.epoch++;
      this.batchInEpoch = 0;
      this.partial = { lossSum: 0, correct: 0, seen: 0, regSum: 0 };
      this.epochOrderState = this.generator.getState();
      this.history.push(logs);
      await this.emit('onEpochEnd', epoch, logs);
      await this.emit('afterEpoch', epoch, logs);
    }
    await this.emit('onTrainEnd', this.history[this.history.length - 1] ?? {});
    return this.history;
  }
}

function countCorrect(out: Tensor, y: Tensor): number {
  if (out.rank !== 2 || y.dtype !== 'int32') return 0;
  const pred = noGrad(() => ops.argmax(out, 1)).dataSync();
  const labels = y.dataSync();
  let c = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) c++;
  return c;
}

/**
 * Trains `model` and returns the per-epoch history (loss, accuracy, val_loss, val_accuracy, ...).
 * @example
 * const history = await fit(model, { train, val, epochs: 10, batchSize: 64, optimizer: new Adam(model.parameters()) });
 */
export async function fit(model: Module & { forward(x: Tensor): Tensor }, options: FitOptions): Promise<Logs[]> {
  return new Trainer(model, options).fit();
}
