/**
 * Fused optimizer updates (sgdStep, adamStep of kernels.ts): one pass per parameter, split
 * across lanes over elements when large (elements are independent, so the split never
 * changes a result). Operands are copied into the arena like every other kernel's.
 */
import type { TypedArray } from '../../../core/dtype.js';
import { sizeOf } from '../../../core/shape.js';
import type { AdamStepOptions, OptimizerKernels, SgdStepOptions, View } from '../../backend.js';
import type { CpuView } from '../../cpu/storage.js';
import { lanesFor, splitRange } from '../plan.js';
import type { Program } from '../pool.js';
import { ArenaFullError, type WasmRuntime } from '../runtime.js';
import { bytes, dense } from './common.js';

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
        const nb = bytes(n);
        const [pp, pg, pbuf, pout, pbufOut] = rt.reserve([nb, nb, hasBuf ? nb : 0, nb, useMomentum ? nb : 0]);
        rt.put(pp!, dense(param as CpuView) as Float32Array);
        rt.put(pg!, dense(grad as CpuView) as Float32Array);
        if (hasBuf) rt.put(pbuf!, dense(buf as CpuView) as Float32Array);
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
        const out = new Float32Array(n);
        rt.get(pout!, out, n);
        let bufOut: Float32Array | null = null;
        if (useMomentum) {
          bufOut = new Float32Array(n);
          rt.get(pbufOut!, bufOut, n);
        }
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
        const nb = bytes(n);
        const hasMax = o.amsgrad && state?.maxExpAvgSq != null;
        const [pp, pg, pm, pv, pmax, pout, pmOut, pvOut, pmaxOut] = rt.reserve([
          nb,
          nb,
          state ? nb : 0,
          state ? nb : 0,
          hasMax ? nb : 0,
          nb,
          nb,
          nb,
          o.amsgrad ? nb : 0,
        ]);
        rt.put(pp!, dense(param as CpuView) as Float32Array);
        rt.put(pg!, dense(grad as CpuView) as Float32Array);
        if (state) {
          rt.put(pm!, dense(state.expAvg as CpuView) as Float32Array);
          rt.put(pv!, dense(state.expAvgSq as CpuView) as Float32Array);
          if (hasMax) rt.put(pmax!, dense(state.maxExpAvgSq as CpuView) as Float32Array);
        }
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
        const read = (ptr: number): Float32Array => {
          const a = new Float32Array(n);
          rt.get(ptr, a, n);
          return a;
        };
        return {
          param: read(pout!),
          expAvg: read(pmOut!),
          expAvgSq: read(pvOut!),
          maxExpAvgSq: o.amsgrad ? read(pmaxOut!) : null,
        };
      });
    },
  };
}
