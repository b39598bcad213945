/**
 * ONNX import: a file becomes an OnnxModel, a trainable tsgrad Module that
 * runs the graph's nodes in order with tsgrad ops, so it works on every
 * backend and autograd trains it. Float initializers become parameters named
 * by the initializer (PyTorch exports name them by state-dict key); the
 * running statistics of BatchNormalization become buffers; int64 tensors and
 * the small shape subgraphs exporters emit (Shape, Gather, Unsqueeze, Concat,
 * Cast, Mul/Div on int64) are computed on the host.
 */
import { ArgumentError, DataFileError, ShapeError, TsgradError, UnsupportedError } from '../core/errors.js';
import type { TypedArray } from '../core/dtype.js';
import { readFileBytes } from '../io/read-file.js';
import { batchNorm, convTranspose2d, dropout, instanceNorm, localResponseNorm } from '../nn/functional.js';
import { Module, Parameter } from '../nn/module.js';
import { fromArray, full, ones } from '../tensor/creation.js';
import { run } from '../tensor/dispatch.js';
import * as ops from '../tensor/ops.js';
import { Tensor } from '../tensor/tensor.js';
import {
  ONNX_ATTR,
  ONNX_DTYPE,
  type OnnxAttributeProto,
  type OnnxGraphProto,
  type OnnxModelProto,
  type OnnxTensorProto,
  decodeModel,
  int64ToNumber,
} from './onnx-proto.js';

/** A value computed on the host: int64 shapes and indices, small constants. */
export interface HostValue {
  readonly host: true;
  readonly shape: number[];
  readonly data: number[];
  /** 'int' for the integer and bool types, 'float' for float constants. */
  readonly kind: 'int' | 'float';
}

type Value = Tensor | HostValue;

type AttrValue = number | number[] | string | HostValue | Tensor;

/** A node, decoded once. */
export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

function isHost(v: Value | undefined): v is HostValue {
  return v !== undefined && !(v instanceof Tensor);
}

function host(shape: number[], data: number[], kind: 'int' | 'float' = 'int'): HostValue {
  return { host: true, shape, data, kind };
}

const MAX_ELEMENTS = 2 ** 31 - 1;

// ------------------------------------------------------------------ tensors from the file

function dimsOf(t: OnnxTensorProto, file: string): number[] {
  const dims = (t.dims ?? []).map(int64ToNumber);
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new DataFileError(file, `tensor '${t.name}' has an invalid dimension ${d}`);
    n *= d;
  }
  if (n > MAX_ELEMENTS)
    throw new DataFileError(file, `tensor '${t.name}' has ${n} elements, more than tsgrad can hold`);
  return dims;
}

