/** Sums over axes that fold into K R K R runs, accumulated in f64 like the reference. */
import { biasGradAxes } from '../../../core/ops.js';
import { sizeOf } from '../../../core/shape.js';
import type { CpuView } from '../../cpu/storage.js';
import { splitRange } from '../plan.js';
import type { Program } from '../pool.js';
import type { WasmRuntime } from '../runtime.js';
import { type FastKernel, type GradMask, bytes, dense, gradMask, maskArgs, stage } from './common.js';
import { elementLanes } from './elementwise.js';

/**
 * Sums whose kept and reduced axes form at most four alternating runs (K R K R, or R K R
 * with k0 = 1): all of a tensor, the last or the leading axes, and a conv bias's
 * gradient (N, H, W of NCHW). Accumulates in f64 like the reference.
 */
export const sumFast: FastKernel<'sum'> = (rt, inputs, out, p) => sumRuns(rt, inputs[0]!, p.axes, out, null);

/**
 * biasActGrad: the sum of a bias's gradient (every axis but the bias's), with the fused
 * epilogue's mask applied to dy as sumKRKR reads it. The same runs, split and order as sum
 * of the masked gradient, so the same bits as the separate mask and sum.
 */
export const biasActGradFast: FastKernel<'biasActGrad'> = (rt, inputs, out, p) => {
  const dy = inputs[0]!;
  return sumRuns(rt, dy, biasGradAxes(dy.shape.length, p.axis), out, gradMask(inputs[1]!, p));
};

function sumRuns(
  rt: WasmRuntime,
  x: CpuView,
  axes: readonly number[],
  out: CpuView,
  mask: GradMask | null,
): void | false {
  const runs: { size: number; reduced: boolean }[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axes.includes(i);
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
    mask ? { in: dense(mask.y) } : 0,
    ...ranges.map(([s, e]) => 8 * (byRows ? k2 : e - s)),
  ]);
  const [px, po, pm, ...pacc] = io.ptrs;
  const programs: Program[] = ranges.map(([s, e], lane) => {
    const at = byRows ? s * r1 * k2 * r3 : s * r3;
    return byRows
      ? [
          {
            fn: 'sumKRKR',
            args: [
              px! + bytes(at),
              e - s,
              r1,
              k2,
              r3,
              po! + bytes(s * k2),
              pacc[lane]!,
              k2,
              ...maskArgs(mask, pm, bytes(at)),
            ],
          },
        ]
      : [
          {
            fn: 'sumKRKR',
            args: [
              px! + bytes(at),
              k0,
              r1,
              e - s,
              r3,
              po! + bytes(s),
              pacc[lane]!,
              k2,
              ...maskArgs(mask, pm, bytes(at)),
            ],
          },
        ];
  });
  rt.run(programs);
  io.finish();
}

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
