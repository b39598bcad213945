/**
 * Convolutions with unit column stride as direct kernels (kernels.ts's convDirect): a GEMM
 * whose B operand is read straight from a zero-padded copy of each sample and whose output
 * goes straight into NCHW, with no im2col buffer, no packed copy of it and no channel-rows
 * scatter. conv2dGradInput at unit stride is the same kernel: dX is dY, padded by
 * (k − 1)·d − p, convolved with the flipped, transposed filters.
 *
 * Work splits across lanes by samples (each lane pads its own samples into its own
 * scratch), or, for a single sample, by blocks of output channels; every output is summed
 * over its taps in one fixed order either way, so results do not depend on the thread count.
 *
 * conv2dGradWeight, at any stride, is the implicit GEMM of runImplicitGradWeight: the same
 * padded copy of each sample, read tap by tap, with no im2col buffer.
 *
 * Both take the backward of a fused epilogue (GradMask): dY is masked by the forward output
 * as it is padded (dX) or transposed (dW), so the masked gradient is never written out.
 */
import type { Conv2dParams, ConvGeometry, EpilogueParams } from '../../../core/ops.js';
import type { CpuView } from '../../cpu/storage.js';
import { TILE } from '../kernels-abi.js';
import { lanesFor, splitRange } from '../plan.js';
import type { Program } from '../pool.js';
import type { WasmRuntime } from '../runtime.js';
import { type GradMask, align64, biasActPlanes, bytes, dense, maskArgs, stage } from './common.js';

/**
 * Output channels per filter block: kernels.ts's MR (4×8 tiles), or MR3 (3×12 tiles) where
 * blocks of three waste fewer rows (1–3, 5, 6, 9 channels). Interleaved against 4×8 tiles at
 * the bench nets' shapes, 3×12 tiles everywhere were 1.17–1.34× faster for 1, 3 and 6
 * channels and 0.83–0.87× for the CIFAR net's 32 and 64; with this rule LeNet-5's first
 * convolution ran 1.46× (bench/results/2026-12-02-wasm-kernels-mr3-vs-main.json).
 */
export const blockRows = (rows: number): number => {
  const { MR, MR3 } = TILE;
  return Math.ceil(rows / MR3) * MR3 < Math.ceil(rows / MR) * MR ? MR3 : MR;
};

/** One direct convolution: `x` [n, c, h, w] (per group: `chans` channels), padded, into `y`. */
export interface DirectConv {
  n: number;
  groups: number;
  /** Input channels per group, and the input's channels in all (its per-sample stride). */
  chans: number;
  chansTotal: number;
  h: number;
  w: number;
  /** Padding top, bottom, left, right (all ≥ 0). */
  pad: readonly [number, number, number, number];
  kh: number;
  kw: number;
  sh: number;
  dh: number;
  dw: number;
  /** Output channels per group and in all. */
  rows: number;
  rowsTotal: number;
  hOut: number;
  wOut: number;
  /** Filters as packConvFilters reads them, per group `groupStride` floats apart. */
  filters: { rowStride: number; chanStride: number; flip: boolean; groupStride: number };
}

/**
 * Whether a convolution runs as a direct kernel: unit column stride (the kernel's vectors
 * are consecutive outputs of one row). `sh` may be anything.
 */
export const directForward = (p: Conv2dParams): boolean => p.stride[1] === 1;

/** The forward convolution as a DirectConv, or null when the direct kernel does not apply. */
export function forwardPlan(g: ConvGeometry, p: Conv2dParams): DirectConv | null {
  if (!directForward(p)) return null;
  const [pt, pb, pl, pr] = p.padding;
  return {
    n: g.n,
    groups: g.groups,
    chans: g.cInPerGroup,
    chansTotal: g.cIn,
    h: g.h,
    w: g.w,
    pad: [pt, pb, pl, pr],
    kh: g.kh,
    kw: g.kw,
    sh: p.stride[0],
    dh: p.dilation[0],
    dw: p.dilation[1],
    rows: g.cOutPerGroup,
    rowsTotal: g.cOut,
    hOut: g.hOut,
    wOut: g.wOut,
    filters: {
      rowStride: g.cInPerGroup * g.kh * g.kw,
      chanStride: g.kh * g.kw,
      flip: false,
      groupStride: g.cOutPerGroup * g.cInPerGroup * g.kh * g.kw,
    },
  };
}