/** Decodes a TensorProto into float32 values or host integers, checking every length against the dims. */
function decodeTensor(t: OnnxTensorProto, file: string): { dims: number[]; floats?: Float32Array; ints?: number[] } {
  const dims = dimsOf(t, file);
  const n = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1)
    throw new DataFileError(file, `tensor '${t.name}' keeps its data in an external file, which tsgrad does not read`);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const need = (bytesPer: number): DataView => {
    if (!raw) throw new DataFileError(file, `tensor '${t.name}' has no data`);
    if (raw.length !== n * bytesPer) {
      throw new DataFileError(
        file,
        `tensor '${t.name}' of shape [${dims.join(', ')}] needs ${n * bytesPer} bytes of data, has ${raw.length}`,
      );
    }
    return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  };
  const fromList = <T>(list: T[] | undefined, conv: (v: T) => number): number[] => {
    const l = list ?? [];
    if (l.length !== n) {
      throw new DataFileError(
        file,
        `tensor '${t.name}' of shape [${dims.join(', ')}] has ${l.length} values, needs ${n}`,
      );
    }
    return l.map(conv);
  };
  switch (t.dataType) {
    case ONNX_DTYPE.FLOAT: {
      if (raw || (n === 0 && !t.floatData?.length)) {
        if (n === 0) return { dims, floats: new Float32Array(0) };
        const dv = need(4);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
        return { dims, floats: out };
      }
      return { dims, floats: Float32Array.from(fromList(t.floatData, Number)) };
    }
    case ONNX_DTYPE.DOUBLE: {
      if (raw) {
        const dv = need(8);
        return { dims, floats: Float32Array.from({ length: n }, (_, i) => dv.getFloat64(i * 8, true)) };
      }
      return { dims, floats: Float32Array.from(fromList(t.doubleData, Number)) };
    }
    case ONNX_DTYPE.FLOAT16: {
      if (raw) {
        const dv = need(2);
        return { dims, floats: Float32Array.from({ length: n }, (_, i) => halfToFloat(dv.getUint16(i * 2, true))) };
      }
      return { dims, floats: Float32Array.from(fromList(t.int32Data, halfToFloat)) };
    }
    case ONNX_DTYPE.INT64: {
      if (raw) {
        const dv = need(8);
        return { dims, ints: Array.from({ length: n }, (_, i) => Number(dv.getBigInt64(i * 8, true))) };
      }
      return { dims, ints: fromList(t.int64Data, int64ToNumber) };
    }
    case ONNX_DTYPE.INT32: {
      if (raw) {
        const dv = need(4);
        return { dims, ints: Array.from({ length: n }, (_, i) => dv.getInt32(i * 4, true)) };
      }
      return { dims, ints: fromList(t.int32Data, Number) };
    }
    case ONNX_DTYPE.INT8:
    case ONNX_DTYPE.UINT8:
    case ONNX_DTYPE.BOOL: {
      if (raw) {
        const dv = need(1);
        const signed = t.dataType === ONNX_DTYPE.INT8;
        return { dims, ints: Array.from({ length: n }, (_, i) => (signed ? dv.getInt8(i) : dv.getUint8(i))) };
      }
      return { dims, ints: fromList(t.int32Data, Number) };
    }
    default:
      throw new DataFileError(file, `tensor '${t.name}' has data type ${t.dataType}, which tsgrad does not read`);
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function decodeAttr(a: OnnxAttributeProto, file: string, node: string): AttrValue {
  switch (a.type) {
    case ONNX_ATTR.FLOAT:
      return a.f ?? 0;
    case ONNX_ATTR.INT:
      return int64ToNumber(a.i);
    case ONNX_ATTR.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case ONNX_ATTR.FLOATS:
      return [...(a.floats ?? [])];
    case ONNX_ATTR.INTS:
      return (a.ints ?? []).map(int64ToNumber);
    case ONNX_ATTR.TENSOR: {
      if (!a.t) throw new DataFileError(file, `node '${node}' attribute '${a.name}' has no tensor`);
      return hostFromProto(a.t, file);
    }
    default:
      // Attribute types CNN operators do not use (graphs, strings lists): kept as their type code.
      return `unsupported attribute type ${a.type}`;
  }
}

function hostFromProto(t: OnnxTensorProto, file: string): HostValue {
  const d = decodeTensor(t, file);
  return d.floats ? host(d.dims, Array.from(d.floats), 'float') : host(d.dims, d.ints!, 'int');
}

// ------------------------------------------------------------------ the operator table

type Widen<T> = T extends number ? number : T extends string ? string : T;

interface OpContext {
  readonly node: OnnxNode;
  readonly training: boolean;
  readonly model: OnnxModel;
  attr<T extends AttrValue>(name: string, dflt: T): Widen<T>;
  has(name: string): boolean;
}

type OpImpl = (inputs: (Value | undefined)[], ctx: OpContext) => (Value | undefined)[];

function tensorOf(v: Value | undefined, like?: Tensor): Tensor {
  if (v === undefined) throw new ArgumentError('a required input is missing');
  if (v instanceof Tensor) return v;
  const data =
    v.kind === 'float' || !like || like.dtype !== 'int32' ? Float32Array.from(v.data) : Int32Array.from(v.data);
  return fromArray(data as TypedArray, v.shape, like ? { backend: like.backend } : {});
}

/** Host integers of a value (shape inputs, axes, indices); a small tensor is read back. */
function intsOf(v: Value | undefined, what: string): number[] {
  if (v === undefined) throw new ArgumentError(`${what} is missing`);
  if (isHost(v)) return v.data.map((x) => Math.trunc(x));
  return Array.from(v.dataSync(), (x) => Math.trunc(x));
}

function floatsOf(v: Value | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  return isHost(v) ? v.data : Array.from(v.dataSync());
}

function normAxis(a: number, rank: number, op: string): number {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= rank) throw new ShapeError(`${op}: axis ${a} is out of range for rank ${rank}`);
  return r;
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** NumPy-style broadcasting of two host arrays. */
function hostBinary(a: HostValue, b: HostValue, f: (x: number, y: number) => number): HostValue {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => {
    const e = pb[i]!;
    if (d !== e && d !== 1 && e !== 1)
      throw new ShapeError(`cannot broadcast [${a.shape.join(', ')}] with [${b.shape.join(', ')}]`);
    return Math.max(d, e);
  });
  const n = shape.reduce((x, y) => x * y, 1);
  const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
  const sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
  const so = strides(shape);
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let ia = 0;
    let ib = 0;
    let r = i;
    for (let k = 0; k < rank; k++) {
      const q = Math.floor(r / so[k]!);
      r -= q * so[k]!;
      ia += q * sa[k]!;
      ib += q * sb[k]!;
    }
    data[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return host(shape, data, a.kind === 'float' || b.kind === 'float' ? 'float' : 'int');
}

function binaryOp(
  tensorOp: (a: Tensor, b: Tensor) => Tensor,
  hostOp: (x: number, y: number, int: boolean) => number,
): OpImpl {
  return ([a, b]) => {
    if (isHost(a) && isHost(b)) {
      const int = a.kind === 'int' && b.kind === 'int';
      return [hostBinary(a, b, (x, y) => hostOp(x, y, int))];
    }
    const ta = a instanceof Tensor ? a : undefined;
    const tb = b instanceof Tensor ? b : undefined;
    return [tensorOp(tensorOf(a, tb), tensorOf(b, ta))];
  };
}

function compareOp(op: 'eq' | 'lt' | 'le' | 'gt' | 'ge'): OpImpl {
  return ([a, b]) => {
    const like = a instanceof Tensor ? a : b instanceof Tensor ? b : undefined;
    let x = tensorOf(a, like);
    let y = tensorOf(b, like);
    if (x.dtype !== y.dtype) [x, y] = [ops.cast(x, 'float32'), ops.cast(y, 'float32')];
    return [ops.compare(op, x, y)];
  };
}

const unaryOp =
  (f: (x: Tensor, ctx: OpContext) => Tensor): OpImpl =>
  ([x], ctx) => [f(tensorOf(x), ctx)];

/** Explicit padding before a window op: [top, left, bottom, right] in ONNX order, resolved against auto_pad. */
function windowPads(
  ctx: OpContext,
  inH: number,
  inW: number,
  kernel: number[],
  strides_: number[],
  dil: number[],
): number[] {
  const autoPad = ctx.attr('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const sizes = [inH, inW];
    const before: number[] = [];
    const after: number[] = [];
    for (let i = 0; i < 2; i++) {
      const out = Math.ceil(sizes[i]! / strides_[i]!);
      const total = Math.max(0, (out - 1) * strides_[i]! + (kernel[i]! - 1) * dil[i]! + 1 - sizes[i]!);
      const small = Math.floor(total / 2);
      before.push(autoPad === 'SAME_UPPER' ? small : total - small);
      after.push(autoPad === 'SAME_UPPER' ? total - small : small);
    }
    return [before[0]!, before[1]!, after[0]!, after[1]!];
  }
  const pads = ctx.attr('pads', [0, 0, 0, 0]);
  if (pads.length !== 4)
    throw new UnsupportedError(`${ctx.node.opType}: only 2-D windows (4 pads) are supported, got ${pads.length} pads`);
  return pads;
}

function pair2(v: number[], name: string, op: string): [number, number] {
  if (v.length !== 2) throw new UnsupportedError(`${op}: only 2-D ${name} are supported, got [${v.join(', ')}]`);
  return [v[0]!, v[1]!];
}

function conv(inputs: (Value | undefined)[], ctx: OpContext): Value[] {
  const x = tensorOf(inputs[0]);
  const w = tensorOf(inputs[1], x);
  if (x.rank !== 4 || w.rank !== 4)
    throw new UnsupportedError(`Conv: only 2-D convolution is supported, got input of rank ${x.rank}`);
  const kernel = pair2(ctx.attr('kernel_shape', [w.shape[2]!, w.shape[3]!]), 'kernels', 'Conv');
  const stride = pair2(ctx.attr('strides', [1, 1]), 'strides', 'Conv');
  const dilation = pair2(ctx.attr('dilations', [1, 1]), 'dilations', 'Conv');
  const [t, l, b, r] = windowPads(ctx, x.shape[2]!, x.shape[3]!, kernel, stride, dilation) as [
    number,
    number,
    number,
    number,
  ];
  let y = run('conv2d', [x, w], { stride, padding: [t, b, l, r], dilation, groups: ctx.attr('group', 1) });
  if (inputs[2] !== undefined) y = ops.add(y, ops.reshape(tensorOf(inputs[2], x), [1, -1, 1, 1]));
  return [y];
}

function convTranspose(inputs: (Value | undefined)[], ctx: OpContext): Value[] {
  const x = tensorOf(inputs[0]);
  const w = tensorOf(inputs[1], x);
  if (x.rank !== 4) throw new UnsupportedError(`ConvTranspose: only 2-D is supported, got input of rank ${x.rank}`);
  const stride = pair2(ctx.attr('strides', [1, 1]), 'strides', 'ConvTranspose');
  const dilation = pair2(ctx.attr('dilations', [1, 1]), 'dilations', 'ConvTranspose');
  const outputPadding = pair2(ctx.attr('output_padding', [0, 0]), 'output paddings', 'ConvTranspose');
  const group = ctx.attr('group', 1);
  // Full-size transposed convolution, then the pads cropped from each side (exact for asymmetric pads).
  const y = convTranspose2d(x, w, null, { stride, dilation, outputPadding, groups: group });
  const fullH = y.shape[2]!;
  const fullW = y.shape[3]!;
  let pads: number[];
  const outShape = ctx.attr('output_shape', [] as number[]);
  const autoPad = ctx.attr('auto_pad', 'NOTSET');
  if (outShape.length === 2 || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const target = outShape.length === 2 ? outShape : [x.shape[2]! * stride[0], x.shape[3]! * stride[1]];
    const totals = [fullH - target[0]!, fullW - target[1]!];
    const lower = autoPad === 'SAME_LOWER';
    const begin = totals.map((tt) => (lower ? tt - Math.floor(tt / 2) : Math.floor(tt / 2)));
    pads = [begin[0]!, begin[1]!, totals[0]! - begin[0]!, totals[1]! - begin[1]!];
  } else pads = autoPad === 'VALID' ? [0, 0, 0, 0] : ctx.attr('pads', [0, 0, 0, 0]);
  let out = ops.slice(y, [null, null, [pads[0]!, fullH - pads[2]!], [pads[1]!, fullW - pads[3]!]]);
  if (inputs[2] !== undefined) out = ops.add(out, ops.reshape(tensorOf(inputs[2], x), [1, -1, 1, 1]));
  return [out];
}

function pool(kind: 'max' | 'avg'): OpImpl {
  return ([xv], ctx) => {
    const x = tensorOf(xv);
    const op = kind === 'max' ? 'MaxPool' : 'AveragePool';
    if (x.rank !== 4) throw new UnsupportedError(`${op}: only 2-D pooling is supported, got input of rank ${x.rank}`);
    const kernel = pair2(ctx.attr('kernel_shape', [] as number[]), 'kernels', op);
    const stride = pair2(ctx.attr('strides', [1, 1]), 'strides', op);
    const dilation = pair2(ctx.attr('dilations', [1, 1]), 'dilations', op);
    const ceilMode = ctx.attr('ceil_mode', 0) === 1;
    const [t, l, b, r] = windowPads(ctx, x.shape[2]!, x.shape[3]!, kernel, stride, dilation) as [
      number,
      number,
      number,
      number,
    ];
    const countIncludePad = ctx.attr('count_include_pad', 0) === 1;
    const symmetric = t === b && l === r && 2 * t <= kernel[0] && 2 * l <= kernel[1];
    const opts = { stride, dilation, ceilMode };
    if (symmetric) {
      if (kind === 'max') return [ops.maxPool2d(x, kernel, { ...opts, padding: [t, l] })];
      return [ops.avgPool2d(x, kernel, { ...opts, padding: [t, l], countIncludePad })];
    }
    if (ceilMode) throw new UnsupportedError(`${op}: ceil_mode with asymmetric pads [${[t, l, b, r].join(', ')}]`);
    // Asymmetric padding (SAME with an even total): pad explicitly, then pool without padding.
    const pads: [number, number][] = [
      [t, b],
      [l, r],
    ];
    if (kind === 'max') return [ops.maxPool2d(ops.pad(x, pads, -Infinity), kernel, opts)];
    const summed = ops.avgPool2d(ops.pad(x, pads, 0), kernel, opts);
    if (countIncludePad) return [summed];
    // Average over the real elements only: divide by the pooled mask of ones.
    const mask = ops.pad(ones([1, 1, x.shape[2]!, x.shape[3]!], { backend: x.backend, dtype: x.dtype }), pads, 0);
    return [ops.div(summed, ops.avgPool2d(mask, kernel, opts))];
  };
}

function reduceAxes(inputs: (Value | undefined)[], ctx: OpContext, rank: number): number[] | null {
  let axes: number[] | undefined;
  if (ctx.has('axes')) axes = ctx.attr('axes', [] as number[]);
  else if (inputs[1] !== undefined) axes = intsOf(inputs[1], 'axes');
  if (!axes || axes.length === 0) return ctx.attr('noop_with_empty_axes', 0) === 1 ? null : [...Array(rank).keys()];
  return axes.map((a) => normAxis(a, rank, ctx.node.opType));
}

function reduce(f: (x: Tensor, axes: number[], keep: boolean) => Tensor): OpImpl {
  return (inputs, ctx) => {
    const x = tensorOf(inputs[0]);
    const axes = reduceAxes(inputs, ctx, x.rank);
    if (axes === null) return [x];
    return [f(x, axes, ctx.attr('keepdims', 1) === 1)];
  };
}

/** Reshape's target with 0 (copy, unless allowzero) and -1 resolved. */
function reshapeTarget(inShape: readonly number[], target: number[], allowZero: boolean): number[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? inShape[i]! : d));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = inShape.reduce((a, b) => a * b, 1);
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1) throw new ShapeError(`Reshape: more than one -1 in [${target.join(', ')}]`);
  if (neg === 1) {
    if (known === 0 || total % known !== 0)
      throw new ShapeError(`Reshape: cannot reshape [${inShape.join(', ')}] to [${target.join(', ')}]`);
    return out.map((d) => (d === -1 ? total / known : d));
  }
  if (known !== total)
    throw new ShapeError(`Reshape: cannot reshape [${inShape.join(', ')}] to [${target.join(', ')}]`);
  return out;
}

