/**
 * The primitive op table: the single list of operations every backend
 * implements and every gradient rule covers. Each row gives the op's
 * parameters (in OpParams) and its shape/dtype rule (in opDefs), which
 * validates inputs and names the op and the shapes when they do not fit.
 * Composite ops (softmax, batch norm, losses, ...) are built from these
 * in src/tensor and src/nn and need no row here.
 */
import type { DType } from './dtype.js';
import { ArgumentError, DTypeError, ShapeError } from './errors.js';
import { type Shape, fmt, reducedShape, sameShape } from './shape.js';

export interface TensorMeta {
  readonly shape: Shape;
  readonly dtype: DType;
}

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** Geometry-independent parameters of a 2-D convolution (NCHW, weight [Cout, Cin/groups, kH, kW]). */
export interface Conv2dParams {
  readonly stride: readonly [number, number];
  /** Zero padding [top, bottom, left, right]; 'same' may be asymmetric for even kernels. */
  readonly padding: readonly [number, number, number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

export interface Pool2dParams {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Symmetric implicit padding [pH, pW] (max pooling pads with -inf, average with zeros). */
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly ceilMode: boolean;
}

export interface AvgPool2dParams extends Pool2dParams {
  /** Divide by the full window size even where it overlaps the padding. */
  readonly countIncludePad: boolean;
}

type None = Record<string, never>;

/** The activation a fused linear kernel applies after its bias (PyTorch's and oneDNN's post-ops). */
export type EpilogueActivation = 'none' | 'relu' | 'leakyRelu';

/**
 * The epilogue of conv2dBiasAct and matmulBiasAct: y = act(product + bias), with
 * relu(v) = v ≤ 0 ? 0 : v and leakyRelu(v) = v > 0 ? v : v·negativeSlope, exactly as the
 * separate add, relu and leakyRelu compute them. The slope must be ≥ 0, so that the output is
 * positive exactly where the pre-activation is, and the backward mask can be read off the output.
 */
export interface EpilogueParams {
  readonly activation: EpilogueActivation;
  /** leakyRelu's slope below 0 (ignored otherwise). */
  readonly negativeSlope: number;
}

export const EPILOGUE_ACTIVATIONS: readonly EpilogueActivation[] = ['none', 'relu', 'leakyRelu'];

/** The axes biasActGrad sums over dy of rank `rank`: every axis but the bias's `axis`. */
export const biasGradAxes = (rank: number, axis: number): number[] =>
  Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis);

/** Parameters of every primitive. Adding a key here makes the compiler ask for its kernel and gradient rule. */
export interface OpParams {
  // elementwise, one input
  neg: None;
  exp: None;
  log: None;
  sqrt: None;
  abs: None;
  sign: None;
  relu: None;
  sigmoid: None;
  tanh: None;
  // elementwise, two inputs of one dtype, broadcast by the dispatcher
  add: None;
  sub: None;
  mul: None;
  div: None;
  maximum: None;
  minimum: None;
  pow: None;
  /** ReLU's backward: the gradient where the input is above 0, else 0 (PyTorch's threshold_backward). */
  reluBackward: None;
  compare: { readonly op: CompareOp };
  where: None;
  cast: { readonly dtype: DType };
  // reductions
  sum: { readonly axes: readonly number[]; readonly keepDims: boolean };
  max: { readonly axes: readonly number[]; readonly keepDims: boolean };
  argmax: { readonly axis: number; readonly keepDims: boolean };
  /**
   * log(softmax(x)) along one axis, in one pass per row: x − m − log Σ exp(x − m), with m the
   * row's maximum (0 where that is infinite), computed in float64 and rounded once.
   */
  logSoftmax: { readonly axis: number };
  // views: no kernel, they only change the layout (shape, strides, offset)
  reshape: { readonly shape: readonly number[] };
  permute: { readonly perm: readonly number[] };
  expand: { readonly shape: readonly number[] };
  slice: { readonly starts: readonly number[]; readonly ends: readonly number[]; readonly steps: readonly number[] };
  // data movement
  contiguous: None;
  pad: { readonly pads: readonly (readonly [number, number])[]; readonly value: number };
  concat: { readonly axis: number };
  // linear algebra and CNN kernels
  matmul: None;
  conv2d: Conv2dParams;
  /** conv2d(x, w) + bias[c], then the activation, in one kernel (inputs x, w, bias [Cout]). */
  conv2dBiasAct: Conv2dParams & EpilogueParams;
  /** matmul(a, b) + bias[n], then the activation, in one kernel (inputs a, b, bias [N]). */
  matmulBiasAct: EpilogueParams;
  conv2dGradInput: Conv2dParams & { readonly inputShape: readonly [number, number, number, number] };
  conv2dGradWeight: Conv2dParams & { readonly weightShape: readonly [number, number, number, number] };
  /**
   * The backward of a fused epilogue (conv2dBiasAct, matmulBiasAct), read off its output y
   * (inputs dy, y, and for the convolutions their other operand): the gradient at the
   * pre-activation, mask(dy, y) = relu: y ≤ 0 ? 0 : dy, leakyRelu: y > 0 ? dy : dy·slope,
   * applied where each kernel reads dy, never written out. conv2dGradInputAct(dy, w, y) =
   * conv2dGradInput(mask(dy, y), w); conv2dGradWeightAct(x, dy, y) = conv2dGradWeight(x, mask(dy, y));
   * biasActGrad(dy, y) = Σ mask(dy, y) over every axis but `axis` (the bias's gradient, [dy.shape[axis]]).
   */
  conv2dGradInputAct: OpParams['conv2dGradInput'] & EpilogueParams;
  conv2dGradWeightAct: OpParams['conv2dGradWeight'] & EpilogueParams;
  biasActGrad: EpilogueParams & { readonly axis: number };
  maxPool2d: Pool2dParams;
  maxPool2dGrad: Pool2dParams;
  avgPool2d: AvgPool2dParams;
  avgPool2dGrad: AvgPool2dParams & { readonly inputShape: readonly [number, number, number, number] };
}

export type OpName = keyof OpParams;

export const VIEW_OPS = ['reshape', 'permute', 'expand', 'slice'] as const;
export type ViewOpName = (typeof VIEW_OPS)[number];
/** Ops a backend runs a kernel for. */
export type KernelOpName = Exclude<OpName, ViewOpName>;

export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'relu', 'sigmoid', 'tanh'] as const;
export type UnaryOpName = (typeof UNARY_OPS)[number];
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'reluBackward'] as const;
export type BinaryOpName = (typeof BINARY_OPS)[number];

