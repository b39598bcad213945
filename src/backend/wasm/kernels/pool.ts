/** Max and average pooling with their gradients, split across lanes over planes (n·c). */
import { type AvgPool2dParams, type Pool2dParams, type PoolGeometry, poolGeometry } from '../../../core/ops.js';
import type { CpuView } from '../../cpu/storage.js';
import { lanesFor, poolPrograms, splitRange } from '../plan.js';
import type { Program } from '../pool.js';
import type { WasmRuntime } from '../runtime.js';
import { type FastKernel, align64, bytes, dense, stage } from './common.js';

/** Kernel 2, stride 2, no padding or dilation, every window inside the input: maxPool2x2's case. */
function isPool2x2(g: PoolGeometry, p: Pool2dParams): boolean {
  const two = (v: readonly number[]): boolean => v[0] === 2 && v[1] === 2;
  const one = (v: readonly number[]): boolean => v[0] === 1 && v[1] === 1;
  const none = p.padding[0] === 0 && p.padding[1] === 0;
  return two(p.kernel) && two(p.stride) && one(p.dilation) && none && 2 * g.hOut <= g.h && 2 * g.wOut <= g.w;
}

/** maxPool2x2 or its gradient over ranges of planes, one 16-byte scratch per lane. */
function pool2x2Programs(
  rt: WasmRuntime,
  fn: 'maxPool2x2' | 'maxPool2x2Grad',
  g: PoolGeometry,
  operands: { ptr: number; perPlane: number }[],
  scratch: number,
): Program[] {
  const lanes = lanesFor(rt, g.n * g.c * g.hOut * g.wOut * 4);
  return splitRange(g.n * g.c, lanes).map(([a, b], lane) => {
    const ptrs = operands.map((o) => o.ptr + bytes(a * o.perPlane));
    return [{ fn, args: [...ptrs, b - a, g.h, g.w, g.hOut, g.wOut, scratch + lane * 64] }];
  });
}

export const maxPool2dFast: FastKernel<'maxPool2d'> = (rt, inputs, out, p) => {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'maxPool2d');
  const ySize = g.n * g.c * g.hOut * g.wOut;
  const scratch = align64(bytes(Math.max(g.wOut, 16)));
  const io = stage(rt, [{ in: dense(xv) }, { out: out.storage as Float32Array, length: ySize }, scratch * rt.lanes]);
  const [px, py, pscratch] = io.ptrs;
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: py!, perPlane: g.hOut * g.wOut },
  ];
  if (isPool2x2(g, p)) rt.run(pool2x2Programs(rt, 'maxPool2x2', g, planes, pscratch!));
  else rt.run(poolPrograms(rt, 'maxPool2d', g, p, planes, (lane) => [pscratch! + lane * scratch]));
  io.finish();
};

export const maxPool2dGradFast: FastKernel<'maxPool2dGrad'> = (rt, inputs, out, p) => {
  const [xv, gyv] = inputs as [CpuView, CpuView];
  const g = poolGeometry(xv.shape, p, 'maxPool2dGrad');
  const xSize = g.n * g.c * g.h * g.w;
  const scratch = align64(bytes(Math.max(2 * g.wOut, 16)));
  const io = stage(rt, [
    { in: dense(xv) },
    { in: dense(gyv) },
    { out: out.storage as Float32Array, length: xSize },
    scratch * rt.lanes,
  ]);
  const [px, pgy, pdx, pscratch] = io.ptrs;
  const pool2x2 = isPool2x2(g, p);
  // maxPool2x2Grad writes all of each window (the winner's gradient, zeros beside it), so only
  // rows and columns past the last window need zeros first.
  if (!(pool2x2 && 2 * g.hOut === g.h && 2 * g.wOut === g.w)) rt.zero(pdx!, xSize);
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: pgy!, perPlane: g.hOut * g.wOut },
    { ptr: pdx!, perPlane: g.h * g.w },
  ];
  if (pool2x2) rt.run(pool2x2Programs(rt, 'maxPool2x2Grad', g, planes, pscratch!));
  else rt.run(poolPrograms(rt, 'maxPool2dGrad', g, p, planes, (lane) => [pscratch! + lane * scratch]));
  io.finish();
};

export const avgPool2dFast: FastKernel<'avgPool2d'> = (rt, inputs, out, p: AvgPool2dParams) => {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'avgPool2d');
  const ySize = g.n * g.c * g.hOut * g.wOut;
  const io = stage(rt, [{ in: dense(xv) }, { out: out.storage as Float32Array, length: ySize }]);
  const [px, py] = io.ptrs;
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: py!, perPlane: g.hOut * g.wOut },
  ];
  rt.run(poolPrograms(rt, 'avgPool2d', g, p, planes, () => [+p.countIncludePad]));
  io.finish();
};

export const avgPool2dGradFast: FastKernel<'avgPool2dGrad'> = (rt, inputs, out, p) => {
  const g = poolGeometry(p.inputShape, p, 'avgPool2dGrad');
  const xSize = g.n * g.c * g.h * g.w;
  const io = stage(rt, [{ in: dense(inputs[0]!) }, { out: out.storage as Float32Array, length: xSize }]);
  const [pgy, pdx] = io.ptrs;
  rt.zero(pdx!, xSize);
  const planes = [
    { ptr: pgy!, perPlane: g.hOut * g.wOut },
    { ptr: pdx!, perPlane: g.h * g.w },
  ];
  rt.run(poolPrograms(rt, 'avgPool2dGrad', g, p, planes, () => [+p.countIncludePad]));
  io.finish();
};