function shapeOf(v: Value): readonly number[] {
  return v.shape;
}

function hostTranspose(v: HostValue, perm: number[]): HostValue {
  const shape = perm.map((p) => v.shape[p]!);
  const si = strides(v.shape);
  const so = strides(shape);
  const n = v.data.length;
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let r = i;
    let src = 0;
    for (let k = 0; k < shape.length; k++) {
      const q = Math.floor(r / so[k]!);
      r -= q * so[k]!;
      src += q * si[perm[k]!]!;
    }
    data[i] = v.data[src]!;
  }
  return host(shape, data, v.kind);
}

/** Slices of one axis of a host value, concatenated: the host side of Gather, Slice and Split. */
function hostTake(v: HostValue, axis: number, indices: number[], outAxisShape: number[]): HostValue {
  const outer = v.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = v.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const dim = v.shape[axis]!;
  const data: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const idx of indices) {
      const base = (o * dim + idx) * inner;
      for (let k = 0; k < inner; k++) data.push(v.data[base + k]!);
    }
  }
  return host([...v.shape.slice(0, axis), ...outAxisShape, ...v.shape.slice(axis + 1)], data, v.kind);
}

/** ONNX Slice's clamping rules for one axis: the indices it takes. */
function sliceIndices(dim: number, start: number, end: number, step: number): number[] {
  if (step === 0) throw new ArgumentError('Slice: step must not be 0');
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, -1), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  const out: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

