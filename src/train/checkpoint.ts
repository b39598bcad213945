/**
 * Checkpoints on disk. A run directory holds:
 *   checkpoint.json                 training state (epoch, step, optimizer, RNGs, callbacks, history) and the
 *                                   name of the weights file it belongs to
 *   weights-<step>.safetensors      the model's state dict at that point (PyTorch can read it)
 *   optimizer-<step>.safetensors    the optimizer's per-parameter tensors (moments), named <param index>.<key>,
 *                                   and tensors of callback states (EarlyStopping's best weights), callbacks.<i>.<path>
 *   best.safetensors                weights of the best epoch (ModelCheckpoint with a monitor)
 *   model.safetensors               final weights, written when training ends
 *   config.json                     what the run was started with (written by the caller)
 * Every file is written atomically (temp file + rename). The weights file is
 * written before the checkpoint.json that names it, and the previous
 * weights file is removed only after, so an interrupted run always leaves a
 * consistent pair. Only the latest checkpoint is kept: older weights and
 * optimizer files, and temporary files left by a process killed mid-write,
 * are removed once the new checkpoint.json is in place.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, DataFileError, TsgradError } from '../core/errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors-file.js';
import type { Module } from '../nn/module.js';
import { fromArray } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { type Callback, type Logs, type Trainer, type TrainingState, type MetricName, metricValue } from './fit.js';
import { type Mode } from './callbacks.js';

const STATE_FILE = 'checkpoint.json';

interface CheckpointFile {
  format: 'tsgrad-checkpoint';
  version: 1;
  weights: string;
  /** Holds the optimizer's tensors; in `state.optimizer` they are replaced by `{ tensor: name }`. */
  optimizerTensors?: string;
  state: TrainingState;
  savedAt: string;
}

type SavedEntry = { shape: number[]; data: number[] } | { tensor: string } | number;

/** Moves the optimizer's tensors out of the JSON state (megabytes of numbers as text) into tensors. */
function splitOptimizerTensors(state: TrainingState): { json: TrainingState; tensors: Record<string, Tensor> } {
  const tensors: Record<string, Tensor> = {};
  const optState: Record<string, Record<string, SavedEntry>> = {};
  for (const [index, entry] of Object.entries(state.optimizer.state)) {
    const out: Record<string, SavedEntry> = {};
    for (const [key, v] of Object.entries(entry)) {
      if (typeof v === 'number') out[key] = v;
      else {
        const name = `${index}.${key}`;
        tensors[name] = fromArray(Float32Array.from(v.data), v.shape);
        out[key] = { tensor: name };
      }
    }
    optState[index] = out;
  }
  const json = { ...state, optimizer: { ...state.optimizer, state: optState as TrainingState['optimizer']['state'] } };
  return { json, tensors };
}

function joinOptimizerTensors(state: TrainingState, tensors: Record<string, Tensor>, file: string): TrainingState {
  const optState: TrainingState['optimizer']['state'] = {};
  for (const [index, entry] of Object.entries(state.optimizer.state as Record<string, Record<string, SavedEntry>>)) {
    const out: Record<string, { shape: number[]; data: number[] } | number> = {};
    for (const [key, v] of Object.entries(entry)) {
      if (typeof v === 'object' && 'tensor' in v) {
        const t = tensors[v.tensor];
        if (!t) throw new DataFileError(file, `optimizer tensor '${v.tensor}' is missing`);
        out[key] = { shape: [...t.shape], data: Array.from(t.dataSync()) };
      } else out[key] = v;
    }
    optState[Number(index)] = out;
  }
  return { ...state, optimizer: { ...state.optimizer, state: optState } };
}

/**
 * Moves the tensors found in callback states (e.g. EarlyStopping's best weights) into
 * `tensors` under 'callbacks.<index>.<path>', leaving `{ tensor: name }` in the JSON.
 */
