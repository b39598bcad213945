import type { TypedArray } from '../../core/dtype.js';
import { contiguousStrides, isContiguousLayout } from '../../core/shape.js';
import type { View } from '../backend.js';

/** The reference backend stores every tensor in a plain typed array. */
export type CpuView = View<TypedArray>;

/** True when a view covers its elements densely in row-major order. */
export function isContiguous(v: { shape: readonly number[]; strides: readonly number[] }): boolean {
  return isContiguousLayout(v.shape, v.strides);
}

/**
 * Calls `body(offsets, n, innerStrides)` once per innermost row of an
 * N-d iteration over `shape`, with one offset per operand. Adjacent
 * dimensions that are contiguous for every operand are merged first, so a
 * dense tensor is a single row.
 */
export function forEachRow(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  body: (offsets: number[], n: number, inner: number[]) => void,
): void {
  const k = strides.length;
  // Drop size-1 dimensions and merge mergeable neighbours.
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 0) return;
    if (d === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, j) => st[j]![last] === s[i]! * d)) {
      dims[last]! *= d;
      for (let j = 0; j < k; j++) st[j]![last] = strides[j]![i]!;
    } else {
      dims.push(d);
      for (let j = 0; j < k; j++) st[j]!.push(strides[j]![i]!);
    }
  }
  const offs = [...offsets];
  if (dims.length === 0) {
    body(
      offs,
      1,
      st.map(() => 0),
    );
    return;
  }
  const r = dims.length;
  const n = dims[r - 1]!;
  const inner = st.map((s) => s[r - 1]!);
  const counter = new Array<number>(r - 1).fill(0);
  const base = [...offsets];
  for (;;) {
    for (let j = 0; j < k; j++) offs[j] = base[j]!;
    body(offs, n, inner);
    let d = r - 2;
    for (; d >= 0; d--) {
      counter[d]!++;
      for (let j = 0; j < k; j++) base[j]! += st[j]![d]!;
      if (counter[d]! < dims[d]!) break;
      for (let j = 0; j < k; j++) base[j]! -= st[j]![d]! * dims[d]!;
      counter[d] = 0;
    }
    if (d < 0) return;
  }
}

/** The view's elements as a dense row-major array: the storage itself when already dense, else a copy. */
export function denseData(v: CpuView): TypedArray {
  let size = 1;
  for (const d of v.shape) size *= d;
  if (isContiguous(v)) {
    return v.offset === 0 && v.storage.length === size ? v.storage : v.storage.subarray(v.offset, v.offset + size);
  }
  const out = new (v.storage.constructor as new (n: number) => TypedArray)(size);
  copyInto(v, out, 0, contiguousStrides(v.shape));
  return out;
}

/** Copies a view into `dst` laid out with `dstStrides` from `dstOffset`. */
export function copyInto(src: CpuView, dst: TypedArray, dstOffset: number, dstStrides: readonly number[]): void {
  const s = src.storage;
  forEachRow(src.shape, [src.strides, dstStrides], [src.offset, dstOffset], (o, n, inner) => {
    const si = inner[0]!;
    const di = inner[1]!;
    let a = o[0]!;
    let b = o[1]!;
    for (let i = 0; i < n; i++, a += si, b += di) dst[b] = s[a]!;
  });
}
