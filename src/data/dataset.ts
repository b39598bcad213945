import { ArgumentError, ShapeError } from '../core/errors.js';
import { fmt, sizeOf } from '../core/shape.js';
import { fromArray } from '../tensor/creation.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import { stack } from '../tensor/ops.js';
import { Tensor } from '../tensor/tensor.js';

/** A batch of inputs and int32 targets. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/**
 * A batch from a DataLoader: read it as an object or as a pair, as PyTorch users do.
 * @example for (const [x, y] of loader) { ... }  // or: for (const { x, y } of loader)
 */
export interface LoaderBatch extends Batch, Iterable<Tensor> {
  readonly 0: Tensor;
  readonly 1: Tensor;
  readonly length: 2;
}

class PairBatch implements LoaderBatch {
  readonly length = 2 as const;
  constructor(
    readonly x: Tensor,
    readonly y: Tensor,
  ) {}
  get 0(): Tensor {
    return this.x;
  }
  get 1(): Tensor {
    return this.y;
  }
  *[Symbol.iterator](): Iterator<Tensor> {
    yield this.x;
    yield this.y;
  }
}

/** Wraps a batch so that both `const { x, y } = b` and `const [x, y] = b` work. */
export function loaderBatch(b: Batch): LoaderBatch {
  return b instanceof PairBatch ? b : new PairBatch(b.x, b.y);
}

/**
 * What fit(), Trainer and evaluate() take as data: a Dataset, or inputs and targets as
 * tensors, either as a pair `[x, y]` or as `{ x, y }` (x: [N, ...], y: N class indices).
 */
export type DataSource = Dataset | readonly [Tensor, Tensor] | { readonly x: Tensor; readonly y: Tensor };

/** A Dataset over `source`: itself when it is one, else an ArrayDataset of the tensors. */
export function toDataset(source: DataSource, who = 'data'): Dataset {
  if (Array.isArray(source)) {
    const [x, y] = source as readonly [unknown, unknown];
    if (!(x instanceof Tensor) || !(y instanceof Tensor))
      throw new ArgumentError(`${who}: a pair must be [inputs, targets] tensors`);
    return new ArrayDataset(x, y);
  }
  const maybe = source as Partial<Dataset> & { x?: unknown; y?: unknown };
  if (typeof maybe.get === 'function' && typeof maybe.length === 'number') return source as Dataset;
  if (maybe.x instanceof Tensor && maybe.y instanceof Tensor) return new ArrayDataset(maybe.x, maybe.y);
  throw new ArgumentError(`${who}: expected a Dataset, [inputs, targets] tensors or { x, y } tensors`);
}

/**
 * Indexed samples. `getBatch` is optional: datasets held in memory implement
 * it to build a whole batch in one copy instead of stacking samples.
 */
export interface Dataset {
  readonly length: number;
  get(index: number): Batch;
  getBatch?(indices: readonly number[]): Batch;
}

export interface ArrayDatasetOptions {
  scale?: number;
  mean?: number | readonly number[];
  std?: number | readonly number[];
}

/** The values of a tensor given as dataset inputs or targets (read once, on a backend that reads synchronously). */
function tensorValues(t: Tensor, what: string): Float32Array | Int32Array {
  if (what === 'targets') {
    if (t.dtype !== 'int32' && t.dtype !== 'bool' && !Array.from(t.cast('float64').dataSync()).every(Number.isInteger))
      throw new ArgumentError(
        `ArrayDataset: targets must be integer class indices, got a ${t.dtype} tensor with fractions`,
      );
    if (t.rank !== 1) throw new ShapeError(`ArrayDataset: targets must have shape [N], got ${fmt(t.shape)}`);
    return t.cast('int32').dataSync();
  }
  if (t.rank < 1) throw new ShapeError(`ArrayDataset: inputs must have shape [N, ...], got ${fmt(t.shape)}`);
  return t.cast('float32').dataSync();
}

