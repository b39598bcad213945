import { type ArrayFor, type DType, type TypedArray, allocArray, isFloat } from '../core/dtype.js';
import { inspectSymbol } from '../core/inspect.js';
import { ArgumentError, ShapeError, TsgradError, UnsupportedError } from '../core/errors.js';
import { contiguousStrides, fmt, isContiguousLayout, sameShape, sizeOf } from '../core/shape.js';
import type { Backend } from '../backend/backend.js';
import type { GraphNode } from './dispatch.js';
import { formatTensor } from './format.js';
import * as ops from './ops.js';
import type { TensorLike } from './ops.js';

export type NestedNumbers = number | NestedNumbers[];

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
  /** Record the backward computation itself, for higher-order gradients. */
  createGraph?: boolean;
}

/** What `Tensor.backward()` runs: src/autograd/engine.ts's backward(). */
export type BackwardEngine = (root: Tensor, grad: Tensor | undefined, opts: BackwardOptions) => void;

// The tensor layer sits below autograd (whose rules are written with tensor ops), so it cannot import the
// engine without an import cycle; the engine hands itself over here when its module loads, which every
// entry point (src/index.ts, src/browser.ts) and every caller of the engine make sure of.
let backwardEngine: BackwardEngine | null = null;

/** @internal Called once by src/autograd/engine.ts as it loads. */
export function setBackwardEngine(engine: BackwardEngine): void {
  backwardEngine = engine;
}

/** The float dtypes, kept by math on a tensor of that dtype. */
export type FloatDType = 'float32' | 'float64';

/**
 * The dtype math on a `D` tensor gives: a float dtype is kept; for int32 and bool it depends
 * on the operands (e.g. int32 / 2 is float32), so the type says only "some dtype".
 */
export type MathDType<D extends DType> = D extends FloatDType ? D : DType;

/**
 * An n-dimensional array on a backend, with reverse-mode autograd.
 *
 * Reads are asynchronous first (`await t.data()`), because a GPU computes
 * in the background; `dataSync()` exists where the backend can read at once
 * (the CPU backends). Memory is reclaimed by the garbage collector: nothing
 * needs disposing.
 *
 * @example
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * const loss = x.mul(x).sum();
 * loss.backward();
 * x.grad!.arraySync(); // [[2, 4], [6, 8]]
 */
/** Sees (and may replace) a tensor's gradient during backward. */
export type GradHook = (grad: Tensor) => Tensor | void;

/** Returned by every register…Hook: `remove()` unregisters the hook (calling it twice is harmless). */
export interface RemovableHandle {
  remove(): void;
}

let nextHookId = 0;

export class Tensor<D extends DType = DType> {
  /** Whether backward should compute a gradient for this tensor. */
  requiresGrad = false;
  /** Accumulated gradient (leaf tensors only), set by backward(). */
  grad: Tensor<D> | null = null;
  /** @internal The op that produced this tensor, kept until backward frees it. */
  node: GraphNode | null = null;
  /** Keep the gradient of a non-leaf tensor in `.grad` during backward. */
  retainsGrad = false;
  /** @internal Functions called with this tensor's gradient during backward (see registerHook). */
  gradHooks: Map<number, GradHook> | null = null;

  /** @internal Build tensors with tensor(), zeros(), ... */
  constructor(
    /** @internal Backend storage, shared between views. */
    public storage: unknown,
    public readonly shape: readonly number[],
    /** @internal */ public strides: readonly number[],
    /** @internal */ public offset: number,
    public readonly dtype: D,
    public readonly backend: Backend,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    return sizeOf(this.shape);
  }

  /** True for tensors not produced by a recorded op (inputs and parameters). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  isContiguous(): boolean {
    return isContiguousLayout(this.shape, this.strides);
  }

  // ------------------------------------------------------------ reading values

  private dense(): Tensor {
    return ops.contiguous(this);
  }

  /**
   * The values in row-major order, as a fresh typed array of this tensor's dtype
   * (float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array).
   * @example const values: Float32Array = await tensor([1, 2]).data();
   */
  async data(): Promise<ArrayFor<D>> {
    const c = this.dense();
    const a = await c.backend.read(c.storage, c.dtype, c.offset + c.numel);
    return (c.offset ? a.subarray(c.offset) : a) as ArrayFor<D>;
  }

