/**
 * Tensor operations: thin wrappers over primitives, and composites built
 * from them (their gradients follow from the primitives' rules).
 */
import { type DType, isFloat, promoteTypes } from '../core/dtype.js';
import { ArgumentError, DTypeError, ShapeError } from '../core/errors.js';
import type {
  AvgPool2dParams,
  BinaryOpName,
  CompareOp,
  Conv2dParams,
  EpilogueActivation,
  EpilogueParams,
  OpParams,
  Pool2dParams,
  UnaryOpName,
} from '../core/ops.js';
import {
  checkShape,
  fmt,
  normalizeAxes,
  normalizeAxis,
  resolveReshape,
  sameShape,
  sizeOf,
  viewStrides,
} from '../core/shape.js';
import { EPILOGUE_ACTIVATIONS } from '../core/ops.js';
import { run } from './dispatch.js';
import { full } from './creation.js';
import { Tensor } from './tensor.js';

export type TensorLike = Tensor | number;

// ---------------------------------------------------------------- elementwise

export function unary(op: UnaryOpName, x: Tensor): Tensor {
  return run(op, [x], {});
}

function scalarLike(v: number, other: Tensor): Tensor {
  const dtype: DType = isFloat(other.dtype)
    ? other.dtype
    : Number.isInteger(v) && other.dtype === 'int32'
      ? 'int32'
      : 'float32';
  return full([], v, { dtype, backend: other.backend });
}

/** Brings two operands (tensors or numbers) to one dtype. */
function operands(a: TensorLike, b: TensorLike, op: string): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number')
    throw new ArgumentError(`${op}: at least one operand must be a tensor`);
  let x = typeof a === 'number' ? scalarLike(a, b as Tensor) : a;
  let y = typeof b === 'number' ? scalarLike(b, x) : b;
  if (typeof a === 'number') x = scalarLike(a, y);
  if (x.dtype !== y.dtype) {
    const d = promoteTypes(x.dtype, y.dtype);
    x = cast(x, d);
    y = cast(y, d);
  }
  return [x, y];
}

export function binary(op: BinaryOpName, a: TensorLike, b: TensorLike): Tensor {
  let [x, y] = operands(a, b, op);
  // True division: integers divide as float32, as in PyTorch.
  if (op === 'div' && !isFloat(x.dtype)) [x, y] = [cast(x, 'float32'), cast(y, 'float32')];
  if (x.dtype === 'bool') [x, y] = [cast(x, 'float32'), cast(y, 'float32')];
  return run(op, [x, y], {});
}

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
/**
 * ReLU's backward in one pass: `g` where `x` > 0, else 0 (`x` the ReLU's input). The relu
 * gradient rule uses it instead of a comparison, a cast and a product.
 * @example reluBackward(tensor([5, 6]), tensor([-1, 2])); // [0, 6]
 */
export const reluBackward = (g: TensorLike, x: TensorLike): Tensor => binary('reluBackward', g, x);

/** Elementwise power; float only. @example pow(x, 2) */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  let [x, y] = operands(a, b, 'pow');
  if (!isFloat(x.dtype)) [x, y] = [cast(x, 'float32'), cast(y, 'float32')];
  return run('pow', [x, y], {});
}

export function compare(op: CompareOp, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(a, b, op);
  return run('compare', [x, y], { op });
}

/** Elementwise choice: `a` where `cond` is true, else `b`. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== 'bool') cond = compare('ne', cond, 0);
  const [x, y] = operands(a, b, 'where');
  return run('where', [cond, x, y], {});
}

export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : run('cast', [x], { dtype });
}

/** Limits values to [min, max]; the gradient passes where min ≤ x ≤ max (boundaries included, as in PyTorch). */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  let y = x;
  if (min !== undefined) y = where(compare('lt', y, min), min, y);
  if (max !== undefined) y = where(compare('gt', y, max), max, y);
  return y;
}

export function square(x: Tensor): Tensor {
  return mul(x, x);
}

// ---------------------------------------------------------------- activations

export const relu = (x: Tensor): Tensor => unary('relu', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);

/** max(x, slope·x) for slope < 1. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return where(compare('gt', x, 0), x, mul(x, negativeSlope));
}

/** x for x > 0, alpha·(eᕽ − 1) otherwise. */
export function elu(x: Tensor, alpha = 1): Tensor {
  const positive = compare('gt', x, 0);
  // exp of the non-positive part keeps the unused branch finite (no 0·∞ in its gradient),
  // and gives the derivative alpha at 0, as PyTorch does.
  const nonPositive = where(positive, 0, x);
  return where(positive, x, mul(sub(unary('exp', nonPositive), 1), alpha));
}

/** log(1 + eᕽ), computed without overflow; (x + |x|)/2 keeps the derivative at 0 equal to σ(0) = 1/2. */
export function softplus(x: Tensor): Tensor {
  const positivePart = mul(add(x, unary('abs', x)), 0.5);
  return add(positivePart, unary('log', add(unary('exp', neg(unary('abs', x))), 1)));
}

export const neg = (x: Tensor): Tensor => unary('neg', x);

// ---------------------------------------------------------------- reductions

export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'sum');
  if (x.dtype === 'bool') x = cast(x, 'int32');
  return run('sum', [x], { axes: ax, keepDims });
}

export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'mean');
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  const s = sum(isFloat(x.dtype) ? x : cast(x, 'float32'), ax, keepDims);
  return div(s, count);
}

