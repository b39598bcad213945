/** pad (a gather: each output element reads its source or the pad value) and concat (strided copies). */
import type { OpParams } from '../../../core/ops.js';
import { contiguousStrides } from '../../../core/shape.js';
import type { Runtime } from '../runtime.js';
import {
  type GpuView,
  LINEAR_ARGS,
  LINEAR_INDEX,
  checkRank,
  grid,
  prelude,
  sizeOfShape,
  word,
  wgslType,
} from './common.js';
import { mapKernel } from './elementwise.js';

export function padGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['pad']): void {
  const x = inputs[0]!;
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  checkRank('pad', out.shape, out.shape);
  const t = wgslType(out.dtype);
  // The pad value as the cpu's typed-array fill stores it.
  const value = t === 'f32' ? p.value : t === 'i32' ? Math.trunc(p.value) | 0 : Math.trunc(p.value) & 0xff;
  const code = `${prelude(2)}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
// Params: [n, rank, outShape×8, before×8, inShape×8, inStrides×8, inOffset, value]
@compute @workgroup_size(64)
fn main(${LINEAR_ARGS}) {
  ${LINEAR_INDEX}
  if (i >= P(0u)) { return; }
  var rem = i;
  var src = Pi(34u);
  var inside = true;
  for (var d = i32(P(1u)) - 1; d >= 0; d--) {
    let s = P(2u + u32(d));
    let c = i32(rem % s) - Pi(10u + u32(d));
    rem = rem / s;
    if (c < 0 || c >= Pi(18u + u32(d))) { inside = false; }
    src += c * Pi(26u + u32(d));
  }
  if (inside) { y[i] = x[u32(src)]; } else { y[i] = bitcast<${t}>(P(35u)); }
}`;
  const params = new Array<number>(36).fill(0);
  params[0] = n;
  params[1] = out.shape.length;
  out.shape.forEach((d, i) => (params[2 + i] = d));
  p.pads.forEach(([before], i) => (params[10 + i] = before >>> 0));
  x.shape.forEach((d, i) => (params[18 + i] = d));
  x.strides.forEach((s, i) => (params[26 + i] = s >>> 0));
  params[34] = x.offset;
  params[35] = word(value, t);
  const xb = rt.input(x.storage, 'pad');
  rt.dispatch(code, [xb, rt.output(out.storage, 'pad')], params, grid(n));
}

export function concatGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['concat']): void {
  const strides = contiguousStrides(out.shape);
  const yb = rt.output(out.storage, 'concat');
  let offset = 0;
  for (const x of inputs) {
    mapKernel(
      rt,
      'concat',
      x.shape,
      [
        { buffer: rt.input(x.storage, 'concat'), dtype: x.dtype, offset: x.offset, strides: x.strides },
        { buffer: yb, dtype: out.dtype, offset, strides },
      ],
      'x0',
    );
    offset += x.shape[p.axis]! * strides[p.axis]!;
  }
}
