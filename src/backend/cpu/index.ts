/**
 * The reference backend: plain TypeScript over typed arrays, total over the
 * op table (the compiler checks), the yardstick every faster backend is
 * tested against. Also the only backend that computes in float64, which the
 * gradient checks need.
 */
import { type DType, type TypedArray, allocArray } from '../../core/dtype.js';
import type { Backend, KernelTable } from '../backend.js';
import { allocHost, hostRecycler } from './recycler.js';
import { binaryKernel, castKernel, compareKernel, unaryKernel, whereKernel } from './elementwise.js';
import { argmaxKernel, logSoftmaxKernel, maxKernel, sumKernel } from './reduce.js';
import { concatKernel, contiguousKernel, padKernel } from './movement.js';
import { matmulKernel } from './matmul.js';
import {
  biasActGradKernel,
  conv2dBiasActKernel,
  conv2dGradInputActKernel,
  conv2dGradWeightActKernel,
  matmulBiasActKernel,
} from './epilogue.js';
import { conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel } from './conv.js';
import { avgPool2dGradKernel, avgPool2dKernel, maxPool2dGradKernel, maxPool2dKernel } from './pool.js';

const kernels: KernelTable<TypedArray> = {
  neg: unaryKernel('neg'),
  exp: unaryKernel('exp'),
  log: unaryKernel('log'),
  sqrt: unaryKernel('sqrt'),
  abs: unaryKernel('abs'),
  sign: unaryKernel('sign'),
  relu: unaryKernel('relu'),
  sigmoid: unaryKernel('sigmoid'),
  tanh: unaryKernel('tanh'),
  add: binaryKernel('add'),
  sub: binaryKernel('sub'),
  mul: binaryKernel('mul'),
  div: binaryKernel('div'),
  maximum: binaryKernel('maximum'),
  minimum: binaryKernel('minimum'),
  pow: binaryKernel('pow'),
  reluBackward: binaryKernel('reluBackward'),
  compare: compareKernel,
  where: whereKernel,
  cast: castKernel,
  sum: sumKernel,
  max: maxKernel,
  argmax: argmaxKernel,
  logSoftmax: logSoftmaxKernel,
  contiguous: contiguousKernel,
  pad: padKernel,
  concat: concatKernel,
  matmul: matmulKernel,
  conv2d: conv2dKernel,
  conv2dBiasAct: conv2dBiasActKernel,
  matmulBiasAct: matmulBiasActKernel,
  conv2dGradInput: conv2dGradInputKernel,
  conv2dGradWeight: conv2dGradWeightKernel,
  conv2dGradInputAct: conv2dGradInputActKernel,
  conv2dGradWeightAct: conv2dGradWeightActKernel,
  biasActGrad: biasActGradKernel,
  maxPool2d: maxPool2dKernel,
  maxPool2dGrad: maxPool2dGradKernel,
  avgPool2d: avgPool2dKernel,
  avgPool2dGrad: avgPool2dGradKernel,
};

export const cpuBackend: Backend<TypedArray> = {
  name: 'cpu',
  alloc: (dtype: DType, size: number, _temporary?: boolean, uninitialised?: boolean) =>
    allocHost(dtype, size, uninitialised),
  recycle: (storage: TypedArray) => hostRecycler.give(storage),
  upload: (data: TypedArray, dtype: DType) => {
    const out = allocArray(dtype, data.length);
    out.set(data);
    return out;
  },
  read: (storage, _dtype, size) => Promise.resolve(storage.slice(0, size)),
  readSync: (storage, _dtype, size) => storage.slice(0, size),
  kernels,
};
