/**
 * Naive n-dimensional arrays for reference implementations in tests.
 *
 * Everything here is written with plain JS loops over nested indices and
 * uses nothing from the library except the seeded Generator (for inputs),
 * so the references are independent of tsgrad's kernels, broadcasting,
 * stride handling and shape inference.
 */
import type { Generator } from '../../src/index.js';

export interface Nd {
  shape: number[];
  data: number[];
}

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major flat index of `idx` in `shape`. */
export function flatIndex(shape: readonly number[], idx: readonly number[]): number {
  let f = 0;
  for (let i = 0; i < shape.length; i++) {
    if (idx[i]! < 0 || idx[i]! >= shape[i]!)
      throw new Error(`index [${idx.join(', ')}] out of range for [${shape.join(', ')}]`);
    f = f * shape[i]! + idx[i]!;
  }
  return f;
}

export function get(a: Nd, idx: readonly number[]): number {
  if (idx.length !== a.shape.length) throw new Error(`rank mismatch: index ${idx.length} vs shape ${a.shape.length}`);
  return a.data[flatIndex(a.shape, idx)]!;
}

/** Calls `f` for every multi-index of `shape` in row-major order (one nested loop per axis). */
export function forEachIndex(shape: readonly number[], f: (idx: number[]) => void): void {
  const idx = new Array<number>(shape.length).fill(0);
  const rec = (axis: number): void => {
    if (axis === shape.length) {
      f([...idx]);
      return;
    }
    for (let i = 0; i < shape[axis]!; i++) {
      idx[axis] = i;
      rec(axis + 1);
    }
  };
  rec(0);
}

/** A new array of `shape` whose entry at each index is `f(index)`. */
export function build(shape: readonly number[], f: (idx: number[]) => number): Nd {
  const data: number[] = [];
  forEachIndex(shape, (idx) => data.push(f(idx)));
  return { shape: [...shape], data };
}