export interface OpDef<K extends OpName> {
  /** Number of inputs; -1 for any number (concat). */
  readonly arity: number;
  /** Elementwise ops get their inputs broadcast to the output shape by the dispatcher. */
  readonly elementwise?: boolean;
  readonly view?: boolean;
  /**
   * Every backend's kernel writes each element of the output, so the dispatcher may hand it an
   * uninitialised storage (a reused one is not zeroed). test/ops/op-table.test.ts runs with
   * such storages poisoned (src/backend/uninitialised.ts) to hold every kernel to it.
   */
  readonly writesAll?: boolean;
  /**
   * The dtypes the op takes for its data inputs (for `where`, the two value inputs; its
   * condition is always bool). `infer` refuses every other dtype with a DTypeError, which
   * test/ops/op-dtypes.test.ts checks for every op and dtype; `tsgrad ops` prints it.
   */
  readonly dtypes: readonly DType[];
  /** Output shape and dtype; throws a ShapeError/DTypeError naming the op and shapes. */
  infer(inputs: readonly TensorMeta[], p: OpParams[K]): TensorMeta;
}

/** Every dtype, for ops that only move or compare values. */
export const ALL_DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];
/** Ops with arithmetic: everything but bool. */
export const NUMERIC_DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];
/** Ops whose results are not integers in general (exp, matmul, convolutions, ...). */
export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float64'];