export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return run('max', [x], { axes: normalizeAxes(axes, x.rank, 'max'), keepDims });
}

export function min(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return neg(max(neg(x), axes, keepDims));
}

/** Index of the maximum along `axis` (over all elements of the flattened tensor when omitted). */
export function argmax(x: Tensor, axis?: number, keepDims = false): Tensor {
  if (axis === undefined) return run('argmax', [reshape(x, [-1])], { axis: 0, keepDims: false });
  return run('argmax', [x], { axis: normalizeAxis(axis, x.rank, 'argmax'), keepDims });
}

export function argmin(x: Tensor, axis?: number, keepDims = false): Tensor {
  return argmax(neg(x), axis, keepDims);
}

/** Variance with Bessel's correction by default (correction = 1), as in PyTorch. */
export function variance(
  x: Tensor,
  axes?: number | readonly number[],
  opts: { correction?: number; keepDims?: boolean } = {},
): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'var');
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  const centered = sub(x, mean(x, ax, true));
  const dof = count - (opts.correction ?? 1);
  return div(sum(square(centered), ax, opts.keepDims ?? false), dof);
}

export function std(
  x: Tensor,
  axes?: number | readonly number[],
  opts: { correction?: number; keepDims?: boolean } = {},
): Tensor {
  return unary('sqrt', variance(x, axes, opts));
}

/** log(Σ eᕽ) along axes, stable for large inputs. */
export function logSumExp(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'logSumExp');
  // The shift cancels out of the value and the gradient, so it is taken as a constant.
  const m = max(x, ax, true).detach();
  const finite = where(compare('eq', unary('abs', m), Infinity), 0, m);
  const s = add(unary('log', sum(unary('exp', sub(x, finite)), ax, true)), finite);
  return keepDims
    ? s
    : reshape(
        s,
        s.shape.filter((_, i) => !ax.includes(i)),
      );
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normalizeAxis(axis, x.rank, 'softmax');
  const e = unary('exp', sub(x, max(x, a, true).detach()));
  return div(e, sum(e, a, true));
}

/** log(softmax(x)) along `axis`, as one primitive (one pass per row, in float64 on the cpu). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normalizeAxis(axis, x.rank, 'logSoftmax');
  return run('logSoftmax', [x], { axis: a });
}

// ---------------------------------------------------------------- shape and views

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = resolveReshape(x.shape, shape);
  if (sameShape(target, x.shape)) return x;
  const fits = x.isContiguous() || viewStrides(x.shape, x.strides, target) !== null;
  return run('reshape', [fits ? x : contiguous(x)], { shape: target });
}

export function contiguous(x: Tensor): Tensor {
  return x.isContiguous() ? x : run('contiguous', [x], {});
}

export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis(startAxis, x.rank, 'flatten');
  const e = normalizeAxis(endAxis, x.rank, 'flatten');
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank + 1, 'unsqueeze');
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Removes size-1 axes (all of them, or the given one). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normalizeAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) return x;
  return reshape(
    x,
    x.shape.filter((_, i) => i !== a),
  );
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normalizeAxis(a, x.rank, 'permute'));
  if (p.every((a, i) => a === i)) return x;
  return run('permute', [x], { perm: p });
}

/** Swaps two axes (the last two by default). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const a = normalizeAxis(axis0, x.rank, 'transpose');
  const b = normalizeAxis(axis1, x.rank, 'transpose');
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Broadcasts to `shape` without copying; -1 keeps a dimension. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const off = shape.length - x.rank;
  const target = shape.map((d, i) => {
    if (d !== -1) return d;
    if (i < off)
      throw new ArgumentError(
        `expand: -1 is not allowed for a new leading dimension, got ${fmt(shape)} for ${fmt(x.shape)}`,
      );
    return x.shape[i - off]!;
  });
  checkShape(target, 'expand');
  if (sameShape(target, x.shape)) return x;
  return run('expand', [x], { shape: target });
}

/**
 * A strided sub-range per axis: `ranges[i] = [start, end, step?]` (negative
 * indices count from the end; omitted axes are kept whole). No copy.
 * @example x.slice([[0, 2], [1, -1]])
 */
export function slice(x: Tensor, ranges: readonly (readonly [number?, number?, number?] | null)[]): Tensor {
  if (ranges.length > x.rank) throw new ArgumentError(`slice: ${ranges.length} ranges for a tensor of rank ${x.rank}`);
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  x.shape.forEach((d, i) => {
    const r = ranges[i] ?? [];
    const step = r[2] ?? 1;
    if (!Number.isInteger(step) || step < 1)
      throw new ArgumentError(`slice: step must be a positive integer, got ${step}`);
    const norm = (v: number | undefined, dflt: number): number => {
      if (v === undefined) return dflt;
      const n = v < 0 ? v + d : v;
      return Math.min(Math.max(n, 0), d);
    };
    const s = norm(r[0], 0);
    starts.push(s);
    ends.push(Math.max(s, norm(r[1], d)));
    steps.push(step);
  });
  if (starts.every((s, i) => s === 0 && ends[i] === x.shape[i] && steps[i] === 1)) return x;
  return run('slice', [x], { starts, ends, steps });
}

