import type { OpParams } from '../../core/ops.js';
import { type CpuView, denseData, forEachRow } from './storage.js';

/**
 * Walks the input with the reduced axes moved last, so the output index
 * advances once every `inner` elements, and feeds each element to `step`.
 */
function reduceWalk(
  x: CpuView,
  axes: readonly number[],
  step: (outIndex: number, value: number, posInWindow: number) => void,
): void {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const shape = order.map((i) => x.shape[i]!);
  const strides = order.map((i) => x.strides[i]!);
  let inner = 1;
  for (const a of axes) inner *= x.shape[a]!;
  const xs = x.storage;
  let linear = 0;
  forEachRow(shape, [strides], [x.offset], (offs, n, st) => {
    let p = offs[0]!;
    const s = st[0]!;
    for (let i = 0; i < n; i++, p += s, linear++) step((linear / inner) | 0, xs[p]!, linear % inner);
  });
}

export function sumKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['sum']): void {
  const x = inputs[0]!;
  const o = out.storage;
  // Accumulate in float64 so long float32 sums keep their precision.
  const acc = new Float64Array(o.length);
  reduceWalk(x, p.axes, (k, v) => {
    acc[k]! += v;
  });
  for (let i = 0; i < o.length; i++) o[i] = acc[i]!;
}

export function maxKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['max']): void {
  const o = out.storage;
  const acc = new Float64Array(o.length).fill(-Infinity);
  reduceWalk(inputs[0]!, p.axes, (k, v) => {
    const m = acc[k]!;
    if (v > m || v !== v) acc[k] = m !== m ? m : v;
  });
  for (let i = 0; i < o.length; i++) o[i] = acc[i]!;
}

/** Index of the first maximum along one axis (NaN counts as the maximum, like PyTorch). */
export function argmaxKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['argmax']): void {
  const o = out.storage;
  const best = new Float64Array(o.length).fill(-Infinity);
  const seen = new Uint8Array(o.length);
  reduceWalk(inputs[0]!, [p.axis], (k, v, pos) => {
    const m = best[k]!;
    if (!seen[k] || (m === m && (v > m || v !== v))) {
      best[k] = v;
      o[k] = pos;
      seen[k] = 1;
    }
  });
}

/**
 * log softmax along one axis: per row, m = the maximum (NaN if any is NaN; 0 where it is
 * infinite, so a row of −∞ gives NaN as log(0) − (−∞) would), then x − m − log Σ exp(x − m),
 * all in float64 and rounded once to the output's dtype.
 */
export function logSoftmaxKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['logSoftmax']): void {
  const x = inputs[0]!;
  const data = denseData(x);
  const o = out.storage;
  const len = x.shape[p.axis]!;
  const inner = x.shape.slice(p.axis + 1).reduce((a, b) => a * b, 1);
  const outer = len === 0 ? 0 : data.length / (len * inner);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const base = a * len * inner + b;
      let m = -Infinity;
      for (let j = 0; j < len; j++) {
        const v = data[base + j * inner]!;
        if (v > m || v !== v) m = m !== m ? m : v;
      }
      const shift = m === Infinity || m === -Infinity ? 0 : m;
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(data[base + j * inner]! - shift);
      const l = Math.log(s);
      for (let j = 0; j < len; j++) o[base + j * inner] = data[base + j * inner]! - shift - l;
    }
  }
}
