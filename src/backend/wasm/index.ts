/**
 * The wasm backend: the cpu backend with the float32 kernels that dominate CNN training
 * (GEMM-based matmul and convolutions with both gradients, pooling) replaced by WebAssembly
 * SIMD kernels written in AssemblyScript (./assembly/kernels.ts, built by
 * scripts/build-wasm.mjs).
 *
 * Storage stays the cpu backend's typed arrays (see runtime.ts for why and for the copy
 * in / copy out through a scratch arena), so every other kernel is the cpu one and
 * tensors of both backends share one format. Inside each override, float64 (gradient
 * checks) and int32 inputs take the cpu kernel, as do calls made before an asynchronously
 * compiled module is ready and calls whose scratch would not fit in linear memory.
 *
 * Some memory-bound ops are overridden too (float32 add/sub/mul/div/maximum/minimum and
 * comparisons on dense or broadcast operands, relu/neg/abs/sqrt, bool→float32 casts, sums):
 * they do O(1) work per element, so the copies cost about as much as the op, yet they still
 * win several times over, because the reference kernels call a closure per element or
 * branch per element (relu and comparisons on random signs mispredict half the time),
 * while these run branch-free four lanes at a time. In a LeNet-5 training step they were
 * half the time left once the convolutions ran in wasm. Other layouts (transposed
 * operands, more than three broadcast runs) and other ops stay on the cpu kernels.
 */
import type { DType, TypedArray } from '../../core/dtype.js';
import {
  type AvgPool2dParams,
  type BinaryOpName,
  type CompareOp,
  type Conv2dParams,
  type ConvGeometry,
  type KernelOpName,
  type OpParams,
  type Pool2dParams,
  type PoolGeometry,
  type UnaryOpName,
  convGeometry,
  poolGeometry,
} from '../../core/ops.js';
import { sizeOf } from '../../core/shape.js';
import type { Backend, Kernel, KernelTable } from '../backend.js';
import { cpuBackend } from '../cpu/index.js';
import { type CpuView, denseData } from '../cpu/storage.js';
import { type WasmFeatures, probeWasmFeatures } from './features.js';
import { type Program, threadSupport } from './pool.js';
import {
  ArenaFullError,
  type KernelVariant,
  type WasmRuntime,
  instantiateAsync,
  instantiateSync,
  instantiateThreaded,
  kernelBytes,
} from './runtime.js';

export type { WasmFeatures } from './features.js';
export type { KernelVariant } from './runtime.js';

const cpu = cpuBackend.kernels as KernelTable<TypedArray>;

/**
 * im2col scratch per chunk of samples, in floats (8 MiB). Batching samples into one GEMM
 * makes N large (good for the GEMM), but the column matrix grows with the batch: chunking
 * bounds it for large inputs while LeNet-sized layers still take the whole batch at once.
 */
const COLS_BUDGET = 1 << 21;

/**
 * A wasm kernel, or false when it does not handle this call (layout, parameters): the
 * wrapper then runs the cpu kernel.
 */
type FastKernel<K extends KernelOpName> = (
  rt: WasmRuntime,
  inputs: readonly CpuView[],
  out: CpuView,
  p: OpParams[K],
) => void | false;

/** The dtypes a wasm kernel takes in and gives out; any other call runs the cpu kernel. */
export interface NativeDtypes {
  readonly inputs: readonly DType[];
  readonly output: readonly DType[];
}

const FLOAT32: NativeDtypes = { inputs: ['float32'], output: ['float32'] };

/**
 * The ops the wasm backend runs in WebAssembly and for which dtypes (every other op, and
 * every other dtype, runs the cpu reference kernel). Filled by override() below as the
 * kernel table is built, so it is the table dispatch itself uses (`tsgrad ops` prints it).
 */
export const WASM_NATIVE: Partial<Record<KernelOpName, NativeDtypes>> = {};

/**
 * Wraps a wasm kernel with the cpu kernel as fallback: for other dtypes (by default
 * anything but float32 in and out), empty tensors, calls before the module is ready,
 * layouts the wasm kernel declines, and scratch that would not fit in linear memory.
 */
