/**
 * The fused linear kernels of the reference backend: the product (conv2d or matmul) into the
 * output, then the epilogue on it in place, y = act(y + bias), with the separate ops' rules
 * (add, then relu: v ≤ 0 ? 0 : v, or leakyRelu: v > 0 ? v : v·slope), so a fused result
 * equals the unfused one bit for bit. The slope is rounded to the output's dtype first, as
 * `mul(x, slope)` rounds its scalar.
 */
import type { DType, TypedArray } from '../../core/dtype.js';
import { type EpilogueParams, type OpParams, biasGradAxes } from '../../core/ops.js';
import { contiguousStrides } from '../../core/shape.js';
import { type CpuView, denseData } from './storage.js';
import { conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel } from './conv.js';
import { matmulKernel } from './matmul.js';
import { sumKernel } from './reduce.js';

/**
 * Applies the epilogue in place to `rows` rows of `length` consecutive elements of `y`, with
 * one bias per row (`per: 'row'`, bias[row % bias.length]: the planes of NCHW) or per column
 * (`per: 'column'`, bias[column]: the rows of a matrix product).
 */
export function applyEpilogue(
  y: TypedArray,
  dtype: DType,
  bias: TypedArray,
  rows: number,
  length: number,
  per: 'row' | 'column',
  p: EpilogueParams,
): void {
  const slope = dtype === 'float32' ? Math.fround(p.negativeSlope) : p.negativeSlope;
  const nb = bias.length;
  let i = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < length; j++, i++) {
      y[i] = y[i]! + bias[per === 'row' ? r % nb : j]!;
      const v = y[i]!;
      if (p.activation === 'relu') y[i] = v <= 0 ? 0 : v;
      else if (p.activation === 'leakyRelu') y[i] = v > 0 ? v : v * slope;
    }
  }
}

export function conv2dBiasActKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['conv2dBiasAct']): void {
  conv2dKernel(inputs.slice(0, 2), out, p);
  const [n, c, h, w] = out.shape as [number, number, number, number];
  applyEpilogue(out.storage, out.dtype, denseData(inputs[2]!), n * c, h * w, 'row', p);
}

export function matmulBiasActKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['matmulBiasAct']): void {
  matmulKernel(inputs.slice(0, 2), out);
  const [b, m, n] = out.shape as [number, number, number];
  applyEpilogue(out.storage, out.dtype, denseData(inputs[2]!), b * m, n, 'column', p);
}

/**
 * The backward of an epilogue, read off its output y: mask(dy, y) = relu: y ≤ 0 ? 0 : dy
 * (reluBackward's rule), leakyRelu: y > 0 ? dy : dy·slope (where(y > 0, dy, mul(dy, slope)),
 * the slope rounded to the dtype), none: dy; as a dense view of a new array. The reference
 * kernels of the *Act primitives run the plain kernel on it.
 */
function maskedGrad(dy: CpuView, y: CpuView, p: EpilogueParams): CpuView {
  const g = denseData(dy);
  if (p.activation === 'none') return { ...dy, storage: g, strides: contiguousStrides(dy.shape), offset: 0 };
  const m = denseData(y);
  const out = new (g.constructor as new (n: number) => TypedArray)(g.length);
  const slope = dy.dtype === 'float32' ? Math.fround(p.negativeSlope) : p.negativeSlope;
  const relu = p.activation === 'relu';
  for (let i = 0; i < g.length; i++) {
    const v = g[i]!;
    const yi = m[i]!;
    out[i] = relu ? (yi <= 0 ? 0 : v) : yi > 0 ? v : v * slope;
  }
  return { storage: out, dtype: dy.dtype, shape: dy.shape, strides: contiguousStrides(dy.shape), offset: 0 };
}

export function conv2dGradInputActKernel(
  inputs: readonly CpuView[],
  out: CpuView,
  p: OpParams['conv2dGradInputAct'],
): void {
  conv2dGradInputKernel([maskedGrad(inputs[0]!, inputs[2]!, p), inputs[1]!], out, p);
}

export function conv2dGradWeightActKernel(
  inputs: readonly CpuView[],
  out: CpuView,
  p: OpParams['conv2dGradWeightAct'],
): void {
  conv2dGradWeightKernel([inputs[0]!, maskedGrad(inputs[1]!, inputs[2]!, p)], out, p);
}

export function biasActGradKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['biasActGrad']): void {
  const dy = inputs[0]!;
  sumKernel([maskedGrad(dy, inputs[1]!, p)], out, { axes: biasGradAxes(dy.shape.length, p.axis), keepDims: false });
}
