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
  /** A new zero-filled storage of `size` elements. */
  alloc(dtype: DType, size: number): S;
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
}