/**
 * conv2dGradInput at unit stride as the forward convolution of dY with the flipped,
 * transposed filters, padded by (k − 1)·d − p per side; null for other strides, or padding
 * wider than the dilated kernel (a negative pad).
 */
export function gradInputPlan(g: ConvGeometry, p: Conv2dParams): DirectConv | null {
  if (p.stride[0] !== 1 || p.stride[1] !== 1) return null;
  const spanH = (g.kh - 1) * p.dilation[0];
  const spanW = (g.kw - 1) * p.dilation[1];
  const [pt, pb, pl, pr] = p.padding;
  const pad = [spanH - pt, spanH - pb, spanW - pl, spanW - pr] as const;
  if (pad.some((v) => v < 0)) return null;
  if (g.hOut + pad[0] + pad[1] - spanH !== g.h || g.wOut + pad[2] + pad[3] - spanW !== g.w) return null;
  return {
    n: g.n,
    groups: g.groups,
    chans: g.cOutPerGroup,
    chansTotal: g.cOut,
    h: g.hOut,
    w: g.wOut,
    pad,
    kh: g.kh,
    kw: g.kw,
    sh: 1,
    dh: p.dilation[0],
    dw: p.dilation[1],
    rows: g.cInPerGroup,
    rowsTotal: g.cIn,
    hOut: g.h,
    wOut: g.w,
    filters: {
      rowStride: g.kh * g.kw,
      chanStride: g.cInPerGroup * g.kh * g.kw,
      flip: true,
      groupStride: g.cOutPerGroup * g.cInPerGroup * g.kh * g.kw,
    },
  };
}

/** A fused epilogue for runDirectConv: the bias (one per output channel) and the activation. */
export interface DirectEpilogue extends EpilogueParams {
  readonly bias: Float32Array;
}

/**
 * Runs a DirectConv on views `x` and `filters`, writing all of `out` (then the epilogue, if
 * any). With `mask`, x (then dY) is masked by the forward output as it is padded.
 */
export function runDirectConv(
  rt: WasmRuntime,
  d: DirectConv,
  x: CpuView,
  filters: CpuView,
  out: CpuView,
  epi?: DirectEpilogue | null,
  mask?: GradMask | null,
): void {
  const ckk = d.chans * d.kh * d.kw;
  const mr = blockRows(d.rows);
  const blocks = Math.ceil(d.rows / mr);
  const packed = blocks * mr * ckk;
  const hp = d.h + d.pad[0] + d.pad[1];
  const wp = d.w + d.pad[2] + d.pad[3];
  const workBytes = align64(rt.exports.convDirectWorkBytes(d.chans, hp, wp, ckk));
  const xPlane = d.chansTotal * d.h * d.w;
  const yPlane = d.rowsTotal * d.hOut * d.wOut;
  const lanes = lanesFor(rt, d.n * d.rowsTotal * d.hOut * d.wOut * ckk);
  const io = stage(rt, [
    { in: dense(x) },
    { in: dense(filters) },
    bytes(d.groups * packed),
    { out: out.storage as Float32Array, length: d.n * yPlane },
    lanes * workBytes,
    epi ? { in: epi.bias } : 0,
    mask ? { in: dense(mask.y) } : 0,
  ]);
  const [px, pf, pfp, py, pwork, pbias, pmask] = io.ptrs;
  const hw = d.hOut * d.wOut;
  /** The epilogue on output planes [p0, p1). */
  const epilogue = (p0: number, p1: number) => biasActPlanes(py!, p0, p1, d.rowsTotal, hw, pbias!, epi!);
  const f = d.filters;
  for (let gr = 0; gr < d.groups; gr++) {
    rt.exports.packConvFilters(
      pf! + bytes(gr * f.groupStride),
      d.rows,
      d.chans,
      d.kh,
      d.kw,
      f.rowStride,
      f.chanStride,
      +f.flip,
      mr,
      pfp! + bytes(gr * packed),
    );
  }
  // Split by samples, or (one sample) by blocks of output channels.
  const bySamples = d.n >= lanes;
  const ranges = splitRange(bySamples ? d.n : blocks, lanes);
  const programs: Program[] = ranges.map(([a, b], lane) => {
    const [s0, s1, b0, b1] = bySamples ? [a, b, 0, blocks] : [0, d.n, a, b];
    const program: Program = [];
    for (let gr = 0; gr < d.groups; gr++) {
      program.push({
        fn: 'convDirect',
        args: [
          px! + bytes(gr * d.chans * d.h * d.w),
          xPlane,
          s0,
          s1,
          d.chans,
          d.h,
          d.w,
          ...d.pad,
          d.kh,
          d.kw,
          d.sh,
          d.dh,
          d.dw,
          pfp! + bytes(gr * packed),
          mr,
          d.rows,
          b0,
          b1,
          py! + bytes(gr * d.rows * d.hOut * d.wOut),
          yPlane,
          d.hOut,
          d.wOut,
          pwork! + lane * workBytes,
          ...maskArgs(mask, pmask, bytes(gr * d.chans * d.h * d.w)),
        ],
      });
    }
    // Split by samples, a lane's planes are its own to finish while they are in cache.
    if (epi && bySamples) program.push(epilogue(s0 * d.rowsTotal, s1 * d.rowsTotal));
    return program;
  });
  rt.run(programs);
  if (epi && !bySamples) rt.run(splitRange(d.n * d.rowsTotal, lanes).map(([a, b]) => [epilogue(a, b)]));
  io.finish();
}

