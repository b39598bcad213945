import type { TypedArray } from '../../core/dtype.js';
import type { BinaryOpName, CompareOp, OpParams, UnaryOpName } from '../../core/ops.js';
import { type CpuView, forEachRow, isContiguous } from './storage.js';

type Fn1 = (x: number) => number;
type Fn2 = (a: number, b: number) => number;

const unaryFns: Record<UnaryOpName, Fn1> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  relu: (x) => (x <= 0 ? 0 : x), // NaN passes through, as in PyTorch
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: Math.tanh,
};

const binaryFns: Record<BinaryOpName, Fn2> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => (a > b || a !== a ? a : b),
  minimum: (a, b) => (a < b || a !== a ? a : b),
  pow: Math.pow,
  // Selects, so an infinite or NaN gradient where the input is ≤ 0 still gives 0; a NaN input passes g, as in PyTorch.
  reluBackward: (g, x) => (x <= 0 ? 0 : g),
};

const compareFns: Record<CompareOp, Fn2> = {
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
};

/** Integer division truncates toward zero, as in C and PyTorch's trunc mode. */
function intFix(op: BinaryOpName, out: TypedArray, f: Fn2): Fn2 {
  return out instanceof Int32Array && op === 'div' ? (a, b) => Math.trunc(f(a, b)) : f;
}

function map1(x: CpuView, out: CpuView, f: Fn1): void {
  const xs = x.storage;
  const o = out.storage;
  if (isContiguous(x)) {
    const off = x.offset;
    for (let i = 0; i < o.length; i++) o[i] = f(xs[off + i]!);
    return;
  }
  forEachRow(out.shape, [x.strides, out.strides], [x.offset, 0], (offs, n, inner) => {
    let a = offs[0]!;
    let b = offs[1]!;
    const sa = inner[0]!;
    for (let i = 0; i < n; i++, a += sa, b++) o[b] = f(xs[a]!);
  });
}

function map2(a: CpuView, b: CpuView, out: CpuView, f: Fn2): void {
  const as = a.storage;
  const bs = b.storage;
  const o = out.storage;
  forEachRow(out.shape, [a.strides, b.strides, out.strides], [a.offset, b.offset, 0], (offs, n, inner) => {
    let i = offs[0]!;
    let j = offs[1]!;
    let k = offs[2]!;
    const si = inner[0]!;
    const sj = inner[1]!;
    for (let t = 0; t < n; t++, i += si, j += sj, k++) o[k] = f(as[i]!, bs[j]!);
  });
}

/**
 * The arithmetic ops dominate training (bias adds, gradients, parameter
 * updates), so they get a loop per op over each row instead of a call per
 * element; broadcast operands arrive as stride-0 rows.
 */
function fastBinary(op: BinaryOpName, a: CpuView, b: CpuView, out: CpuView): boolean {
  if (op !== 'add' && op !== 'sub' && op !== 'mul') return false;
  const x = a.storage;
  const y = b.storage;
  const o = out.storage;
  forEachRow(out.shape, [a.strides, b.strides, out.strides], [a.offset, b.offset, 0], (offs, n, inner) => {
    let i = offs[0]!;
    let j = offs[1]!;
    let k = offs[2]!;
    const si = inner[0]!;
    const sj = inner[1]!;
    if (op === 'add') for (let t = 0; t < n; t++, i += si, j += sj) o[k++] = x[i]! + y[j]!;
    else if (op === 'sub') for (let t = 0; t < n; t++, i += si, j += sj) o[k++] = x[i]! - y[j]!;
    else for (let t = 0; t < n; t++, i += si, j += sj) o[k++] = x[i]! * y[j]!;
  });
  return true;
}

export function unaryKernel(op: UnaryOpName) {
  const f = unaryFns[op];
  return (inputs: readonly CpuView[], out: CpuView): void => {
    const x = inputs[0]!;
    if (op === 'relu' && isContiguous(x)) {
      const xs = x.storage;
      const o = out.storage;
      const off = x.offset;
      for (let i = 0; i < o.length; i++) {
        const v = xs[off + i]!;
        o[i] = v <= 0 ? 0 : v;
      }
      return;
    }
    map1(x, out, f);
  };
}

export function binaryKernel(op: BinaryOpName) {
  const f = binaryFns[op];
  return (inputs: readonly CpuView[], out: CpuView): void => {
    const [a, b] = inputs as [CpuView, CpuView];
    if (!(out.storage instanceof Int32Array) && fastBinary(op, a, b, out)) return;
    map2(a, b, out, intFix(op, out.storage, f));
  };
}

export function compareKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['compare']): void {
  map2(inputs[0]!, inputs[1]!, out, compareFns[p.op]);
}

export function whereKernel(inputs: readonly CpuView[], out: CpuView): void {
  const [c, a, b] = inputs as [CpuView, CpuView, CpuView];
  const cs = c.storage;
  const as = a.storage;
  const bs = b.storage;
  const o = out.storage;
  forEachRow(
    out.shape,
    [c.strides, a.strides, b.strides, out.strides],
    [c.offset, a.offset, b.offset, 0],
    (offs, n, inner) => {
      let ci = offs[0]!;
      let ai = offs[1]!;
      let bi = offs[2]!;
      let k = offs[3]!;
      for (let t = 0; t < n; t++, ci += inner[0]!, ai += inner[1]!, bi += inner[2]!, k++) {
        o[k] = cs[ci] ? as[ai]! : bs[bi]!;
      }
    },
  );
}

export function castKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['cast']): void {
  const f: Fn1 = p.dtype === 'bool' ? (x) => +(x !== 0) : p.dtype === 'int32' ? Math.trunc : (x) => x;
  map1(inputs[0]!, out, f);
}
