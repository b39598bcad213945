import type { OpParams } from '../../core/ops.js';
import { contiguousStrides } from '../../core/shape.js';
import { type CpuView, copyInto } from './storage.js';

export function contiguousKernel(inputs: readonly CpuView[], out: CpuView): void {
  copyInto(inputs[0]!, out.storage, 0, out.strides);
}

export function padKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['pad']): void {
  const x = inputs[0]!;
  if (p.value !== 0) out.storage.fill(p.value);
  let offset = 0;
  p.pads.forEach(([before], i) => (offset += before * out.strides[i]!));
  copyInto(x, out.storage, offset, out.strides);
}

export function concatKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['concat']): void {
  const strides = contiguousStrides(out.shape);
  let offset = 0;
  for (const x of inputs) {
    copyInto(x, out.storage, offset, strides);
    offset += x.shape[p.axis]! * strides[p.axis]!;
  }
}