function sliceValue(x: Value, axis: number, idx: number[]): Value {
  if (isHost(x)) return hostTake(x, axis, idx, [idx.length]);
  if (idx.length === 0) throw new UnsupportedError(`Slice: an empty slice of axis ${axis}`);
  const step = idx.length > 1 ? idx[1]! - idx[0]! : 1;
  if (step > 0) {
    const ranges: ([number, number, number] | null)[] = x.shape.map(() => null);
    ranges[axis] = [idx[0]!, idx[idx.length - 1]! + 1, step];
    return ops.slice(x, ranges);
  }
  // A reversed slice: take each index and concatenate.
  return ops.concat(
    idx.map((i) => ops.narrow(x, axis, i, 1)),
    axis,
  );
}

function unsqueezeShape(shape: readonly number[], axes: number[]): number[] {
  const rank = shape.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, 'Unsqueeze')).sort((a, b) => a - b);
  const out = [...shape];
  for (const a of norm) out.splice(a, 0, 1);
  return out;
}

function reshapeValue(x: Value, shape: number[]): Value {
  if (isHost(x)) return host(shape, x.data, x.kind);
  return ops.reshape(x, shape);
}

function castValue(x: Value, to: number): Value {
  const toInt = [ONNX_DTYPE.INT64, ONNX_DTYPE.INT32, ONNX_DTYPE.INT8, ONNX_DTYPE.UINT8, ONNX_DTYPE.BOOL].includes(
    to as 7,
  );
  if (isHost(x)) {
    const data = to === ONNX_DTYPE.BOOL ? x.data.map((v) => (v ? 1 : 0)) : toInt ? x.data.map(Math.trunc) : x.data;
    return host(x.shape, data, toInt ? 'int' : 'float');
  }
  if (to === ONNX_DTYPE.FLOAT || to === ONNX_DTYPE.DOUBLE || to === ONNX_DTYPE.FLOAT16)
    return x.dtype === 'float32' ? x : ops.cast(x, 'float32');
  if (to === ONNX_DTYPE.BOOL) return ops.cast(x, 'bool');
  return ops.cast(x, 'int32');
}