function splitCallbackTensors(callbacks: unknown[], tensors: Record<string, Tensor>): unknown[] {
  const walk = (v: unknown, path: string): unknown => {
    if (v instanceof Tensor) {
      tensors[path] = v;
      return { tensor: path };
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}.${i}`));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, `${path}.${k}`)]));
    }
    return v;
  };
  return callbacks.map((c, i) => walk(c, `callbacks.${i}`));
}

/** The inverse of splitCallbackTensors. */
function joinCallbackTensors(callbacks: unknown[], tensors: Record<string, Tensor>, file: string): unknown[] {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v);
    if (entries.length === 1 && entries[0]![0] === 'tensor' && typeof entries[0]![1] === 'string') {
      const t = tensors[entries[0]![1]];
      if (!t) throw new DataFileError(file, `callback tensor '${entries[0]![1]}' is missing`);
      return t;
    }
    return Object.fromEntries(entries.map(([k, x]) => [k, walk(x)]));
  };
  return callbacks.map(walk);
}

/** Saves weights and training state into `dir` (see the module comment for the layout). */
export function saveCheckpoint(dir: string, model: Module, state: TrainingState): void {
  const step = String(state.step).padStart(8, '0');
  const meta = { epoch: String(state.epoch), step: String(state.step) };
  const weights = `weights-${step}.safetensors`;
  const optimizerTensors = `optimizer-${step}.safetensors`;
  saveSafetensors(join(dir, weights), model.stateDict(), meta);
  const { json, tensors } = splitOptimizerTensors(state);
  const callbacks = splitCallbackTensors(state.callbacks, tensors);
  saveSafetensors(join(dir, optimizerTensors), tensors, meta);
  const file: CheckpointFile = {
    format: 'tsgrad-checkpoint',
    version: 1,
    weights,
    optimizerTensors,
    state: { ...json, callbacks },
    savedAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(dir, STATE_FILE), file);
  for (const f of readdirSync(dir)) {
    const older = /^(weights|optimizer)-\d+\.safetensors$/.test(f) && f !== weights && f !== optimizerTensors;
    if (older || isStaleTempFile(f)) rmSync(join(dir, f), { force: true });
  }
}

/**
 * A temporary file of writeFileAtomic (`.<name>.<pid>.<random>.tmp`) for one of the checkpoint's own files,
 * left by another process that died mid-write (this process's writes are complete when saveCheckpoint runs).
 */
function isStaleTempFile(f: string): boolean {
  const m =
    /^\.(?:(?:weights|optimizer)-\d+\.safetensors|checkpoint\.json|best\.safetensors)\.(\d+)\.[0-9a-f]+\.tmp$/.exec(f);
  return m !== null && Number(m[1]) !== process.pid;
}

/** Reads a checkpoint saved by saveCheckpoint; errors name the file and the problem. */
export function readCheckpoint(dir: string): { state: TrainingState; weightsPath: string } {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) throw new DataFileError(path, 'no checkpoint here (checkpoint.json is missing)');
  let file: CheckpointFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as CheckpointFile;
  } catch (e) {
    throw new DataFileError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (file.format !== 'tsgrad-checkpoint' || typeof file.weights !== 'string' || typeof file.state !== 'object') {
    throw new DataFileError(path, 'not a tsgrad checkpoint (missing format, weights or state)');
  }
  const weightsPath = join(dir, file.weights);
  if (!existsSync(weightsPath)) throw new DataFileError(weightsPath, `weights file named by ${path} is missing`);
  if (!file.optimizerTensors) return { state: file.state, weightsPath };
  const optPath = join(dir, file.optimizerTensors);
  if (!existsSync(optPath)) throw new DataFileError(optPath, `optimizer file named by ${path} is missing`);
  const tensors = loadSafetensors(optPath).tensors;
  const state = joinOptimizerTensors(file.state, tensors, optPath);
  return { state: { ...state, callbacks: joinCallbackTensors(state.callbacks, tensors, optPath) }, weightsPath };
}

/** Loads the checkpoint's weights into `model` (strict) and its state into `trainer`. */
export function restoreCheckpoint(dir: string, model: Module, trainer: Trainer): TrainingState {
  const { state, weightsPath } = readCheckpoint(dir);
  model.loadStateDict(loadSafetensors(weightsPath).tensors);
  trainer.setState(state);
  return state;
}

export interface ModelCheckpointOptions {
  /** Save the last state after every epoch (for resume). Default true. */
  saveLast?: boolean;
  /** Also save the resumable state every this many optimizer steps, mid-epoch included. */
  everySteps?: number;
  /** Also save the resumable state when this many minutes have passed since the last save. */
  everyMinutes?: number;
  /** Metric whose best value selects best.safetensors; none: no best file. */
  monitor?: MetricName;
  mode?: Mode;
}

/**
 * Writes checkpoints into a directory during fit: the resumable last state
 * after every epoch (and, with `everySteps` / `everyMinutes`, in the middle of
 * an epoch too, so a crash loses at most that much work), and
 * best.safetensors whenever the monitored metric improves. It saves once every
 * other callback has seen the batch or epoch (the afterBatch / afterEpoch
 * hooks), so its place in the callback list does not matter. A run resumed
 * from any of these checkpoints continues bit for bit as if never stopped.
 * @example new ModelCheckpoint('runs/lenet', { monitor: 'val_accuracy', everySteps: 500 })
 */
export class ModelCheckpoint implements Callback {
  private best: number;
  private readonly mode: 'min' | 'max';
  private lastSave = 0;

  constructor(
    readonly dir: string,
    readonly options: ModelCheckpointOptions = {},
  ) {
    const monitor = options.monitor ?? '';
    this.mode = options.mode && options.mode !== 'auto' ? options.mode : /acc|top/.test(monitor) ? 'max' : 'min';
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    const { everySteps, everyMinutes } = options;
    if (everySteps !== undefined && !(Number.isInteger(everySteps) && everySteps >= 1))
      throw new ArgumentError(`ModelCheckpoint: everySteps must be a positive integer, got ${everySteps}`);
    if (everyMinutes !== undefined && !(everyMinutes > 0 && Number.isFinite(everyMinutes)))
      throw new ArgumentError(`ModelCheckpoint: everyMinutes must be a positive number, got ${everyMinutes}`);
  }

  onTrainBegin(): void {
    this.lastSave = Date.now();
  }

  afterBatch(t: Trainer): void {
    // The last batch of an epoch is saved by afterEpoch, with the epoch's metrics.
    if (t.batchInEpoch >= t.batchesPerEpoch) return;
    const { everySteps, everyMinutes } = this.options;
    const dueBySteps = everySteps !== undefined && t.step % everySteps === 0;
    const dueByTime = everyMinutes !== undefined && Date.now() - this.lastSave >= everyMinutes * 60_000;
    if (dueBySteps || dueByTime) this.save(t);
  }

  private save(t: Trainer): void {
    saveCheckpoint(this.dir, t.model, t.getState());
    this.lastSave = Date.now();
  }

  afterEpoch(t: Trainer, epoch: number, logs: Logs): void {
    const monitor = this.options.monitor;
    if (monitor) {
      const v = metricValue(logs, monitor);
      if (v === undefined)
        throw new TsgradError(
          `ModelCheckpoint: metric '${monitor}' is not in the epoch logs (${Object.keys(logs).join(', ')})`,
        );
      if (this.mode === 'min' ? v < this.best : v > this.best) {
        this.best = v;
        saveSafetensors(join(this.dir, 'best.safetensors'), t.model.stateDict(), {
          epoch: String(epoch + 1),
          [monitor]: String(v),
        });
      }
    }
    if (this.options.saveLast ?? true) this.save(t);
  }

  stateDict(): unknown {
    return { best: this.best };
  }

  loadStateDict(s: unknown): void {
    const b = (s as { best: number | null }).best;
    this.best = b ?? (this.mode === 'min' ? Infinity : -Infinity);
  }
}
