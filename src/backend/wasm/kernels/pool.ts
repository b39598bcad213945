/** Max and average pooling with their gradients, split across lanes over planes (n·c). */
import { type AvgPool2dParams, poolGeometry } from '../../../core/ops.js';
import type { CpuView } from '../../cpu/storage.js';
import { poolPrograms } from '../plan.js';
import { type FastKernel, align64, bytes, dense } from './common.js';

export const maxPool2dFast: FastKernel<'maxPool2d'> = (rt, inputs, out, p) => {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'maxPool2d');
  const ySize = g.n * g.c * g.hOut * g.wOut;
  const scratch = align64(bytes(g.wOut));
  const [px, py, pscratch] = rt.reserve([bytes(g.n * g.c * g.h * g.w), bytes(ySize), scratch * rt.lanes]);
  rt.put(px!, dense(xv));
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: py!, perPlane: g.hOut * g.wOut },
  ];
  rt.run(poolPrograms(rt, 'maxPool2d', g, p, planes, (lane) => [pscratch! + lane * scratch]));
  rt.get(py!, out.storage as Float32Array, ySize);
};

export const maxPool2dGradFast: FastKernel<'maxPool2dGrad'> = (rt, inputs, out, p) => {
  const [xv, gyv] = inputs as [CpuView, CpuView];
  const g = poolGeometry(xv.shape, p, 'maxPool2dGrad');
  const xSize = g.n * g.c * g.h * g.w;
  const scratch = align64(bytes(2 * g.wOut));
  const [px, pgy, pdx, pscratch] = rt.reserve([
    bytes(xSize),
    bytes(g.n * g.c * g.hOut * g.wOut),
    bytes(xSize),
    scratch * rt.lanes,
  ]);
  rt.put(px!, dense(xv));
  rt.put(pgy!, dense(gyv));
  rt.zero(pdx!, xSize);
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: pgy!, perPlane: g.hOut * g.wOut },
    { ptr: pdx!, perPlane: g.h * g.w },
  ];
  rt.run(poolPrograms(rt, 'maxPool2dGrad', g, p, planes, (lane) => [pscratch! + lane * scratch]));
  rt.get(pdx!, out.storage as Float32Array, xSize);
};

export const avgPool2dFast: FastKernel<'avgPool2d'> = (rt, inputs, out, p: AvgPool2dParams) => {
  const xv = inputs[0]!;
  const g = poolGeometry(xv.shape, p, 'avgPool2d');
  const ySize = g.n * g.c * g.hOut * g.wOut;
  const [px, py] = rt.reserve([bytes(g.n * g.c * g.h * g.w), bytes(ySize)]);
  rt.put(px!, dense(xv));
  const planes = [
    { ptr: px!, perPlane: g.h * g.w },
    { ptr: py!, perPlane: g.hOut * g.wOut },
  ];
  rt.run(poolPrograms(rt, 'avgPool2d', g, p, planes, () => [+p.countIncludePad]));
  rt.get(py!, out.storage as Float32Array, ySize);
};

export const avgPool2dGradFast: FastKernel<'avgPool2dGrad'> = (rt, inputs, out, p) => {
  const g = poolGeometry(p.inputShape, p, 'avgPool2dGrad');
  const xSize = g.n * g.c * g.h * g.w;
  const [pgy, pdx] = rt.reserve([bytes(g.n * g.c * g.hOut * g.wOut), bytes(xSize)]);
  rt.put(pgy!, dense(inputs[0]!));
  rt.zero(pdx!, xSize);
  const planes = [
    { ptr: pgy!, perPlane: g.hOut * g.wOut },
    { ptr: pdx!, perPlane: g.h * g.w },
  ];
  rt.run(poolPrograms(rt, 'avgPool2dGrad', g, p, planes, () => [+p.countIncludePad]));
  rt.get(pdx!, out.storage as Float32Array, xSize);
};