function requireFloat(op: string, t: TensorMeta): void {
  if (!FLOAT_DTYPES.includes(t.dtype)) {
    throw new DTypeError(`${op}: expected a float32 or float64 tensor, got ${t.dtype} with shape ${fmt(t.shape)}`);
  }
}

function requireNumeric(op: string, t: TensorMeta): void {
  if (!NUMERIC_DTYPES.includes(t.dtype))
    throw new DTypeError(`${op}: expected a numeric tensor, got bool with shape ${fmt(t.shape)}`);
}

function requireSameDtype(op: string, a: TensorMeta, b: TensorMeta): void {
  if (a.dtype !== b.dtype) throw new DTypeError(`${op}: operands have different dtypes ${a.dtype} and ${b.dtype}`);
}

function requireRank(op: string, name: string, t: TensorMeta, rank: number, layout: string): void {
  if (t.shape.length !== rank) {
    throw new ShapeError(`${op}: expected ${name} of rank ${rank} (${layout}), got shape ${fmt(t.shape)}`);
  }
}

function checkActivation(op: string, p: EpilogueParams): void {
  if (!EPILOGUE_ACTIVATIONS.includes(p.activation)) {
    throw new ArgumentError(
      `${op}: activation must be one of ${EPILOGUE_ACTIVATIONS.join(', ')}, got '${String(p.activation)}'`,
    );
  }
  if (p.activation === 'leakyRelu' && !(p.negativeSlope >= 0 && Number.isFinite(p.negativeSlope))) {
    throw new ArgumentError(`${op}: negativeSlope must be a finite number >= 0, got ${p.negativeSlope}`);
  }
}

/** The activation, and the forward output y that masks the gradient dy of an epilogue's backward: same shape and dtype. */
function checkMask(op: string, p: EpilogueParams, dy: TensorMeta, y: TensorMeta): void {
  checkActivation(op, p);
  requireSameDtype(op, dy, y);
  if (!sameShape(dy.shape, y.shape)) {
    throw new ShapeError(`${op}: output gradient ${fmt(dy.shape)} and forward output ${fmt(y.shape)} differ in shape`);
  }
}

/** dX's shape of conv2dGradInput(dy, w) (and its fused form `op`): checks dy against the conv output. */
function gradInputShape(op: string, dy: TensorMeta, w: TensorMeta, p: OpParams['conv2dGradInput']): TensorMeta {
  requireSameDtype(op, dy, w);
  requireFloat(op, dy);
  const g = convGeometry(p.inputShape, w.shape, p, op);
  checkConvGradient(op, dy, g);
  return { shape: p.inputShape, dtype: dy.dtype };
}

/** dW's shape of conv2dGradWeight(x, dy) (and its fused form `op`): checks dy against the conv output. */
function gradWeightShape(op: string, x: TensorMeta, dy: TensorMeta, p: OpParams['conv2dGradWeight']): TensorMeta {
  requireSameDtype(op, x, dy);
  requireFloat(op, x);
  const g = convGeometry(x.shape, p.weightShape, p, op);
  checkConvGradient(op, dy, g);
  return { shape: p.weightShape, dtype: x.dtype };
}

function checkConvGradient(op: string, dy: TensorMeta, g: ConvGeometry): void {
  if (!sameShape(dy.shape, [g.n, g.cOut, g.hOut, g.wOut])) {
    throw new ShapeError(
      `${op}: output gradient ${fmt(dy.shape)} does not match the conv output [${[g.n, g.cOut, g.hOut, g.wOut].join(', ')}]`,
    );
  }
}

function checkEpilogue(op: string, p: EpilogueParams, bias: TensorMeta, channels: number, ref: TensorMeta): void {
  checkActivation(op, p);
  requireSameDtype(op, ref, bias);
  if (bias.shape.length !== 1 || bias.shape[0] !== channels) {
    throw new ShapeError(`${op}: bias ${fmt(bias.shape)} must have shape [${channels}]`);
  }
}

