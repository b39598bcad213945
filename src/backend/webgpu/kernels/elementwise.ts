/**
 * Elementwise kernels (unary, binary, compare, where, cast, contiguous, and the strided copies
 * behind concat): one invocation per output element. Operands are arbitrary views (broadcast
 * operands have stride 0); after mergeDims, a dense operand is addressed as offset + i and
 * the others through the generic shape/stride walk.
 */
import type { DType } from '../../../core/dtype.js';
import type { BinaryOpName, CompareOp, EpilogueParams, UnaryOpName } from '../../../core/ops.js';
import { contiguousStrides } from '../../../core/shape.js';
import type { GPUBufferLike } from '../gpu-types.js';
import type { Runtime } from '../runtime.js';
import {
  type GpuView,
  LINEAR_ARGS,
  LINEAR_INDEX,
  checkRank,
  grid,
  isDense,
  mergeDims,
  prelude,
  sizeOfShape,
  wgslType,
} from './common.js';

/** Words per operand in the parameter block: offset, then MAX_RANK strides. */
const OPERAND_WORDS = 9;

/** An operand of mapKernel: a view plus where it sits in the buffers. */
interface Operand {
  buffer: GPUBufferLike;
  dtype: DType;
  offset: number;
  strides: readonly number[];
}

/**
 * Runs `expr` (over x0, x1, x2 read from the inputs) for every element of `shape`, writing
 * the last operand. Parameters: [n, rank, shape×8, (offset, strides×8) per operand].
 */
export function mapKernel(
  rt: Runtime,
  op: string,
  shape: readonly number[],
  operands: readonly Operand[],
  expr: string,
  helpers = '',
): void {
  const n = sizeOfShape(shape);
  if (n === 0) return;
  const merged = mergeDims(
    shape,
    operands.map((o) => o.strides),
  );
  checkRank(op, merged.shape, shape);
  const k = operands.length;
  const dense = merged.strides.map((s) => isDense(merged.shape, s));
  const decls = operands
    .map((o, j) => {
      const access = j === k - 1 ? 'read_write' : 'read';
      return `@group(0) @binding(${j}) var<storage, ${access}> b${j}: array<${wgslType(o.dtype)}>;`;
    })
    .join('\n');
  const index = (j: number): string =>
    dense[j] ? `u32(Pi(${10 + j * OPERAND_WORDS}u) + i32(i))` : `u32(off(i, ${10 + j * OPERAND_WORDS}u))`;
  const reads = operands
    .slice(0, k - 1)
    .map((_, j) => `  let x${j} = b${j}[${index(j)}];`)
    .join('\n');
  const code = `${prelude(k)}
${decls}
${helpers}
fn off(i: u32, b: u32) -> i32 {
  var o = Pi(b);
  var rem = i;
  for (var d = i32(P(1u)) - 1; d >= 0; d--) {
    let s = P(2u + u32(d));
    o += i32(rem % s) * Pi(b + 1u + u32(d));
    rem = rem / s;
  }
  return o;
}
@compute @workgroup_size(64)
fn main(${LINEAR_ARGS}) {
  ${LINEAR_INDEX}
  if (i >= P(0u)) { return; }
${reads}
  b${k - 1}[${index(k - 1)}] = ${expr};
}`;
  const params = new Array<number>(10 + OPERAND_WORDS * k).fill(0);
  params[0] = n;
  params[1] = merged.shape.length;
  merged.shape.forEach((d, i) => (params[2 + i] = d));
  operands.forEach((o, j) => {
    const b = 10 + j * OPERAND_WORDS;
    params[b] = o.offset >>> 0;
    merged.strides[j]!.forEach((s, i) => (params[b + 1 + i] = s >>> 0));
  });
  const [gx, gy] = grid(n);
  rt.dispatch(
    code,
    operands.map((o) => o.buffer),
    params,
    [gx, gy],
  );
}

/** Inputs as operands (uploaded if needed) plus the dense output. */
function operandsFor(rt: Runtime, op: string, inputs: readonly GpuView[], out: GpuView): Operand[] {
  const ins = inputs.map((v) => ({
    buffer: rt.input(v.storage, op),
    dtype: v.dtype,
    offset: v.offset,
    strides: v.strides,
  }));
  return [...ins, { buffer: rt.output(out.storage, op), dtype: out.dtype, offset: 0, strides: out.strides }];
}

const F32_HELPERS = `
fn sigm(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
// tanh through exp(-2|x|): the builtin may overflow to NaN for large |x| on some drivers.
fn tanhs(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}
// Math.pow semantics: WGSL's pow is undefined for negative bases and for 0^0.
fn powf(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isnanf(a) || isnanf(b)) { return nanf(); }
  let m = pow(abs(a), b);
  if (a >= 0.0) { return m; }
  if (floor(b) != b) { return nanf(); }
  let odd = floor(b * 0.5) != b * 0.5;
  return select(m, -m, odd);
}
// Cast to i32 truncates toward zero; NaN becomes 0 as in an Int32Array.
fn f2i(x: f32) -> i32 { return select(i32(trunc(x)), 0, isnanf(x)); }
`;