/**
 * Samples held as flat arrays in memory: `inputs` row-major [N, ...sampleShape],
 * `targets` one int label per sample. Byte inputs (images) are converted per
 * batch with `scale` and then `(v − mean) / std`, so a 60k-image set stays
 * 47 MB instead of 188 MB of float32. Inputs and targets may also be tensors
 * (then `sampleShape` defaults to the inputs' shape without its first axis).
 * @example new ArrayDataset(images, labels, [1, 28, 28], { scale: 1 / 255, mean: 0.2860, std: 0.3530 })
 * @example new ArrayDataset(randn([100, 3, 8, 8]), randint(0, 4, [100]))
 */
export class ArrayDataset implements Dataset {
  readonly length: number;
  readonly inputs: Uint8Array | Float32Array;
  readonly targets: Uint8Array | Int32Array;
  readonly sampleShape: readonly number[];
  private readonly rowSize: number;
  private readonly scale: number;
  private readonly mean: readonly number[];
  private readonly std: readonly number[];

  constructor(
    inputs: Tensor,
    targets: Tensor | readonly number[] | Uint8Array | Int32Array,
    opts?: ArrayDatasetOptions,
  );
  constructor(
    inputs: Uint8Array | Float32Array | Tensor,
    targets: Uint8Array | Int32Array | Tensor | readonly number[],
    sampleShape: readonly number[],
    opts?: ArrayDatasetOptions,
  );
  constructor(
    inputs: Uint8Array | Float32Array | Tensor,
    targets: Uint8Array | Int32Array | Tensor | readonly number[],
    shapeOrOpts?: readonly number[] | ArrayDatasetOptions,
    maybeOpts: ArrayDatasetOptions = {},
  ) {
    const shapeGiven = Array.isArray(shapeOrOpts);
    const opts = (shapeGiven ? maybeOpts : (shapeOrOpts ?? {})) as ArrayDatasetOptions;
    let sampleShape: readonly number[];
    if (shapeGiven) sampleShape = shapeOrOpts as readonly number[];
    else if (inputs instanceof Tensor) sampleShape = inputs.shape.slice(1);
    else throw new ArgumentError('ArrayDataset: give the sample shape, e.g. [1, 28, 28], after typed-array inputs');
    this.inputs = inputs instanceof Tensor ? (tensorValues(inputs, 'inputs') as Float32Array) : inputs;
    this.targets =
      targets instanceof Tensor
        ? (tensorValues(targets, 'targets') as Int32Array)
        : ArrayBuffer.isView(targets)
          ? targets
          : Int32Array.from(targets as readonly number[]);
    this.sampleShape = [...sampleShape];
    this.rowSize = sizeOf(sampleShape);
    this.length = this.targets.length;
    if (this.inputs.length !== this.length * this.rowSize) {
      throw new ShapeError(
        `ArrayDataset: ${this.inputs.length} input values do not make ${this.length} samples of shape ${fmt(sampleShape)} (${this.length * this.rowSize} values)`,
      );
    }
    this.scale = opts.scale ?? 1;
    // Per-channel statistics apply along the first sample axis (C of C×H×W).
    const channels = sampleShape.length >= 3 ? sampleShape[0]! : 1;
    const expand = (v: number | readonly number[] | undefined, dflt: number, name: string): number[] => {
      const arr = v === undefined ? [dflt] : typeof v === 'number' ? [v] : [...v];
      if (arr.length !== 1 && arr.length !== channels) {
        throw new ArgumentError(`ArrayDataset: ${name} has ${arr.length} values for ${channels} channels`);
      }
      return arr.length === 1 ? new Array<number>(channels).fill(arr[0]!) : arr;
    };
    this.mean = expand(opts.mean, 0, 'mean');
    this.std = expand(opts.std, 1, 'std');
    if (!this.std.every((v) => v > 0))
      throw new ArgumentError(`ArrayDataset: std must be positive, got [${this.std.join(', ')}]`);
  }

  get(index: number): Batch {
    const b = this.getBatch([index]);
    return { x: b.x.reshape(this.sampleShape), y: b.y.reshape([]) };
  }