function matmulShape(op: string, a: TensorMeta, b: TensorMeta): TensorMeta {
  requireSameDtype(op, a, b);
  requireFloat(op, a);
  requireRank(op, 'left operand', a, 3, 'batch, M, K');
  requireRank(op, 'right operand', b, 3, 'batch, K, N');
  const [ba, m, k] = a.shape as [number, number, number];
  const [bb, k2, n] = b.shape as [number, number, number];
  if (k !== k2 || ba !== bb) {
    throw new ShapeError(
      `${op}: cannot multiply ${fmt(a.shape)} by ${fmt(b.shape)}: inner dimensions ${k} and ${k2} differ`,
    );
  }
  return { shape: [ba, m, n], dtype: a.dtype };
}

function convShape(op: string, x: TensorMeta, w: TensorMeta, p: Conv2dParams): TensorMeta {
  requireRank(op, 'input', x, 4, 'N, C, H, W');
  requireRank(op, 'weight', w, 4, 'Cout, Cin/groups, kH, kW');
  requireSameDtype(op, x, w);
  requireFloat(op, x);
  const g = convGeometry(x.shape, w.shape, p, op);
  return { shape: [g.n, g.cOut, g.hOut, g.wOut], dtype: x.dtype };
}

function unary(op: UnaryOpName, needsFloat: boolean): OpDef<UnaryOpName> {
  return {
    arity: 1,
    elementwise: true,
    writesAll: true,
    dtypes: needsFloat ? FLOAT_DTYPES : NUMERIC_DTYPES,
    infer: ([x]) => {
      if (needsFloat) requireFloat(op, x!);
      else requireNumeric(op, x!);
      return { shape: x!.shape, dtype: x!.dtype };
    },
  };
}

function binary(op: BinaryOpName, needsFloat: boolean): OpDef<BinaryOpName> {
  return {
    arity: 2,
    elementwise: true,
    writesAll: true,
    dtypes: needsFloat ? FLOAT_DTYPES : NUMERIC_DTYPES,
    infer: ([a, b]) => {
      requireSameDtype(op, a!, b!);
      if (needsFloat) requireFloat(op, a!);
      else requireNumeric(op, a!);
      return { shape: a!.shape, dtype: a!.dtype };
    },
  };
}

/** Output size of one spatial dimension of a convolution or pooling window. */
export function windowOutputSize(
  size: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = dilation * (kernel - 1) + 1;
  const room = size + padBefore + padAfter - span;
  if (room < 0) return 0;
  let out = (ceilMode ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // A ceil-mode window must start inside the input or the left padding.
  if (ceilMode && (out - 1) * stride >= size + padBefore) out--;
  return out;
}

/** Everything a conv kernel needs, computed once from the shapes and parameters. */
export interface ConvGeometry {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  hOut: number;
  wOut: number;
  groups: number;
  cInPerGroup: number;
  cOutPerGroup: number;
}

export function convGeometry(x: Shape, w: Shape, p: Conv2dParams, op = 'conv2d'): ConvGeometry {
  const [n, cIn, h, wd] = x as [number, number, number, number];
  const [cOut, cInPerGroup, kh, kw] = w as [number, number, number, number];
  const g = p.groups;
  if (!Number.isInteger(g) || g < 1) throw new ArgumentError(`${op}: groups must be a positive integer, got ${g}`);
  if (cIn % g !== 0 || cOut % g !== 0) {
    throw new ShapeError(`${op}: in channels ${cIn} and out channels ${cOut} must both be divisible by groups=${g}`);
  }
  if (cInPerGroup !== cIn / g) {
    throw new ShapeError(
      `${op}: input ${fmt(x)} has ${cIn} channels, so weight ${fmt(w)} should have ${cIn / g} input channels per group (groups=${g}), got ${cInPerGroup}`,
    );
  }
  for (const v of [...p.stride, ...p.dilation]) {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`${op}: stride and dilation must be positive integers`);
  }
  for (const v of p.padding) {
    if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`${op}: padding must be non-negative integers`);
  }
  const hOut = windowOutputSize(h, kh, p.stride[0], p.padding[0], p.padding[1], p.dilation[0]);
  const wOut = windowOutputSize(wd, kw, p.stride[1], p.padding[2], p.padding[3], p.dilation[1]);
  if (hOut < 1 || wOut < 1) {
    throw new ShapeError(
      `${op}: input ${fmt(x)} is too small for kernel ${kh}x${kw} with dilation ${p.dilation.join('x')} and padding [${p.padding.join(', ')}]`,
    );
  }
  return { n, cIn, h, w: wd, cOut, kh, kw, hOut, wOut, groups: g, cInPerGroup, cOutPerGroup: cOut / g };
}