function unaryExpr(op: UnaryOpName, t: string): string {
  switch (op) {
    case 'neg':
      return '-x0';
    case 'exp':
      return 'exp(x0)';
    case 'log':
      return 'log(x0)';
    case 'sqrt':
      return 'sqrt(x0)';
    case 'abs':
      return 'abs(x0)';
    case 'sign':
      return `select(select(x0, ${t}(-1), x0 < ${t}(0)), ${t}(1), x0 > ${t}(0))`;
    case 'relu':
      return `select(x0, ${t}(0), x0 <= ${t}(0))`;
    case 'sigmoid':
      return 'sigm(x0)';
    case 'tanh':
      return 'tanhs(x0)';
  }
}

function binaryExpr(op: BinaryOpName, t: string): string {
  const nanA = t === 'f32' ? ' || isnanf(x0)' : '';
  switch (op) {
    case 'add':
      return 'x0 + x1';
    case 'sub':
      return 'x0 - x1';
    case 'mul':
      return 'x0 * x1';
    // Integer division truncates toward zero; by zero it gives 0 (the cpu's ±Infinity stored in an Int32Array).
    case 'div':
      return t === 'i32' ? 'select(x0 / x1, 0, x1 == 0)' : 'x0 / x1';
    case 'maximum':
      return `select(x1, x0, x0 > x1${nanA})`;
    case 'minimum':
      return `select(x1, x0, x0 < x1${nanA})`;
    case 'pow':
      return 'powf(x0, x1)';
    case 'reluBackward':
      return `select(x0, ${t}(0), x1 <= ${t}(0))`;
  }
}

const CMP: Record<CompareOp, string> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

export function unaryGpu(op: UnaryOpName) {
  return (rt: Runtime, inputs: readonly GpuView[], out: GpuView): void => {
    const t = wgslType(out.dtype);
    mapKernel(rt, op, out.shape, operandsFor(rt, op, inputs, out), unaryExpr(op, t), F32_HELPERS);
  };
}

export function binaryGpu(op: BinaryOpName) {
  return (rt: Runtime, inputs: readonly GpuView[], out: GpuView): void => {
    const t = wgslType(out.dtype);
    mapKernel(rt, op, out.shape, operandsFor(rt, op, inputs, out), binaryExpr(op, t), F32_HELPERS);
  };
}

export function compareGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: { op: CompareOp }): void {
  mapKernel(rt, 'compare', out.shape, operandsFor(rt, 'compare', inputs, out), `select(0u, 1u, x0 ${CMP[p.op]} x1)`);
}

export function whereGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView): void {
  mapKernel(rt, 'where', out.shape, operandsFor(rt, 'where', inputs, out), 'select(x2, x1, x0 != 0u)');
}

function castExpr(from: DType, to: DType): string {
  if (from === to) return 'x0';
  const f = wgslType(from);
  if (to === 'bool') return `select(0u, 1u, x0 != ${f}(0))`;
  if (to === 'int32') return f === 'f32' ? 'f2i(x0)' : 'i32(x0)';
  return 'f32(x0)';
}

export function castGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView): void {
  const x = inputs[0]!;
  mapKernel(rt, 'cast', out.shape, operandsFor(rt, 'cast', inputs, out), castExpr(x.dtype, out.dtype), F32_HELPERS);
}

export function contiguousGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView): void {
  mapKernel(rt, 'contiguous', out.shape, operandsFor(rt, 'contiguous', inputs, out), 'x0');
}

/** A float32 value as an exact WGSL expression (its bits), so the shader multiplies by the same number as the cpu. */
const f32Literal = (v: number): string => {
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0]!;
  return `bitcast<f32>(${bits}u)`;
};

/**
 * The backward of a fused epilogue, read off its output y: a scratch view of mask(dy, y)
 * (relu: y ≤ 0 ? 0 : dy; leakyRelu: y > 0 ? dy : dy·slope), or dy itself for no activation.
 * The *Act primitives on webgpu run their plain kernel on it.
 */
export function maskedGradGpu(rt: Runtime, op: string, dy: GpuView, y: GpuView, p: EpilogueParams): GpuView {
  if (p.activation === 'none') return dy;
  const out: GpuView = {
    storage: rt.scratch('float32', sizeOfShape(dy.shape), op),
    dtype: 'float32',
    shape: dy.shape,
    strides: contiguousStrides(dy.shape),
    offset: 0,
  };
  const expr =
    p.activation === 'relu'
      ? 'select(x0, 0.0, x1 <= 0.0)'
      : `select(x0 * ${f32Literal(p.negativeSlope)}, x0, x1 > 0.0)`;
  mapKernel(rt, op, dy.shape, operandsFor(rt, op, [dy, y], out), expr);
  return out;
}
