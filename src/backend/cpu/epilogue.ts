/**
 * The fused linear kernels of the reference backend: the product (conv2d or matmul) into the
 * output, then the epilogue on it in place, y = act(y + bias), with the separate ops' rules
 * (add, then relu: v ≤ 0 ? 0 : v, or leakyRelu: v > 0 ? v : v·slope), so a fused result
 * equals the unfused one bit for bit. The slope is rounded to the output's dtype first, as
 * `mul(x, slope)` rounds its scalar.
 */
import type { DType, TypedArray } from '../../core/dtype.js';
import type { EpilogueParams, OpParams } from '../../core/ops.js';
import { type CpuView, denseData } from './storage.js';
import { conv2dKernel } from './conv.js';
import { matmulKernel } from './matmul.js';

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