/** `length` entries of `axis` from `start`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis(axis, x.rank, 'narrow');
  if (start < 0 || start + length > x.shape[a]!) {
    throw new ArgumentError(`narrow: range [${start}, ${start + length}) is outside axis ${a} of size ${x.shape[a]}`);
  }
  const ranges: [number, number][] = x.shape.map((d) => [0, d]);
  ranges[a] = [start, start + length];
  return slice(x, ranges);
}

/** Entry `index` of `axis`, with that axis removed. */
export function select(x: Tensor, axis: number, index: number): Tensor {
  const a = normalizeAxis(axis, x.rank, 'select');
  const i = index < 0 ? index + x.shape[a]! : index;
  if (i < 0 || i >= x.shape[a]!)
    throw new ArgumentError(`select: index ${index} is out of range for axis ${a} of size ${x.shape[a]}`);
  return squeeze(narrow(x, a, i, 1), a);
}

/** Joins tensors along an existing axis. @example concat([a, b], 1) */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ArgumentError('concat: needs at least one tensor');
  const a = normalizeAxis(axis, xs[0]!.rank, 'concat');
  if (xs.length === 1) return xs[0]!;
  let dtype = xs[0]!.dtype;
  for (const t of xs) dtype = promoteTypes(dtype, t.dtype);
  return run(
    'concat',
    xs.map((t) => cast(t, dtype)),
    { axis: a },
  );
}

/** Joins tensors of equal shape along a new axis. @example stack([a, b]) */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ArgumentError('stack: needs at least one tensor');
  const first = xs[0]!;
  for (const t of xs) {
    if (!sameShape(t.shape, first.shape)) {
      throw new ShapeError(`stack: all tensors need the same shape, got ${fmt(first.shape)} and ${fmt(t.shape)}`);
    }
  }
  const a = normalizeAxis(axis, first.rank + 1, 'stack');
  return concat(
    xs.map((t) => unsqueeze(t, a)),
    a,
  );
}

/**
 * Constant padding of the last `pads.length` axes, one [before, after] pair
 * per axis in order. @example pad(images, [[1, 1], [2, 2]]) // H by 1, W by 2
 */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  if (pads.length > x.rank) throw new ArgumentError(`pad: ${pads.length} pairs for a tensor of rank ${x.rank}`);
  const full: [number, number][] = x.shape.map(() => [0, 0]);
  pads.forEach((p, i) => {
    if (!p.every((v) => Number.isInteger(v) && v >= 0))
      throw new ArgumentError(`pad: amounts must be non-negative integers, got [${p.join(', ')}]`);
    full[x.rank - pads.length + i] = [p[0], p[1]];
  });
  if (full.every(([a, b]) => a === 0 && b === 0)) return x;
  return run('pad', [x], { pads: full, value });
}

// ---------------------------------------------------------------- linear algebra

/**
 * Matrix product with NumPy semantics: 1-D operands are vectors, leading
 * axes are batch axes and broadcast.
 * @example matmul(a, b) // [2, 3] @ [3, 4] -> [2, 4]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0)
    throw new ShapeError(`matmul: operands must have rank >= 1, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const a2 = a.rank === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.rank === 1 ? unsqueeze(b, 1) : b;
  const [m, k] = a2.shape.slice(-2) as [number, number];
  const [k2, n] = b2.shape.slice(-2) as [number, number];
  if (k !== k2) {
    throw new ShapeError(
      `matmul: cannot multiply ${fmt(a.shape)} by ${fmt(b.shape)}: inner dimensions ${k} and ${k2} differ`,
    );
  }
  const batchA = a2.shape.slice(0, -2);
  const batchB = b2.shape.slice(0, -2);
  const nb = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < nb; i++) {
    const da = batchA[batchA.length - nb + i] ?? 1;
    const db = batchB[batchB.length - nb + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`matmul: batch dimensions of ${fmt(a.shape)} and ${fmt(b.shape)} cannot be broadcast`);
    }
    batch.push(Math.max(da, db));
  }
  const bsize = sizeOf(batch);
  const a3 = collapseBatch(expand(a2, [...batch, m, k]), bsize);
  const b3 = collapseBatch(expand(b2, [...batch, k, n]), bsize);
  let y = run('matmul', [a3, b3], {});
  const outShape = [...batch, m, n];
  if (a.rank === 1) outShape.splice(-2, 1);
  if (b.rank === 1) outShape.splice(-1, 1);
  y = reshape(y, outShape);
  return y;
}

/** Folds leading batch axes into one; an operand broadcast over every batch axis stays a stride-0 view. */
function collapseBatch(x: Tensor, bsize: number): Tensor {
  if (x.rank === 3) return x;
  // A view with a size-1 batch axis, so a transposed weight (Linear's W.T) is not copied.
  if (x.rank === 2) return expand(x, [1, ...x.shape]);
  if (x.strides.slice(0, -2).every((s) => s === 0)) {
    let m = x;
    while (m.rank > 2) m = select(m, 0, 0);
    return expand(unsqueeze(m, 0), [bsize, ...m.shape]);
  }
  return reshape(x, [bsize, ...x.shape.slice(-2)]);
}

// ---------------------------------------------------------------- convolution and pooling

export type Pair = number | readonly [number, number];
/**
 * Implicit padding: a number or [h, w] of zeros on both sides, or TensorFlow's
 * rules: 'same' gives ceil(n / stride) outputs, the padding split with the extra
 * row / column at the bottom / right; 'valid' pads nothing (ceil((n − span + 1) / stride) outputs).
 */
export type Padding = Pair | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
}