function override<K extends KernelOpName>(
  op: K,
  runtime: () => WasmRuntime | null,
  fast: FastKernel<K>,
  native: NativeDtypes = FLOAT32,
): Kernel<K, TypedArray> {
  const reference = cpu[op] as unknown as Kernel<K, TypedArray>;
  WASM_NATIVE[op] = native;
  const accepts = (inputs: readonly CpuView[], out: CpuView): boolean =>
    native.output.includes(out.dtype) && inputs.every((v) => native.inputs.includes(v.dtype));
  return (inputs, out, p) => {
    const rt = runtime();
    if (!rt || !accepts(inputs, out) || sizeOf(out.shape) === 0 || inputs.some((v) => sizeOf(v.shape) === 0)) {
      reference(inputs, out, p);
      return;
    }
    try {
      if (fast(rt, inputs, out, p) === false) reference(inputs, out, p);
    } catch (e) {
      if (!(e instanceof ArenaFullError)) throw e;
      reference(inputs, out, p);
    }
  };
}

const align64 = (n: number): number => Math.ceil(n / 64) * 64;
const dense = (v: CpuView): Float32Array => denseData(v) as Float32Array;
const bytes = (floats: number): number => floats * 4;

// ----------------------------------------------------------------- threads

/**
 * Multiply-adds below which a kernel stays on one thread: waking the workers and waiting
 * for them costs tens of microseconds, about what 2e6 multiply-adds take on one core.
 */
const PARALLEL_WORK = 2e6;

/** Lanes worth using for `work` multiply-adds (or comparable element visits). */
const lanesFor = (rt: WasmRuntime, work: number): number => (work >= PARALLEL_WORK ? rt.lanes : 1);

/**
 * Splits [0, n) into at most `parts` contiguous non-empty ranges whose inner boundaries are
 * multiples of `step` (register-tile edges for GEMM splits).
 */
function splitRange(n: number, parts: number, step = 1): [number, number][] {
  const size = Math.max(step, Math.ceil(n / parts / step) * step);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
}