const OPS: Record<string, OpImpl> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: ([a, b, c], ctx) => {
    let x = tensorOf(a);
    let w = tensorOf(b, x);
    if (ctx.attr('transA', 0) === 1) x = ops.transpose(x);
    if (ctx.attr('transB', 0) === 1) w = ops.transpose(w);
    let y = ops.matmul(x, w);
    const alpha = ctx.attr('alpha', 1);
    if (alpha !== 1) y = ops.mul(y, alpha);
    if (c !== undefined) {
      const beta = ctx.attr('beta', 1);
      const ct = tensorOf(c, x);
      y = ops.add(y, beta === 1 ? ct : ops.mul(ct, beta));
    }
    return [y];
  },
  MatMul: ([a, b]) => {
    const x = tensorOf(a);
    return [ops.matmul(x, tensorOf(b, x))];
  },
  Add: binaryOp(ops.add, (x, y) => x + y),
  Sub: binaryOp(ops.sub, (x, y) => x - y),
  Mul: binaryOp(ops.mul, (x, y) => x * y),
  Div: binaryOp(ops.div, (x, y, int) => (int ? Math.trunc(x / y) : x / y)),
  Pow: binaryOp(ops.pow, (x, y) => x ** y),
  Max: binaryOp(ops.maximum, (x, y) => Math.max(x, y)),
  Min: binaryOp(ops.minimum, (x, y) => Math.min(x, y)),
  Relu: unaryOp((x) => ops.relu(x)),
  LeakyRelu: unaryOp((x, ctx) => ops.leakyRelu(x, ctx.attr('alpha', 0.01))),
  PRelu: ([xv, sv]) => {
    const x = tensorOf(xv);
    const slope = tensorOf(sv, x);
    return [ops.where(ops.compare('gt', x, 0), x, ops.mul(x, slope))];
  },
  Elu: unaryOp((x, ctx) => ops.elu(x, ctx.attr('alpha', 1))),
  Sigmoid: unaryOp((x) => ops.sigmoid(x)),
  Tanh: unaryOp((x) => ops.tanh(x)),
  Exp: unaryOp((x) => ops.unary('exp', x)),
  Log: unaryOp((x) => ops.unary('log', x)),
  Sqrt: unaryOp((x) => ops.unary('sqrt', x)),
  Neg: unaryOp((x) => ops.unary('neg', x)),
  Abs: unaryOp((x) => ops.unary('abs', x)),
  Softmax: unaryOp((x, ctx) => ops.softmax(x, ctx.attr('axis', -1))),
  LogSoftmax: unaryOp((x, ctx) => ops.logSoftmax(x, ctx.attr('axis', -1))),
  Clip: (inputs, ctx) => {
    const x = tensorOf(inputs[0]);
    const min = ctx.has('min') ? ctx.attr('min', -Infinity) : floatsOf(inputs[1])?.[0];
    const max = ctx.has('max') ? ctx.attr('max', Infinity) : floatsOf(inputs[2])?.[0];
    return [ops.clamp(x, min, max)];
  },
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: unaryOp((x) => ops.mean(x, [...Array(x.rank).keys()].slice(2), true)),
  GlobalMaxPool: unaryOp((x) => ops.max(x, [...Array(x.rank).keys()].slice(2), true)),
  BatchNormalization: (inputs, ctx) => {
    const x = tensorOf(inputs[0]);
    const [scale, bias] = [tensorOf(inputs[1], x), tensorOf(inputs[2], x)];
    const [meanName, varName] = [ctx.node.inputs[3]!, ctx.node.inputs[4]!];
    const eps = ctx.attr('epsilon', 1e-5);
    const momentum = ctx.attr('momentum', 0.9);
    const runningMean = tensorOf(inputs[3], x);
    const runningVar = tensorOf(inputs[4], x);
    const r = batchNorm(x, {
      runningMean,
      runningVar,
      weight: scale,
      bias,
      training: ctx.training,
      momentum: 1 - momentum,
      eps,
    });
    if (ctx.training && r.runningMean && r.runningVar) {
      ctx.model.updateBuffer(meanName, r.runningMean);
      ctx.model.updateBuffer(varName, r.runningVar);
    }
    return [r.y];
  },
  InstanceNormalization: (inputs, ctx) => {
    const x = tensorOf(inputs[0]);
    return [
      instanceNorm(x, {
        weight: tensorOf(inputs[1], x),
        bias: tensorOf(inputs[2], x),
        useInputStats: true,
        eps: ctx.attr('epsilon', 1e-5),
      }).y,
    ];
  },
  LRN: unaryOp((x, ctx) =>
    localResponseNorm(x, ctx.attr('size', 1), ctx.attr('alpha', 1e-4), ctx.attr('beta', 0.75), ctx.attr('bias', 1)),
  ),
  Dropout: (inputs, ctx) => {
    const x = tensorOf(inputs[0]);
    const ratio = inputs[1] !== undefined ? floatsOf(inputs[1])![0]! : ctx.attr('ratio', 0.5);
    return [ctx.training ? dropout(x, ratio, true) : x];
  },
  Identity: ([x]) => [x],
  Flatten: ([x], ctx) => {
    const shape = shapeOf(x!);
    const axis = ctx.attr('axis', 1);
    const a = axis < 0 ? axis + shape.length : axis;
    const rows = shape.slice(0, a).reduce((p, q) => p * q, 1);
    const cols = shape.slice(a).reduce((p, q) => p * q, 1);
    return [reshapeValue(x!, [rows, cols])];
  },
  Reshape: ([x, s], ctx) => {
    const target = intsOf(s, 'Reshape shape');
    return [reshapeValue(x!, reshapeTarget(shapeOf(x!), target, ctx.attr('allowzero', 0) === 1))];
  },
  Transpose: ([x], ctx) => {
    const rank = shapeOf(x!).length;
    const perm = ctx.attr('perm', [...Array(rank).keys()].reverse());
    return [isHost(x) ? hostTranspose(x, perm) : ops.permute(x!, perm)];
  },
  Concat: (inputs, ctx) => {
    const present = inputs.filter((v): v is Value => v !== undefined);
    const rank = shapeOf(present[0]!).length;
    const axis = normAxis(ctx.attr('axis', 0), rank, 'Concat');
    if (present.every(isHost)) {
      const hs = present as HostValue[];
      const outer = hs[0]!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
      const data: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const h of hs) {
          const chunk = h.shape.slice(axis).reduce((a, b) => a * b, 1);
          for (let k = 0; k < chunk; k++) data.push(h.data[o * chunk + k]!);
        }
      }
      const shape = [...hs[0]!.shape];
      shape[axis] = hs.reduce((a, h) => a + h.shape[axis]!, 0);
      return [host(shape, data, hs.some((h) => h.kind === 'float') ? 'float' : 'int')];
    }
    const like = present.find((v): v is Tensor => v instanceof Tensor);
    return [
      ops.concat(
        present.filter((v) => shapeOf(v)[axis] !== 0).map((v) => tensorOf(v, like)),
        axis,
      ),
    ];
  },
  Pad: (inputs, ctx) => {
    const x = tensorOf(inputs[0]);
    const mode = ctx.attr('mode', 'constant');
    if (mode !== 'constant') throw new UnsupportedError(`Pad: mode '${mode}' (only 'constant' is supported)`);
    let pads = ctx.has('pads') ? ctx.attr('pads', [] as number[]) : intsOf(inputs[1], 'Pad pads');
    const value = ctx.has('value') ? ctx.attr('value', 0) : (floatsOf(inputs[2])?.[0] ?? 0);
    const rank = x.rank;
    if (inputs[3] !== undefined) {
      const axes = intsOf(inputs[3], 'Pad axes').map((a) => normAxis(a, rank, 'Pad'));
      const full = new Array<number>(2 * rank).fill(0);
      axes.forEach((a, i) => {
        full[a] = pads[i]!;
        full[a + rank] = pads[i + axes.length]!;
      });
      pads = full;
    }
    if (pads.length !== 2 * rank) throw new ShapeError(`Pad: ${pads.length} pads for a tensor of rank ${rank}`);
    const pairs: [number, number][] = x.shape.map((_, i) => [Math.max(0, pads[i]!), Math.max(0, pads[i + rank]!)]);
    let y = ops.pad(x, pairs, value);
    // Negative pads crop.
    if (pads.some((p) => p < 0)) {
      y = ops.slice(
        y,
        y.shape.map((d, i) => [Math.max(0, -pads[i]!), d - Math.max(0, -pads[i + rank]!)] as [number, number]),
      );
    }
    return [y];
  },
  Constant: (_inputs, ctx) => {
    if (ctx.has('value')) return [ctx.attr('value', host([], [0]))];
    if (ctx.has('value_float')) return [host([], [ctx.attr('value_float', 0)], 'float')];
    if (ctx.has('value_floats')) {
      const v = ctx.attr('value_floats', [] as number[]);
      return [host([v.length], v, 'float')];
    }
    if (ctx.has('value_int')) return [host([], [ctx.attr('value_int', 0)])];
    if (ctx.has('value_ints')) {
      const v = ctx.attr('value_ints', [] as number[]);
      return [host([v.length], v)];
    }
    throw new UnsupportedError('Constant: no value, value_float(s) or value_int(s) attribute');
  },
  ReduceMean: reduce((x, axes, keep) => ops.mean(x, axes, keep)),
  ReduceMax: reduce((x, axes, keep) => ops.max(x, axes, keep)),
  ReduceSum: reduce((x, axes, keep) => ops.sum(x, axes, keep)),
  Slice: (inputs, ctx) => {
    let x = inputs[0]!;
    const shape = shapeOf(x);
    const starts = ctx.has('starts') ? ctx.attr('starts', [] as number[]) : intsOf(inputs[1], 'Slice starts');
    const ends = ctx.has('ends') ? ctx.attr('ends', [] as number[]) : intsOf(inputs[2], 'Slice ends');
    const axes = ctx.has('axes')
      ? ctx.attr('axes', [] as number[])
      : inputs[3] !== undefined
        ? intsOf(inputs[3], 'Slice axes')
        : starts.map((_, i) => i);
    const steps = inputs[4] !== undefined ? intsOf(inputs[4], 'Slice steps') : starts.map(() => 1);
    axes.forEach((a, i) => {
      const axis = normAxis(a, shape.length, 'Slice');
      const idx = sliceIndices(shapeOf(x)[axis]!, starts[i]!, ends[i]!, steps[i]!);
      if (idx.length === shapeOf(x)[axis] && steps[i] === 1) return;
      x = sliceValue(x, axis, idx);
    });
    return [x];
  },
  Split: (inputs, ctx) => {
    const x = inputs[0]!;
    const shape = shapeOf(x);
    const axis = normAxis(ctx.attr('axis', 0), shape.length, 'Split');
    const n = ctx.node.outputs.length;
    let sizes: number[];
    if (ctx.has('split')) sizes = ctx.attr('split', [] as number[]);
    else if (inputs[1] !== undefined) sizes = intsOf(inputs[1], 'Split sizes');
    else {
      const each = Math.ceil(shape[axis]! / n);
      sizes = Array.from({ length: n }, (_, i) => Math.min(each, shape[axis]! - each * i));
    }
    if (sizes.reduce((a, b) => a + b, 0) !== shape[axis]) {
      throw new ShapeError(`Split: sizes [${sizes.join(', ')}] do not add up to axis ${axis} of size ${shape[axis]}`);
    }
    let start = 0;
    return sizes.map((s) => {
      const idx = Array.from({ length: s }, (_, i) => start + i);
      start += s;
      return sliceValue(x, axis, idx);
    });
  },
  Squeeze: (inputs, ctx) => {
    const x = inputs[0]!;
    const shape = shapeOf(x);
    const axes = ctx.has('axes')
      ? ctx.attr('axes', [] as number[])
      : inputs[1] !== undefined
        ? intsOf(inputs[1], 'Squeeze axes')
        : shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    const norm = axes.map((a) => normAxis(a, shape.length, 'Squeeze'));
    for (const a of norm)
      if (shape[a] !== 1) throw new ShapeError(`Squeeze: axis ${a} of [${shape.join(', ')}] is not 1`);
    return [
      reshapeValue(
        x,
        shape.filter((_, i) => !norm.includes(i)),
      ),
    ];
  },
  Unsqueeze: (inputs, ctx) => {
    const x = inputs[0]!;
    const axes = ctx.has('axes') ? ctx.attr('axes', [] as number[]) : intsOf(inputs[1], 'Unsqueeze axes');
    return [reshapeValue(x, unsqueezeShape(shapeOf(x), axes))];
  },
  Shape: ([x], ctx) => {
    const shape = shapeOf(x!);
    const r = shape.length;
    const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const start = clampIdx(ctx.attr('start', 0));
    const end = clampIdx(ctx.attr('end', r));
    const dims = shape.slice(start, end);
    return [host([dims.length], [...dims])];
  },
  Gather: ([x, i], ctx) => {
    const shape = shapeOf(x!);
    const axis = normAxis(ctx.attr('axis', 0), shape.length, 'Gather');
    const indices = intsOf(i, 'Gather indices').map((v) => {
      const r = v < 0 ? v + shape[axis]! : v;
      if (r < 0 || r >= shape[axis]!)
        throw new ArgumentError(`Gather: index ${v} is out of range for axis ${axis} of size ${shape[axis]}`);
      return r;
    });
    const idxShape = isHost(i) ? i.shape : [...i!.shape];
    if (isHost(x)) return [hostTake(x, axis, indices, idxShape)];
    const parts = indices.map((k) => ops.narrow(x!, axis, k, 1));
    const joined = parts.length === 1 ? parts[0]! : ops.concat(parts, axis);
    return [ops.reshape(joined, [...shape.slice(0, axis), ...idxShape, ...shape.slice(axis + 1)])];
  },
  Cast: ([x], ctx) => [castValue(x!, ctx.attr('to', ONNX_DTYPE.FLOAT))],
  Expand: ([xv, sv]) => {
    const x = tensorOf(xv);
    const target = intsOf(sv, 'Expand shape');
    const rank = Math.max(x.rank, target.length);
    const a = [...new Array<number>(rank - x.rank).fill(1), ...x.shape];
    const b = [...new Array<number>(rank - target.length).fill(1), ...target];
    return [
      ops.expand(
        x,
        a.map((d, i) => (d === 1 ? b[i]! : d)),
      ),
    ];
  },
  Where: ([c, a, b]) => {
    const like = a instanceof Tensor ? a : b instanceof Tensor ? b : undefined;
    return [ops.where(ops.cast(tensorOf(c), 'bool'), tensorOf(a, like), tensorOf(b, like))];
  },
  Equal: compareOp('eq'),
  Less: compareOp('lt'),
  LessOrEqual: compareOp('le'),
  Greater: compareOp('gt'),
  GreaterOrEqual: compareOp('ge'),
  Not: ([x]) => [ops.compare('eq', ops.cast(tensorOf(x), 'float32'), 0)],
  Sign: unaryOp((x) => ops.unary('sign', x)),
  ArgMax: ([x], ctx) => [ops.argmax(tensorOf(x), ctx.attr('axis', 0), ctx.attr('keepdims', 1) === 1)],
  ConstantOfShape: ([s], ctx) => {
    const shape = intsOf(s, 'ConstantOfShape shape');
    const v = ctx.attr('value', host([1], [0], 'float'));
    const value = isHost(v) ? (v.data[0] ?? 0) : 0;
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > 1 << 16) return [full(shape, value)];
    return [host(shape, new Array<number>(n).fill(value), isHost(v) ? v.kind : 'float')];
  },
};

