import type { TypedArray } from '../../core/dtype.js';
import {
  type AvgPool2dParams,
  type OpParams,
  type Pool2dParams,
  type PoolGeometry,
  poolGeometry,
} from '../../core/ops.js';
import { type CpuView, denseData } from './storage.js';

/**
 * Visits every pooling window: `visit(plane, outIndex, taps)` where taps
 * lists the in-bounds input offsets of the window within the plane.
 */
function forEachWindow(
  g: PoolGeometry,
  p: Pool2dParams,
  visit: (plane: number, outIndex: number, taps: Int32Array, count: number) => void,
): void {
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  const taps = new Int32Array(kh * kw);
  const planes = g.n * g.c;
  for (let pl = 0; pl < planes; pl++) {
    let o = pl * g.hOut * g.wOut;
    for (let oh = 0; oh < g.hOut; oh++) {
      for (let ow = 0; ow < g.wOut; ow++, o++) {
        let count = 0;
        for (let i = 0; i < kh; i++) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= g.h) continue;
          for (let j = 0; j < kw; j++) {
            const iw = ow * sw - pw + j * dw;
            if (iw >= 0 && iw < g.w) taps[count++] = ih * g.w + iw;
          }
        }
        visit(pl, o, taps, count);
      }
    }
  }
}

/** Offset of the first maximum of a window (NaN wins, as in PyTorch), or -1 for an empty window. */
function argmaxTap(x: TypedArray, base: number, taps: Int32Array, count: number): number {
  let best = -1;
  let m = -Infinity;
  for (let t = 0; t < count; t++) {
    const v = x[base + taps[t]!]!;
    if (best < 0 || v > m || (v !== v && m === m)) {
      m = v;
      best = base + taps[t]!;
    }
  }
  return best;
}

export function maxPool2dKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['maxPool2d']): void {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'maxPool2d');
  const x = denseData(xv);
  const y = out.storage;
  const plane = g.h * g.w;
  forEachWindow(g, p, (pl, o, taps, count) => {
    const at = argmaxTap(x, pl * plane, taps, count);
    y[o] = at < 0 ? -Infinity : x[at]!;
  });
}

/** Routes each output gradient to the input position that won its window. */
export function maxPool2dGradKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['maxPool2dGrad']): void {
  const [xv, gyv] = inputs as [CpuView, CpuView];
  const g = poolGeometry(xv.shape, p, 'maxPool2dGrad');
  const x = denseData(xv);
  const gy = denseData(gyv);
  // The output may come uninitialised (OpDef.writesAll): windows add into it.
  const dx = out.storage.fill(0);
  const plane = g.h * g.w;
  forEachWindow(g, p, (pl, o, taps, count) => {
    const at = argmaxTap(x, pl * plane, taps, count);
    if (at >= 0) dx[at]! += gy[o]!;
  });
}

/** PyTorch's divisor: the window clipped to the padded input, or to the input alone without countIncludePad. */
function divisor(p: AvgPool2dParams, g: PoolGeometry, o: number, count: number): number {
  if (!p.countIncludePad) return count;
  const ow = o % g.wOut;
  const oh = Math.floor(o / g.wOut) % g.hOut;
  const span = (start: number, k: number, d: number, size: number, pad: number): number => {
    let c = 0;
    for (let i = 0; i < k; i++) {
      const pos = start + i * d;
      if (pos < size + pad) c++;
    }
    return c;
  };
  const rows = span(oh * p.stride[0] - p.padding[0], p.kernel[0], p.dilation[0], g.h, p.padding[0]);
  const cols = span(ow * p.stride[1] - p.padding[1], p.kernel[1], p.dilation[1], g.w, p.padding[1]);
  return rows * cols;
}

export function avgPool2dKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['avgPool2d']): void {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'avgPool2d');
  const x = denseData(xv);
  const y = out.storage;
  const plane = g.h * g.w;
  forEachWindow(g, p, (pl, o, taps, count) => {
    let s = 0;
    const base = pl * plane;
    for (let t = 0; t < count; t++) s += x[base + taps[t]!]!;
    y[o] = s / divisor(p, g, o, count);
  });
}

export function avgPool2dGradKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['avgPool2dGrad']): void {
  const gy = denseData(inputs[0]!);
  const g = poolGeometry(p.inputShape, p, 'avgPool2dGrad');
  // The output may come uninitialised (OpDef.writesAll): windows add into it.
  const dx = out.storage.fill(0);
  const plane = g.h * g.w;
  forEachWindow(g, p, (pl, o, taps, count) => {
    const v = gy[o]! / divisor(p, g, o, count);
    const base = pl * plane;
    for (let t = 0; t < count; t++) dx[base + taps[t]!]! += v;
  });
}
