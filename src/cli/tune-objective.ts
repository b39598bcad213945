/**
 * The built-in objective of `tsgrad tune`: trains a zoo model with `tsgrad train`'s
 * recipe (same seeds, split, schedule and augmentation, so best.json's command line
 * reproduces the trial), reports validation accuracy after every epoch for the pruner,
 * saves the trial's weights for ensembles, and returns the last validation accuracy.
 * It runs in the main thread, in worker threads and in Redis workers alike.
 */
import { join } from 'node:path';
import { getBackend } from '../backend/index.js';
import { saveSafetensors } from '../io/safetensors-file.js';
import { MODELS, createModel } from '../models/index.js';
import { manualSeed } from '../tensor/random.js';
import type { Callback } from '../train/fit.js';
import { type TrainRecipe, prepareTraining } from '../train/recipe.js';
import { type Trial, TrialPruned } from '../tune/study.js';
import { UsageError } from './args.js';
import { type LoadedData, channelStats, loadDataset } from './data.js';

/** `tsgrad train` options a space may tune, with their defaults (as in `tsgrad train --help`). */
export const TUNABLE_DEFAULTS: Record<string, string | number> = {
  lr: 0.002,
  'batch-size': 64,
  optimizer: 'adam',
  momentum: 0.9,
  'weight-decay': 0,
  schedule: 'cosine',
  'warmup-epochs': 0.5,
  augment: 'auto',
  'clip-grad-norm': 0,
};
export const TUNABLE_KEYS = Object.keys(TUNABLE_DEFAULTS);

/** Fixed settings of every trial of a study (sent to workers as the payload). */
export interface TunePayload {
  model: string;
  dataset: string;
  dataDir: string | null;
  epochs: number;
  seed: number;
  valSplit: number;
  /** Fixed values of tunable options given on the tune command line. */
  fixed: Record<string, string | number>;
  /** Use only this many training images (after the validation split), for quick studies. */
  trainSize: number | null;
}

const dataCache = new Map<string, { data: LoadedData; stats: { mean: number[]; std: number[] } }>();

function cachedData(p: TunePayload): { data: LoadedData; stats: { mean: number[]; std: number[] } } {
  const key = `${p.dataset}\u0000${p.dataDir ?? ''}\u0000${p.model}`;
  let hit = dataCache.get(key);
  if (!hit) {
    const data = loadDataset(p.dataset, p.dataDir ?? undefined, undefined, MODELS[p.model]!.defaultInput.size);
    hit = { data, stats: channelStats(data.train) };
    dataCache.set(key, hit);
  }
  return hit;
}

/** The trial's full set of train options: defaults, then fixed ones, then the sampled ones. */
export function trialOptions(p: TunePayload, params: Record<string, unknown>): Record<string, string | number> {
  return { ...TUNABLE_DEFAULTS, ...p.fixed, ...(params as Record<string, string | number>) };
}

/** A `tsgrad train` command line with these options (only non-defaults of the tunable ones). */
export function trainCommand(p: TunePayload, params: Record<string, unknown>, epochs = p.epochs): string {
  const o = trialOptions(p, params);
  const parts = ['tsgrad', 'train', '--model', p.model, '--dataset', p.dataset];
  if (p.dataDir) parts.push('--data-dir', p.dataDir);
  parts.push('--epochs', String(epochs));
  for (const k of TUNABLE_KEYS) {
    const v = o[k]!;
    if (k === 'clip-grad-norm' && !(Number(v) > 0)) continue;
    if (v === TUNABLE_DEFAULTS[k]) continue;
    parts.push(`--${k}`, typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v));
  }
  if (p.valSplit > 0) parts.push('--val-split', String(p.valSplit));
  parts.push('--seed', String(p.seed));
  return parts.map((s) => (/^[\w./:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`)).join(' ');
}

/** The trial's options as the recipe `tsgrad train` builds its run from. */
export function trialRecipe(p: TunePayload, params: Record<string, unknown>): TrainRecipe {
  const o = trialOptions(p, params);
  const clip = Number(o['clip-grad-norm']);
  return {
    epochs: p.epochs,
    batchSize: Number(o['batch-size']),
    optimizer: String(o['optimizer']),
    lr: Number(o['lr']),
    momentum: Number(o['momentum']),
    weightDecay: Number(o['weight-decay']),
    schedule: String(o['schedule']),
    warmupEpochs: Number(o['warmup-epochs']),
    augment: String(o['augment']),
    valSplit: p.valSplit,
    clipGradNorm: clip > 0 ? clip : null,
    seed: p.seed,
  };
}

/** Trains one trial; see the module comment. */
export async function objective(trial: Trial, payload: unknown): Promise<number> {
  const p = payload as TunePayload;
  const recipe = trialRecipe(p, trial.params);
  const { data, stats } = cachedData(p);
  manualSeed(p.seed);
  const model = createModel(p.model, {
    numClasses: data.train.classes.length,
    inChannels: data.train.channels,
    inputSize: data.train.height,
  });
  const run = prepareTraining(model, { train: data.train, dataset: p.dataset, normalization: stats }, recipe, {
    trainSize: p.trainSize,
  });
  if (!run.valSet) throw new UsageError('tune: the objective needs a validation split (--val-split > 0)');
  let pruned = false;
  const reportForPruning: Callback = {
    onEpochEnd: async (t, epoch, logs) => {
      await trial.report(epoch + 1, logs['val_accuracy']!);
      if (trial.shouldPrune()) {
        pruned = true;
        t.stopTraining = true;
      }
    },
  };
  const trainer = run.trainer([...run.schedule, reportForPruning]);
  const start = performance.now();
  await trainer.fit();
  const last = trainer.history[trainer.history.length - 1]!;
  trial.setAttr('epochs', trainer.epoch);
  trial.setAttr('val_loss', last['val_loss']);
  trial.setAttr('train_loss', last['loss']);
  trial.setAttr('train_seconds', (performance.now() - start) / 1000);
  trial.setAttr('backend', getBackend().name);
  if (trial.dir)
    saveSafetensors(join(trial.dir, 'model.safetensors'), model.stateDict(), { model: p.model, dataset: p.dataset });
  if (pruned) throw new TrialPruned(`pruned after epoch ${trainer.epoch}`);
  return last['val_accuracy']!;
}