/** One GEMM's arguments (pointers are byte offsets). */
interface GemmCall {
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
function gemmPrograms(rt: WasmRuntime, g: GemmCall, lanes: number): Program[] {
  const byColumns = g.n >= g.m;
  const ranges = splitRange(byColumns ? g.n : g.m, lanes, byColumns ? 8 : 4);
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
function mergePrograms(parts: readonly Program[][]): Program[] {
  const out: Program[] = [];
  for (const programs of parts) programs.forEach((p, lane) => (out[lane] ??= []).push(...p));
  return out;
}

/**
 * im2col or col2im of one sample (the single-sample chunks of large images) split over
 * input channels: channel c owns rows c·kh·kw… of the columns and plane c of the image.
 */
function channelSplit(
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

// ------------------------------------------------------------------ matmul

interface MatrixOperand {
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
function matrixOperand(v: CpuView): MatrixOperand {
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

const matmulFast: FastKernel<'matmul'> = (rt, inputs, out) => {
  const [a, b] = inputs as [CpuView, CpuView];
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  const A = matrixOperand(a);
  const B = matrixOperand(b);
  const [pa, pb, pc] = rt.reserve([bytes(A.data.length), bytes(B.data.length), bytes(batch * m * n)]);
  rt.put(pa!, A.data);
  rt.put(pb!, B.data);
  // Split over output columns or rows (as gemmPrograms does), each lane running the whole batch.
  const lanes = lanesFor(rt, batch * m * n * k);
  const byColumns = n >= m;
  const programs: Program[] = splitRange(byColumns ? n : m, lanes, byColumns ? 8 : 4).map(([s, e], lane) => {
    const [aOff, bOff, cOff] = byColumns
      ? [0, bytes(s * (B.trans ? B.ld : 1)), bytes(s)]
      : [bytes(s * (A.trans ? 1 : A.ld)), 0, bytes(s * n)];
    const [mm, nn] = byColumns ? [m, e - s] : [e - s, n];
    const args = [batch, +A.trans, +B.trans, mm, nn, k, pa! + aOff, A.ld, A.batchStride, pb! + bOff, B.ld];
    return [{ fn: 'gemmBatched', args: [...args, B.batchStride, pc! + cOff, n, m * n, rt.gemmWorkFor(lane)] }];
  });
  rt.run(programs);
  rt.get(pc!, out.storage as Float32Array, batch * m * n);
};

// ------------------------------------------------------------- convolution

/** Samples per im2col chunk: as many as fit COLS_BUDGET, at least one. */
function samplesPerChunk(g: ConvGeometry): number {
  const perSample = g.cIn * g.kh * g.kw * g.hOut * g.wOut;
  return Math.max(1, Math.min(g.n, Math.floor(COLS_BUDGET / Math.max(perSample, 1))));
}

/** h, w, kh, kw, sh, sw, pt, pl, dh, dw, hOut, wOut: the window arguments of im2col/col2im. */
type WindowArgs = [number, number, number, number, number, number, number, number, number, number, number, number];

function windowArgs(g: ConvGeometry, p: Conv2dParams): WindowArgs {
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
 */
const conv2dFast: FastKernel<'conv2d'> = (rt, inputs, out, p) => {
  const [xv, wv] = inputs as [CpuView, CpuView];
  const g = convGeometry(xv.shape, wv.shape, p);
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const chunk = samplesPerChunk(g);
  const xSize = g.n * g.cIn * g.h * g.w;
  const ySize = g.n * g.cOut * hw;
  const [px, pw, py, pcols, ptmp] = rt.reserve([
    bytes(xSize),
    bytes(sizeOf(wv.shape)),
    bytes(ySize),
    bytes(g.cIn * g.kh * g.kw * chunk * hw),
    chunk > 1 ? bytes(g.cOut * chunk * hw) : 0,
  ]);
  rt.put(px!, dense(xv));
  rt.put(pw!, dense(wv));
  const win = windowArgs(g, p);
  const plane = g.cIn * g.h * g.w;
  for (let s0 = 0; s0 < g.n; s0 += chunk) {
    const ns = Math.min(chunk, g.n - s0);
    const ld = ns * hw;
    const xs = px! + bytes(s0 * plane);
    const ys = py! + bytes(s0 * g.cOut * hw);
    const lanes = lanesFor(rt, g.cOut * ld * ckk);
    if (ns > 1) {
      // Each lane: its samples' columns, their GEMMs (columns a·hw… of each row), back to NCHW.
      rt.run(
        splitRange(ns, lanes).map(([a, b], lane) => {
          const program: Program = [
            { fn: 'im2col', args: [xs + bytes(a * plane), b - a, plane, g.cIn, ...win, pcols! + bytes(a * hw), ld] },
          ];
          for (let gr = 0; gr < g.groups; gr++) {
            const args = [0, 0, g.cOutPerGroup, (b - a) * hw, ckk, pw! + bytes(gr * g.cOutPerGroup * ckk), ckk];
            const cols = pcols! + bytes(gr * ckk * ld + a * hw);
            const dst = ptmp! + bytes(gr * g.cOutPerGroup * ld + a * hw);
            program.push({ fn: 'gemm', args: [...args, cols, ld, dst, ld, 0, rt.gemmWorkFor(lane)] });
          }
          program.push({
            fn: 'channelRowsToNchw',
            args: [ptmp! + bytes(a * hw), ld, b - a, g.cOut, hw, ys + bytes(a * g.cOut * hw)],
          });
          return program;
        }),
      );
      continue;
    }
    rt.run(channelSplit(rt, 'im2col', g, win, xs, pcols!, ld));
    const gemms = [];
    for (let gr = 0; gr < g.groups; gr++) {
      const call = {
        transA: 0,
        transB: 0,
        m: g.cOutPerGroup,
        n: ld,
        k: ckk,
        lda: ckk,
        ldb: ld,
        ldc: ld,
        accumulate: 0,
      };
      const a = pw! + bytes(gr * g.cOutPerGroup * ckk);
      gemms.push(
        gemmPrograms(
          rt,
          { ...call, a, b: pcols! + bytes(gr * ckk * ld), c: ys + bytes(gr * g.cOutPerGroup * ld) },
          lanes,
        ),
      );
    }
    rt.run(mergePrograms(gemms));
  }
  rt.get(py!, out.storage as Float32Array, ySize);
};

/**
 * dX: per chunk, dy in channel-major rows [Cout, chunk·Hout·Wout]; per group
 * cols_g = W_gᵀ · dy_g (one GEMM); then col2im adds the columns back onto dX.
 */
const conv2dGradInputFast: FastKernel<'conv2dGradInput'> = (rt, inputs, out, p) => {
  const [dyv, wv] = inputs as [CpuView, CpuView];
  const g = convGeometry(p.inputShape, wv.shape, p, 'conv2dGradInput');
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const chunk = samplesPerChunk(g);
  const dxSize = g.n * g.cIn * g.h * g.w;
  const [pdy, pw, pdx, pcols, pdyRows] = rt.reserve([
    bytes(g.n * g.cOut * hw),
    bytes(sizeOf(wv.shape)),
    bytes(dxSize),
    bytes(g.cIn * g.kh * g.kw * chunk * hw),
    chunk > 1 ? bytes(g.cOut * chunk * hw) : 0,
  ]);
  rt.put(pdy!, dense(dyv));
  rt.put(pw!, dense(wv));
  rt.zero(pdx!, dxSize);
  const win = windowArgs(g, p);
  const plane = g.cIn * g.h * g.w;
  for (let s0 = 0; s0 < g.n; s0 += chunk) {
    const ns = Math.min(chunk, g.n - s0);
    const ld = ns * hw;
    const dys = pdy! + bytes(s0 * g.cOut * hw);
    const dxs = pdx! + bytes(s0 * plane);
    const lanes = lanesFor(rt, g.cOut * ld * ckk);
    if (ns > 1) {
      // Each lane: its samples' dy rows, their GEMMs (columns a·hw…), col2im onto their dX.
      rt.run(
        splitRange(ns, lanes).map(([a, b], lane) => {
          const rows = pdyRows! + bytes(a * hw);
          const program: Program = [
            { fn: 'nchwToChannelRows', args: [dys + bytes(a * g.cOut * hw), b - a, g.cOut, hw, rows, ld] },
          ];
          for (let gr = 0; gr < g.groups; gr++) {
            const args = [1, 0, ckk, (b - a) * hw, g.cOutPerGroup, pw! + bytes(gr * g.cOutPerGroup * ckk), ckk];
            const cols = pcols! + bytes(gr * ckk * ld + a * hw);
            program.push({
              fn: 'gemm',
              args: [...args, rows + bytes(gr * g.cOutPerGroup * ld), ld, cols, ld, 0, rt.gemmWorkFor(lane)],
            });
          }
          program.push({
            fn: 'col2im',
            args: [pcols! + bytes(a * hw), ld, b - a, plane, g.cIn, ...win, dxs + bytes(a * plane)],
          });
          return program;
        }),
      );
      continue;
    }
    const gemms = [];
    for (let gr = 0; gr < g.groups; gr++) {
      const call = {
        transA: 1,
        transB: 0,
        m: ckk,
        n: ld,
        k: g.cOutPerGroup,
        lda: ckk,
        ldb: ld,
        ldc: ld,
        accumulate: 0,
      };
      const a = pw! + bytes(gr * g.cOutPerGroup * ckk);
      const c = pcols! + bytes(gr * ckk * ld);
      gemms.push(gemmPrograms(rt, { ...call, a, b: dys + bytes(gr * g.cOutPerGroup * ld), c }, lanes));
    }
    rt.run(mergePrograms(gemms));
    rt.run(channelSplit(rt, 'col2im', g, win, dxs, pcols!, ld));
  }
  rt.get(pdx!, out.storage as Float32Array, dxSize);
};

/**
 * dW: per chunk, im2col of x and dy in channel-major rows; per group
 * dW_g += dy_g · cols_gᵀ, a GEMM whose depth is chunk·Hout·Wout.
 */
const conv2dGradWeightFast: FastKernel<'conv2dGradWeight'> = (rt, inputs, out, p) => {
  const [xv, dyv] = inputs as [CpuView, CpuView];
  const g = convGeometry(xv.shape, p.weightShape, p, 'conv2dGradWeight');
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const chunk = samplesPerChunk(g);
  const dwSize = g.cOut * ckk;
  const [px, pdy, pdw, pcols, pdyRows] = rt.reserve([
    bytes(g.n * g.cIn * g.h * g.w),
    bytes(g.n * g.cOut * hw),
    bytes(dwSize),
    bytes(g.cIn * g.kh * g.kw * chunk * hw),
    chunk > 1 ? bytes(g.cOut * chunk * hw) : 0,
  ]);
  rt.put(px!, dense(xv));
  rt.put(pdy!, dense(dyv));
  const win = windowArgs(g, p);
  const plane = g.cIn * g.h * g.w;
  for (let s0 = 0; s0 < g.n; s0 += chunk) {
    const ns = Math.min(chunk, g.n - s0);
    const ld = ns * hw;
    const xs = px! + bytes(s0 * plane);
    const dys = pdy! + bytes(s0 * g.cOut * hw);
    const lanes = lanesFor(rt, g.cOut * ld * ckk);
    let rows = dys;
    if (ns > 1) {
      // Each lane lays out its samples' columns of both GEMM operands.
      rt.run(
        splitRange(ns, lanes).map(([a, b]) => [
          { fn: 'im2col', args: [xs + bytes(a * plane), b - a, plane, g.cIn, ...win, pcols! + bytes(a * hw), ld] },
          {
            fn: 'nchwToChannelRows',
            args: [dys + bytes(a * g.cOut * hw), b - a, g.cOut, hw, pdyRows! + bytes(a * hw), ld],
          },
        ]),
      );
      rows = pdyRows!;
    } else {
      rt.run(channelSplit(rt, 'im2col', g, win, xs, pcols!, ld));
    }
    // The GEMMs' depth is the samples: split over dW's rows or columns instead.
    const gemms = [];
    for (let gr = 0; gr < g.groups; gr++) {
      const call = { transA: 0, transB: 1, m: g.cOutPerGroup, n: ckk, k: ld, lda: ld, ldb: ld, ldc: ckk };
      const a = rows + bytes(gr * g.cOutPerGroup * ld);
      const b = pcols! + bytes(gr * ckk * ld);
      const c = pdw! + bytes(gr * g.cOutPerGroup * ckk);
      gemms.push(gemmPrograms(rt, { ...call, a, b, c, accumulate: s0 > 0 ? 1 : 0 }, lanes));
    }
    rt.run(mergePrograms(gemms));
  }
  rt.get(pdw!, out.storage as Float32Array, dwSize);
};

// ----------------------------------------------------------------- pooling

/** The pooling kernels' geometry arguments: planes, h, w, hOut, wOut, kh, kw, sh, sw, ph, pw, dh, dw. */
function poolArgs(g: PoolGeometry, p: Pool2dParams): number[] {
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
function poolPrograms(
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

const maxPool2dFast: FastKernel<'maxPool2d'> = (rt, inputs, out, p) => {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'maxPool2d');
  const ySize = g.n * g.c * g.hOut * g.wOut;
  const scratch = align64(bytes(g.wOut));
  const [px, py, pscratch] = rt.reserve([bytes(g.n * g.c * g.h * g.w), bytes(ySize), scratch * rt.lanes]);
  rt.put(px!, dense(xv));
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: py!, perPlane: g.hOut * g.wOut },
  ];
  rt.run(poolPrograms(rt, 'maxPool2d', g, p, planes, (lane) => [pscratch! + lane * scratch]));
  rt.get(py!, out.storage as Float32Array, ySize);
};

const maxPool2dGradFast: FastKernel<'maxPool2dGrad'> = (rt, inputs, out, p) => {
  const [xv, gyv] = inputs as [CpuView, CpuView];
  const g = poolGeometry(xv.shape, p, 'maxPool2dGrad');
  const xSize = g.n * g.c * g.h * g.w;
  const scratch = align64(bytes(2 * g.wOut));
  const [px, pgy, pdx, pscratch] = rt.reserve([
    bytes(xSize),
    bytes(g.n * g.c * g.hOut * g.wOut),
    bytes(xSize),
    scratch * rt.lanes,
  ]);
  rt.put(px!, dense(xv));
  rt.put(pgy!, dense(gyv));
  rt.zero(pdx!, xSize);
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: pgy!, perPlane: g.hOut * g.wOut },
    { ptr: pdx!, perPlane: g.h * g.w },
  ];
  rt.run(poolPrograms(rt, 'maxPool2dGrad', g, p, planes, (lane) => [pscratch! + lane * scratch]));
  rt.get(pdx!, out.storage as Float32Array, xSize);
};

const avgPool2dFast: FastKernel<'avgPool2d'> = (rt, inputs, out, p: AvgPool2dParams) => {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'avgPool2d');
  const ySize = g.n * g.c * g.hOut * g.wOut;
  const [px, py] = rt.reserve([bytes(g.n * g.c * g.h * g.w), bytes(ySize)]);
  rt.put(px!, dense(xv));
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: py!, perPlane: g.hOut * g.wOut },
  ];
  rt.run(poolPrograms(rt, 'avgPool2d', g, p, planes, () => [+p.countIncludePad]));
  rt.get(py!, out.storage as Float32Array, ySize);
};