export interface PoolGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  hOut: number;
  wOut: number;
}

export function poolGeometry(x: Shape, p: Pool2dParams, op: string): PoolGeometry {
  if (x.length !== 4) throw new ShapeError(`${op}: expected input of rank 4 (N, C, H, W), got shape ${fmt(x)}`);
  const [n, c, h, w] = x as [number, number, number, number];
  const [kh, kw] = p.kernel;
  for (const v of [...p.kernel, ...p.stride, ...p.dilation]) {
    if (!Number.isInteger(v) || v < 1)
      throw new ArgumentError(`${op}: kernel, stride and dilation must be positive integers`);
  }
  if (p.padding[0] * 2 > kh || p.padding[1] * 2 > kw) {
    throw new ArgumentError(`${op}: padding [${p.padding.join(', ')}] must be at most half the kernel [${kh}, ${kw}]`);
  }
  const hOut = windowOutputSize(h, kh, p.stride[0], p.padding[0], p.padding[0], p.dilation[0], p.ceilMode);
  const wOut = windowOutputSize(w, kw, p.stride[1], p.padding[1], p.padding[1], p.dilation[1], p.ceilMode);
  if (hOut < 1 || wOut < 1) {
    throw new ShapeError(
      `${op}: input ${fmt(x)} is too small for a ${kh}x${kw} window with padding [${p.padding.join(', ')}]`,
    );
  }
  return { n, c, h, w, hOut, wOut };
}

const sameAsFirst = ([x]: readonly TensorMeta[]): TensorMeta => ({ shape: x!.shape, dtype: x!.dtype });