export function pair(v: Pair, name: string, op: string): [number, number] {
  const p: [number, number] =
    typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [NaN, NaN];
  if (!p.every((x) => Number.isInteger(x)))
    throw new ArgumentError(`${op}: ${name} must be an integer or a pair of integers, got ${describeValue(v)}`);
  return p;
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.map(String).join(', ')}]` : String(v);
}

/** A pair of integers ≥ `min`, or an error naming the layer / op and the option. */
function positivePair(v: Pair, name: string, op: string, min = 1): [number, number] {
  const p = pair(v, name, op);
  if (p.some((x) => x < min))
    throw new ArgumentError(
      `${op}: ${name} must be ${min === 1 ? 'positive' : `at least ${min}`}, got ${describeValue(v)}`,
    );
  return p;
}

/** Refuses option keys the op does not know, so a misspelt option is not silently ignored. */
export function checkOptionKeys(op: string, opts: object, known: readonly string[]): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
    throw new ArgumentError(`${op}: options must be an object, got ${describeValue(opts)}`);
  const unknown = Object.keys(opts).filter(
    (k) => !known.includes(k) && (opts as Record<string, unknown>)[k] !== undefined,
  );
  if (unknown.length)
    throw new ArgumentError(
      `${op}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (accepted: ${known.join(', ')})`,
    );
}

/** The padding option checked: 'same', 'valid', or a non-negative integer / pair. */
function checkPadding(padding: Padding, op: string): void {
  if (padding === 'same' || padding === 'valid') return;
  if (typeof padding === 'string')
    throw new ArgumentError(
      `${op}: padding must be 'same', 'valid', an integer or a pair of integers, got '${padding}'`,
    );
  positivePair(padding, 'padding', op, 0);
}

/**
 * TensorFlow's SAME padding of one axis: [before, after] giving ceil(n / stride)
 * outputs, the odd row going after.
 */
export function samePadding(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * Checks convolution options (kernel, stride, dilation, padding, groups) up front;
 * layers call it when constructed, so a bad option fails there, naming the layer.
 */
export function checkConv2dOptions(
  kernel: Pair,
  o: Conv2dOptions,
  op: string,
  extraKeys: readonly string[] = [],
): void {
  checkOptionKeys(op, o, ['stride', 'padding', 'dilation', 'groups', ...extraKeys]);
  positivePair(kernel, 'kernel size', op);
  positivePair(o.stride ?? 1, 'stride', op);
  positivePair(o.dilation ?? 1, 'dilation', op);
  checkPadding(o.padding ?? 0, op);
  if (o.groups !== undefined && !(Number.isInteger(o.groups) && o.groups >= 1))
    throw new ArgumentError(`${op}: groups must be a positive integer, got ${describeValue(o.groups)}`);
}

/**
 * Resolves stride/padding/dilation/groups for a kernel size into the primitive's
 * parameters; 'same' needs the input's [H, W] (its padding depends on them when stride > 1).
 */
export function conv2dParams(
  kernel: readonly [number, number],
  o: Conv2dOptions,
  op = 'conv2d',
  inputHW: readonly [number, number] = [1, 1],
): Conv2dParams {
  const stride = positivePair(o.stride ?? 1, 'stride', op);
  const dilation = positivePair(o.dilation ?? 1, 'dilation', op);
  const padOpt = o.padding ?? 0;
  checkPadding(padOpt, op);
  let padding: [number, number, number, number];
  if (padOpt === 'valid') padding = [0, 0, 0, 0];
  else if (padOpt === 'same') {
    padding = [
      ...samePadding(inputHW[0], kernel[0], stride[0], dilation[0]),
      ...samePadding(inputHW[1], kernel[1], stride[1], dilation[1]),
    ];
  } else {
    const [ph, pw] = pair(padOpt, 'padding', op);
    padding = [ph, ph, pw, pw];
  }
  return { stride, padding, dilation, groups: o.groups ?? 1 };
}

/**
 * A convolution's geometry resolved and checked once (as candle's ParamsConv2D): a layer builds one when it
 * is constructed and hands it to {@link conv2d} on every forward, so nothing is re-resolved per call. The
 * primitive's parameters are fixed except for `padding: 'same'` with a stride above 1, whose padding depends
 * on the input size; those are resolved on the first input of each size (the last size is kept).
 * @example
 * const plan = new Conv2dPlan([3, 3], { stride: 2, padding: 'same' });
 * conv2d(x, w, b, plan); // x [1, 3, 13, 13], w [8, 3, 3, 3] -> [1, 8, 7, 7]
 */
export class Conv2dPlan {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
  /** The padding option as given ('same', 'valid' or numbers). */
  readonly padding: Padding;
  /** The primitive's parameters where they do not depend on the input size, else null. */
  readonly fixed: Conv2dParams | null;
  private lastSize: readonly [number, number] = [0, 0];
  private last: Conv2dParams | null = null;
  /** The fused primitive's parameters, per resolved parameters and epilogue (built once each). */
  private readonly fused = new WeakMap<Conv2dParams, Map<string, OpParams['conv2dBiasAct']>>();

  /** Checks the options (kernel, stride, dilation, padding, groups) and resolves what they fix. */
  constructor(kernel: Pair, opts: Conv2dOptions = {}, op = 'conv2d') {
    this.kernel = positivePair(kernel, 'kernel size', op);
    this.stride = positivePair(opts.stride ?? 1, 'stride', op);
    this.dilation = positivePair(opts.dilation ?? 1, 'dilation', op);
    this.padding = opts.padding ?? 0;
    checkPadding(this.padding, op);
    const groups = opts.groups ?? 1;
    if (!(Number.isInteger(groups) && groups >= 1))
      throw new ArgumentError(`${op}: groups must be a positive integer, got ${describeValue(groups)}`);
    this.groups = groups;
    // TensorFlow's SAME padding of a stride-1 axis is dilation·(k − 1) whatever the input size.
    const inputDependent = this.padding === 'same' && (this.stride[0] > 1 || this.stride[1] > 1);
    this.fixed = inputDependent ? null : conv2dParams(this.kernel, { ...opts, groups }, op);
  }

  /** The primitive's parameters for an input of `height` × `width`. */
  params(height: number, width: number): Conv2dParams {
    if (this.fixed) return this.fixed;
    if (this.last && this.lastSize[0] === height && this.lastSize[1] === width) return this.last;
    const p = conv2dParams(
      this.kernel,
      { stride: this.stride, dilation: this.dilation, padding: this.padding, groups: this.groups },
      'conv2d',
      [height, width],
    );
    this.lastSize = [height, width];
    this.last = p;
    return p;
  }

  /** conv2dBiasAct's parameters: `p` (from params()) with the epilogue, the same object call after call. */
  withEpilogue(p: Conv2dParams, e: Epilogue | undefined): OpParams['conv2dBiasAct'] {
    const ep = epilogueParams(e);
    const key = `${ep.activation}:${ep.negativeSlope}`;
    let byEpilogue = this.fused.get(p);
    if (!byEpilogue) this.fused.set(p, (byEpilogue = new Map()));
    let fused = byEpilogue.get(key);
    if (!fused) byEpilogue.set(key, (fused = { ...p, ...ep }));
    return fused;
  }
}

/**
 * 2-D convolution (cross-correlation) of NCHW `x` with weight [Cout, Cin/groups, kH, kW].
 * `padding: 'same'` keeps ceil(H / stride) rows for any stride and dilation (TensorFlow's rule).
 * Takes options, or a {@link Conv2dPlan} resolved once (what Conv2d layers pass).
 * @example conv2d(x, w, b, { stride: 2, padding: 'same' }) // x [1, 3, 13, 13], w [8, 3, 3, 3] -> [1, 8, 7, 7]
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: Conv2dOptions | Conv2dPlan = {},
  epilogue?: Epilogue,
): Tensor {
  // A negative leaky slope runs as its own op (the fused backward reads its mask off the output).
  if (!fusable(epilogue)) return activate(conv2d(x, weight, bias, opts), epilogue);
  if (weight.rank !== 4)
    throw new ShapeError(`conv2d: weight must have rank 4 [Cout, Cin/groups, kH, kW], got ${fmt(weight.shape)}`);
  const [h, w] = x.rank === 4 ? [x.shape[2]!, x.shape[3]!] : [1, 1];
  let p: Conv2dParams;
  if (opts instanceof Conv2dPlan) {
    if (opts.kernel[0] !== weight.shape[2] || opts.kernel[1] !== weight.shape[3])
      throw new ShapeError(
        `conv2d: weight ${fmt(weight.shape)} does not have the plan's kernel size ${opts.kernel.join('x')}`,
      );
    p = opts.params(h, w);
  } else p = conv2dParams([weight.shape[2]!, weight.shape[3]!], opts, 'conv2d', [h, w]);
  if (!bias) return activate(run('conv2d', [x, weight], p), epilogue);
  if (bias.rank !== 1 || bias.shape[0] !== weight.shape[0]) {
    throw new ShapeError(`conv2d: bias ${fmt(bias.shape)} must have shape [${weight.shape[0]}]`);
  }
  // The bias (and activation) in the convolution's own kernel: the same values as add() and relu() after it.
  const fused = opts instanceof Conv2dPlan ? opts.withEpilogue(p, epilogue) : { ...p, ...epilogueParams(epilogue) };
  return run('conv2dBiasAct', [x, weight, bias], fused);
}

