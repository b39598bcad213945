/** Sums over axes that fold into K R K R runs, accumulated in f64 like the reference. */
import { sizeOf } from '../../../core/shape.js';
import { splitRange } from '../plan.js';
import type { Program } from '../pool.js';
import { type FastKernel, bytes, dense, stage } from './common.js';
import { elementLanes } from './elementwise.js';

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
  // Split along k0 when it has a range per lane, else along k2 (each lane its columns, its own
  // f64 scratch): every output is summed by one lane in the same order, so any split is exact.
  // Memory-bound like the elementwise ops: the same threshold.
  const lanes = Math.min(elementLanes(rt, sizeOf(x.shape)), Math.max(k0, k2));
  const byRows = k0 >= lanes;
  const ranges = splitRange(byRows ? k0 : k2, lanes, byRows ? 1 : 2);
  const io = stage(rt, [
    { in: dense(x) },
    { out: out.storage as Float32Array, length: m },
    ...ranges.map(([s, e]) => 8 * (byRows ? k2 : e - s)),
  ]);
  const [px, po, ...pacc] = io.ptrs;
  const programs: Program[] = ranges.map(([s, e], lane) =>
    byRows
      ? [
          {
            fn: 'sumKRKR',
            args: [px! + bytes(s * r1 * k2 * r3), e - s, r1, k2, r3, po! + bytes(s * k2), pacc[lane]!, k2],
          },
        ]
      : [{ fn: 'sumKRKR', args: [px! + bytes(s * r3), k0, r1, e - s, r3, po! + bytes(s), pacc[lane]!, k2] }],
  );
  rt.run(programs);
  io.finish();
};

/**
 * log softmax along the last axis (kernels.ts's logSoftmaxRows), rows split across lanes like the
 * elementwise ops: each row is one lane's, so results do not depend on the thread count. Other
 * axes take the cpu kernel.
 */
export const logSoftmaxFast: FastKernel<'logSoftmax'> = (rt, inputs, out, p) => {
  const x = inputs[0]!;
  if (p.axis !== x.shape.length - 1) return false;
  const len = x.shape[p.axis]!;
  const rows = sizeOf(x.shape) / len;
  const io = stage(rt, [{ in: dense(x) }, { out: out.storage as Float32Array, length: rows * len }]);
  const [px, py] = io.ptrs;
  const lanes = Math.min(elementLanes(rt, rows * len), rows);
  rt.run(splitRange(rows, lanes).map(([a, b]) => [{ fn: 'logSoftmaxRows', args: [px!, py!, a, b, len] }]));
  io.finish();
};
