/** Sums the [parts, size] partials of a split-K GEMM over the first axis. */
import type { GPUBufferLike } from '../gpu-types.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { LINEAR_ARGS, LINEAR_INDEX, grid, prelude } from './common.js';

const CODE = `${prelude(2)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(${LINEAR_ARGS}) {
  ${LINEAR_INDEX}
  let size = P(0u);
  if (i >= size) { return; }
  var acc = 0.0;
  for (var s = 0u; s < P(1u); s++) { acc += x[s * size + i]; }
  y[i] = acc;
}`;

export function reduceSumAxis0(
  rt: Runtime,
  partial: GpuStorage,
  parts: number,
  size: number,
  out: GPUBufferLike,
): void {
  rt.dispatch(CODE, [rt.input(partial, 'sum'), out], [size, parts], grid(size));
}