/** Whether an epilogue can run in the product's kernel: not leakyRelu with a negative slope. */
const fusable = (e: Epilogue | undefined): boolean =>
  !(e?.activation === 'leakyRelu' && e.negativeSlope !== undefined && e.negativeSlope < 0);

/**
 * An activation applied by the kernel of the product before it (conv2d, linear) instead of as
 * an op of its own: PyTorch's and oneDNN's fused post-ops. Results are those of the separate
 * activation, bit for bit. Layers pass it when a Sequential has an activation right after them.
 * @example conv2d(x, w, b, { padding: 1 }, { activation: 'relu' }) // = relu(conv2d(x, w, b, { padding: 1 }))
 */
export interface Epilogue {
  readonly activation: EpilogueActivation;
  /**
   * leakyRelu's slope below 0 (default 0.01, as leakyRelu). A negative slope runs the activation as
   * its own op after the product (the fused kernel's backward reads its mask off the output).
   */
  readonly negativeSlope?: number;
}

function epilogueParams(e: Epilogue | undefined): EpilogueParams {
  return { activation: e?.activation ?? 'none', negativeSlope: e?.negativeSlope ?? 0.01 };
}

/** The epilogue's activation as the separate op (where a product runs without a fused bias). */
export function activate(y: Tensor, e: Epilogue | undefined): Tensor {
  if (!e || e.activation === 'none') return y;
  if (e.activation === 'relu') return relu(y);
  if (e.activation === 'leakyRelu') return leakyRelu(y, e.negativeSlope);
  throw new ArgumentError(
    `activation must be one of ${EPILOGUE_ACTIVATIONS.join(', ')}, got '${String(e.activation)}'`,
  );
}