  /**
   * Synchronous data(), on the backends that can read at once (cpu, wasm). On webgpu values
   * live on the GPU or are on their way there, so it throws for every tensor, fresh or computed
   * (float64 excepted: it runs on the host there): use `await t.data()`.
   * @example const values: Float32Array = tensor([1, 2]).dataSync();
   */
  dataSync(): ArrayFor<D> {
    return this.readNow('dataSync', 'await t.data()');
  }

  /** @internal The values now, or a clear error naming the method called and its async twin. */
  private readNow(method: string, asyncTwin: string): ArrayFor<D> {
    const c = this.dense();
    const a = canReadSync(c) ? c.backend.readSync(c.storage, c.dtype, c.offset + c.numel) : undefined;
    if (!a) {
      const only = c.backend.syncReadDTypes?.length ? ` (${c.backend.syncReadDTypes.join(', ')} tensors excepted)` : '';
      throw new UnsupportedError(
        `${method}(): the '${c.backend.name}' backend reads ${c.dtype} tensors asynchronously only${only}; use ${asyncTwin} instead`,
      );
    }
    return (c.offset ? a.subarray(c.offset) : a) as ArrayFor<D>;
  }

  /** The values as nested arrays. */
  async array(): Promise<NestedNumbers> {
    return nest(await this.data(), this.shape);
  }

  /** Synchronous array() (cpu and wasm backends; on webgpu use `await t.array()`). */
  arraySync(): NestedNumbers {
    return nest(this.readNow('arraySync', 'await t.array()'), this.shape);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    this.checkScalar('item');
    return (await this.data())[0]!;
  }

  /** Synchronous item() (cpu and wasm backends; on webgpu use `await t.item()`). */
  itemSync(): number {
    this.checkScalar('itemSync');
    return this.readNow('itemSync', 'await t.item()')[0]!;
  }

  private checkScalar(op: string): void {
    if (this.numel !== 1) throw new ShapeError(`${op}: needs a tensor with one element, got shape ${fmt(this.shape)}`);
  }

  /**
   * As PyTorch prints a tensor: the values (abbreviated past 1000 elements), then shape,
   * dtype, backend and requiresGrad / gradFn. On webgpu the values are not read (reads are
   * asynchronous there). `console.log(t)` and `util.inspect(t)` print the same.
   * @example String(tensor([1, 2])) // 'tensor([1., 2.], shape=[2], dtype=float32, backend=wasm)'
   */
  toString(): string {
    return formatTensor(this);
  }

  /** @internal What console.log and util.inspect show in Node. */
  [inspectSymbol](): string {
    return formatTensor(this);
  }

  // ------------------------------------------------------------ autograd

  /**
   * Computes gradients of this tensor (a scalar, or weighted by `grad`) with
   * respect to every leaf that requires one, accumulating into `.grad`, and
   * frees the graph unless `retainGraph`.
   */
  backward(grad?: Tensor, opts: BackwardOptions = {}): void {
    if (!backwardEngine) {
      throw new TsgradError(
        "backward: the autograd engine is not loaded; import tsgrad from its entry point ('tsgrad' or 'tsgrad/browser'), not a single internal module",
      );
    }
    backwardEngine(this, grad, opts);
  }

