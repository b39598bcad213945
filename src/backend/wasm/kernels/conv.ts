/**
 * The convolution kernels' entry points. The forward convolution and dX run as direct
 * kernels (conv-direct.ts) where those apply, else as im2col/col2im plus GEMMs per chunk of
 * samples (plan.ts sizes the chunks and splits the work across lanes); dW always runs as
 * conv-direct.ts's implicit GEMM.
 */
import { type Conv2dParams, type ConvGeometry, type EpilogueParams, convGeometry } from '../../../core/ops.js';
import { contiguousStrides } from '../../../core/shape.js';
import type { CpuView } from '../../cpu/storage.js';
import type { WasmRuntime } from '../runtime.js';
import {
  type GemmCall,
  channelSplit,
  gemmPrograms,
  lanesFor,
  mergePrograms,
  samplesPerChunk,
  splitRange,
  windowArgs,
} from '../plan.js';
import type { Program } from '../pool.js';
import { type FastKernel, biasActPlanes, bytes, dense, epilogueArgs, gradMask, stage } from './common.js';
import { forwardPlan, gradInputPlan, runDirectConv, runImplicitGradWeight } from './conv-direct.js';

/**
 * What the two im2col kernels (forward and dX) set up alike: the sizes, the staged operands (two inputs,
 * the output, the columns of a chunk and, for chunks of several samples, channel-major rows),
 * the window arguments, and the loop over chunks of samples.
 */
function im2colSetup(
  rt: WasmRuntime,
  g: ConvGeometry,
  p: Conv2dParams,
  operands: readonly [CpuView, CpuView],
  out: CpuView,
  outLength: number,
  bias?: Float32Array,
) {
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const chunk = samplesPerChunk(g);
  const io = stage(rt, [
    { in: dense(operands[0]) },
    { in: dense(operands[1]) },
    { out: out.storage as Float32Array, length: outLength },
    bytes(g.cIn * g.kh * g.kw * chunk * hw),
    chunk > 1 ? bytes(g.cOut * chunk * hw) : 0,
    ...(bias ? [{ in: bias }] : []),
  ]);
  const plane = g.cIn * g.h * g.w;
  /** Calls `body` per chunk: its first sample, its samples, its columns (ld) and the lanes its GEMMs are worth. */
  const forEachChunk = (body: (s0: number, ns: number, ld: number, lanes: number) => void): void => {
    for (let s0 = 0; s0 < g.n; s0 += chunk) {
      const ns = Math.min(chunk, g.n - s0);
      body(s0, ns, ns * hw, lanesFor(rt, g.cOut * ns * hw * ckk));
    }
  };
  return { hw, ckk, io, win: windowArgs(g, p), plane, forEachChunk };
}

/** One GEMM call per group (plan.ts splits each across the lanes), merged into one run. */
function groupGemms(rt: WasmRuntime, groups: number, lanes: number, call: (gr: number) => GemmCall): Program[] {
  return mergePrograms(Array.from({ length: groups }, (_, gr) => gemmPrograms(rt, call(gr), lanes)));
}

/**
 * Forward: per chunk of samples, im2col all input channels into [Cin·kH·kW, chunk·Hout·Wout]
 * and run one GEMM per group, W_g [Cout/g, Cin/g·kH·kW] · cols_g, into channel-major rows,
 * then scatter the rows back to NCHW. One sample per chunk writes NCHW directly.
 */
export const conv2dFast: FastKernel<'conv2d'> = (rt, inputs, out, p) => convForward(rt, inputs, out, p, null);

/**
 * conv2dBiasAct: the forward convolution with its epilogue (kernels.ts's biasActPlanes) run by
 * each lane on the planes it has just written, while they are in cache.
 */
export const conv2dBiasActFast: FastKernel<'conv2dBiasAct'> = (rt, inputs, out, p) =>
  convForward(rt, inputs, out, p, p);

function convForward(
  rt: WasmRuntime,
  inputs: readonly CpuView[],
  out: CpuView,
  p: Conv2dParams,
  epi: EpilogueParams | null,
): void {
  const [xv, wv] = inputs as [CpuView, CpuView];
  const g = convGeometry(xv.shape, wv.shape, p);
  const bias = epi ? dense(inputs[2]!) : undefined;
  const direct = forwardPlan(g, p);
  if (direct) return runDirectConv(rt, direct, xv, wv, out, epi && { bias: bias!, ...epi });
  const ySize = g.n * g.cOut * g.hOut * g.wOut;
  const { hw, ckk, io, win, plane, forEachChunk } = im2colSetup(rt, g, p, [xv, wv], out, ySize, bias);
  const [px, pw, py, pcols, ptmp, pbias] = io.ptrs;
  /** The epilogue on planes [p0, p1) of the samples from `ys` on. */
  const epilogue = (ys: number, p0: number, p1: number) => biasActPlanes(ys, p0, p1, g.cOut, hw, pbias!, epi!);
  forEachChunk((s0, ns, ld, lanes) => {
    const xs = px! + bytes(s0 * plane);
    const ys = py! + bytes(s0 * g.cOut * hw);
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
          if (epi) program.push(epilogue(ys, a * g.cOut, b * g.cOut));
          return program;
        }),
      );
      return;
    }
    rt.run(channelSplit(rt, 'im2col', g, win, xs, pcols!, ld));
    rt.run(
      groupGemms(rt, g.groups, lanes, (gr) => ({
        transA: 0,
        transB: 0,
        m: g.cOutPerGroup,
        n: ld,
        k: ckk,
        a: pw! + bytes(gr * g.cOutPerGroup * ckk),
        lda: ckk,
        b: pcols! + bytes(gr * ckk * ld),
        ldb: ld,
        c: ys + bytes(gr * g.cOutPerGroup * ld),
        ldc: ld,
        accumulate: 0,
      })),
    );
    if (epi) rt.run(splitRange(g.cOut, lanes).map(([a, b]) => [epilogue(ys, a, b)]));
  });
  io.finish();
}