const avgPool2dGradFast: FastKernel<'avgPool2dGrad'> = (rt, inputs, out, p) => {
  const g = poolGeometry(p.inputShape, p, 'avgPool2dGrad');
  const xSize = g.n * g.c * g.h * g.w;
  const [pgy, pdx] = rt.reserve([bytes(g.n * g.c * g.hOut * g.wOut), bytes(xSize)]);
  rt.put(pgy!, dense(inputs[0]!));
  rt.zero(pdx!, xSize);
  const planes = [
    { ptr: pgy!, perPlane: g.hOut * g.wOut },
    { ptr: pdx!, perPlane: g.h * g.w },
  ];
  rt.run(poolPrograms(rt, 'avgPool2dGrad', g, p, planes, () => [+p.countIncludePad]));
  rt.get(pdx!, out.storage as Float32Array, xSize);
};

// ------------------------------------------------------- elementwise ops

/** An operand of a broadcast op as the wasm kernels take it: its element span and per-dimension strides. */
interface Operand3 {
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
function broadcast3(
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

const BINARY_CODES: Partial<Record<KernelOpName, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };
const COMPARE_CODES: Record<CompareOp, number> = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 };
const UNARY_CODES: Partial<Record<KernelOpName, number>> = { relu: 0, neg: 1, abs: 2, sqrt: 3 };

