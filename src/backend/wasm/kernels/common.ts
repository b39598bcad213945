/**
 * What every wasm kernel family shares: the kernel signature, small helpers for byte
 * offsets and dense float32 views, and stage(), which places a call's operands in linear
 * memory.
 */
import { type CpuView, denseData } from '../../cpu/storage.js';
import { EPILOGUE_ACTIVATIONS, type EpilogueParams, type KernelOpName, type OpParams } from '../../../core/ops.js';
import type { Call } from '../pool.js';
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

/** The fused epilogue's arguments to kernels.ts's biasAct* kernels: the activation's code (its index, as ACT_*) and the slope. */
export const epilogueArgs = (e: EpilogueParams): [number, number] => [
  EPILOGUE_ACTIVATIONS.indexOf(e.activation),
  e.negativeSlope,
];

/**
 * The backward of a fused epilogue where a kernel reads dy: the forward output y (dy's
 * layout) whose mask (kernels.ts's maskVec) the kernel applies to dy as it reads it.
 */
export interface GradMask extends EpilogueParams {
  readonly y: CpuView;
}

/** The GradMask of an *Act primitive: its forward output `y` and its epilogue parameters. */
export const gradMask = (y: CpuView, p: EpilogueParams): GradMask => ({
  y,
  activation: p.activation,
  negativeSlope: p.negativeSlope,
});

/** A kernel's mask arguments (pointer to y at `at` bytes, activation code, slope); none: no mask. */
export const maskArgs = (m: GradMask | null | undefined, py: number | undefined, at: number): number[] =>
  m ? [py! + at, ...epilogueArgs(m)] : [0, 0, 0];

/** kernels.ts's biasActPlanes call: the epilogue on planes [p0, p1) of NCHW `y` (plane = sample · channels + channel). */
export const biasActPlanes = (
  y: number,
  p0: number,
  p1: number,
  channels: number,
  hw: number,
  bias: number,
  e: EpilogueParams,
): Call => ({ fn: 'biasActPlanes', args: [y, p0, p1, channels, hw, bias, ...epilogueArgs(e)] });

export const align64 = (n: number): number => Math.ceil(n / 64) * 64;
/** The view's elements, dense (a subarray when already dense, else a copy). */
export const dense = (v: CpuView): Float32Array => denseData(v) as Float32Array;
/** Bytes of `floats` float32 values. */
export const bytes = (floats: number): number => floats * 4;

type Data = Float32Array | Uint8Array;

/**
 * One region of a kernel call:
 *   - `{ in: data }`: read by the kernel (a dense span: `dense(view)`, a plan.ts operand's data);
 *   - `{ out: array, length }`: the kernel writes `length` elements there (an output storage);
 *   - a number: scratch bytes, uninitialised.
 */
export type Region = { readonly in: Data } | { readonly out: Data; readonly length: number } | number;

/** Where stage() placed a call's regions, and how to finish it. */
export interface Staged {
  /** Byte offsets of the regions, in order. */
  readonly ptrs: number[];
  /** Copies the outputs that were staged back to their arrays (nothing for resident ones). */
  finish(): void;
}

/**
 * Places a kernel call's regions in linear memory. An array that lives in the runtime's
 * memory (a resident tensor's storage, or a span of it) is passed by its byte offset, with no
 * copy; every other one (host storage) gets a scratch region, inputs copied in now and outputs
 * copied back by finish(). Scratch regions always come from the runtime's scratch block.
 * Throws an ArenaFullError when scratch does not fit (the kernel then falls back to cpu).
 * @example const io = stage(rt, [{ in: dense(x) }, { out: out.storage, length: n }, bytes(n)]); …; io.finish();
 */
export function stage(rt: WasmRuntime, regions: readonly Region[]): Staged {
  const ptrs = new Array<number>(regions.length);
  const scratch: number[] = [];
  const scratchOf: number[] = [];
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i]!;
    if (typeof r === 'number') {
      scratch.push(r);
      scratchOf.push(i);
      continue;
    }
    const a = 'in' in r ? r.in : r.out;
    const p = rt.pointerOf(a);
    if (p >= 0) {
      ptrs[i] = p;
      continue;
    }
    scratch.push('out' in r ? r.length * a.BYTES_PER_ELEMENT : a.byteLength);
    scratchOf.push(i);
  }
  let copyBack: number[] | null = null;
  if (scratch.length > 0) {
    const placed = rt.reserve(scratch);
    for (let j = 0; j < placed.length; j++) {
      const i = scratchOf[j]!;
      ptrs[i] = placed[j]!;
      const r = regions[i]!;
      if (typeof r === 'number') continue;
      if ('in' in r) rt.put(placed[j]!, r.in);
      else (copyBack ??= []).push(i);
    }
  }
  return {
    ptrs,
    finish: () => {
      if (!copyBack) return;
      for (const i of copyBack) {
        const r = regions[i] as { readonly out: Data; readonly length: number };
        rt.get(ptrs[i]!, r.out, r.length);
      }
    },
  };
}
