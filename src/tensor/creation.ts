import { type DType, type TypedArray, allocArray, dtypeOfArray } from '../core/dtype.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { checkShape, contiguousStrides, fmt, sizeOf } from '../core/shape.js';
import type { Backend } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { Generator, defaultGenerator } from './random.js';
import { Tensor } from './tensor.js';

export type NestedArray = number | boolean | readonly NestedArray[];

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  backend?: Backend;
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

type NestedNumberArray = number | readonly NestedNumberArray[];
type NestedBoolArray = boolean | readonly NestedBoolArray[];

/**
 * The dtype a creation call gives, for the type checker: the `dtype` option when it is a known
 * literal, `Default` when the option is absent, and any dtype when it is only known at run time.
 */
export type DTypeOf<O, Default extends DType> = 'dtype' extends keyof O
  ? O extends { dtype: infer D extends DType }
    ? D
    : DType
  : Default;

/** The dtype tensor() / fromArray() infer from the data: the typed array's, bool for booleans, else float32. */
export type DataDType<T> = T extends Float64Array
  ? 'float64'
  : T extends Int32Array
    ? 'int32'
    : T extends Float32Array | Uint8Array
      ? 'float32'
      : T extends NestedBoolArray
        ? 'bool'
        : T extends NestedNumberArray
          ? 'float32'
          : DType;

