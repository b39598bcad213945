/**
 * Planning for the wasm kernels: how much work goes to how many lanes, how a GEMM, an
 * im2col/col2im or a pooling pass splits into per-lane programs, and how views become the
 * operands (leading dimensions, broadcast strides) the kernels take. Nothing here touches
 * linear memory: plans are pure functions of shapes, parameters and pointers, which is what
 * makes results independent of the thread count (work is split along outputs, never along a
 * sum).
 */
import type { TypedArray } from '../../core/dtype.js';
import type { Conv2dParams, ConvGeometry, Pool2dParams, PoolGeometry } from '../../core/ops.js';
import type { CpuView } from '../cpu/storage.js';
import { TILE } from './kernels-abi.js';
import { bytes, dense } from './kernels/common.js';
import type { Program } from './pool.js';
import type { WasmRuntime } from './runtime.js';

/**
 * im2col scratch per chunk of samples, in floats (8 MiB). Batching samples into one GEMM
 * makes N large (good for the GEMM), but the column matrix grows with the batch: chunking
 * bounds it for large inputs while LeNet-sized layers still take the whole batch at once.
 */
const COLS_BUDGET = 1 << 21;

/**
 * Multiply-adds below which a kernel stays on one thread: waking the workers and waiting
 * for them costs tens of microseconds, about what 2e6 multiply-adds take on one core.
 */
export const PARALLEL_WORK = 2e6;

/** Lanes worth using for `work` multiply-adds (or comparable element visits). */
export const lanesFor = (rt: WasmRuntime, work: number): number => (work >= PARALLEL_WORK ? rt.lanes : 1);

/**
 * Splits [0, n) into at most `parts` contiguous non-empty ranges whose inner boundaries are
 * multiples of `step` (register-tile edges for GEMM splits).
 */
export function splitRange(n: number, parts: number, step = 1): [number, number][] {
  const size = Math.max(step, Math.ceil(n / parts / step) * step);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
}

/** One GEMM's arguments (pointers are byte offsets). */
export interface GemmCall {
  transA: number;
  transB: number;
  m: number;
  n: number;
  k: number;
  a: number;
  lda: number;
  b: number;
  ldb: number;
  c: number;
  ldc: number;
  accumulate: number;
}

/**
 * One GEMM as per-lane programs, split over output columns (n ≥ m) or rows, never over the
 * depth: every output element is summed in the same order for any number of lanes.
 */
export function gemmPrograms(rt: WasmRuntime, g: GemmCall, lanes: number): Program[] {
  const byColumns = g.n >= g.m;
  const ranges = splitRange(byColumns ? g.n : g.m, lanes, byColumns ? TILE.NR : TILE.GMR);
  return ranges.map(([s, e], lane) => {
    const work = rt.gemmWorkFor(lane);
    if (byColumns) {
      const bcs = g.transB ? g.ldb : 1;
      return [
        {
          fn: 'gemm',
          args: [
            g.transA,
            g.transB,
            g.m,
            e - s,
            g.k,
            g.a,
            g.lda,
            g.b + bytes(s * bcs),
            g.ldb,
            g.c + bytes(s),
            g.ldc,
            g.accumulate,
            work,
          ],
        },
      ];
    }
    const ars = g.transA ? 1 : g.lda;
    return [
      {
        fn: 'gemm',
        args: [
          g.transA,
          g.transB,
          e - s,
          g.n,
          g.k,
          g.a + bytes(s * ars),
          g.lda,
          g.b,
          g.ldb,
          g.c + bytes(s * g.ldc),
          g.ldc,
          g.accumulate,
          work,
        ],
      },
    ];
  });
}

/** Concatenates per-lane programs lane by lane. */
export function mergePrograms(parts: readonly Program[][]): Program[] {
  const out: Program[] = [];
  for (const programs of parts) programs.forEach((p, lane) => (out[lane] ??= []).push(...p));
  return out;
}

/**
 * im2col or col2im of one sample (the single-sample chunks of large images) split over
 * input channels: channel c owns rows c·kh·kw… of the columns and plane c of the image.
 */
export function channelSplit(
  rt: WasmRuntime,
  fn: 'im2col' | 'col2im',
  g: ConvGeometry,
  win: WindowArgs,
  image: number,
  cols: number,
  ld: number,
): Program[] {
  const lanes = lanesFor(rt, g.cIn * g.kh * g.kw * ld);
  const plane = g.h * g.w;
  const rows = g.kh * g.kw;
  return splitRange(g.cIn, lanes).map(([c0, c1]) => [
    fn === 'im2col'
      ? { fn, args: [image + bytes(c0 * plane), 1, g.cIn * plane, c1 - c0, ...win, cols + bytes(c0 * rows * ld), ld] }
      : { fn, args: [cols + bytes(c0 * rows * ld), ld, 1, g.cIn * plane, c1 - c0, ...win, image + bytes(c0 * plane)] },
  ]);
}

export interface MatrixOperand {
  /** Storage span the matrices live in (a subarray, not a copy, when the view allows it). */
  data: Float32Array;
  trans: boolean;
  ld: number;
  batchStride: number;
}

/**
 * A [batch, rows, cols] view as GEMM operands. Row- or column-major matrices (including
 * transposed views and broadcast batches) are passed as the storage span they cover, with
 * a transpose flag and leading dimension, so a.T costs no copy; other layouts, negative
 * strides, or spans much larger than the view (a small slice of a big tensor) are densified.
 */