export function nd(shape: readonly number[], data: readonly number[]): Nd {
  if (size(shape) !== data.length) throw new Error(`nd: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: [...data] };
}

export function scalar(v: number): Nd {
  return { shape: [], data: [v] };
}

// ------------------------------------------------------------------ inputs

/** Values exactly representable in float32, so float32 and float64 runs see the same inputs. */
const f32 = Math.fround;

export function randnNd(g: Generator, shape: readonly number[], scale = 1): Nd {
  return build(shape, () => f32(scale * g.normal()));
}

export function uniformNd(g: Generator, shape: readonly number[], lo: number, hi: number): Nd {
  return build(shape, () => f32(lo + (hi - lo) * g.uniform()));
}

/** Random sign, magnitude uniform in [lo, hi]: keeps away from kinks at 0. */
export function awayFromZero(g: Generator, shape: readonly number[], lo = 0.1, hi = 2): Nd {
  return build(shape, () => f32((g.uniform() < 0.5 ? -1 : 1) * (lo + (hi - lo) * g.uniform())));
}

/** Distinct values (a shuffled ladder with step `step`, centred on 0): no ties anywhere. */
export function distinctNd(g: Generator, shape: readonly number[], step = 0.125): Nd {
  const n = size(shape);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * step);
  g.shuffle(vals);
  return nd(shape, vals);
}

/** Integers uniform in [lo, hi). */
export function intNd(g: Generator, shape: readonly number[], lo: number, hi: number): Nd {
  return build(shape, () => lo + Math.floor(g.uniform() * (hi - lo)));
}

// ------------------------------------------------------------- broadcasting

export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - r + i] ?? 1;
      if (v !== 1) {
        if (d !== 1 && d !== v) throw new Error(`naive broadcast: [${shapes.map((x) => x.join(',')).join('] [')}]`);
        d = v;
      }
    }
    out.push(d);
  }
  return out;
}

/** Entry of `a` seen through NumPy broadcasting at output index `idx`. */
export function bget(a: Nd, idx: readonly number[]): number {
  const off = idx.length - a.shape.length;
  const j = a.shape.map((d, i) => (d === 1 ? 0 : idx[i + off]!));
  return get(a, j);
}

/** Elementwise function of broadcast operands. */
export function zip(f: (...v: number[]) => number, ...xs: Nd[]): Nd {
  const shape = broadcastShape(...xs.map((x) => x.shape));
  return build(shape, (idx) => f(...xs.map((x) => bget(x, idx))));
}

export function map(a: Nd, f: (v: number) => number): Nd {
  return build(a.shape, (idx) => f(get(a, idx)));
}

// ------------------------------------------------------------------- views

export function permuteNd(a: Nd, perm: readonly number[]): Nd {
  return build(
    perm.map((p) => a.shape[p]!),
    (idx) => {
      const src = new Array<number>(a.shape.length);
      perm.forEach((p, i) => (src[p] = idx[i]!));
      return get(a, src);
    },
  );
}

export function transposeNd(a: Nd, i: number, j: number): Nd {
  const perm = a.shape.map((_, k) => k);
  perm[i] = j;
  perm[j] = i;
  return permuteNd(a, perm);
}

/** Reshape: same row-major data, new shape. */
export function reshapeNd(a: Nd, shape: readonly number[]): Nd {
  return nd(shape, a.data);
}

export function expandNd(a: Nd, shape: readonly number[]): Nd {
  return build(shape, (idx) => bget(a, idx));
}

/** ranges[i] = [start, end, step] with non-negative, already-clipped bounds. */
export function sliceNd(a: Nd, ranges: readonly (readonly [number, number, number])[]): Nd {
  const shape = ranges.map(([s, e, st]) => Math.max(0, Math.ceil((e - s) / st)));
  return build(shape, (idx) =>
    get(
      a,
      idx.map((v, i) => ranges[i]![0] + v * ranges[i]![2]),
    ),
  );
}

export function padNd(a: Nd, pads: readonly (readonly [number, number])[], value: number): Nd {
  const shape = a.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
  return build(shape, (idx) => {
    const src = idx.map((v, i) => v - pads[i]![0]);
    return src.every((v, i) => v >= 0 && v < a.shape[i]!) ? get(a, src) : value;
  });
}

export function concatNd(xs: readonly Nd[], axis: number): Nd {
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
  return build(shape, (idx) => {
    let k = idx[axis]!;
    for (const x of xs) {
      if (k < x.shape[axis]!) {
        const j = [...idx];
        j[axis] = k;
        return get(x, j);
      }
      k -= x.shape[axis]!;
    }
    throw new Error('unreachable');
  });
}

// -------------------------------------------------------------- reductions

function reduceNd(a: Nd, axes: readonly number[], keepDims: boolean, combine: (vals: number[]) => number): Nd {
  const outShape = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const redShape = axes.map((ax) => a.shape[ax]!);
  const full = build(outShape, (idx) => {
    const vals: number[] = [];
    forEachIndex(redShape, (r) => {
      const src = [...idx];
      axes.forEach((ax, k) => (src[ax] = r[k]!));
      vals.push(get(a, src));
    });
    return combine(vals);
  });
  return keepDims
    ? full
    : nd(
        a.shape.filter((_, i) => !axes.includes(i)),
        full.data,
      );
}

export function sumNd(a: Nd, axes: readonly number[], keepDims = false): Nd {
  return reduceNd(a, axes, keepDims, (v) => v.reduce((s, x) => s + x, 0));
}

export function maxNd(a: Nd, axes: readonly number[], keepDims = false): Nd {
  return reduceNd(a, axes, keepDims, (v) => v.reduce((m, x) => (x > m ? x : m), -Infinity));
}

/** Index of the first maximum along `axis`. */
export function argmaxNd(a: Nd, axis: number, keepDims = false): Nd {
  return reduceNd(a, [axis], keepDims, (v) => {
    let best = 0;
    for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
    return best;
  });
}

// ---------------------------------------------------------- linear algebra

/** NumPy matmul: 1-D operands are vectors, leading axes broadcast. */
export function matmulNd(a: Nd, b: Nd): Nd {
  const A = a.shape.length === 1 ? nd([1, a.shape[0]!], a.data) : a;
  const B = b.shape.length === 1 ? nd([b.shape[0]!, 1], b.data) : b;
  const m = A.shape[A.shape.length - 2]!;
  const k = A.shape[A.shape.length - 1]!;
  const n = B.shape[B.shape.length - 1]!;
  if (B.shape[B.shape.length - 2] !== k) throw new Error('naive matmul: inner dims differ');
  const batch = broadcastShape(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const out = build([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2);
    const i = idx[idx.length - 2]!;
    const j = idx[idx.length - 1]!;
    let s = 0;
    for (let t = 0; t < k; t++) s += bget(A, [...bi, i, t]) * bget(B, [...bi, t, j]);
    return s;
  });
  const shape = [...batch, m, n];
  if (a.shape.length === 1) shape.splice(-2, 1);
  if (b.shape.length === 1) shape.splice(-1, 1);
  return nd(shape, out.data);
}

// ----------------------------------------------------------- convolution

export interface ConvP {
  stride: [number, number];
  /** [top, bottom, left, right] */
  padding: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

export function convOut(size: number, k: number, s: number, p0: number, p1: number, d: number): number {
  return Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

/** y[n, co, oh, ow] = Σ x[n, g·cpg + ci, oh·s − pt + ki·d, ow·s − pl + kj·d] · w[co, ci, ki, kj]. */
export function conv2dNd(x: Nd, w: Nd, p: ConvP): Nd {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [CO, CPG, KH, KW] = w.shape as [number, number, number, number];
  const HO = convOut(H, KH, p.stride[0], p.padding[0], p.padding[1], p.dilation[0]);
  const WO = convOut(W, KW, p.stride[1], p.padding[2], p.padding[3], p.dilation[1]);
  const opg = CO / p.groups;
  if (CPG * p.groups !== C) throw new Error('naive conv: channel mismatch');
  return build([N, CO, HO, WO], ([n, co, oh, ow]) => {
    const grp = Math.floor(co! / opg);
    let s = 0;
    for (let ci = 0; ci < CPG; ci++) {
      for (let ki = 0; ki < KH; ki++) {
        for (let kj = 0; kj < KW; kj++) {
          const ih = oh! * p.stride[0] - p.padding[0] + ki * p.dilation[0];
          const iw = ow! * p.stride[1] - p.padding[2] + kj * p.dilation[1];
          if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
          s += get(x, [n!, grp * CPG + ci, ih, iw]) * get(w, [co!, ci, ki, kj]);
        }
      }
    }
    return s;
  });
}

/** dx[n, c, ih, iw] = Σ over (co, ki, kj) with ih = oh·s − pt + ki·d (etc.) of dy[n, co, oh, ow] · w[co, ci, ki, kj]. */
export function conv2dGradInputNd(dy: Nd, w: Nd, xShape: readonly number[], p: ConvP): Nd {
  const [CO, CPG, KH, KW] = w.shape as [number, number, number, number];
  const [, , HO, WO] = dy.shape as [number, number, number, number];
  const opg = CO / p.groups;
  return build(xShape, ([n, c, ih, iw]) => {
    const grp = Math.floor(c! / CPG);
    const ci = c! - grp * CPG;
    let s = 0;
    for (let co = grp * opg; co < (grp + 1) * opg; co++) {
      for (let ki = 0; ki < KH; ki++) {
        for (let kj = 0; kj < KW; kj++) {
          // Solve ih = oh·s − pt + ki·d for oh.
          const th = ih! + p.padding[0] - ki * p.dilation[0];
          const tw = iw! + p.padding[2] - kj * p.dilation[1];
          if (th < 0 || tw < 0 || th % p.stride[0] !== 0 || tw % p.stride[1] !== 0) continue;
          const oh = th / p.stride[0];
          const ow = tw / p.stride[1];
          if (oh >= HO || ow >= WO) continue;
          s += get(dy, [n!, co, oh, ow]) * get(w, [co, ci, ki, kj]);
        }
      }
    }
    return s;
  });
}

/** dw[co, ci, ki, kj] = Σ over (n, oh, ow) of dy[n, co, oh, ow] · x[n, g·cpg + ci, ih, iw]. */
export function conv2dGradWeightNd(x: Nd, dy: Nd, wShape: readonly number[], p: ConvP): Nd {
  const [N, , H, W] = x.shape as [number, number, number, number];
  const [CO, CPG] = wShape as [number, number, number, number];
  const [, , HO, WO] = dy.shape as [number, number, number, number];
  const opg = CO / p.groups;
  return build(wShape, ([co, ci, ki, kj]) => {
    const grp = Math.floor(co! / opg);
    let s = 0;
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < HO; oh++) {
        for (let ow = 0; ow < WO; ow++) {
          const ih = oh * p.stride[0] - p.padding[0] + ki! * p.dilation[0];
          const iw = ow * p.stride[1] - p.padding[2] + kj! * p.dilation[1];
          if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
          s += get(dy, [n, co!, oh, ow]) * get(x, [n, grp * CPG + ci!, ih, iw]);
        }
      }
    }
    return s;
  });
}

// ---------------------------------------------------------------- pooling

export interface PoolP {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}

/** PyTorch's pooling_output_shape. */
export function poolOut(size: number, k: number, s: number, pad: number, d: number, ceil: boolean): number {
  const num = size + 2 * pad - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  let out = Math.floor(num / s) + 1;
  if (ceil && (out - 1) * s >= size + pad) out--;
  return out;
}

function poolShape(x: Nd, p: PoolP): [number, number, number, number] {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  return [
    N,
    C,
    poolOut(H, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0], p.ceilMode),
    poolOut(W, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], p.ceilMode),
  ];
}

/** In-bounds input positions of one max-pool window, in scan order. */
function maxWindow(x: Nd, p: PoolP, oh: number, ow: number): [number, number][] {
  const [, , H, W] = x.shape as [number, number, number, number];
  const taps: [number, number][] = [];
  for (let i = 0; i < p.kernel[0]; i++) {
    for (let j = 0; j < p.kernel[1]; j++) {
      const ih = oh * p.stride[0] - p.padding[0] + i * p.dilation[0];
      const iw = ow * p.stride[1] - p.padding[1] + j * p.dilation[1];
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) taps.push([ih, iw]);
    }
  }
  return taps;
}

export function maxPool2dNd(x: Nd, p: PoolP): Nd {
  return build(poolShape(x, p), ([n, c, oh, ow]) => {
    let m = -Infinity;
    for (const [ih, iw] of maxWindow(x, p, oh!, ow!)) m = Math.max(m, get(x, [n!, c!, ih, iw]));
    return m;
  });
}

/** Each output gradient goes to the first maximum of its window. */
export function maxPool2dGradNd(x: Nd, gy: Nd, p: PoolP): Nd {
  const dx = build(x.shape, () => 0);
  forEachIndex(gy.shape, ([n, c, oh, ow]) => {
    let best: [number, number] | null = null;
    let m = -Infinity;
    for (const [ih, iw] of maxWindow(x, p, oh!, ow!)) {
      const v = get(x, [n!, c!, ih, iw]);
      if (best === null || v > m) {
        m = v;
        best = [ih, iw];
      }
    }
    if (best) dx.data[flatIndex(x.shape, [n!, c!, best[0], best[1]])]! += get(gy, [n!, c!, oh!, ow!]);
  });
  return dx;
}

export interface AvgP extends Omit<PoolP, 'dilation'> {
  countIncludePad: boolean;
}

/** PyTorch avg_pool2d window: [start, end) clipped to input+padding for the divisor, to the input for the sum. */
function avgWindow(H: number, W: number, p: AvgP, oh: number, ow: number) {
  let h0 = oh * p.stride[0] - p.padding[0];
  let w0 = ow * p.stride[1] - p.padding[1];
  let h1 = Math.min(h0 + p.kernel[0], H + p.padding[0]);
  let w1 = Math.min(w0 + p.kernel[1], W + p.padding[1]);
  const poolSize = (h1 - h0) * (w1 - w0);
  h0 = Math.max(h0, 0);
  w0 = Math.max(w0, 0);
  h1 = Math.min(h1, H);
  w1 = Math.min(w1, W);
  const divisor = p.countIncludePad ? poolSize : (h1 - h0) * (w1 - w0);
  return { h0, h1, w0, w1, divisor };
}

export function avgPool2dNd(x: Nd, p: AvgP): Nd {
  const [, , H, W] = x.shape as [number, number, number, number];
  return build(poolShape(x, { ...p, dilation: [1, 1] }), ([n, c, oh, ow]) => {
    const { h0, h1, w0, w1, divisor } = avgWindow(H, W, p, oh!, ow!);
    let s = 0;
    for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) s += get(x, [n!, c!, i, j]);
    return s / divisor;
  });
}

export function avgPool2dGradNd(gy: Nd, xShape: readonly number[], p: AvgP): Nd {
  const [, , H, W] = xShape as [number, number, number, number];
  const dx = build(xShape, () => 0);
  forEachIndex(gy.shape, ([n, c, oh, ow]) => {
    const { h0, h1, w0, w1, divisor } = avgWindow(H, W, p, oh!, ow!);
    for (let i = h0; i < h1; i++) {
      for (let j = w0; j < w1; j++)
        dx.data[flatIndex(xShape, [n!, c!, i, j])]! += get(gy, [n!, c!, oh!, ow!]) / divisor;
    }
  });
  return dx;
}