  /** Same data, cut from the graph. */
  detach(): Tensor<D> {
    return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype, this.backend) as Tensor<D>;
  }

  /** Marks this tensor as needing a gradient (float tensors only); returns it for chaining. */
  setRequiresGrad(flag = true): this {
    if (flag && !isFloat(this.dtype))
      throw new ArgumentError(`setRequiresGrad: only float tensors can require gradients, got ${this.dtype}`);
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Calls `fn` with this tensor's gradient each time backward computes it
   * (summed over every use, before it flows further back). Returning a tensor
   * of the same shape replaces the gradient. PyTorch's `Tensor.register_hook`.
   * @example
   * const h = y.registerHook((g) => g.mul(2)); // doubles what flows back through y
   * h.remove();
   */
  registerHook(fn: GradHook): RemovableHandle {
    const hooks = (this.gradHooks ??= new Map());
    const id = nextHookId++;
    hooks.set(id, fn);
    return { remove: () => void hooks.delete(id) };
  }

  /** Keep this non-leaf tensor's gradient in `.grad` during backward. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /**
   * Replaces the contents with `value` (same shape; cast to this dtype).
   * Not recorded by autograd: for optimizers and weight loading.
   */
  assign(value: Tensor): this {
    if (!sameShape(value.shape, this.shape)) {
      throw new ShapeError(
        `assign: cannot assign a tensor of shape ${fmt(value.shape)} to one of shape ${fmt(this.shape)}`,
      );
    }
    const v = ops.contiguous(ops.cast(value, this.dtype));
    if (v.backend !== this.backend)
      throw new ArgumentError(`assign: value is on backend '${v.backend.name}', target on '${this.backend.name}'`);
    this.storage = v.storage;
    this.strides = v.strides;
    this.offset = v.offset;
    return this;
  }

  /** A copy with its own storage (recorded by autograd). */
  clone(): Tensor<D> {
    return (this.isContiguous() ? ops.add(this, 0) : ops.contiguous(this)) as Tensor<D>;
  }

  /** @internal A constant tensor on this tensor's backend, float data in this tensor's float dtype. */
  constantFrom(data: TypedArray, shape: readonly number[]): Tensor {
    const dtype: DType = data instanceof Int32Array ? 'int32' : isFloat(this.dtype) ? this.dtype : 'float32';
    let arr = data;
    if (!(data instanceof Int32Array) && (dtype === 'float32') !== data instanceof Float32Array) {
      arr = allocArray(dtype, data.length);
      arr.set(data);
    }
    return new Tensor(this.backend.upload(arr, dtype), shape, contiguousStrides(shape), 0, dtype, this.backend);
  }

  // ------------------------------------------------------------ dtype

  cast<T extends DType>(dtype: T): Tensor<T> {
    return ops.cast(this, dtype) as Tensor<T>;
  }
  float(): Tensor<'float32'> {
    return ops.cast(this, 'float32') as Tensor<'float32'>;
  }
  double(): Tensor<'float64'> {
    return ops.cast(this, 'float64') as Tensor<'float64'>;
  }
  int(): Tensor<'int32'> {
    return ops.cast(this, 'int32') as Tensor<'int32'>;
  }

  // ------------------------------------------------------------ math

  add(other: number | Tensor<D>): Tensor<MathDType<D>>;
  add(other: TensorLike): Tensor;
  add(other: TensorLike): Tensor {
    return ops.add(this, other);
  }
  sub(other: number | Tensor<D>): Tensor<MathDType<D>>;
  sub(other: TensorLike): Tensor;
  sub(other: TensorLike): Tensor {
    return ops.sub(this, other);
  }
  mul(other: number | Tensor<D>): Tensor<MathDType<D>>;
  mul(other: TensorLike): Tensor;
  mul(other: TensorLike): Tensor {
    return ops.mul(this, other);
  }
  div(other: number | Tensor<D>): Tensor<MathDType<D>>;
  div(other: TensorLike): Tensor;
  div(other: TensorLike): Tensor {
    return ops.div(this, other);
  }
  pow(exponent: number | Tensor<D>): Tensor<MathDType<D>>;
  pow(exponent: TensorLike): Tensor;
  pow(exponent: TensorLike): Tensor {
    return ops.pow(this, exponent);
  }
  maximum(other: number | Tensor<D>): Tensor<MathDType<D>>;
  maximum(other: TensorLike): Tensor;
  maximum(other: TensorLike): Tensor {
    return ops.maximum(this, other);
  }
  minimum(other: number | Tensor<D>): Tensor<MathDType<D>>;
  minimum(other: TensorLike): Tensor;
  minimum(other: TensorLike): Tensor {
    return ops.minimum(this, other);
  }
  neg(): Tensor<MathDType<D>> {
    return ops.neg(this) as Tensor<MathDType<D>>;
  }
  exp(): Tensor<MathDType<D>> {
    return ops.unary('exp', this) as Tensor<MathDType<D>>;
  }
  log(): Tensor<MathDType<D>> {
    return ops.unary('log', this) as Tensor<MathDType<D>>;
  }
  sqrt(): Tensor<MathDType<D>> {
    return ops.unary('sqrt', this) as Tensor<MathDType<D>>;
  }
  abs(): Tensor<MathDType<D>> {
    return ops.unary('abs', this) as Tensor<MathDType<D>>;
  }
  sign(): Tensor<MathDType<D>> {
    return ops.unary('sign', this) as Tensor<MathDType<D>>;
  }
  square(): Tensor<MathDType<D>> {
    return ops.square(this) as Tensor<MathDType<D>>;
  }
  clamp(min?: number, max?: number): Tensor<MathDType<D>> {
    return ops.clamp(this, min, max) as Tensor<MathDType<D>>;
  }
  matmul(other: Tensor<D>): Tensor<MathDType<D>>;
  matmul(other: Tensor): Tensor;
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }

  eq(other: TensorLike): Tensor<'bool'> {
    return ops.compare('eq', this, other) as Tensor<'bool'>;
  }
  ne(other: TensorLike): Tensor<'bool'> {
    return ops.compare('ne', this, other) as Tensor<'bool'>;
  }
  lt(other: TensorLike): Tensor<'bool'> {
    return ops.compare('lt', this, other) as Tensor<'bool'>;
  }
  le(other: TensorLike): Tensor<'bool'> {
    return ops.compare('le', this, other) as Tensor<'bool'>;
  }
  gt(other: TensorLike): Tensor<'bool'> {
    return ops.compare('gt', this, other) as Tensor<'bool'>;
  }
  ge(other: TensorLike): Tensor<'bool'> {
    return ops.compare('ge', this, other) as Tensor<'bool'>;
  }

  relu(): Tensor<MathDType<D>> {
    return ops.relu(this) as Tensor<MathDType<D>>;
  }
  sigmoid(): Tensor<MathDType<D>> {
    return ops.sigmoid(this) as Tensor<MathDType<D>>;
  }
  tanh(): Tensor<MathDType<D>> {
    return ops.tanh(this) as Tensor<MathDType<D>>;
  }
  leakyRelu(negativeSlope = 0.01): Tensor<MathDType<D>> {
    return ops.leakyRelu(this, negativeSlope) as Tensor<MathDType<D>>;
  }
  elu(alpha = 1): Tensor<MathDType<D>> {
    return ops.elu(this, alpha) as Tensor<MathDType<D>>;
  }
  softmax(axis = -1): Tensor<MathDType<D>> {
    return ops.softmax(this, axis) as Tensor<MathDType<D>>;
  }
  logSoftmax(axis = -1): Tensor<MathDType<D>> {
    return ops.logSoftmax(this, axis) as Tensor<MathDType<D>>;
  }

  // ------------------------------------------------------------ reductions

  sum(axes?: number | readonly number[], keepDims = false): Tensor<MathDType<D>> {
    return ops.sum(this, axes, keepDims) as Tensor<MathDType<D>>;
  }
  mean(axes?: number | readonly number[], keepDims = false): Tensor<MathDType<D>> {
    return ops.mean(this, axes, keepDims) as Tensor<MathDType<D>>;
  }
  max(axes?: number | readonly number[], keepDims = false): Tensor<MathDType<D>> {
    return ops.max(this, axes, keepDims) as Tensor<MathDType<D>>;
  }
  min(axes?: number | readonly number[], keepDims = false): Tensor<MathDType<D>> {
    return ops.min(this, axes, keepDims) as Tensor<MathDType<D>>;
  }
  argmax(axis?: number, keepDims = false): Tensor<'int32'> {
    return ops.argmax(this, axis, keepDims) as Tensor<'int32'>;
  }
  argmin(axis?: number, keepDims = false): Tensor<'int32'> {
    return ops.argmin(this, axis, keepDims) as Tensor<'int32'>;
  }
  /** Variance (unbiased unless correction: 0). */
  var(axes?: number | readonly number[], opts: { correction?: number; keepDims?: boolean } = {}): Tensor<MathDType<D>> {
    return ops.variance(this, axes, opts) as Tensor<MathDType<D>>;
  }
  std(axes?: number | readonly number[], opts: { correction?: number; keepDims?: boolean } = {}): Tensor<MathDType<D>> {
    return ops.std(this, axes, opts) as Tensor<MathDType<D>>;
  }
  logSumExp(axes?: number | readonly number[], keepDims = false): Tensor<MathDType<D>> {
    return ops.logSumExp(this, axes, keepDims) as Tensor<MathDType<D>>;
  }

  // ------------------------------------------------------------ shape

  reshape(...shape: number[] | [readonly number[]]): Tensor<D> {
    return ops.reshape(this, shapeArg(shape)) as Tensor<D>;
  }
  /** Alias of reshape (a view whenever the layout allows). */
  view(...shape: number[] | [readonly number[]]): Tensor<D> {
    return ops.reshape(this, shapeArg(shape)) as Tensor<D>;
  }
  flatten(startAxis = 0, endAxis = -1): Tensor<D> {
    return ops.flatten(this, startAxis, endAxis) as Tensor<D>;
  }
  squeeze(axis?: number): Tensor<D> {
    return ops.squeeze(this, axis) as Tensor<D>;
  }
  unsqueeze(axis: number): Tensor<D> {
    return ops.unsqueeze(this, axis) as Tensor<D>;
  }
  permute(...perm: number[] | [readonly number[]]): Tensor<D> {
    return ops.permute(this, shapeArg(perm)) as Tensor<D>;
  }
  transpose(axis0 = -2, axis1 = -1): Tensor<D> {
    return ops.transpose(this, axis0, axis1) as Tensor<D>;
  }
  /** Matrix transpose of a 2-D tensor. */
  get T(): Tensor<D> {
    return ops.transpose(this) as Tensor<D>;
  }
  expand(...shape: number[] | [readonly number[]]): Tensor<D> {
    return ops.expand(this, shapeArg(shape)) as Tensor<D>;
  }
  slice(ranges: readonly (readonly [number?, number?, number?] | null)[]): Tensor<D> {
    return ops.slice(this, ranges) as Tensor<D>;
  }
  narrow(axis: number, start: number, length: number): Tensor<D> {
    return ops.narrow(this, axis, start, length) as Tensor<D>;
  }
  select(axis: number, index: number): Tensor<D> {
    return ops.select(this, axis, index) as Tensor<D>;
  }
  contiguous(): Tensor<D> {
    return ops.contiguous(this) as Tensor<D>;
  }
  pad(pads: readonly (readonly [number, number])[], value = 0): Tensor<D> {
    return ops.pad(this, pads, value) as Tensor<D>;
  }
}

