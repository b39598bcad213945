/**
 * Per-pixel mean-image subtraction (the AlexNet notes' preprocessing): the mean
 * of every sample of a dataset, pixel by pixel, and a dataset view with it subtracted.
 */
import { ArgumentError, ShapeError } from '../core/errors.js';
import { fmt, sameShape } from '../core/shape.js';
import { fromArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Batch, DataLoader, type Dataset } from './dataset.js';

/**
 * The per-pixel mean of a dataset's inputs: a tensor of one sample's shape
 * (e.g. [3, 256, 256]), summed in float64.
 * @example const mean = meanImage(train); const centred = subtractMean(train, mean);
 */
export function meanImage(data: Dataset, opts: { batchSize?: number } = {}): Tensor {
  if (data.length === 0) throw new ArgumentError('meanImage: the dataset is empty');
  let sum: Float64Array | null = null;
  let shape: readonly number[] = [];
  for (const { x } of new DataLoader(data, { batchSize: opts.batchSize ?? 256 })) {
    const n = x.shape[0]!;
    const values = x.dataSync();
    if (sum === null) {
      shape = x.shape.slice(1);
      sum = new Float64Array(values.length / n);
    } else if (!sameShape(shape, x.shape.slice(1))) {
      throw new ShapeError(`meanImage: samples of shape ${fmt(x.shape.slice(1))} after ${fmt(shape)}; all must match`);
    }
    const size = sum.length;
    for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) sum[j]! += values[i * size + j]!;
  }
  const mean = Float32Array.from(sum!, (v) => v / data.length);
  return fromArray(mean, shape);
}

/**
 * A view of `data` whose inputs have `mean` (e.g. from meanImage) subtracted, pixel by pixel.
 * @example const test = subtractMean(testSet, meanImage(trainSet)); // the training mean, for both
 */
export function subtractMean(data: Dataset, mean: Tensor): Dataset {
  const check = (x: Tensor, batched: boolean): void => {
    const sample = batched ? x.shape.slice(1) : x.shape;
    if (!sameShape(sample, mean.shape))
      throw new ShapeError(`subtractMean: samples have shape ${fmt(sample)}, the mean image ${fmt(mean.shape)}`);
  };
  const batch = (b: Batch, batched: boolean): Batch => {
    check(b.x, batched);
    return { x: b.x.sub(mean), y: b.y };
  };
  return {
    length: data.length,
    get: (i) => batch(data.get(i), false),
    ...(data.getBatch ? { getBatch: (idx: readonly number[]) => batch(data.getBatch!(idx), true) } : {}),
  };
}
