/** Max and average pooling with their gradients, split across lanes over planes (n·c). */
import { type AvgPool2dParams, poolGeometry } from '../../../core/ops.js';
import type { CpuView } from '../../cpu/storage.js';
import { poolPrograms } from '../plan.js';
import { type FastKernel, align64, bytes, dense, stage } from './common.js';

export const maxPool2dFast: FastKernel<'maxPool2d'> = (rt, inputs, out, p) => {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'maxPool2d');
  const ySize = g.n * g.c * g.hOut * g.wOut;
  const scratch = align64(bytes(g.wOut));
  const io = stage(rt, [{ in: dense(xv) }, { out: out.storage as Float32Array, length: ySize }, scratch * rt.lanes]);
  const [px, py, pscratch] = io.ptrs;
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: py!, perPlane: g.hOut * g.wOut },
  ];
  rt.run(poolPrograms(rt, 'maxPool2d', g, p, planes, (lane) => [pscratch! + lane * scratch]));
  io.finish();
};

export const maxPool2dGradFast: FastKernel<'maxPool2dGrad'> = (rt, inputs, out, p) => {
  const [xv, gyv] = inputs as [CpuView, CpuView];
  const g = poolGeometry(xv.shape, p, 'maxPool2dGrad');
  const xSize = g.n * g.c * g.h * g.w;
  const scratch = align64(bytes(2 * g.wOut));
  const io = stage(rt, [
    { in: dense(xv) },
    { in: dense(gyv) },
    { out: out.storage as Float32Array, length: xSize },
    scratch * rt.lanes,
  ]);
  const [px, pgy, pdx, pscratch] = io.ptrs;
  rt.zero(pdx!, xSize);
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: pgy!, perPlane: g.hOut * g.wOut },
    { ptr: pdx!, perPlane: g.h * g.w },
  ];
  rt.run(poolPrograms(rt, 'maxPool2dGrad', g, p, planes, (lane) => [pscratch! + lane * scratch]));
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
