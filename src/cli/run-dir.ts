/** Run directories written by `tsgrad train`: their configuration, weights and data, shared by the commands that read them. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArrayDataset } from '../data/dataset.js';
import type { ImageSet } from '../data/mnist.js';
import { loadSafetensors } from '../io/safetensors-file.js';
import { createModel } from '../models/index.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { UsageError } from './args.js';

export type Net = Module & { forward(x: Tensor): Tensor };

/** config.json of a run directory. */
export interface RunConfig {
  format: 'tsgrad-run';
  version: 1;
  model: string;
  dataset: string;
  dataDir: string | null;
  epochs: number;
  batchSize: number;
  optimizer: string;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: string;
  warmupEpochs: number;
  augment: string;
  earlyStopping: number;
  valSplit: number;
  clipGradNorm: number | null;
  seed: number;
  evalTest: boolean;
  input: { channels: number; size: number };
  classes: string[];
  normalization: { mean: number[]; std: number[] };
}

/** A set's images as float tensors normalized as the run's training data was. */
export function plainDataset(set: ImageSet, cfg: RunConfig): ArrayDataset {
  return new ArrayDataset(set.images, set.labels, [set.channels, set.height, set.width], {
    scale: 1 / 255,
    mean: cfg.normalization.mean,
    std: cfg.normalization.std,
  });
}

/** The run configuration in dir/config.json; a clear UsageError when it is missing or is not one. */
export function readConfig(dir: string): RunConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new UsageError(`${dir} is not a tsgrad run directory (no config.json)`);
  let cfg: RunConfig;
  try {
    cfg = JSON.parse(readFileSync(path, 'utf8')) as RunConfig;
  } catch (e) {
    throw new UsageError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (cfg.format !== 'tsgrad-run') throw new UsageError(`${path}: not a tsgrad run configuration`);
  return cfg;
}

/** The best available weights of a run: final, then best, then the last checkpoint's. */
export function loadRunModel(dir: string, cfg: RunConfig): Net {
  const model = createModel(cfg.model, {
    numClasses: cfg.classes.length,
    inChannels: cfg.input.channels,
    inputSize: cfg.input.size,
  });
  const candidates = ['model.safetensors', 'best.safetensors'].map((f) => join(dir, f));
  let path = candidates.find((p) => existsSync(p));
  if (!path) {
    const cp = join(dir, 'checkpoint.json');
    if (!existsSync(cp))
      throw new UsageError(`${dir} has no weights (model.safetensors, best.safetensors or checkpoint.json)`);
    path = join(dir, (JSON.parse(readFileSync(cp, 'utf8')) as { weights: string }).weights);
  }
  model.loadStateDict(loadSafetensors(path).tensors);
  model.eval();
  return model;
}
