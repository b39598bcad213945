/**
 * Memory-bound float32 ops: binary ops and comparisons on dense or broadcast operands
 * (folded into at most three dimensions by plan.ts's broadcast3), unary ops, bool→float32
 * casts. The op codes come from kernels-abi.ts, generated from the AssemblyScript source.
 */
import type { BinaryOpName, CompareOp, UnaryOpName } from '../../../core/ops.js';
import { sizeOf } from '../../../core/shape.js';
import { type CpuView, denseData } from '../../cpu/storage.js';
import { BINARY_CODES, COMPARE_CODES, UNARY_CODES } from '../kernels-abi.js';
import { type Operand3, broadcast3, splitRange } from '../plan.js';
import type { Program } from '../pool.js';
import type { WasmRuntime } from '../runtime.js';
import { type FastKernel, bytes, dense, stage } from './common.js';

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

/**
 * Elements from which a memory-bound op splits across the lanes: below this, waking the
 * workers (tens of microseconds) costs about what the op does (a few floats per nanosecond).
 */
export const PARALLEL_ELEMENTS = 1 << 18;

/** Lanes for an elementwise op on `n` elements. */
export const elementLanes = (rt: WasmRuntime, n: number): number => (n >= PARALLEL_ELEMENTS ? rt.lanes : 1);

/**
 * A binary()/compare() call over dims [d0, d1, d2] as per-lane programs: split along the
 * outermost dimension the kernel writes contiguously per range (d0; d1 when d0 is 1; d2 when
 * both are 1). Each output element is computed alone, so any split gives the same bits.
 */
function broadcastPrograms(
  kernel: 'binary' | 'compare',
  code: number,
  dims: readonly [number, number, number],
  a: { ptr: number; strides: readonly [number, number, number] },
  b: { ptr: number; strides: readonly [number, number, number] },
  out: number,
  outElementBytes: number,
  lanes: number,
): Program[] {
  const axis = dims[0] > 1 ? 0 : dims[1] > 1 ? 1 : 2;
  const inner = dims.slice(axis + 1).reduce((x, y) => x * y, 1);
  return splitRange(dims[axis]!, lanes).map(([s, e]) => {
    const d = [...dims];
    d[axis] = e - s;
    const pa = a.ptr + bytes(s * a.strides[axis]!);
    const pb = b.ptr + bytes(s * b.strides[axis]!);
    const po = out + s * inner * outElementBytes;
    return [{ fn: kernel, args: [code, ...d, pa, ...a.strides, pb, ...b.strides, po] }];
  });
}

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
  const lanes = elementLanes(rt, n);
  if (lanes > 1) {
    const A = { ptr: pa!, strides: a.strides };
    const B = { ptr: pb!, strides: b.strides };
    rt.run(broadcastPrograms(kernel, code, layout.dims, A, B, po!, kernel === 'binary' ? 4 : 1, lanes));
  } else {
    rt.exports[kernel](code, ...layout.dims, pa!, ...a.strides, pb!, ...b.strides, po!);
  }
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
    const lanes = elementLanes(rt, n);
    if (lanes > 1) {
      // Split in multiples of 4 elements so every lane but the last runs whole vectors.
      rt.run(
        splitRange(n, lanes, 4).map(([s, e]) => [{ fn: 'unary', args: [code, px! + bytes(s), po! + bytes(s), e - s] }]),
      );
    } else {
      rt.exports.unary(code, px!, po!, n);
    }
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
