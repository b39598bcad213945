/**
 * The optimizers' use of fused update kernels (Backend.optimizerKernels): one kernel per
 * parameter instead of one op per term of the rule, where the parameter's backend has one
 * (wasm). The kernels give the op-by-op rule's results bit for bit, so this only changes
 * speed; TSGRAD_FUSED_OPTIM=0 turns it off (for comparisons).
 */
import type { OptimizerKernels, View } from '../backend/backend.js';
import { contiguousStrides } from '../core/shape.js';
import { Tensor } from '../tensor/tensor.js';

let enabled =
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.['TSGRAD_FUSED_OPTIM'] !==
  '0';

/** @internal Turns the fused updates on or off (tests compare both); returns the previous setting. */
export function setFusedOptimizers(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/** The fused kernels for a parameter, or null where the op-by-op rule runs. */
export function fusedKernels(p: Tensor): OptimizerKernels<unknown> | null {
  return enabled ? (p.backend.optimizerKernels ?? null) : null;
}

/** A tensor's view (storage, layout) as kernels take it. */
export function viewOf(t: Tensor): View {
  return { storage: t.storage, dtype: t.dtype, shape: t.shape, strides: t.strides, offset: t.offset };
}

/** A new dense tensor of `like`'s shape, dtype and backend on a storage a fused kernel returned. */
export function tensorOn(storage: unknown, like: Tensor): Tensor {
  return new Tensor(storage, like.shape, contiguousStrides(like.shape), 0, like.dtype, like.backend);
}