/** Runs the wasm binary() or compare() kernel on two broadcast float32 operands. */
function broadcastOp(
  rt: WasmRuntime,
  kernel: 'binary' | 'compare',
  code: number,
  inputs: readonly CpuView[],
  out: CpuView,
): false | void {
  const layout = broadcast3(out.shape, inputs);
  if (!layout) return false;
  const [a, b] = layout.operands as [Operand3, Operand3];
  const n = sizeOf(out.shape);
  const outBytes = kernel === 'binary' ? bytes(n) : n;
  const [pa, pb, po] = rt.reserve([bytes(a.data.length), bytes(b.data.length), outBytes]);
  rt.put(pa!, a.data as Float32Array);
  rt.put(pb!, b.data as Float32Array);
  rt.exports[kernel](code, ...layout.dims, pa!, ...a.strides, pb!, ...b.strides, po!);
  rt.get(po!, out.storage as Float32Array | Uint8Array, n);
}

function binaryFast(op: BinaryOpName): FastKernel<BinaryOpName> {
  const code = BINARY_CODES[op]!;
  return (rt, inputs, out) => broadcastOp(rt, 'binary', code, inputs, out);
}

const compareFast: FastKernel<'compare'> = (rt, inputs, out, p) =>
  broadcastOp(rt, 'compare', COMPARE_CODES[p.op], inputs, out);

