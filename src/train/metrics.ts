import { ArgumentError, ShapeError } from '../core/errors.js';
import type { TypedArray } from '../core/dtype.js';
import { fmt } from '../core/shape.js';
import { type DataSource, DataLoader, toDataset } from '../data/dataset.js';
import { type Size, crop, hflip, tenCropWindows } from '../data/transforms.js';
import { crossEntropy } from '../nn/functional.js';
import { fromArray } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { softmax } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/** Counts of (true class, predicted class) pairs: matrix[t][p]. */
export class ConfusionMatrix {
  readonly matrix: number[][];

  constructor(readonly numClasses: number) {
    this.matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  }

  add(truth: ArrayLike<number>, predicted: ArrayLike<number>): void {
    for (let i = 0; i < truth.length; i++) this.matrix[truth[i]!]![predicted[i]!]!++;
  }

  get total(): number {
    return this.matrix.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  }

  /** Fraction of samples on the diagonal. */
  accuracy(): number {
    const total = this.total;
    return total ? this.matrix.reduce((s, row, i) => s + row[i]!, 0) / total : 0;
  }

  /** Recall of each class (NaN for a class with no samples). */
  perClassAccuracy(): number[] {
    return this.matrix.map((row, i) => {
      const n = row.reduce((a, b) => a + b, 0);
      return n ? row[i]! / n : NaN;
    });
  }
}

/** Indices of the k largest scores of each row of a [N, C] score array. */
export function topK(scores: TypedArray, n: number, c: number, k: number): Int32Array {
  if (k > c) throw new ArgumentError(`topK: k=${k} exceeds the number of classes ${c}`);
  const out = new Int32Array(n * k);
  const idx = new Array<number>(c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) idx[j] = j;
    const row = i * c;
    idx.sort((a, b) => scores[row + b]! - scores[row + a]! || a - b);
    for (let j = 0; j < k; j++) out[i * k + j] = idx[j]!;
  }
  return out;
}

export interface EvaluationResult {
  loss: number;
  accuracy: number;
  top5: number;
  perClassAccuracy: number[];
  confusion: ConfusionMatrix;
  count: number;
}

export interface EvaluateOptions {
  /** Samples per forward pass (default 256). */
  batchSize?: number;
  /**
   * Test-time augmentation. 'ten-crop' (AlexNet's protocol): the model sees the
   * four corner and centre crops of each image and of its mirror image, and the
   * ten softmax outputs are averaged; lossFn then receives the log of the averaged
   * probabilities (crossEntropy of it is −log p̄ of the label).
   */
  tta?: 'none' | 'ten-crop';
  /** Crop size for 'ten-crop' (default: 224/256 of the shorter side, e.g. 224 of 256). */
  cropSize?: Size;
}

type Model = { forward(x: Tensor): Tensor; training: boolean; train(mode?: boolean): unknown };

/** log of the mean softmax over the ten crops of every image of the [N, C, H, W] batch. */
function tenCropLogProbs(model: Model, x: Tensor, cropSize: Size | undefined): Tensor {
  if (x.rank !== 4)
    throw new ShapeError(`evaluate: tta 'ten-crop' needs image batches [N, C, H, W], got ${fmt(x.shape)}`);
  const [n, c, H, W] = x.shape as [number, number, number, number];
  const side = Math.floor((Math.min(H, W) * 224) / 256);
  const [h, w] = cropSize === undefined ? [side, side] : typeof cropSize === 'number' ? [cropSize, cropSize] : cropSize;
  const data = x.dataSync() as Float32Array;
  const plane = c * H * W;
  let sum: Tensor | null = null;
  for (const { top, left, flip } of tenCropWindows(H, W, h, w)) {
    const batch = new Float32Array(n * c * h * w);
    for (let i = 0; i < n; i++) {
      const img = { data: data.subarray(i * plane, (i + 1) * plane), channels: c, height: H, width: W };
      const cut = crop(img, top, left, h, w);
      batch.set((flip ? hflip(cut) : cut).data, i * c * h * w);
    }
    const p = softmax(model.forward(fromArray(batch, [n, c, h, w], { backend: x.backend })), 1);
    sum = sum ? sum.add(p) : p;
  }
  return sum!.div(10).log();
}

/**
 * Loss and classification metrics of `model` over a dataset (or `[x, y]` / `{ x, y }`
 * tensors), in eval mode without a graph (the previous mode is restored). The loss is
 * cross-entropy from logits unless `lossFn` says otherwise, as in Trainer.
 * `tta: 'ten-crop'` averages the predictions on ten crops per image (see EvaluateOptions).
 * @example const { accuracy, loss } = evaluate(model, testSet);
 * @example evaluate(model, [x, y], mseLoss, { batchSize: 64 });
 * @example evaluate(alexnet, imagesOf256, crossEntropy, { tta: 'ten-crop', cropSize: 227 });
 */
export function evaluate(
  model: Model,
  data: DataSource,
  lossFnOrOptions?: ((output: Tensor, target: Tensor) => Tensor) | EvaluateOptions,
  options: EvaluateOptions = {},
): EvaluationResult {
  const lossFn =
    typeof lossFnOrOptions === 'function' ? lossFnOrOptions : (out: Tensor, y: Tensor) => crossEntropy(out, y);
  const opts = typeof lossFnOrOptions === 'function' ? options : (lossFnOrOptions ?? options);
  const dataset = toDataset(data, 'evaluate');
  const tta = opts.tta ?? 'none';
  if (tta !== 'none' && tta !== 'ten-crop')
    throw new ArgumentError(`evaluate: tta must be 'none' or 'ten-crop', got ${String(tta)}`);
  const wasTraining = model.training;
  model.train(false);
  let lossSum = 0;
  let count = 0;
  let top5 = 0;
  let confusion: ConfusionMatrix | null = null;
  try {
    noGrad(() => {
      for (const { x, y } of new DataLoader(dataset, { batchSize: opts.batchSize ?? 256 })) {
        const out = tta === 'ten-crop' ? tenCropLogProbs(model, x, opts.cropSize) : model.forward(x);
        const n = y.shape[0]!;
        const c = out.shape[1]!;
        lossSum += lossFn(out, y).itemSync() * n;
        count += n;
        const scores = out.dataSync();
        const labels = y.dataSync();
        confusion ??= new ConfusionMatrix(c);
        const k = Math.min(5, c);
        const best = topK(scores, n, c, k);
        const pred = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          pred[i] = best[i * k]!;
          for (let j = 0; j < k; j++) if (best[i * k + j] === labels[i]) top5++;
        }
        confusion.add(labels, pred);
      }
    });
  } finally {
    model.train(wasTraining);
  }
  if (!confusion || count === 0) throw new ArgumentError('evaluate: the dataset is empty');
  const cm = confusion as ConfusionMatrix;
  return {
    loss: lossSum / count,
    accuracy: cm.accuracy(),
    top5: top5 / count,
    perClassAccuracy: cm.perClassAccuracy(),
    confusion: cm,
    count,
  };
}