/** Inputs of these operators that hold shapes, axes or settings rather than data: never trainable. */
const SETTING_INPUTS: Record<string, readonly number[]> = {
  Reshape: [1],
  Slice: [1, 2, 3, 4],
  Squeeze: [1],
  Unsqueeze: [1],
  ReduceMean: [1],
  ReduceMax: [1],
  ReduceSum: [1],
  Split: [1],
  Pad: [1, 2, 3],
  Clip: [1, 2],
  Dropout: [1, 2],
  Gather: [1],
  ConstantOfShape: [0],
  Expand: [1],
};

/** The operator types importOnnx supports. */
export const SUPPORTED_ONNX_OPS: readonly string[] = Object.keys(OPS).sort();

// ------------------------------------------------------------------ the module

export interface OnnxModelInfo {
  /** The graph's data inputs (initializers excluded) with their shapes; symbolic dims are null. */
  inputs: { name: string; shape: (number | null)[] }[];
  outputs: { name: string; shape: (number | null)[] }[];
  opset: number;
  producer: string;
}

/**
 * An imported ONNX graph as a trainable module. Parameters are the float
 * initializers, with the initializer names as state-dict keys.
 * @example const model = await importOnnx('resnet18.onnx'); model.forward(x);
 */
export class OnnxModel extends Module {
  nodes: OnnxNode[];
  outputNames: string[];
  readonly inputNames: string[];
  readonly info: OnnxModelInfo;
  /** A module that replaced the graph's head (see replaceHead), applied to `headInput`. */
  head: Module | null = null;
  private headInput: string | null = null;
  private readonly params = new Map<string, Parameter>();
  private readonly constants = new Map<string, HostValue>();
  private readonly bufferNames = new Set<string>();