/**
 * @internal The values of `t` where its backend holds them on the host now (a fresh upload on
 * webgpu, for instance), else undefined: the library's own peeks (gradcheck's inputs), which
 * user-facing reads must not depend on.
 */
export function peekSync(t: Tensor): TypedArray | undefined {
  const c = ops.contiguous(t);
  const a = c.backend.readSync(c.storage, c.dtype, c.offset + c.numel);
  return a && (c.offset ? a.subarray(c.offset) : a);
}

/** @internal Whether dataSync() may read `t` on its backend (see Backend.syncReadDTypes). */
export function canReadSync(t: Tensor): boolean {
  const only = t.backend.syncReadDTypes;
  return !only || only.includes(t.dtype);
}

function shapeArg(args: number[] | [readonly number[]]): readonly number[] {
  return Array.isArray(args[0]) ? (args[0] as readonly number[]) : (args as number[]);
}

function nest(data: TypedArray, shape: readonly number[]): NestedNumbers {
  if (shape.length === 0) return data[0]!;
  const build = (offset: number, depth: number): NestedNumbers[] => {
    const n = shape[depth]!;
    const out: NestedNumbers[] = [];
    if (depth === shape.length - 1) {
      for (let i = 0; i < n; i++) out.push(data[offset + i]!);
      return out;
    }
    const stride = sizeOf(shape.slice(depth + 1));
    for (let i = 0; i < n; i++) out.push(build(offset + i * stride, depth + 1));
    return out;
  };
  return build(0, 0);
}
