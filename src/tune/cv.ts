/**
 * Cross-validation: k disjoint folds that together cover the dataset, plain or
 * stratified by label, and `crossValidate`, which trains one model per fold.
 */
import { ArgumentError } from '../core/errors.js';
import { type Dataset, Subset } from '../data/dataset.js';
import { Generator } from '../tensor/random.js';

export interface Fold {
  /** 0-based fold number. */
  index: number;
  trainIndices: number[];
  valIndices: number[];
  train: Subset;
  val: Subset;
}

export interface KFoldOptions {
  /** Shuffle before splitting; default true. */
  shuffle?: boolean;
  seed?: number;
}

function checkK(n: number, k: number, name: string): void {
  if (!(Number.isInteger(k) && k >= 2)) throw new ArgumentError(`${name}: k must be an integer >= 2, got ${k}`);
  if (k > n) throw new ArgumentError(`${name}: k=${k} folds need at least ${k} samples, the dataset has ${n}`);
}

function makeFolds(dataset: Dataset, valSets: number[][]): Fold[] {
  return valSets.map((val, index) => {
    const inVal = new Set(val);
    const train: number[] = [];
    for (let i = 0; i < dataset.length; i++) if (!inVal.has(i)) train.push(i);
    const valSorted = [...val].sort((a, b) => a - b);
    return {
      index,
      trainIndices: train,
      valIndices: valSorted,
      train: new Subset(dataset, train),
      val: new Subset(dataset, valSorted),
    };
  });
}

/**
 * k folds of (almost) equal size: sizes differ by at most one.
 * @example for (const { train, val } of kFold(dataset, 5, { seed: 1 })) { ... }
 */
export function kFold(dataset: Dataset, k: number, opts: KFoldOptions = {}): Fold[] {
  const n = dataset.length;
  checkK(n, k, 'kFold');
  const order = Array.from({ length: n }, (_, i) => i);
  if (opts.shuffle ?? true) new Generator(opts.seed ?? 0).shuffle(order);
  const folds: number[][] = Array.from({ length: k }, () => []);
  const base = Math.floor(n / k);
  const extra = n % k;
  let at = 0;
  for (let f = 0; f < k; f++) {
    const size = base + (f < extra ? 1 : 0);
    folds[f] = order.slice(at, at + size);
    at += size;
  }
  return makeFolds(dataset, folds);
}

/**
 * k folds that keep each class's share: every fold holds floor or ceil of
 * (class count / k) samples of each class, so its proportions are within one sample per
 * class of the whole set's.
 * @example const folds = stratifiedKFold(dataset, labels, 5, { seed: 1 });
 */
export function stratifiedKFold(
  dataset: Dataset,
  labels: ArrayLike<number>,
  k: number,
  opts: KFoldOptions = {},
): Fold[] {
  const n = dataset.length;
  checkK(n, k, 'stratifiedKFold');
  if (labels.length !== n)
    throw new ArgumentError(`stratifiedKFold: ${labels.length} labels for a dataset of ${n} samples`);
  const rng = new Generator(opts.seed ?? 0);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const folds: number[][] = Array.from({ length: k }, () => []);
  // Dealing each class round-robin, starting where the previous class stopped, keeps fold sizes balanced too.
  let next = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(c)!;
    if (opts.shuffle ?? true) rng.shuffle(idx);
    for (const i of idx) {
      folds[next]!.push(i);
      next = (next + 1) % k;
    }
  }
  return makeFolds(dataset, folds);
}

export interface CrossValidateOptions<M> {
  /** Number of folds; default 5. */
  k?: number;
  /** Labels: stratify the folds by them. */
  labels?: ArrayLike<number>;
  seed?: number;
  shuffle?: boolean;
  /** Trains `model` on `train` and returns its metrics on `val` (e.g. { accuracy }). */
  fit(model: M, train: Dataset, val: Dataset, fold: Fold): Promise<Record<string, number>> | Record<string, number>;
}

export interface CrossValidation {
  folds: Record<string, number>[];
  mean: Record<string, number>;
  /** Sample standard deviation over the folds (n − 1). */
  std: Record<string, number>;
}

/**
 * Trains a fresh model per fold and summarizes the metrics as mean ± std.
 * @example
 * const cv = await crossValidate(() => new Net(), train, {
 *   k: 5,
 *   fit: async (model, tr, val) => {
 *     await fit(model, { train: tr, epochs: 2, optimizer: new Adam(model.parameters()) });
 *     return { accuracy: evaluate(model, val, crossEntropy).accuracy };
 *   },
 * });
 * console.log(cv.mean.accuracy, cv.std.accuracy);
 */
export async function crossValidate<M>(
  build: (fold: Fold) => M,
  dataset: Dataset,
  opts: CrossValidateOptions<M>,
): Promise<CrossValidation> {
  const k = opts.k ?? 5;
  const foldOpts = {
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.shuffle !== undefined ? { shuffle: opts.shuffle } : {}),
  };
  const folds = opts.labels ? stratifiedKFold(dataset, opts.labels, k, foldOpts) : kFold(dataset, k, foldOpts);
  const results: Record<string, number>[] = [];
  for (const fold of folds) results.push(await opts.fit(build(fold), fold.train, fold.val, fold));
  return { folds: results, ...summarize(results) };
}

/** Mean and sample standard deviation of each metric over a list of results. */
export function summarize(results: readonly Record<string, number>[]): {
  mean: Record<string, number>;
  std: Record<string, number>;
} {
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  const keys = [...new Set(results.flatMap((r) => Object.keys(r)))];
  for (const key of keys) {
    const v = results.map((r) => r[key]).filter((x): x is number => typeof x === 'number');
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    mean[key] = m;
    std[key] = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  }
  return { mean, std };
}