export const opDefs: { readonly [K in OpName]: OpDef<K> } = {
  neg: unary('neg', false),
  exp: unary('exp', true),
  log: unary('log', true),
  sqrt: unary('sqrt', true),
  abs: unary('abs', false),
  sign: unary('sign', false),
  relu: unary('relu', false),
  sigmoid: unary('sigmoid', true),
  tanh: unary('tanh', true),
  add: binary('add', false),
  sub: binary('sub', false),
  mul: binary('mul', false),
  div: binary('div', false),
  maximum: binary('maximum', false),
  minimum: binary('minimum', false),
  pow: binary('pow', true),
  reluBackward: binary('reluBackward', false),
  compare: {
    arity: 2,
    dtypes: ALL_DTYPES,
    elementwise: true,
    writesAll: true,
    infer: ([a, b]) => (requireSameDtype('compare', a!, b!), { shape: a!.shape, dtype: 'bool' }),
  },
  where: {
    arity: 3,
    dtypes: ALL_DTYPES,
    elementwise: true,
    writesAll: true,
    infer: ([c, a, b]) => {
      if (c!.dtype !== 'bool') throw new DTypeError(`where: condition must be bool, got ${c!.dtype}`);
      requireSameDtype('where', a!, b!);
      return { shape: a!.shape, dtype: a!.dtype };
    },
  },
  cast: {
    arity: 1,
    dtypes: ALL_DTYPES,
    elementwise: true,
    writesAll: true,
    infer: ([x], p) => ({ shape: x!.shape, dtype: p.dtype }),
  },
  sum: {
    arity: 1,
    writesAll: true,
    dtypes: NUMERIC_DTYPES,
    infer: ([x], p) => {
      requireNumeric('sum', x!);
      return { shape: reducedShape(x!.shape, p.axes, p.keepDims), dtype: x!.dtype };
    },
  },
  max: {
    arity: 1,
    writesAll: true,
    dtypes: NUMERIC_DTYPES,
    infer: ([x], p) => {
      requireNumeric('max', x!);
      for (const a of p.axes) {
        if (x!.shape[a] === 0) throw new ShapeError(`max: cannot reduce an empty axis ${a} of shape ${fmt(x!.shape)}`);
      }
      return { shape: reducedShape(x!.shape, p.axes, p.keepDims), dtype: x!.dtype };
    },
  },
  logSoftmax: {
    arity: 1,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([x], p) => {
      requireFloat('logSoftmax', x!);
      if (!(Number.isInteger(p.axis) && p.axis >= 0 && p.axis < x!.shape.length)) {
        throw new ArgumentError(`logSoftmax: axis ${p.axis} is out of range for shape ${fmt(x!.shape)}`);
      }
      return { shape: x!.shape, dtype: x!.dtype };
    },
  },
  argmax: {
    arity: 1,
    dtypes: NUMERIC_DTYPES,
    infer: ([x], p) => {
      requireNumeric('argmax', x!);
      if (x!.shape[p.axis] === 0) throw new ShapeError(`argmax: cannot reduce an empty axis of shape ${fmt(x!.shape)}`);
      return { shape: reducedShape(x!.shape, [p.axis], p.keepDims), dtype: 'int32' };
    },
  },
  reshape: { arity: 1, dtypes: ALL_DTYPES, view: true, infer: ([x], p) => ({ shape: p.shape, dtype: x!.dtype }) },
  permute: {
    arity: 1,
    dtypes: ALL_DTYPES,
    view: true,
    infer: ([x], p) => {
      const r = x!.shape.length;
      const seen = new Set(p.perm);
      if (p.perm.length !== r || seen.size !== r || p.perm.some((a) => a < 0 || a >= r || !Number.isInteger(a))) {
        throw new ArgumentError(
          `permute: [${p.perm.join(', ')}] is not a permutation of the ${r} axes of ${fmt(x!.shape)}`,
        );
      }
      return { shape: p.perm.map((a) => x!.shape[a]!), dtype: x!.dtype };
    },
  },
  expand: {
    arity: 1,
    dtypes: ALL_DTYPES,
    view: true,
    infer: ([x], p) => {
      const s = x!.shape;
      const off = p.shape.length - s.length;
      if (off < 0 || s.some((d, i) => d !== 1 && d !== p.shape[i + off])) {
        throw new ShapeError(`expand: cannot expand ${fmt(s)} to ${fmt(p.shape)}`);
      }
      return { shape: p.shape, dtype: x!.dtype };
    },
  },
  slice: {
    arity: 1,
    dtypes: ALL_DTYPES,
    view: true,
    infer: ([x], p) => ({
      shape: x!.shape.map((_, i) => Math.max(0, Math.ceil((p.ends[i]! - p.starts[i]!) / p.steps[i]!))),
      dtype: x!.dtype,
    }),
  },
  contiguous: { arity: 1, dtypes: ALL_DTYPES, infer: sameAsFirst },
  pad: {
    arity: 1,
    dtypes: ALL_DTYPES,
    infer: ([x], p) => {
      if (p.pads.length !== x!.shape.length) {
        throw new ArgumentError(
          `pad: got ${p.pads.length} (before, after) pairs for a tensor of rank ${x!.shape.length}`,
        );
      }
      return { shape: x!.shape.map((d, i) => d + p.pads[i]![0] + p.pads[i]![1]), dtype: x!.dtype };
    },
  },
  concat: {
    arity: -1,
    dtypes: ALL_DTYPES,
    infer: (xs, p) => {
      if (xs.length === 0) throw new ArgumentError('concat: needs at least one tensor');
      const first = xs[0]!;
      let total = 0;
      for (const t of xs) {
        requireSameDtype('concat', first, t);
        const ok =
          t.shape.length === first.shape.length && t.shape.every((d, i) => i === p.axis || d === first.shape[i]);
        if (!ok) {
          throw new ShapeError(
            `concat: shapes ${xs.map((s) => fmt(s.shape)).join(', ')} differ outside axis ${p.axis}`,
          );
        }
        total += t.shape[p.axis]!;
      }
      const shape = [...first.shape];
      shape[p.axis] = total;
      return { shape, dtype: first.dtype };
    },
  },
  matmul: {
    arity: 2,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([a, b]) => matmulShape('matmul', a!, b!),
  },
  conv2d: {
    arity: 2,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([x, w], p) => convShape('conv2d', x!, w!, p),
  },
  conv2dBiasAct: {
    arity: 3,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([x, w, b], p) => {
      const y = convShape('conv2dBiasAct', x!, w!, p);
      checkEpilogue('conv2dBiasAct', p, b!, y.shape[1]!, x!);
      return y;
    },
  },
  matmulBiasAct: {
    arity: 3,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([a, b, bias], p) => {
      const y = matmulShape('matmulBiasAct', a!, b!);
      checkEpilogue('matmulBiasAct', p, bias!, y.shape[2]!, a!);
      return y;
    },
  },
  conv2dGradInput: {
    arity: 2,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([dy, w], p) => gradInputShape('conv2dGradInput', dy!, w!, p),
  },
  conv2dGradWeight: {
    arity: 2,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([x, dy], p) => gradWeightShape('conv2dGradWeight', x!, dy!, p),
  },
  conv2dGradInputAct: {
    arity: 3,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([dy, w, y], p) => {
      const out = gradInputShape('conv2dGradInputAct', dy!, w!, p);
      checkMask('conv2dGradInputAct', p, dy!, y!);
      return out;
    },
  },
  conv2dGradWeightAct: {
    arity: 3,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([x, dy, y], p) => {
      const out = gradWeightShape('conv2dGradWeightAct', x!, dy!, p);
      checkMask('conv2dGradWeightAct', p, dy!, y!);
      return out;
    },
  },
  biasActGrad: {
    arity: 2,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([dy, y], p) => {
      requireFloat('biasActGrad', dy!);
      checkMask('biasActGrad', p, dy!, y!);
      if (!(Number.isInteger(p.axis) && p.axis >= 0 && p.axis < dy!.shape.length)) {
        throw new ArgumentError(`biasActGrad: axis ${p.axis} is not an axis of ${fmt(dy!.shape)}`);
      }
      return { shape: [dy!.shape[p.axis]!], dtype: dy!.dtype };
    },
  },
  maxPool2d: {
    arity: 1,
    writesAll: true,
    dtypes: NUMERIC_DTYPES,
    infer: ([x], p) => {
      requireNumeric('maxPool2d', x!);
      const g = poolGeometry(x!.shape, p, 'maxPool2d');
      return { shape: [g.n, g.c, g.hOut, g.wOut], dtype: x!.dtype };
    },
  },
  maxPool2dGrad: {
    arity: 2,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([x, dy]) => (
      requireSameDtype('maxPool2dGrad', x!, dy!),
      requireFloat('maxPool2dGrad', x!),
      sameAsFirst([x!])
    ),
  },
  avgPool2d: {
    arity: 1,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([x], p) => {
      requireFloat('avgPool2d', x!);
      const g = poolGeometry(x!.shape, p, 'avgPool2d');
      return { shape: [g.n, g.c, g.hOut, g.wOut], dtype: x!.dtype };
    },
  },
  avgPool2dGrad: {
    arity: 1,
    writesAll: true,
    dtypes: FLOAT_DTYPES,
    infer: ([dy], p) => (requireFloat('avgPool2dGrad', dy!), { shape: p.inputShape, dtype: dy!.dtype }),
  },
};
