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

/**
 * Optimizer state tensors made by stateOn(): their storage is the optimizer's alone (state
 * leaves an optimizer only as copies, through stateDict()), so once a fused update has
 * replaced one, retire() hands its storage back to the backend at once.
 */
const ownState = new WeakSet<Tensor>();

/** tensorOn() for a state tensor (a moment, a momentum buffer) that only its optimizer reads. */
export function stateOn(storage: unknown, like: Tensor): Tensor {
  const t = tensorOn(storage, like);
  ownState.add(t);
  return t;
}

/**
 * Hands the storage of a state tensor the last fused update replaced back to its backend
 * (Backend.recycle): on wasm its block goes straight back to the heap instead of waiting for a
 * full GC. Only tensors made by stateOn() (an op-by-op update's state may share a storage
 * with a gradient the user holds); anything else is left to the GC.
 */
export function retire(old: Tensor | undefined): void {
  if (!old || !ownState.delete(old)) return;
  old.backend.recycle?.(old.storage);
}
