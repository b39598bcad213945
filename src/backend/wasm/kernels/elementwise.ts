/**
 * Memory-bound float32 ops: binary ops and comparisons on dense or broadcast operands
 * (folded into at most three dimensions by plan.ts's broadcast3), unary ops, bool→float32
 * casts. The op codes come from kernels-abi.ts, generated from the AssemblyScript source.
 */
import type { BinaryOpName, CompareOp, UnaryOpName } from '../../../core/ops.js';
import { sizeOf } from '../../../core/shape.js';
import { type CpuView, denseData } from '../../cpu/storage.js';
import { BINARY_CODES, COMPARE_CODES, UNARY_CODES } from '../kernels-abi.js';
import { type Operand3, broadcast3 } from '../plan.js';
import type { WasmRuntime } from '../runtime.js';
import { type FastKernel, dense, stage } from './common.js';

/** The binary ops kernels.ts has codes for (BINARY_*): each must be a binary op of the op table. */
export type WasmBinaryOp = keyof typeof BINARY_CODES & BinaryOpName;
/** The unary ops kernels.ts has codes for (UNARY_*): each must be a unary op of the op table. */
export type WasmUnaryOp = keyof typeof UNARY_CODES & UnaryOpName;
// A code added in kernels.ts under a name that is no op of the table fails to compile here.
const binaryNamesAreOps: readonly BinaryOpName[] = Object.keys(BINARY_CODES) as (keyof typeof BINARY_CODES)[];
const unaryNamesAreOps: readonly UnaryOpName[] = Object.keys(UNARY_CODES) as (keyof typeof UNARY_CODES)[];
const compareNamesAreOps: Record<CompareOp, number> = COMPARE_CODES;
/** The binary ops with a wasm kernel, in code order (the backend registers each). */
export const WASM_BINARY_OPS = binaryNamesAreOps as readonly WasmBinaryOp[];
/** The unary ops with a wasm kernel, in code order. */
export const WASM_UNARY_OPS = unaryNamesAreOps as readonly WasmUnaryOp[];

/** Runs the wasm binary() or compare() kernel on two broadcast float32 operands. */
function broadcastOp(
  rt: WasmRuntime,
  kernel: 'binary' | 'compare',
  code: number,
  inputs: readonly CpuView[],
  out: CpuView,
): false | void {
  const layout = broadcast3(out.shape, inputs);
  if (!layout) return false;
  const [a, b] = layout.operands as [Operand3, Operand3];
  const n = sizeOf(out.shape);
  const io = stage(rt, [
    { in: a.data as Float32Array },
    { in: b.data as Float32Array },
    { out: out.storage as Float32Array | Uint8Array, length: n },
  ]);
  const [pa, pb, po] = io.ptrs;
  rt.exports[kernel](code, ...layout.dims, pa!, ...a.strides, pb!, ...b.strides, po!);
  io.finish();
}

export function binaryFast(op: WasmBinaryOp): FastKernel<BinaryOpName> {
  const code = BINARY_CODES[op];
  return (rt, inputs, out) => broadcastOp(rt, 'binary', code, inputs, out);
}

export const compareFast: FastKernel<'compare'> = (rt, inputs, out, p) =>
  broadcastOp(rt, 'compare', compareNamesAreOps[p.op], inputs, out);

export function unaryFast(op: WasmUnaryOp): FastKernel<UnaryOpName> {
  const code = UNARY_CODES[op];
  return (rt, inputs, out) => {
    const n = sizeOf(out.shape);
    const io = stage(rt, [{ in: dense(inputs[0]!) }, { out: out.storage as Float32Array, length: n }]);
    const [px, po] = io.ptrs;
    rt.exports.unary(code, px!, po!, n);
    io.finish();
  };
}

/** bool → float32 (the mask in relu's gradient); other casts stay on cpu. */
export const castFast: FastKernel<'cast'> = (rt, inputs, out) => {
  const n = sizeOf(out.shape);
  const io = stage(rt, [{ in: denseData(inputs[0]!) as Uint8Array }, { out: out.storage as Float32Array, length: n }]);
  const [px, po] = io.ptrs;
  rt.exports.boolToF32(px!, po!, n);
  io.finish();
};