/** Taps per block of kernels.ts's convImplicitGradWeight (its MR). */
const TAP_BLOCK = TILE.MR;

/**
 * conv2dGradWeight as an implicit GEMM (kernels.ts's convImplicitGradWeight), any stride,
 * dilation and padding: no im2col buffer, the taps read straight from a padded copy of each
 * sample. Lanes split blocks of taps (every lane pads and transposes each sample for
 * itself); no sum is ever split, so results do not depend on the thread count.
 */
export function runImplicitGradWeight(
  rt: WasmRuntime,
  g: ConvGeometry,
  p: Conv2dParams,
  x: CpuView,
  dy: CpuView,
  out: CpuView,
  mask?: GradMask | null,
): void {
  const [pt, pb, pl, pr] = p.padding;
  const hp = g.h + pt + pb;
  const wp = g.w + pl + pr;
  const chans = g.cInPerGroup;
  const rows = g.cOutPerGroup;
  const ckk = chans * g.kh * g.kw;
  const hw = g.hOut * g.wOut;
  const tapBlocks = Math.ceil(ckk / TAP_BLOCK);
  const workBytes = align64(rt.exports.convImplicitWorkBytes(chans, hp, wp, ckk, rows, hw));
  const accBytes = align64(rt.exports.convImplicitAccBytes(ckk, rows));
  const lanes = Math.min(tapBlocks, lanesFor(rt, g.n * g.cOut * hw * ckk));
  const io = stage(rt, [
    { in: dense(x) },
    { in: dense(dy) },
    { out: out.storage as Float32Array, length: g.groups * rows * ckk },
    accBytes,
    lanes * workBytes,
    mask ? { in: dense(mask.y) } : 0,
  ]);
  const [px, pdy, pdw, pacc, pwork, pmask] = io.ptrs;
  const programs: Program[] = splitRange(tapBlocks, lanes).map(([t0, t1], lane) => {
    const program: Program = [];
    for (let gr = 0; gr < g.groups; gr++) {
      program.push({
        fn: 'convImplicitGradWeight',
        args: [
          px! + bytes(gr * chans * g.h * g.w),
          g.cIn * g.h * g.w,
          pdy! + bytes(gr * rows * hw),
          g.cOut * hw,
          g.n,
          chans,
          g.h,
          g.w,
          pt,
          pb,
          pl,
          pr,
          g.kh,
          g.kw,
          p.stride[0],
          p.stride[1],
          p.dilation[0],
          p.dilation[1],
          rows,
          g.hOut,
          g.wOut,
          t0,
          t1,
          pacc!,
          pdw! + bytes(gr * rows * ckk),
          pwork! + lane * workBytes,
          ...maskArgs(mask, pmask, bytes(gr * rows * hw)),
        ],
      });
    }
    return program;
  });
  rt.run(programs);
  io.finish();
}