  constructor(
    graph: { nodes: OnnxNode[]; inputs: string[]; outputs: string[]; info: OnnxModelInfo },
    initializers: Map<string, { dims: number[]; floats?: Float32Array; ints?: number[] }>,
    bufferInits: Set<string>,
    settingInits: Set<string>,
  ) {
    super();
    this.nodes = graph.nodes;
    this.inputNames = graph.inputs;
    this.outputNames = graph.outputs;
    this.info = graph.info;
    for (const [name, init] of initializers) {
      if (init.floats && !settingInits.has(name)) {
        const t = fromArray(init.floats, init.dims);
        if (bufferInits.has(name)) {
          this.registerBuffer(name, t);
          this.bufferNames.add(name);
        } else this.params.set(name, new Parameter(t));
      } else if (init.floats) this.constants.set(name, host(init.dims, Array.from(init.floats), 'float'));
      else this.constants.set(name, host(init.dims, init.ints!, 'int'));
    }
  }

  protected override ownParameters(): [string, Parameter][] {
    return [...this.params];
  }

  /** @internal Replaces a running-statistics buffer after a training-mode BatchNormalization. */
  updateBuffer(name: string, t: Tensor): void {
    if (this.bufferNames.has(name)) this.setBuffer(name, t.detach());
  }

  override describe(): string {
    return `OnnxModel(${this.nodes.length} nodes${this.head ? `, head ${this.head.describe()}` : ''})`;
  }

  /** Runs the graph; returns the first output (see runAll for every output). */
  forward(x: Tensor): Tensor {
    const out = this.runGraph({ [this.inputNames[0]!]: x }, this.head ? [this.headInput!] : this.outputNames);
    const first = out[0]!;
    const t = tensorOf(first);
    if (this.head) return (this.head as Module & { forward(x: Tensor): Tensor }).forward(t);
    return t;
  }

  /** Runs the graph on named inputs and returns every output by name. */
  runAll(inputs: Record<string, Tensor>): Record<string, Tensor> {
    const values = this.runGraph(inputs, this.outputNames);
    return Object.fromEntries(this.outputNames.map((n, i) => [n, tensorOf(values[i])]));
  }

  /**
   * Runs the nodes needed for `wanted` and returns their values; `observe`
   * sees each node's first output (summaries use it).
   */
  runGraph(
    inputs: Record<string, Tensor>,
    wanted: readonly string[],
    observe?: (node: OnnxNode, out: Value | undefined) => void,
  ): Value[] {
    const env = new Map<string, Value>();
    for (const [k, v] of this.constants) env.set(k, v);
    for (const [k, p] of this.params) env.set(k, p);
    for (const [k, b] of this.namedBuffers()) if (this.bufferNames.has(k)) env.set(k, b);
    for (const name of this.inputNames) {
      const v = inputs[name];
      if (!v) throw new ArgumentError(`OnnxModel: missing input '${name}' (inputs: ${this.inputNames.join(', ')})`);
      env.set(name, v);
    }
    const needed = this.neededNodes(wanted);
    for (const node of this.nodes) {
      if (!needed.has(node)) continue;
      const args = node.inputs.map((n) => (n === '' ? undefined : env.get(n)));
      node.inputs.forEach((n, i) => {
        if (n !== '' && args[i] === undefined)
          throw new ArgumentError(`node '${node.name}' (${node.opType}): input '${n}' is not computed`);
      });
      const ctx: OpContext = {
        node,
        training: this.training,
        model: this,
        attr: <T extends AttrValue>(name: string, dflt: T): Widen<T> =>
          (name in node.attrs ? node.attrs[name] : dflt) as Widen<T>,
        has: (name: string) => name in node.attrs,
      };
      let outs: (Value | undefined)[];
      try {
        outs = OPS[node.opType]!(args, ctx);
      } catch (e) {
        if (e instanceof TsgradError && !e.message.startsWith('node '))
          e.message = `node '${node.name}' (${node.opType}): ${e.message}`;
        throw e;
      }
      node.outputs.forEach((n, i) => {
        const v = outs[i];
        if (n !== '' && v !== undefined) env.set(n, v);
      });
      observe?.(node, outs[0]);
    }
    return wanted.map((w) => {
      const v = env.get(w);
      if (v === undefined) throw new ArgumentError(`OnnxModel: value '${w}' was not computed`);
      return v;
    });
  }