/**
 * x · weightᵀ + bias, then the epilogue's activation, for a 2-D x [B, in] and weight [out, in]:
 * one matmulBiasAct kernel (the same values as matmul, add and the activation one by one).
 * Other ranks run the separate ops, and so does a negative leaky slope's activation.
 * @example linearBiasAct(x, w, b, { activation: 'relu' }) // relu(x·wᵀ + b)
 */
export function linearBiasAct(x: Tensor, weight: Tensor, bias: Tensor | null, epilogue?: Epilogue): Tensor {
  if (!fusable(epilogue)) return activate(linearBiasAct(x, weight, bias), epilogue);
  if (!bias || x.rank !== 2 || weight.rank !== 2) {
    const y = matmul(x, transpose(weight));
    return activate(bias ? add(y, bias) : y, epilogue);
  }
  const [b, k] = x.shape as [number, number];
  const y = run(
    'matmulBiasAct',
    [reshape(x, [1, b, k]), unsqueeze(transpose(weight), 0), bias],
    epilogueParams(epilogue),
  );
  return reshape(y, [b, weight.shape[0]!]);
}

export interface Pool2dOptions {
  /** Default: the kernel size (non-overlapping windows). */
  stride?: Pair;
  /** A number or [h, w] (at most half the kernel), 'same' (TensorFlow's rule) or 'valid'. Default 0. */
  padding?: Padding;
  dilation?: Pair;
  /** Round the output size up (PyTorch's ceil_mode); not with 'same' / 'valid'. */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /**
   * Divide by the whole window, padding included (default true for numeric
   * padding, as PyTorch; false for 'same', as TensorFlow, which leaves padded cells out).
   */
  countIncludePad?: boolean;
}

/** Checks pooling options up front (layers call it when constructed). */
export function checkPool2dOptions(kernel: Pair, o: AvgPool2dOptions, op: string, avg = false): void {
  checkOptionKeys(op, o, ['stride', 'padding', 'dilation', 'ceilMode', ...(avg ? ['countIncludePad'] : [])]);
  const k = positivePair(kernel, 'kernel size', op);
  positivePair(o.stride ?? k, 'stride', op);
  positivePair(o.dilation ?? 1, 'dilation', op);
  const padding = o.padding ?? 0;
  checkPadding(padding, op);
  if (typeof padding !== 'string') {
    const [ph, pw] = pair(padding, 'padding', op);
    if (ph * 2 > k[0] || pw * 2 > k[1])
      throw new ArgumentError(
        `${op}: padding ${describeValue(padding)} must be at most half the kernel [${k.join(', ')}]`,
      );
  } else if (o.ceilMode) {
    throw new ArgumentError(`${op}: ceilMode does not apply with padding '${padding}'`);
  }
  for (const key of ['ceilMode', 'countIncludePad'] as const) {
    const v = (o as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'boolean')
      throw new ArgumentError(`${op}: ${key} must be true or false, got ${describeValue(v)}`);
  }
}

interface PoolCall {
  params: Pool2dParams;
  /** The average-pooling primitive's parameters (countIncludePad true over explicit padding, rescaled after). */
  avg: AvgPool2dParams;
  /** Explicit [top, bottom, left, right] padding applied before a VALID pool (asymmetric SAME). */
  pads: [number, number, number, number] | null;
}

/**
 * A pooling layer's geometry resolved and checked once (kernel, stride, padding incl. TensorFlow's SAME,
 * dilation, ceil mode, countIncludePad): MaxPool2d / AvgPool2d build one when constructed and pass it to
 * {@link maxPool2d} / {@link avgPool2d} on every forward. Numeric and 'valid' padding fix the primitive's
 * parameters here; 'same' depends on the input size and is resolved (and checked) on the first input of
 * each size, the last size kept.
 * @example const plan = new Pool2dPlan(3, { stride: 2, padding: 'same' }); maxPool2d(x, plan);
 */
export class Pool2dPlan {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly padding: Padding;
  readonly ceilMode: boolean;
  /** For average pooling: divide by the whole window, padding included. */
  readonly countIncludePad: boolean;
  /** The primitive's parameters and padding where they do not depend on the input size, else null. */
  private readonly fixed: PoolCall | null;
  private lastSize: readonly [number, number] = [0, 0];
  private last: PoolCall | null = null;

  /** `op` names the layer or function in errors; `avg` admits the countIncludePad option. */
  constructor(
    kernel: Pair,
    opts: AvgPool2dOptions = {},
    readonly op = 'maxPool2d',
    avg = false,
  ) {
    checkPool2dOptions(kernel, opts, op, avg);
    this.kernel = pair(kernel, 'kernel', op);
    this.stride = pair(opts.stride ?? this.kernel, 'stride', op);
    this.dilation = pair(opts.dilation ?? 1, 'dilation', op);
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? this.padding !== 'same';
    const base = { kernel: this.kernel, stride: this.stride, dilation: this.dilation, ceilMode: this.ceilMode };
    if (this.padding === 'valid') this.fixed = this.poolCall({ ...base, padding: [0, 0] }, null);
    else if (this.padding !== 'same')
      this.fixed = this.poolCall({ ...base, padding: pair(this.padding, 'padding', op) }, null);
    else this.fixed = null;
  }

