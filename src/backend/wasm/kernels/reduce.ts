/** Sums over axes that fold into K R K R runs, accumulated in f64 like the reference. */
import { sizeOf } from '../../../core/shape.js';
import { type FastKernel, dense, stage } from './common.js';

/**
 * Sums whose kept and reduced axes form at most four alternating runs (K R K R, or R K R
 * with k0 = 1): all of a tensor, the last or the leading axes, and a conv bias's
 * gradient (N, H, W of NCHW). Accumulates in f64 like the reference.
 */
export const sumFast: FastKernel<'sum'> = (rt, inputs, out, p) => {
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
  const m = sizeOf(out.shape);
  const io = stage(rt, [{ in: dense(x) }, { out: out.storage as Float32Array, length: m }, 8 * k2]);
  const [px, po, pacc] = io.ptrs;
  rt.exports.sumKRKR(px!, k0, r1, k2, r3, po!, pacc!);
  io.finish();
};
