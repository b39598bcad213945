/**
 * Moving values between tensors and shared memory with as few copies as the backend
 * allows. The cpu and wasm backends keep a tensor's values in a host typed array (their
 * storage) and never write a tensor's storage after creating it, so a tensor can be read
 * in place, and a tensor can be built over a view of a SharedArrayBuffer without a copy,
 * as long as nobody writes that view while the tensor is in use (DataParallel writes it
 * only between steps). Other backends (webgpu) take the copying path.
 */
import type { Backend } from '../backend/backend.js';
import type { DType, TypedArray } from '../core/dtype.js';
import { contiguousStrides } from '../core/shape.js';
import { fromArray } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

const probed = new WeakMap<Backend, boolean>();

/** Whether the backend's storage is a plain typed array (probed once: what does upload return?). */
export function storesTypedArrays(backend: Backend): boolean {
  let yes = probed.get(backend);
  if (yes === undefined) {
    const s = backend.upload(Float32Array.of(1, 2), 'float32') as unknown;
    yes = s instanceof Float32Array && s.length === 2 && s[1] === 2;
    probed.set(backend, yes);
  }
  return yes;
}

/** The tensor's values, read in place where the backend allows (do not write them), else copied out. */
export function valuesOf(t: Tensor): TypedArray {
  const s = t.storage as unknown;
  if (t.isContiguous() && ArrayBuffer.isView(s) && storesTypedArrays(t.backend))
    return (s as TypedArray).subarray(t.offset, t.offset + t.numel);
  return t.contiguous().dataSync();
}

/** Async valuesOf, for backends that read asynchronously (webgpu). */
export async function valuesOfAsync(t: Tensor): Promise<TypedArray> {
  const s = t.storage as unknown;
  if (t.isContiguous() && ArrayBuffer.isView(s) && storesTypedArrays(t.backend))
    return (s as TypedArray).subarray(t.offset, t.offset + t.numel);
  return t.contiguous().data();
}

/**
 * A tensor holding `view`'s values: over the view itself where the backend allows (no copy;
 * the caller must not write the view while the tensor is used), else an uploaded copy.
 */
export function tensorOver(view: TypedArray, shape: readonly number[], dtype: DType, backend: Backend): Tensor {
  if (storesTypedArrays(backend) && dtype !== 'bool')
    return new Tensor(view, [...shape], contiguousStrides(shape), 0, dtype, backend);
  return fromArray(view.slice(), shape, { dtype, backend });
}