  /** @internal The primitive's parameters (and any explicit padding) for this input. */
  call(x: Tensor, op: string): PoolCall {
    if (this.fixed) return this.fixed;
    if (x.rank !== 4) throw new ShapeError(`${op}: expected input of rank 4 (N, C, H, W), got shape ${fmt(x.shape)}`);
    const [h, w] = [x.shape[2]!, x.shape[3]!];
    if (this.last && this.lastSize[0] === h && this.lastSize[1] === w) return this.last;
    const c = this.same(h, w, op);
    this.lastSize = [h, w];
    this.last = c;
    return c;
  }

  /** TensorFlow's SAME for an h × w input: symmetric padding the primitive takes, or explicit padding. */
  private same(h: number, w: number, op: string): PoolCall {
    const k = this.kernel;
    const [stride, dilation] = [this.stride, this.dilation];
    const [top, bottom] = samePadding(h, k[0], stride[0], dilation[0]);
    const [left, right] = samePadding(w, k[1], stride[1], dilation[1]);
    for (const [axis, size, before, kk, s, d] of [
      ['rows', h, top, k[0], stride[0], dilation[0]],
      ['columns', w, left, k[1], stride[1], dilation[1]],
    ] as const) {
      const out = Math.ceil(size / s);
      for (let j = 0; j < out; j++) {
        const first = j * s - before;
        let inside = false;
        for (let i = 0; i < kk && !inside; i++) inside = first + i * d >= 0 && first + i * d < size;
        if (!inside)
          throw new ShapeError(
            `${op}: with padding 'same', window ${j} along the ${axis} covers only padding (input ${size}, kernel ${kk}, dilation ${d}); use a smaller dilation`,
          );
      }
    }
    const base = { kernel: k, stride, dilation, ceilMode: this.ceilMode };
    // Symmetric SAME padding the primitive can take (at most half the kernel) runs natively.
    if (top === bottom && left === right && top * 2 <= k[0] && left * 2 <= k[1])
      return this.poolCall({ ...base, padding: [top, left] }, null);
    return this.poolCall({ ...base, padding: [0, 0] }, [top, bottom, left, right]);
  }

  private poolCall(params: Pool2dParams, pads: PoolCall['pads']): PoolCall {
    return { params, pads, avg: { ...params, countIncludePad: pads ? true : this.countIncludePad } };
  }
}

/** A plan carries its options: more given beside it would be silently ignored, so they are refused. */
function planOnly(plan: Pool2dPlan, opts: object, op: string): Pool2dPlan {
  if (Object.values(opts).some((v) => v !== undefined))
    throw new ArgumentError(`${op}: options come with the Pool2dPlan; pass either a plan or a kernel size and options`);
  return plan;
}

/** Per-output count of window cells inside the input ([1, 1, oh, ow]), for SAME average pooling. */
function windowCounts(x: Tensor, p: Pool2dParams, pads: readonly [number, number, number, number]): Tensor {
  const axis = (size: number, k: number, s: number, d: number, before: number): number[] => {
    const out = Math.ceil(size / s);
    return Array.from({ length: out }, (_, j) => {
      let n = 0;
      for (let i = 0; i < k; i++) {
        const r = j * s - before + i * d;
        if (r >= 0 && r < size) n++;
      }
      return n;
    });
  };
  const rows = axis(x.shape[2]!, p.kernel[0], p.stride[0], p.dilation[0], pads[0]);
  const cols = axis(x.shape[3]!, p.kernel[1], p.stride[1], p.dilation[1], pads[2]);
  const data = new Float64Array(rows.length * cols.length);
  rows.forEach((r, i) => cols.forEach((c, j) => (data[i * cols.length + j] = r * c)));
  return x.constantFrom(data, [1, 1, rows.length, cols.length]);
}

/**
 * Max pooling; stride defaults to the kernel size (non-overlapping windows). Takes a kernel size and
 * options, or a {@link Pool2dPlan} resolved once (what MaxPool2d layers pass).
 * `padding: 'same'` keeps ceil(H / stride) rows (TensorFlow's rule, padded cells never win).
 * @example maxPool2d(x, 3, { stride: 2 }); maxPool2d(x, 6, { stride: 5, padding: 'same' }) // 13x13 -> 3x3
 */
export function maxPool2d(x: Tensor, kernel: Pair | Pool2dPlan, opts: Pool2dOptions = {}): Tensor {
  const plan = kernel instanceof Pool2dPlan ? planOnly(kernel, opts, 'maxPool2d') : new Pool2dPlan(kernel, opts);
  const { params, pads } = plan.call(x, 'maxPool2d');
  if (!pads) return run('maxPool2d', [x], params);
  const padded = pad(
    x,
    [
      [pads[0], pads[1]],
      [pads[2], pads[3]],
    ],
    -Infinity,
  );
  return run('maxPool2d', [padded], params);
}

/**
 * Average pooling; counts padded zeros in the divisor unless countIncludePad is
 * false. Takes a kernel size and options, or a {@link Pool2dPlan} resolved once (what AvgPool2d passes). With `padding: 'same'` the padded cells are left out of the divisor, as TensorFlow does.
 * @example avgPool2d(x, 2); avgPool2d(x, 3, { stride: 2, padding: 'same' })
 */
