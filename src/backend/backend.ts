/**
 * The contract between tensors and the code that computes them. A backend
 * owns storage (a typed array, a GPU buffer, a region of WebAssembly memory)
 * and runs one kernel per primitive of the op table. Kernels receive views
 * (storage + shape + strides + offset), so transposes, slices and broadcasts
 * reach them without copies.
 */
import type { DType, TypedArray } from '../core/dtype.js';
import type { KernelOpName, OpParams } from '../core/ops.js';
import type { Shape } from '../core/shape.js';

export interface View<S = unknown> {
  readonly storage: S;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Computes `out` (freshly allocated, contiguous) from `inputs`. */
export type Kernel<K extends KernelOpName, S = unknown> = (
  inputs: readonly View<S>[],
  out: View<S>,
  params: OpParams[K],
) => void;

export type KernelTable<S> = { readonly [K in KernelOpName]: Kernel<K, S> };

export interface Backend<S = unknown> {
  readonly name: string;
  /**
   * A new zero-filled storage of `size` elements. `temporary`: the autograd engine is
   * allocating it inside a backward pass and will most likely hand it back soon (recycle), so a
   * backend may place it where that is cheap. `uninitialised`: the kernel about to run writes
   * every element (OpDef.writesAll), so the storage need not be zeroed.
   */
  alloc(dtype: DType, size: number, temporary?: boolean, uninitialised?: boolean): S;
  /**
   * Takes back a storage that no tensor will read or write again, so that a later alloc() of
   * the same dtype and size may hand it out again instead of a new one. Optional. The
   * autograd engine calls it for the temporaries of a backward pass (rule intermediates and
   * consumed gradients: never a forward tensor, a .grad, or a tensor a hook has seen).
   */
  recycle?(storage: S): void;
  /** A new storage holding a copy of `data`. */
  upload(data: TypedArray, dtype: DType): S;
  /** A copy of the first `size` elements of a storage; resolves once the backend has computed it. */
  read(storage: S, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read, or undefined where the platform cannot read synchronously (WebGPU). */
  readSync(storage: S, dtype: DType, size: number): TypedArray | undefined;
  /**
   * The dtypes whose tensors `dataSync()` / `itemSync()` / `arraySync()` may read (default: all).
   * webgpu lists only float64, which lives on the host there: every other tensor refuses a
   * synchronous read, whether its values are still on the host (a fresh upload) or not.
   */
  readonly syncReadDTypes?: readonly DType[];
  readonly kernels: Partial<KernelTable<S>>;
  /**
   * Fused optimizer updates (one kernel per parameter) where the backend has them; src/optim
   * uses them when present and falls back to its op-by-op rule otherwise. Each must give the
   * op-by-op rule's results bit for bit.
   */
  readonly optimizerKernels?: OptimizerKernels<S>;
}

/** Options of a fused SGD step (PyTorch's rule, as src/optim/sgd.ts). */
export interface SgdStepOptions {
  readonly lr: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
}

/** Options of a fused Adam/AdamW step, with the step's bias corrections (as src/optim/adam.ts). */
export interface AdamStepOptions {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /** AdamW: the decay multiplies the parameter instead of joining the gradient. */
  readonly decoupled: boolean;
  /** 1 − β1^step and 1 − β2^step. */
  readonly biasCorrection1: number;
  readonly biasCorrection2: number;
}

/**
 * Fused optimizer updates on float32 views of one shape. They return new storages (dense,
 * the views' size) and never write their inputs, so a parameter's old value stays valid for
 * whoever still holds it. null: this call is not handled (the caller runs the op-by-op rule).
 */
export interface OptimizerKernels<S> {
  sgd(
    param: View<S>,
    grad: View<S>,
    momentumBuffer: View<S> | null,
    o: SgdStepOptions,
  ): { param: S; momentumBuffer: S | null } | null;
  adam(
    param: View<S>,
    grad: View<S>,
    state: { expAvg: View<S>; expAvgSq: View<S>; maxExpAvgSq: View<S> | null } | null,
    o: AdamStepOptions,
  ): { param: S; expAvg: S; expAvgSq: S; maxExpAvgSq: S | null } | null;
}
