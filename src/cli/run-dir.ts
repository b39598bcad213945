/**
 * Run directories shared by the commands: where a run's weights are, and runs
 * made by `tsgrad import` (config model 'onnx', the graph in model.onnx).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors } from '../io/safetensors-file.js';
import { createModel } from '../models/index.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { UsageError } from './args.js';

type Net = Module & { forward(x: Tensor): Tensor };

/** The config model name of a run made by `tsgrad import`. */
export const IMPORTED_MODEL = 'onnx';
/** The graph file of an imported run. */
export const IMPORTED_GRAPH = 'model.onnx';

/** What every command reads from a run's config.json. */
export interface RunInfo {
  format: 'tsgrad-run';
  model: string;
  dataset: string;
  input: { channels: number; size: number };
  classes: string[];
  normalization: { mean: number[]; std: number[] };
}

/** A run's config.json, checked to be one (RunConfig callers read the training fields too). */
export function readRunInfo<T extends RunInfo = RunInfo>(dir: string): T {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new UsageError(`${dir} is not a tsgrad run directory (no config.json)`);
  let cfg: T;
  try {
    cfg = JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new UsageError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (cfg.format !== 'tsgrad-run') throw new UsageError(`${path}: not a tsgrad run configuration`);
  return cfg;
}

/** The best available weights of a run: final, then best, then the last checkpoint's. */
export function findRunWeights(dir: string): string {
  const candidates = ['model.safetensors', 'best.safetensors'].map((f) => join(dir, f));
  const path = candidates.find((p) => existsSync(p));
  if (path) return path;
  const cp = join(dir, 'checkpoint.json');
  if (!existsSync(cp))
    throw new UsageError(`${dir} has no weights (model.safetensors, best.safetensors or checkpoint.json)`);
  return join(dir, (JSON.parse(readFileSync(cp, 'utf8')) as { weights: string }).weights);
}

/** An imported run's model: the graph of model.onnx with the run's weights, in eval mode. */
export async function loadImportedRun(dir: string): Promise<Net> {
  const { importOnnx } = await import('../interop/onnx-import.js');
  const model = await importOnnx(join(dir, IMPORTED_GRAPH));
  model.loadStateDict(loadSafetensors(findRunWeights(dir)).tensors);
  model.eval();
  return model;
}

/** Any run's model with its weights, in eval mode. */
export async function loadAnyRun(dir: string, cfg: RunInfo = readRunInfo(dir)): Promise<Net> {
  if (cfg.model === IMPORTED_MODEL) return loadImportedRun(dir);
  const model = createModel(cfg.model, {
    numClasses: cfg.classes.length,
    inChannels: cfg.input.channels,
    inputSize: cfg.input.size,
  });
  model.loadStateDict(loadSafetensors(findRunWeights(dir)).tensors);
  model.eval();
  return model;
}

/**
 * Starts `model` from another run's weights (train --init-from): every key whose
 * name and shape match is loaded; the rest (e.g. a head for a different number
 * of classes) keep their initialization. Returns what was loaded and skipped.
 */
export function initFromRun(model: Module, dir: string): { loaded: number; skipped: string[] } {
  readRunInfo(dir);
  const source = loadSafetensors(findRunWeights(dir)).tensors;
  const own = model.stateDict();
  const fitting: Record<string, Tensor> = {};
  const skipped: string[] = [];
  for (const [k, v] of Object.entries(source)) {
    const t = own[k];
    if (t && t.shape.length === v.shape.length && t.shape.every((d, i) => d === v.shape[i])) fitting[k] = v;
    else skipped.push(k);
  }
  const loaded = Object.keys(fitting).length;
  if (loaded === 0) {
    throw new UsageError(
      `--init-from ${dir}: none of its ${Object.keys(source).length} weights matches this model's names and shapes`,
    );
  }
  model.loadStateDict(fitting, { strict: false });
  return { loaded, skipped };
}