function unaryFast(op: UnaryOpName): FastKernel<UnaryOpName> {
  const code = UNARY_CODES[op]!;
  return (rt, inputs, out) => {
    const n = sizeOf(out.shape);
    const [px, po] = rt.reserve([bytes(n), bytes(n)]);
    rt.put(px!, dense(inputs[0]!));
    rt.exports.unary(code, px!, po!, n);
    rt.get(po!, out.storage as Float32Array, n);
  };
}

/** bool → float32 (the mask in relu's gradient); other casts stay on cpu. */
const castFast: FastKernel<'cast'> = (rt, inputs, out) => {
  const n = sizeOf(out.shape);
  const [px, po] = rt.reserve([n, bytes(n)]);
  rt.put(px!, denseData(inputs[0]!) as Uint8Array);
  rt.exports.boolToF32(px!, po!, n);
  rt.get(po!, out.storage as Float32Array, n);
};

/**
 * Sums whose kept and reduced axes form at most four alternating runs (K R K R, or R K R
 * with k0 = 1): all of a tensor, the last or the leading axes, and a conv bias's
 * gradient (N, H, W of NCHW). Accumulates in f64 like the reference.
 */
const sumFast: FastKernel<'sum'> = (rt, inputs, out, p) => {
  const x = inputs[0]!;
  const runs: { size: number; reduced: boolean }[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = p.axes.includes(i);
    const last = runs[runs.length - 1];
    if (last && last.reduced === reduced) last.size *= d;
    else runs.push({ size: d, reduced });
  });
  if (runs[0]?.reduced) runs.unshift({ size: 1, reduced: false });
  if (runs.length > 4) return false;
  const [k0, r1, k2, r3] = [0, 1, 2, 3].map((i) => runs[i]?.size ?? 1) as [number, number, number, number];
  const n = sizeOf(x.shape);
  const m = sizeOf(out.shape);
  const [px, po, pacc] = rt.reserve([bytes(n), bytes(m), 8 * k2]);
  rt.put(px!, dense(x));
  rt.exports.sumKRKR(px!, k0, r1, k2, r3, po!, pacc!);
  rt.get(po!, out.storage as Float32Array, m);
};