export function matrixOperand(v: CpuView): MatrixOperand {
  const [batch, r, c] = v.shape as [number, number, number];
  const [sb, sr, sc] = v.strides as [number, number, number];
  let layout: { trans: boolean; ld: number } | null = null;
  if (sc === 1 || c === 1) layout = { trans: false, ld: r === 1 ? Math.max(c, 1) : sr };
  else if (sr === 1 || r === 1) layout = { trans: true, ld: c === 1 ? Math.max(r, 1) : sc };
  const reach = (d: number, s: number): number => (d > 1 ? (d - 1) * s : 0);
  const extents = [reach(batch, sb), reach(r, sr), reach(c, sc)];
  if (layout && layout.ld >= 0 && extents.every((e) => e >= 0)) {
    const span = 1 + extents[0]! + extents[1]! + extents[2]!;
    if (span <= 2 * batch * r * c + 64) {
      const s = v.storage as Float32Array;
      return { data: s.subarray(v.offset, v.offset + span), ...layout, batchStride: batch > 1 ? sb : 0 };
    }
  }
  return { data: dense(v), trans: false, ld: c, batchStride: r * c };
}

/** Samples per im2col chunk: as many as fit COLS_BUDGET, at least one. */
export function samplesPerChunk(g: ConvGeometry): number {
  const perSample = g.cIn * g.kh * g.kw * g.hOut * g.wOut;
  return Math.max(1, Math.min(g.n, Math.floor(COLS_BUDGET / Math.max(perSample, 1))));
}

/** h, w, kh, kw, sh, sw, pt, pl, dh, dw, hOut, wOut: the window arguments of im2col/col2im. */
export type WindowArgs = [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

export function windowArgs(g: ConvGeometry, p: Conv2dParams): WindowArgs {
  return [
    g.h,
    g.w,
    g.kh,
    g.kw,
    p.stride[0],
    p.stride[1],
    p.padding[0],
    p.padding[2],
    p.dilation[0],
    p.dilation[1],
    g.hOut,
    g.wOut,
  ];
}

/**
 * Forward: per chunk of samples, im2col all input channels into [Cin·kH·kW, chunk·Hout·Wout]
 * and run one GEMM per group, W_g [Cout/g, Cin/g·kH·kW] · cols_g, into channel-major rows,
 * then scatter the rows back to NCHW. One sample per chunk writes NCHW directly.


/** The pooling kernels' geometry arguments: planes, h, w, hOut, wOut, kh, kw, sh, sw, ph, pw, dh, dw. */
export function poolArgs(g: PoolGeometry, p: Pool2dParams): number[] {
  return [
    g.n * g.c,
    g.h,
    g.w,
    g.hOut,
    g.wOut,
    p.kernel[0],
    p.kernel[1],
    p.stride[0],
    p.stride[1],
    p.padding[0],
    p.padding[1],
    p.dilation[0],
    p.dilation[1],
  ];
}

/**
 * A pooling kernel as per-lane programs over ranges of planes (n·c): `x` and `y` advance by
 * a plane of input and of output per plane; `scratch` is per lane, `scratchBytes` apart.
 */
export function poolPrograms(
  rt: WasmRuntime,
  fn: 'maxPool2d' | 'maxPool2dGrad' | 'avgPool2d' | 'avgPool2dGrad',
  g: PoolGeometry,
  p: Pool2dParams,
  operands: { ptr: number; perPlane: number }[],
  tail: (lane: number) => number[],
): Program[] {
  const [, ...geometry] = poolArgs(g, p);
  const lanes = lanesFor(rt, g.n * g.c * g.hOut * g.wOut * p.kernel[0] * p.kernel[1]);
  return splitRange(g.n * g.c, lanes).map(([a, b], lane) => {
    const ptrs = operands.map((o) => o.ptr + bytes(a * o.perPlane));
    return [{ fn, args: [...ptrs, b - a, ...geometry, ...tail(lane)] }];
  });
}

/** An operand of a broadcast op as the wasm kernels take it: its element span and per-dimension strides. */
export interface Operand3 {
  data: TypedArray;
  strides: [number, number, number];
}

/**
 * Folds the inputs of a broadcast elementwise op (views of the output's shape, stride 0
 * where broadcast) into at most three dimensions in which every operand either advances
 * densely or repeats (stride 0): a same-shape op is one dimension, a bias over [N, C] two,
 * a per-channel bias over [N, C, H, W] three. Returns null for other layouts (transposed
 * or strided views), which the cpu kernel handles.
 */
export function broadcast3(
  shape: readonly number[],
  views: readonly CpuView[],
): { dims: [number, number, number]; operands: Operand3[] } | null {
  const k = views.length;
  const lengths = new Array<number>(k).fill(1);
  // A bit per operand: set where it advances along the dimension.
  const kinds = new Array<number>(shape.length).fill(0);
  for (let j = 0; j < k; j++) {
    const st = views[j]!.strides;
    for (let i = shape.length - 1; i >= 0; i--) {
      const d = shape[i]!;
      if (d === 1 || st[i] === 0) continue;
      if (st[i] !== lengths[j]) return null;
      lengths[j]! *= d;
      kinds[i]! |= 1 << j;
    }
  }
  const groups: { size: number; kind: number }[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = groups[groups.length - 1];
    if (last && last.kind === kinds[i]) last.size *= shape[i]!;
    else groups.push({ size: shape[i]!, kind: kinds[i]! });
  }
  if (groups.length > 3) return null;
  while (groups.length < 3) groups.unshift({ size: 1, kind: 0 });
  const dims = groups.map((g) => g.size) as [number, number, number];
  const operands = views.map((v, j) => {
    const strides: [number, number, number] = [0, 0, 0];
    let s = 1;
    for (let i = 2; i >= 0; i--) {
      if (groups[i]!.kind & (1 << j)) {
        strides[i] = s;
        s *= groups[i]!.size;
      }
    }
    return { data: v.storage.subarray(v.offset, v.offset + lengths[j]!), strides };
  });
  return { dims, operands };
}
