/**
 * Convolution and its two gradients as im2col/col2im plus GEMMs, per chunk of samples
 * (plan.ts sizes the chunks and splits the work across lanes).
 */
import { convGeometry } from '../../../core/ops.js';
import type { CpuView } from '../../cpu/storage.js';
import {
  GRAD_WEIGHT_COLS_BUDGET,
  channelSplit,
  gemmPrograms,
  lanesFor,
  mergePrograms,
  samplesPerChunk,
  splitRange,
  windowArgs,
} from '../plan.js';
import type { Program } from '../pool.js';
import { type FastKernel, bytes, dense, stage } from './common.js';
import { forwardPlan, gradInputPlan, runDirectConv, runDirectGradWeight } from './conv-direct.js';

/**
 * Forward: per chunk of samples, im2col all input channels into [Cin·kH·kW, chunk·Hout·Wout]
 * and run one GEMM per group, W_g [Cout/g, Cin/g·kH·kW] · cols_g, into channel-major rows,
 * then scatter the rows back to NCHW. One sample per chunk writes NCHW directly.
 */
export const conv2dFast: FastKernel<'conv2d'> = (rt, inputs, out, p) => {
  const [xv, wv] = inputs as [CpuView, CpuView];
  const g = convGeometry(xv.shape, wv.shape, p);
  const direct = forwardPlan(g, p);
  if (direct) return runDirectConv(rt, direct, xv, wv, out);
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const chunk = samplesPerChunk(g);
  const ySize = g.n * g.cOut * hw;
  const io = stage(rt, [
    { in: dense(xv) },
    { in: dense(wv) },
    { out: out.storage as Float32Array, length: ySize },
    bytes(g.cIn * g.kh * g.kw * chunk * hw),
    chunk > 1 ? bytes(g.cOut * chunk * hw) : 0,
  ]);
  const [px, pw, py, pcols, ptmp] = io.ptrs;
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
  io.finish();
};

/**
 * dX: per chunk, dy in channel-major rows [Cout, chunk·Hout·Wout]; per group
 * cols_g = W_gᵀ · dy_g (one GEMM); then col2im adds the columns back onto dX.
 */
export const conv2dGradInputFast: FastKernel<'conv2dGradInput'> = (rt, inputs, out, p) => {
  const [dyv, wv] = inputs as [CpuView, CpuView];
  const g = convGeometry(p.inputShape, wv.shape, p, 'conv2dGradInput');
  const direct = gradInputPlan(g, p);
  if (direct) return runDirectConv(rt, direct, dyv, wv, out);
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const chunk = samplesPerChunk(g);
  const dxSize = g.n * g.cIn * g.h * g.w;
  const io = stage(rt, [
    { in: dense(dyv) },
    { in: dense(wv) },
    { out: out.storage as Float32Array, length: dxSize },
    bytes(g.cIn * g.kh * g.kw * chunk * hw),
    chunk > 1 ? bytes(g.cOut * chunk * hw) : 0,
  ]);
  const [pdy, pw, pdx, pcols, pdyRows] = io.ptrs;
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
  io.finish();
};

/**
 * Input channels (per group) up to which dW runs as the direct kernel: measured at the bench
 * nets' shapes, it beats im2col + GEMM 1.6–2.4× for 1 and 3 channels and loses (0.8×) from
 * 6 on, where the GEMM's depth (samples × positions) amortises its packing.
 */
const DIRECT_GRAD_WEIGHT_CHANNELS = 4;

/**
 * dW: per chunk, im2col of x and dy in channel-major rows; per group
 * dW_g += dy_g · cols_gᵀ, a GEMM whose depth is chunk·Hout·Wout.
 */
export const conv2dGradWeightFast: FastKernel<'conv2dGradWeight'> = (rt, inputs, out, p) => {
  const [xv, dyv] = inputs as [CpuView, CpuView];
  const g = convGeometry(xv.shape, p.weightShape, p, 'conv2dGradWeight');
  const direct = forwardPlan(g, p);
  if (direct && direct.chans <= DIRECT_GRAD_WEIGHT_CHANNELS) return runDirectGradWeight(rt, direct, xv, dyv, out);
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const chunk = samplesPerChunk(g, GRAD_WEIGHT_COLS_BUDGET);
  const dwSize = g.cOut * ckk;
  const io = stage(rt, [
    { in: dense(xv) },
    { in: dense(dyv) },
    { out: out.storage as Float32Array, length: dwSize },
    bytes(g.cIn * g.kh * g.kw * chunk * hw),
    chunk > 1 ? bytes(g.cOut * chunk * hw) : 0,
  ]);
  const [px, pdy, pdw, pcols, pdyRows] = io.ptrs;
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
  io.finish();
};
