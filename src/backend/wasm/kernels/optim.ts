/**
 * Fused optimizer updates (sgdStep, adamStep of kernels.ts): one pass per parameter, split
 * across lanes over elements when large (elements are independent, so the split never
 * changes a result). The new storages are resident where the heap has room, so the update
 * reads and writes them in place (kernels/common.ts's stage()).
 */
import type { TypedArray } from '../../../core/dtype.js';
import { sizeOf } from '../../../core/shape.js';
import type { AdamStepOptions, OptimizerKernels, SgdStepOptions, View } from '../../backend.js';
import type { CpuView } from '../../cpu/storage.js';
import { lanesFor, splitRange } from '../plan.js';
import type { Program } from '../pool.js';
import { ArenaFullError, type WasmRuntime } from '../runtime.js';
import { bytes, dense, stage } from './common.js';

/**
 * A new float32 storage for an update's result: resident in the runtime's heap where it has
 * room, not zeroed first (sgdStep and adamStep write every element of their outputs).
 */
const newStorage = (rt: WasmRuntime, n: number): Float32Array => rt.heap.residentF32(n, false) ?? new Float32Array(n);

const isF32 = (v: View<TypedArray> | null): boolean => v === null || v.dtype === 'float32';

/** Splits [0, n) over lanes (multiples of 4 elements) and builds each lane's call from its offset and length. */
function elementPrograms(rt: WasmRuntime, n: number, call: (at: number, count: number) => Program[number]): Program[] {
  return splitRange(n, lanesFor(rt, 8 * n), 4).map(([s, e]) => [call(s, e - s)]);
}

/** The fused updates on `runtime()`; every call returns null (op-by-op rule) when the module is not ready or the arena is full. */
export function wasmOptimizerKernels(runtime: () => WasmRuntime | null): OptimizerKernels<TypedArray> {
  const guarded = <R>(f: (rt: WasmRuntime) => R): R | null => {
    const rt = runtime();
    if (!rt) return null;
    try {
      return f(rt);
    } catch (e) {
      if (e instanceof ArenaFullError) return null;
      throw e;
    }
  };
  return {
    sgd(param, grad, buf, o: SgdStepOptions) {
      if (![param, grad, buf].every(isF32)) return null;
      const n = sizeOf(param.shape);
      if (n === 0) return null;
      return guarded((rt) => {
        const useMomentum = o.momentum !== 0;
        const hasBuf = useMomentum && buf !== null;
        const out = newStorage(rt, n);
        const bufOut = useMomentum ? newStorage(rt, n) : null;
        const io = stage(rt, [
          { in: dense(param as CpuView) },
          { in: dense(grad as CpuView) },
          hasBuf ? { in: dense(buf as CpuView) } : 0,
          { out, length: n },
          bufOut ? { out: bufOut, length: n } : 0,
        ]);
        const [pp, pg, pbuf, pout, pbufOut] = io.ptrs;
        const flags = [+(o.weightDecay !== 0), +useMomentum, +hasBuf, +o.nesterov];
        const scalars = [o.lr, o.weightDecay, o.momentum, 1 - o.dampening];
        rt.run(
          elementPrograms(rt, n, (at, count) => {
            const off = bytes(at);
            return {
              fn: 'sgdStep',
              args: [count, pp! + off, pg! + off, pbuf! + off, pout! + off, pbufOut! + off, ...flags, ...scalars],
            };
          }),
        );
        io.finish();
        return { param: out, momentumBuffer: bufOut };
      });
    },
    adam(param, grad, state, o: AdamStepOptions) {
      if (![param, grad, state?.expAvg ?? null, state?.expAvgSq ?? null, state?.maxExpAvgSq ?? null].every(isF32)) {
        return null;
      }
      const n = sizeOf(param.shape);
      if (n === 0) return null;
      return guarded((rt) => {
        const hasMax = o.amsgrad && state?.maxExpAvgSq != null;
        const [param1, expAvg, expAvgSq] = [newStorage(rt, n), newStorage(rt, n), newStorage(rt, n)];
        const maxExpAvgSq = o.amsgrad ? newStorage(rt, n) : null;
        const io = stage(rt, [
          { in: dense(param as CpuView) },
          { in: dense(grad as CpuView) },
          state ? { in: dense(state.expAvg as CpuView) } : 0,
          state ? { in: dense(state.expAvgSq as CpuView) } : 0,
          hasMax ? { in: dense(state!.maxExpAvgSq as CpuView) } : 0,
          { out: param1, length: n },
          { out: expAvg, length: n },
          { out: expAvgSq, length: n },
          maxExpAvgSq ? { out: maxExpAvgSq, length: n } : 0,
        ]);
        const [pp, pg, pm, pv, pmax, pout, pmOut, pvOut, pmaxOut] = io.ptrs;
        const [b1, b2] = o.betas;
        const flags = [+(o.weightDecay !== 0), +o.decoupled, +(state !== null), +o.amsgrad, +hasMax];
        const scalars = [
          b1,
          1 - b1,
          b2,
          1 - b2,
          Math.sqrt(o.biasCorrection2),
          o.eps,
          o.lr / o.biasCorrection1,
          o.weightDecay,
          1 - o.lr * o.weightDecay,
        ];
        rt.run(
          elementPrograms(rt, n, (at, count) => {
            const off = bytes(at);
            const ptrs = [pp, pg, pm, pv, pmax, pout, pmOut, pvOut, pmaxOut].map((q) => q! + off);
            return { fn: 'adamStep', args: [count, ...ptrs, ...flags, ...scalars] };
          }),
        );
        io.finish();
        return { param: param1, expAvg, expAvgSq, maxExpAvgSq };
      });
    },
  };
}