/**
 * dX: per chunk, dy in channel-major rows [Cout, chunk·Hout·Wout]; per group
 * cols_g = W_gᵀ · dy_g (one GEMM); then col2im adds the columns back onto dX.
 */
export const conv2dGradInputFast: FastKernel<'conv2dGradInput'> = (rt, inputs, out, p) => {
  const [dyv, wv] = inputs as [CpuView, CpuView];
  const g = convGeometry(p.inputShape, wv.shape, p, 'conv2dGradInput');
  const direct = gradInputPlan(g, p);
  if (direct) return runDirectConv(rt, direct, dyv, wv, out);
  return gradInputIm2col(rt, g, p, dyv, wv, out);
};

/**
 * conv2dGradInputAct: dX of the fused epilogue's masked gradient. The direct kernel masks dY
 * as it pads it; the im2col path first writes the masked dY once (kernels.ts's epilogueMask)
 * into a block of the heap that goes straight back, and declines (cpu) when none is free.
 */
export const conv2dGradInputActFast: FastKernel<'conv2dGradInputAct'> = (rt, inputs, out, p) => {
  const [dyv, wv, yv] = inputs as [CpuView, CpuView, CpuView];
  const g = convGeometry(p.inputShape, wv.shape, p, 'conv2dGradInputAct');
  const mask = gradMask(yv, p);
  const direct = gradInputPlan(g, p);
  if (direct) return runDirectConv(rt, direct, dyv, wv, out, null, mask);
  if (p.activation === 'none') return gradInputIm2col(rt, g, p, dyv, wv, out);
  const n = g.n * g.cOut * g.hOut * g.wOut;
  const masked = rt.heap.temporaryF32(n, false);
  if (!masked) return false;
  try {
    const io = stage(rt, [{ in: dense(dyv) }, { in: dense(yv) }, { out: masked, length: n }]);
    const [pdy, py, pm] = io.ptrs;
    const lanes = lanesFor(rt, n);
    rt.run(
      splitRange(n, lanes, 4).map(([a, b]) => [
        { fn: 'epilogueMask', args: [pdy! + bytes(a), py! + bytes(a), pm! + bytes(a), b - a, ...epilogueArgs(p)] },
      ]),
    );
    io.finish();
    const view: CpuView = {
      storage: masked,
      dtype: 'float32',
      shape: dyv.shape,
      strides: contiguousStrides(dyv.shape),
      offset: 0,
    };
    return gradInputIm2col(rt, g, p, view, wv, out);
  } finally {
    rt.heap.recycle(masked);
  }
};

function gradInputIm2col(
  rt: WasmRuntime,
  g: ConvGeometry,
  p: Conv2dParams,
  dyv: CpuView,
  wv: CpuView,
  out: CpuView,
): void {
  const dxSize = g.n * g.cIn * g.h * g.w;
  const { hw, ckk, io, win, plane, forEachChunk } = im2colSetup(rt, g, p, [dyv, wv], out, dxSize);
  const [pdy, pw, pdx, pcols, pdyRows] = io.ptrs;
  rt.zero(pdx!, dxSize);
  forEachChunk((s0, ns, ld, lanes) => {
    const dys = pdy! + bytes(s0 * g.cOut * hw);
    const dxs = pdx! + bytes(s0 * plane);
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
      return;
    }
    rt.run(
      groupGemms(rt, g.groups, lanes, (gr) => ({
        transA: 1,
        transB: 0,
        m: ckk,
        n: ld,
        k: g.cOutPerGroup,
        a: pw! + bytes(gr * g.cOutPerGroup * ckk),
        lda: ckk,
        b: dys + bytes(gr * g.cOutPerGroup * ld),
        ldb: ld,
        c: pcols! + bytes(gr * ckk * ld),
        ldc: ld,
        accumulate: 0,
      })),
    );
    rt.run(channelSplit(rt, 'col2im', g, win, dxs, pcols!, ld));
  });
  io.finish();
}

/**
 * dW as an implicit GEMM (conv-direct.ts's runImplicitGradWeight) for every stride, dilation
 * and padding: measured at the bench nets' shapes it beat both im2col + GEMM (1.7–3.8×)
 * and the earlier direct kernel over four columns (1.5–2.8×).
 */
export const conv2dGradWeightFast: FastKernel<'conv2dGradWeight'> = (rt, inputs, out, p) => {
  const [xv, dyv] = inputs as [CpuView, CpuView];
  const g = convGeometry(xv.shape, p.weightShape, p, 'conv2dGradWeight');
  runImplicitGradWeight(rt, g, p, xv, dyv, out);
};

/** conv2dGradWeightAct: the implicit GEMM with dY masked by the forward output as each sample's dY is transposed. */
export const conv2dGradWeightActFast: FastKernel<'conv2dGradWeightAct'> = (rt, inputs, out, p) => {
  const [xv, dyv, yv] = inputs as [CpuView, CpuView, CpuView];
  const g = convGeometry(xv.shape, p.weightShape, p, 'conv2dGradWeightAct');
  runImplicitGradWeight(rt, g, p, xv, dyv, out, gradMask(yv, p));
};
