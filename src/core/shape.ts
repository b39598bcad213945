import { ArgumentError, ShapeError } from './errors.js';

export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** True when a layout covers its elements densely in row-major order (size-1 axes may have any stride). */
export function isContiguousLayout(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    if (d !== 1 && strides[i] !== expected) return false;
    expected *= d;
  }
  return true;
}

/**
 * Strides that show the elements of a view (shape, strides) in `target`'s shape without a
 * copy, or null where none exist (the view's layout cannot be regrouped so). Dimensions the
 * view keeps dense between them can be merged or split freely; size-1 dimensions come and go.
 */
export function viewStrides(shape: Shape, strides: readonly number[], target: Shape): number[] | null {
  if (shape.includes(0)) return contiguousStrides(target);
  // Runs of dimensions laid out one inside the other, outermost first: [elements, innermost stride].
  const runs: [number, number][] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = runs[runs.length - 1];
    if (last && last[1] === strides[i]! * d) {
      last[0] *= d;
      last[1] = strides[i]!;
    } else runs.push([d, strides[i]!]);
  });
  const out = new Array<number>(target.length);
  let r = runs.length - 1;
  let inRun = 1;
  for (let j = target.length - 1; j >= 0; j--) {
    const d = target[j]!;
    if (d === 1) {
      out[j] = j + 1 < target.length ? out[j + 1]! * target[j + 1]! : 1;
      continue;
    }
    const run = runs[r];
    if (!run) return null;
    out[j] = run[1] * inRun;
    inRun *= d;
    if (run[0] % inRun !== 0) return null;
    if (inRun === run[0]) {
      r--;
      inRun = 1;
    }
  }
  return r < 0 && inRun === 1 ? out : null;
}

export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy broadcasting of two shapes; the error names the op and both shapes. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together (dimension ${i - n} is ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolves a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new ArgumentError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalizes an axis list (undefined = all axes), sorted and without duplicates. */
export function normalizeAxes(axes: number | readonly number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normalizeAxis(a, rank, op)))].sort((x, y) => x - y);
  if (out.length !== list.length) throw new ArgumentError(`${op}: repeated axis in [${list.join(', ')}]`);
  return out;
}

/** Shape after reducing `axes`, keeping them as size 1 when keepDims. */
export function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (axes.includes(i)) {
      if (keepDims) out.push(1);
    } else out.push(shape[i]!);
  }
  return out;
}

/** Resolves one -1 in a reshape target and checks the element count. */
export function resolveReshape(from: Shape, to: readonly number[], op = 'reshape'): number[] {
  const total = sizeOf(from);
  let infer = -1;
  let known = 1;
  to.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw new ArgumentError(`${op}: only one dimension can be -1, got ${fmt(to)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ArgumentError(`${op}: invalid dimension ${d} in ${fmt(to)}`);
    } else known *= d;
  });
  const out = [...to];
  if (infer >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new ShapeError(`${op}: cannot reshape ${fmt(from)} (${total} elements) into ${fmt(to)}`);
    }
    out[infer] = total / known;
  }
  if (sizeOf(out) !== total) {
    throw new ShapeError(
      `${op}: cannot reshape ${fmt(from)} (${total} elements) into ${fmt(to)} (${sizeOf(out)} elements)`,
    );
  }
  return out;
}

export function checkShape(shape: readonly number[], op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ArgumentError(`${op}: invalid shape ${fmt(shape)}`);
  }
}