  private neededNodes(wanted: readonly string[]): Set<OnnxNode> {
    const producer = new Map<string, OnnxNode>();
    for (const n of this.nodes) for (const o of n.outputs) producer.set(o, n);
    const needed = new Set<OnnxNode>();
    const stack = [...wanted];
    while (stack.length) {
      const v = stack.pop()!;
      const n = producer.get(v);
      if (!n || needed.has(n)) continue;
      needed.add(n);
      stack.push(...n.inputs.filter((i) => i !== ''));
    }
    return needed;
  }

  /**
   * Replaces the graph's head for fine-tuning: the value `at` names (a node's
   * name: its first input; or a value's name) is fed to `head`, whose output
   * becomes the model's output. Nodes and parameters only the old head used are
   * dropped; the head's parameters are named `head.*`.
   * @example model.replaceHead('/fc/Gemm', new Linear(512, 3));
   */
  replaceHead(at: string, head: Module): this {
    const node = this.nodes.find((n) => n.name === at);
    let value: string;
    if (node) {
      value = node.inputs[0]!;
    } else {
      const produced = new Set([...this.inputNames, ...this.nodes.flatMap((n) => n.outputs)]);
      if (!produced.has(at)) {
        throw new ArgumentError(
          `OnnxModel.replaceHead: no node or value named '${at}' (nodes: ${this.nodes
            .slice(-5)
            .map((n) => n.name)
            .join(', ')}, ...)`,
        );
      }
      value = at;
    }
    const needed = this.neededNodes([value]);
    this.nodes = this.nodes.filter((n) => needed.has(n));
    const used = new Set(this.nodes.flatMap((n) => n.inputs));
    for (const k of [...this.params.keys()]) if (!used.has(k)) this.params.delete(k);
    this.headInput = value;
    this.head = head;
    return this;
  }

  /** Names of the nodes, in order (to choose where to cut for replaceHead). */
  nodeNames(): string[] {
    return this.nodes.map((n) => n.name);
  }
}

// ------------------------------------------------------------------ building from a file

function dimsOfInfo(v: OnnxGraphProto['input'][number]): (number | null)[] {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  return dims.map((d) =>
    d.dimValue !== null && d.dimValue !== undefined && !d.dimParam ? int64ToNumber(d.dimValue) : null,
  );
}

function buildModel(proto: OnnxModelProto, file: string): OnnxModel {
  const graph = proto.graph;
  if (!graph) throw new DataFileError(file, 'has no graph: not an ONNX model');
  const opset = int64ToNumber(
    (proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13,
  );
  const initializers = new Map<string, { dims: number[]; floats?: Float32Array; ints?: number[] }>();
  for (const t of graph.initializer ?? []) {
    if (!t.name) throw new DataFileError(file, 'has an initializer without a name');
    initializers.set(t.name, decodeTensor(t, file));
  }
  const nodes: OnnxNode[] = [];
  const unsupported: string[] = [];
  for (const [i, n] of (graph.node ?? []).entries()) {
    const name = n.name || `${n.opType}_${i}`;
    if (!n.opType) throw new DataFileError(file, `node ${i} has no operator type`);
    const domainOk = !n.domain || n.domain === 'ai.onnx';
    if (!domainOk || !(n.opType in OPS))
      unsupported.push(`${n.domain && !domainOk ? `${n.domain}.` : ''}${n.opType} (node '${name}')`);
    const attrs: Record<string, AttrValue> = {};
    for (const a of n.attribute ?? []) attrs[a.name] = decodeAttr(a, file, name);
    nodes.push({ name, opType: n.opType, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs });
  }
  if (unsupported.length) {
    throw new UnsupportedError(
      `${file}: ${unsupported.length} node(s) use operators tsgrad does not import: ${unsupported.join(', ')}`,
    );
  }
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name));
  if (inputs.length === 0) throw new DataFileError(file, 'the graph has no data input');
  const outputs = (graph.output ?? []).map((v) => v.name);
  if (outputs.length === 0) throw new DataFileError(file, 'the graph has no output');
  // Every value a node reads must come from an input, an initializer or an earlier node.
  const available = new Set<string>([...inputs.map((v) => v.name), ...initializers.keys()]);
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !available.has(i))
        throw new DataFileError(
          file,
          `node '${n.name}' reads '${i}', which no earlier node, input or initializer provides`,
        );
    }
    for (const o of n.outputs) available.add(o);
  }
  for (const o of outputs)
    if (!available.has(o)) throw new DataFileError(file, `graph output '${o}' is not computed by any node`);
  const bufferInits = new Set<string>();
  const settingInits = new Set<string>();
  const dataUse = new Set<string>();
  for (const n of nodes) {
    const settings = SETTING_INPUTS[n.opType] ?? [];
    n.inputs.forEach((name, k) => {
      if (!initializers.has(name)) return;
      if (n.opType === 'BatchNormalization' && (k === 3 || k === 4)) bufferInits.add(name);
      else if (settings.includes(k)) settingInits.add(name);
      else dataUse.add(name);
    });
  }
  for (const name of dataUse) settingInits.delete(name);
  for (const name of dataUse) bufferInits.delete(name);
  const info: OnnxModelInfo = {
    inputs: inputs.map((v) => ({ name: v.name, shape: dimsOfInfo(v) })),
    outputs: (graph.output ?? []).map((v) => ({ name: v.name, shape: dimsOfInfo(v) })),
    opset,
    producer: `${proto.producerName ?? ''} ${proto.producerVersion ?? ''}`.trim(),
  };
  return new OnnxModel(
    { nodes, inputs: inputs.map((v) => v.name), outputs, info },
    initializers,
    bufferInits,
    settingInits,
  );
}

/**
 * Reads an ONNX model (a path or the file's bytes) into a trainable OnnxModel.
 * A corrupt file gives a DataFileError naming it; operators tsgrad lacks give
 * one UnsupportedError listing every one of them with its node.
 * @example const model = await importOnnx('model.onnx'); model.eval(); model.forward(x);
 */
export async function importOnnx(source: string | Uint8Array, opts: { name?: string } = {}): Promise<OnnxModel> {
  const file = opts.name ?? (typeof source === 'string' ? source : 'ONNX bytes');
  const bytes = typeof source === 'string' ? readFileBytes(source, 'an ONNX model') : source;
  const proto = await decodeModel(bytes, file);
  try {
    return buildModel(proto, file);
  } catch (e) {
    if (e instanceof TsgradError) throw e;
    // Values the schema allows but no valid model has (absurd sizes, wrong kinds) end here.
    throw new DataFileError(file, `is not a valid ONNX model: ${e instanceof Error ? e.message : String(e)}`);
  }
}