// ----------------------------------------------------------------- backend

function makeBackend(runtime: () => WasmRuntime | null): Backend<TypedArray> {
  const kernels: KernelTable<TypedArray> = {
    ...cpu,
    matmul: override('matmul', runtime, matmulFast),
    conv2d: override('conv2d', runtime, conv2dFast),
    conv2dGradInput: override('conv2dGradInput', runtime, conv2dGradInputFast),
    conv2dGradWeight: override('conv2dGradWeight', runtime, conv2dGradWeightFast),
    maxPool2d: override('maxPool2d', runtime, maxPool2dFast),
    maxPool2dGrad: override('maxPool2dGrad', runtime, maxPool2dGradFast),
    avgPool2d: override('avgPool2d', runtime, avgPool2dFast),
    avgPool2dGrad: override('avgPool2dGrad', runtime, avgPool2dGradFast),
    add: override('add', runtime, binaryFast('add')),
    sub: override('sub', runtime, binaryFast('sub')),
    mul: override('mul', runtime, binaryFast('mul')),
    div: override('div', runtime, binaryFast('div')),
    maximum: override('maximum', runtime, binaryFast('maximum')),
    minimum: override('minimum', runtime, binaryFast('minimum')),
    compare: override('compare', runtime, compareFast, { inputs: ['float32'], output: ['bool'] }),
    relu: override('relu', runtime, unaryFast('relu')),
    neg: override('neg', runtime, unaryFast('neg')),
    abs: override('abs', runtime, unaryFast('abs')),
    sqrt: override('sqrt', runtime, unaryFast('sqrt')),
    cast: override('cast', runtime, castFast, { inputs: ['bool'], output: ['float32'] }),
    sum: override('sum', runtime, sumFast),
  };
  return { ...cpuBackend, name: 'wasm', kernels };
}

/** Picks the build for the probed features; a relaxed build that fails to validate falls back to plain SIMD. */
function chooseVariant(f: WasmFeatures): KernelVariant | null {
  if (!f.simd) return null;
  if (f.relaxedSimd && WebAssembly.validate(kernelBytes('relaxed-simd'))) return 'relaxed-simd';
  return WebAssembly.validate(kernelBytes('simd')) ? 'simd' : null;
}

const features = probeWasmFeatures();
const variant = chooseVariant(features);
const threadPlatform = variant ? threadSupport() : null;
let sharedRuntime: WasmRuntime | null = null;
let ready: Promise<boolean>;
if (!variant) {
  ready = Promise.resolve(false);
} else {
  try {
    sharedRuntime = instantiateSync(variant);
    ready = Promise.resolve(true);
  } catch {
    // Browsers refuse synchronous compilation of modules over 4 KiB on the main thread.
    // Compile in the background; until then the kernels run the cpu fallback.
    ready = instantiateAsync(variant).then(
      (rt) => ((sharedRuntime = rt), true),
      () => false,
    );
  }
}