export function avgPool2d(x: Tensor, kernel: Pair | Pool2dPlan, opts: AvgPool2dOptions = {}): Tensor {
  if (!isFloat(x.dtype)) throw new DTypeError(`avgPool2d: expected a float tensor, got ${x.dtype}`);
  const plan =
    kernel instanceof Pool2dPlan
      ? planOnly(kernel, opts, 'avgPool2d')
      : new Pool2dPlan(kernel, opts, 'avgPool2d', true);
  const { params, pads, avg } = plan.call(x, 'avgPool2d');
  if (!pads) return run('avgPool2d', [x], avg);
  const padded = pad(x, [
    [pads[0], pads[1]],
    [pads[2], pads[3]],
  ]);
  const y = run('avgPool2d', [padded], avg);
  if (plan.countIncludePad) return y;
  // The primitive divided by the whole window; rescale to the cells inside the input.
  return mul(y, div(params.kernel[0] * params.kernel[1], windowCounts(x, params, pads)));
}

/** Matrix [out, in] whose row i averages the PyTorch adaptive window floor(i·in/out) … ceil((i+1)·in/out). */
function adaptiveMatrix(inSize: number, outSize: number, like: Tensor): Tensor {
  const data = new Float64Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const s = Math.floor((i * inSize) / outSize);
    const e = Math.ceil(((i + 1) * inSize) / outSize);
    for (let j = s; j < e; j++) data[i * inSize + j] = 1 / (e - s);
  }
  return like.constantFrom(data, [outSize, inSize]);
}

/** Average pooling to a fixed output size, windows chosen as PyTorch does. @example adaptiveAvgPool2d(x, 1) */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  if (x.rank !== 4) throw new ShapeError(`adaptiveAvgPool2d: expected input [N, C, H, W], got ${fmt(x.shape)}`);
  const [oh, ow] = pair(outputSize, 'outputSize', 'adaptiveAvgPool2d');
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  if (oh === 1 && ow === 1) return mean(x, [2, 3], true);
  if (h % oh === 0 && w % ow === 0) return avgPool2d(x, [h / oh, w / ow]);
  return separable(x, adaptiveMatrix(h, oh, x), adaptiveMatrix(w, ow, x));
}

/** Applies a row matrix R [oh, h] and a column matrix C [ow, w] to every plane: R · X · Cᵀ. */
function separable(x: Tensor, rows: Tensor, cols: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const planes = reshape(x, [n * c, h, w]);
  const y = matmul(rows, matmul(planes, transpose(cols)));
  return reshape(y, [n, c, rows.shape[0]!, cols.shape[0]!]);
}

/** Mean over H and W: [N, C, H, W] -> [N, C, 1, 1]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  return mean(x, [2, 3], true);
}

/** Max over H and W: [N, C, H, W] -> [N, C, 1, 1]. */
export function globalMaxPool2d(x: Tensor): Tensor {
  return max(x, [2, 3], true);
}

export interface UpsampleOptions {
  size?: Pair;
  scaleFactor?: Pair;
  mode?: 'nearest' | 'bilinear';
}

function interpMatrix(
  inSize: number,
  outSize: number,
  scale: number,
  mode: 'nearest' | 'bilinear',
  like: Tensor,
): Tensor {
  const data = new Float64Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    if (mode === 'nearest') {
      data[i * inSize + Math.min(Math.floor(i * scale), inSize - 1)] = 1;
    } else {
      // align_corners = false: pixel centres line up; negative source positions clamp to 0.
      const src = Math.max((i + 0.5) * scale - 0.5, 0);
      const i0 = Math.min(Math.floor(src), inSize - 1);
      const i1 = Math.min(i0 + 1, inSize - 1);
      const l = src - i0;
      data[i * inSize + i0]! += 1 - l;
      data[i * inSize + i1]! += l;
    }
  }
  return like.constantFrom(data, [outSize, inSize]);
}

/**
 * Resizes NCHW images by nearest-neighbour or bilinear interpolation (align_corners = false).
 * @example upsample(x, { scaleFactor: 2, mode: 'bilinear' })
 */
export function upsample(x: Tensor, opts: UpsampleOptions): Tensor {
  if (x.rank !== 4) throw new ShapeError(`upsample: expected input [N, C, H, W], got ${fmt(x.shape)}`);
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  const mode = opts.mode ?? 'nearest';
  let oh: number, ow: number, sh: number, sw: number;
  if (opts.size !== undefined) {
    [oh, ow] = pair(opts.size, 'size', 'upsample');
    [sh, sw] = [h / oh, w / ow];
  } else if (opts.scaleFactor !== undefined) {
    const [fh, fw] = typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor;
    [oh, ow] = [Math.floor(h * fh), Math.floor(w * fw)];
    [sh, sw] = [1 / fh, 1 / fw];
  } else throw new ArgumentError('upsample: give size or scaleFactor');
  if (oh < 1 || ow < 1) throw new ArgumentError(`upsample: output size ${oh}x${ow} is empty`);
  return separable(x, interpMatrix(h, oh, sh, mode, x), interpMatrix(w, ow, sw, mode, x));
}

// ---------------------------------------------------------------- misc

/** One-hot encoding of int labels: [...] -> [..., numClasses] float32. */
export function oneHot(labels: Tensor, numClasses: number, dtype: DType = 'float32'): Tensor {
  if (labels.dtype !== 'int32') throw new DTypeError(`oneHot: labels must be int32, got ${labels.dtype}`);
  const classes = labels.constantFrom(
    Int32Array.from({ length: numClasses }, (_, i) => i),
    [numClasses],
  );
  return cast(compare('eq', unsqueeze(labels, -1), classes), dtype);
}

/** Sum of all elements of `x ⊙ y` reduced to a scalar (a dot product of flattened tensors). */
export function dot(x: Tensor, y: Tensor): Tensor {
  return sum(mul(x, y));
}