  getBatch(indices: readonly number[]): Batch {
    const n = indices.length;
    const row = this.rowSize;
    const channels = this.mean.length;
    const plane = row / channels;
    const x = new Float32Array(n * row);
    const y = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const i = indices[b]!;
      if (!(i >= 0 && i < this.length))
        throw new ArgumentError(`ArrayDataset: index ${i} out of range for ${this.length} samples`);
      y[b] = this.targets[i]!;
      const src = i * row;
      const dst = b * row;
      for (let c = 0; c < channels; c++) {
        const m = this.mean[c]!;
        const k = this.scale / this.std[c]!;
        const off = c * plane;
        for (let j = 0; j < plane; j++) x[dst + off + j] = this.inputs[src + off + j]! * k - m / this.std[c]!;
      }
    }
    return { x: fromArray(x, [n, ...this.sampleShape]), y: fromArray(y, [n]) };
  }
}

/** The samples of another dataset at the given indices (e.g. a train/validation split). */
export class Subset implements Dataset {
  readonly length: number;
  constructor(
    readonly source: Dataset,
    readonly indices: readonly number[],
  ) {
    this.length = indices.length;
    const bad = indices.find((i) => !(Number.isInteger(i) && i >= 0 && i < source.length));
    if (bad !== undefined)
      throw new ArgumentError(`Subset: index ${bad} out of range for a dataset of ${source.length} samples`);
  }
  get(index: number): Batch {
    return this.source.get(this.indices[index]!);
  }
  getBatch(indices: readonly number[]): Batch {
    const mapped = indices.map((i) => this.indices[i]!);
    return batchOf(this.source, mapped);
  }
}

/** Splits a dataset into two random, disjoint parts of `firstSize` and the rest. */
export function randomSplit(ds: Dataset, firstSize: number, generator: Generator = defaultGenerator): [Subset, Subset] {
  if (!(firstSize >= 0 && firstSize <= ds.length))
    throw new ArgumentError(`randomSplit: size ${firstSize} out of range for ${ds.length} samples`);
  const order = Array.from({ length: ds.length }, (_, i) => i);
  generator.shuffle(order);
  return [new Subset(ds, order.slice(0, firstSize)), new Subset(ds, order.slice(firstSize))];
}

/** The samples at `indices` as one batch: the dataset's getBatch when it has one, else its samples stacked. */
export function batchOf(ds: Dataset, indices: readonly number[]): Batch {
  if (ds.getBatch) return ds.getBatch(indices);
  const items = indices.map((i) => ds.get(i));
  return { x: stack(items.map((b) => b.x)), y: stack(items.map((b) => b.y)) };
}

export interface DataLoaderOptions {
  batchSize?: number;
  /** Reshuffle at the start of every pass, from `generator`. */
  shuffle?: boolean;
  /** Skip the last batch when it is smaller than batchSize. */
  dropLast?: boolean;
  generator?: Generator;
}

/**
 * Iterates a dataset in mini-batches; each batch reads as `{ x, y }` or as `[x, y]`.
 * @example for (const { x, y } of new DataLoader(train, { batchSize: 64, shuffle: true })) { ... }
 * @example for (const [x, y] of new DataLoader(train, { batchSize: 64 })) { ... }
 */
export class DataLoader implements Iterable<LoaderBatch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly generator: Generator;

  constructor(
    readonly dataset: Dataset,
    opts: DataLoaderOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 1;
    if (!(Number.isInteger(this.batchSize) && this.batchSize > 0)) {
      throw new ArgumentError(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator ?? defaultGenerator;
  }

  /** Number of batches per pass. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  *[Symbol.iterator](): Iterator<LoaderBatch> {
    const order = Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.shuffle) this.generator.shuffle(order);
    for (let b = 0; b < this.length; b++) {
      const idx = order.slice(b * this.batchSize, (b + 1) * this.batchSize);
      yield loaderBatch(batchOf(this.dataset, idx));
    }
  }
}
