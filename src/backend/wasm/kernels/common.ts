/**
 * What every wasm kernel family shares: the kernel signature and small helpers for byte
 * offsets and dense float32 views.
 */
import { type CpuView, denseData } from '../../cpu/storage.js';
import type { KernelOpName, OpParams } from '../../../core/ops.js';
import type { WasmRuntime } from '../runtime.js';

/**
 * A wasm kernel, or false when it does not handle this call (layout, parameters): the
 * wrapper then runs the cpu kernel.
 */
export type FastKernel<K extends KernelOpName> = (
  rt: WasmRuntime,
  inputs: readonly CpuView[],
  out: CpuView,
  p: OpParams[K],
) => void | false;

export const align64 = (n: number): number => Math.ceil(n / 64) * 64;
/** The view's elements, dense (a subarray when already dense, else a copy). */
export const dense = (v: CpuView): Float32Array => denseData(v) as Float32Array;
/** Bytes of `floats` float32 values. */
export const bytes = (floats: number): number => floats * 4;