/** Wraps a dense typed array (copied onto the backend) as a tensor. */
export function fromArray<T extends TypedArray, O extends CreateOptions = Record<never, never>>(
  data: T,
  shape: readonly number[],
  opts?: O,
): Tensor<DTypeOf<O, DataDType<T>>>;
export function fromArray(data: TypedArray, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  checkShape(shape, 'tensor');
  if (sizeOf(shape) !== data.length) {
    throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)} elements)`);
  }
  const dtype =
    opts.dtype ?? (data instanceof Uint8Array || data instanceof Int8Array ? 'float32' : dtypeOfArray(data));
  const backend = opts.backend ?? getBackend();
  // bool tensors hold exactly 0 or 1, whatever numbers they were made from.
  if (dtype === 'bool') data = Uint8Array.from(data, (v) => (v !== 0 ? 1 : 0));
  const t = new Tensor(backend.upload(data, dtype), [...shape], contiguousStrides(shape), 0, dtype, backend);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0] as NestedArray;
  }
  return shape;
}

function flatten(data: NestedArray, shape: readonly number[], out: number[], depth: number, path: string): void {
  if (depth === shape.length) {
    if (Array.isArray(data))
      throw new ShapeError(`tensor: ragged nested array at ${path || 'top level'}: expected a number, got an array`);
    const v = typeof data === 'boolean' ? +data : (data as number);
    if (typeof v !== 'number') throw new ArgumentError(`tensor: expected numbers, got ${typeof data} at ${path}`);
    out.push(v);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    const len = Array.isArray(data) ? data.length : 'a number';
    throw new ShapeError(
      `tensor: ragged nested array at ${path || 'top level'}: expected length ${shape[depth]}, got ${len}`,
    );
  }
  data.forEach((d, i) => flatten(d, shape, out, depth + 1, `${path}[${i}]`));
}

function firstLeaf(data: NestedArray): unknown {
  let cur: unknown = data;
  while (Array.isArray(cur)) cur = cur[0];
  return cur;
}

/**
 * Creates a tensor from nested arrays, a number, or a typed array (then give `shape`).
 * Numbers become float32 unless `dtype` says otherwise; booleans become bool.
 * @example const x = tensor([[1, 2], [3, 4]]);
 * @example const labels = tensor([3, 1, 4], { dtype: 'int32' });
 */
export function tensor<
  T extends NestedArray | TypedArray,
  O extends CreateOptions & { shape?: readonly number[] } = Record<never, never>,
>(data: T, opts?: O): Tensor<DTypeOf<O, DataDType<T>>>;
export function tensor(
  data: NestedArray | TypedArray,
  opts: CreateOptions & { shape?: readonly number[] } = {},
): Tensor {
  if (ArrayBuffer.isView(data)) return fromArray(data as TypedArray, opts.shape ?? [data.length], opts);
  const shape = inferShape(data);
  const flat: number[] = [];
  flatten(data, shape, flat, 0, '');
  const dtype = opts.dtype ?? (typeof firstLeaf(data) === 'boolean' ? 'bool' : 'float32');
  const arr = allocArray(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) arr[i] = flat[i]!;
  const t = fromArray(arr, opts.shape ?? shape, { ...opts, dtype });
  return t;
}

/** A tensor filled with `value`. @example full([2, 3], 7) */
export function full<O extends CreateOptions = Record<never, never>>(
  shape: readonly number[],
  value: number,
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  checkShape(shape, 'full');
  const arr = allocArray(opts.dtype ?? 'float32', sizeOf(shape));
  if (value !== 0) arr.fill(value);
  return fromArray(arr, shape, { ...opts, dtype: opts.dtype ?? 'float32' });
}

/** @example zeros([2, 3]) */
export function zeros<O extends CreateOptions = Record<never, never>>(
  shape: readonly number[],
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** @example ones([2, 3]) */
export function ones<O extends CreateOptions = Record<never, never>>(
  shape: readonly number[],
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export function zerosLike<D extends DType, O extends CreateOptions = Record<never, never>>(
  t: Tensor<D>,
  opts?: O,
): Tensor<DTypeOf<O, D>>;
export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, backend: t.backend, ...opts });
}

export function onesLike<D extends DType, O extends CreateOptions = Record<never, never>>(
  t: Tensor<D>,
  opts?: O,
): Tensor<DTypeOf<O, D>>;
export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, backend: t.backend, ...opts });
}

export function fullLike<D extends DType, O extends CreateOptions = Record<never, never>>(
  t: Tensor<D>,
  value: number,
  opts?: O,
): Tensor<DTypeOf<O, D>>;
export function fullLike(t: Tensor, value: number, opts: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, backend: t.backend, ...opts });
}

/**
 * Values from `start` up to (not including) `end` by `step`; int32 when all three are integers.
 * @example arange(5) // [0, 1, 2, 3, 4]
 */
export function arange<O extends CreateOptions = Record<never, never>>(
  start: number,
  end?: number,
  step?: number,
  opts?: O,
): Tensor<DTypeOf<O, 'int32' | 'float32'>>;
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new ArgumentError('arange: step must not be zero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ?? (ints ? 'int32' : 'float32');
  const arr = allocArray(dtype, n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return fromArray(arr, [n], { ...opts, dtype });
}

/** `steps` evenly spaced values from start to end inclusive. @example linspace(0, 1, 5) */
export function linspace<O extends CreateOptions = Record<never, never>>(
  start: number,
  end: number,
  steps: number,
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const arr = allocArray(dtype, steps);
  for (let i = 0; i < steps; i++) arr[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return fromArray(arr, [steps], { ...opts, dtype });
}

/** Identity matrix. @example eye(3) */
export function eye<O extends CreateOptions = Record<never, never>>(
  n: number,
  m?: number,
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const arr = allocArray(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) arr[i * m + i] = 1;
  return fromArray(arr, [n, m], { ...opts, dtype });
}

function randomTensor(
  shape: readonly number[],
  opts: RandomOptions,
  draw: (g: Generator) => number,
  op: string,
): Tensor {
  checkShape(shape, op);
  const g = opts.generator ?? defaultGenerator;
  const dtype = opts.dtype ?? 'float32';
  const arr = allocArray(dtype, sizeOf(shape));
  for (let i = 0; i < arr.length; i++) arr[i] = draw(g);
  return fromArray(arr, shape, { ...opts, dtype });
}

/** Uniform in [0, 1). @example rand([2, 2], { generator: new Generator(1) }) */
export function rand<O extends RandomOptions = Record<never, never>>(
  shape: readonly number[],
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return randomTensor(shape, opts, (g) => g.uniform(), 'rand');
}

/** Standard normal. @example randn([3]) */
export function randn<O extends RandomOptions = Record<never, never>>(
  shape: readonly number[],
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return randomTensor(shape, opts, (g) => g.normal(), 'randn');
}

/** Uniform in [low, high). */
export function uniform<O extends RandomOptions = Record<never, never>>(
  shape: readonly number[],
  low: number,
  high: number,
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function uniform(shape: readonly number[], low: number, high: number, opts: RandomOptions = {}): Tensor {
  return randomTensor(shape, opts, (g) => low + (high - low) * g.uniform(), 'uniform');
}

/** Normal with the given mean and standard deviation. */
export function normal<O extends RandomOptions = Record<never, never>>(
  shape: readonly number[],
  mean: number,
  std: number,
  opts?: O,
): Tensor<DTypeOf<O, 'float32'>>;
export function normal(shape: readonly number[], mean: number, std: number, opts: RandomOptions = {}): Tensor {
  return randomTensor(shape, opts, (g) => mean + std * g.normal(), 'normal');
}

/** Uniform integers in [low, high), int32. @example randint(0, 10, [5]) */
export function randint<O extends RandomOptions = Record<never, never>>(
  low: number,
  high: number,
  shape: readonly number[],
  opts?: O,
): Tensor<DTypeOf<O, 'int32'>>;
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return randomTensor(shape, { dtype: 'int32', ...opts }, (g) => g.int(low, high), 'randint');
}