/** Most threads setNumThreads accepts. */
const MAX_THREADS = 64;

function initialThreads(): number {
  if (!threadPlatform) return 1;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const requested = Number.parseInt(env?.['TSGRAD_NUM_THREADS'] ?? '', 10);
  const n = Number.isFinite(requested) && requested >= 1 ? requested : threadPlatform.cores;
  return Math.min(n, MAX_THREADS);
}

let numThreads = initialThreads();
/** The shared-memory runtime with its worker pool, created on the first kernel call that can use it. */
let threadedRuntime: WasmRuntime | null = null;

/** The runtime kernels run on now: the threaded one when more than one thread is set. */
function activeRuntime(): WasmRuntime | null {
  if (numThreads > 1 && sharedRuntime && threadPlatform && variant) {
    if (!threadedRuntime) {
      try {
        threadedRuntime = instantiateThreaded(variant, numThreads, threadPlatform.spawn);
      } catch {
        numThreads = 1; // no shared memory here after all
        return sharedRuntime;
      }
    }
    return threadedRuntime;
  }
  return sharedRuntime;
}

/**
 * Sets how many threads the wasm backend splits large kernels (GEMMs, convolutions, pooling)
 * across, the calling thread included; 1 turns the worker pool off. The default is the
 * number of logical cores (os.availableParallelism(), navigator.hardwareConcurrency), or
 * TSGRAD_NUM_THREADS. Where a worker pool cannot run it stays 1: in browsers the pool needs a
 * cross-origin isolated page (for shared memory) and tsgrad running in a Web Worker (the
 * page's main thread may not block). Results do not depend on it:
 * work is split along outputs, never along a sum. Returns the count now in effect.
 * @example setNumThreads(1); // single-threaded, no worker threads
 */
export function setNumThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected an integer ≥ 1, got ${n}`);
  const next = threadPlatform ? Math.min(n, MAX_THREADS) : 1;
  if (next !== numThreads) {
    threadedRuntime?.close();
    threadedRuntime = null;
    numThreads = next;
  }
  return numThreads;
}

/** The number of threads the wasm backend's kernels run on (1: no worker pool). */
export function getNumThreads(): number {
  return numThreads;
}

/**
 * @internal Resolves once the worker pool's threads are up (starting it if needed), or
 * false after `timeoutMs` or when there is no pool; until then their shares run on the
 * calling thread, so this only matters for tests and measurements.
 */
export async function wasmThreadsReady(timeoutMs = 10000): Promise<boolean> {
  const rt = activeRuntime();
  if (!rt || rt.lanes < 2) return false;
  const until = Date.now() + timeoutMs;
  while (rt.readyWorkers() < rt.lanes - 1) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** Feature-probe results for this engine (SIMD, relaxed SIMD and how it was enabled, threads). */
export function wasmFeatures(): WasmFeatures & { kernels: KernelVariant | null } {
  return { ...features, threads: variant !== null && numThreads > 1, kernels: variant };
}

/**
 * Resolves true once the wasm kernels are instantiated (at once in Node; after a
 * background compile in browsers), false where WebAssembly SIMD is unavailable.
 * @example if (await wasmReady()) setBackend('wasm');
 */
export function wasmReady(): Promise<boolean> {
  return ready;
}

/**
 * The wasm backend: cpu storage and kernels, with WebAssembly SIMD kernels for float32
 * matmul, conv2d (forward and both gradients) and pooling. Usable even where SIMD is
 * missing (every kernel then falls back to cpu), but only registered when it is present.
 * @example setBackend('wasm'); // or setBackend('auto')
 */
export const wasmBackend: Backend<TypedArray> = makeBackend(activeRuntime);

/**
 * @internal A wasm backend on its own instance of one specific build, so tests can check
 * both builds against the cpu backend. Throws where the build does not validate.
 */
export function createWasmBackend(kernels: KernelVariant): Backend<TypedArray> {
  const rt = instantiateSync(kernels);
  return makeBackend(() => rt);
}
