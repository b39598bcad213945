import { type DType, type TypedArray, allocArray, isFloat } from '../core/dtype.js';
import { ArgumentError, ShapeError, UnsupportedError } from '../core/errors.js';
import { contiguousStrides, fmt, isContiguousLayout, sameShape, sizeOf } from '../core/shape.js';
import type { Backend } from '../backend/backend.js';
import { backward, type BackwardOptions } from '../autograd/engine.js';
import type { GraphNode } from './dispatch.js';
import * as ops from './ops.js';
import type { TensorLike } from './ops.js';

export type NestedNumbers = number | NestedNumbers[];

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

export class Tensor {
  /** Whether backward should compute a gradient for this tensor. */
  requiresGrad = false;
  /** Accumulated gradient (leaf tensors only), set by backward(). */
  grad: Tensor | null = null;
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
    public readonly dtype: DType,
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

  /** The values in row-major order, as a fresh typed array. */
  async data(): Promise<TypedArray> {
    const c = this.dense();
    return c.backend.read(c.storage, c.dtype, c.offset + c.numel).then((a) => (c.offset ? a.subarray(c.offset) : a));
  }

  /** Synchronous data(); throws on backends that can only read asynchronously. */
  dataSync(): TypedArray {
    const c = this.dense();
    const a = c.backend.readSync(c.storage, c.dtype, c.offset + c.numel);
    if (!a)
      throw new UnsupportedError(`dataSync: backend '${c.backend.name}' reads asynchronously; use await tensor.data()`);
    return c.offset ? a.subarray(c.offset) : a;
  }

  /** The values as nested arrays. */
  async array(): Promise<NestedNumbers> {
    return nest(await this.data(), this.shape);
  }

  arraySync(): NestedNumbers {
    return nest(this.dataSync(), this.shape);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    this.checkScalar('item');
    return (await this.data())[0]!;
  }

  itemSync(): number {
    this.checkScalar('itemSync');
    return this.dataSync()[0]!;
  }

  private checkScalar(op: string): void {
    if (this.numel !== 1) throw new ShapeError(`${op}: needs a tensor with one element, got shape ${fmt(this.shape)}`);
  }

  /** Shape and dtype, plus the values where they can be read synchronously and are few (≤ 1000). */
  toString(): string {
    const head = `Tensor(shape=${fmt(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
    if (this.numel > 1000) return head;
    const c = this.dense();
    const values = c.backend.readSync(c.storage, c.dtype, c.offset + c.numel);
    return values ? `${head}\n${JSON.stringify(nest(values.subarray(c.offset), this.shape))}` : head;
  }

  // ------------------------------------------------------------ autograd

  /**
   * Computes gradients of this tensor (a scalar, or weighted by `grad`) with
   * respect to every leaf that requires one, accumulating into `.grad`, and
   * frees the graph unless `retainGraph`.
   */
  backward(grad?: Tensor, opts: BackwardOptions = {}): void {
    backward(this, grad, opts);
  }

  /** Same data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype, this.backend);
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
  clone(): Tensor {
    return this.isContiguous() ? ops.add(this, 0) : ops.contiguous(this);
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

  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  float(): Tensor {
    return ops.cast(this, 'float32');
  }
  double(): Tensor {
    return ops.cast(this, 'float64');
  }
  int(): Tensor {
    return ops.cast(this, 'int32');
  }

  // ------------------------------------------------------------ math

  add(other: TensorLike): Tensor {
    return ops.add(this, other);
  }
  sub(other: TensorLike): Tensor {
    return ops.sub(this, other);
  }
  mul(other: TensorLike): Tensor {
    return ops.mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return ops.div(this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return ops.pow(this, exponent);
  }
  maximum(other: TensorLike): Tensor {
    return ops.maximum(this, other);
  }
  minimum(other: TensorLike): Tensor {
    return ops.minimum(this, other);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.unary('exp', this);
  }
  log(): Tensor {
    return ops.unary('log', this);
  }
  sqrt(): Tensor {
    return ops.unary('sqrt', this);
  }
  abs(): Tensor {
    return ops.unary('abs', this);
  }
  sign(): Tensor {
    return ops.unary('sign', this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  clamp(min?: number, max?: number): Tensor {
    return ops.clamp(this, min, max);
  }
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }

  eq(other: TensorLike): Tensor {
    return ops.compare('eq', this, other);
  }
  ne(other: TensorLike): Tensor {
    return ops.compare('ne', this, other);
  }
  lt(other: TensorLike): Tensor {
    return ops.compare('lt', this, other);
  }
  le(other: TensorLike): Tensor {
    return ops.compare('le', this, other);
  }
  gt(other: TensorLike): Tensor {
    return ops.compare('gt', this, other);
  }
  ge(other: TensorLike): Tensor {
    return ops.compare('ge', this, other);
  }

  relu(): Tensor {
    return ops.relu(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  leakyRelu(negativeSlope = 0.01): Tensor {
    return ops.leakyRelu(this, negativeSlope);
  }
  elu(alpha = 1): Tensor {
    return ops.elu(this, alpha);
  }
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }

  // ------------------------------------------------------------ reductions

  sum(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.sum(this, axes, keepDims);
  }
  mean(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.mean(this, axes, keepDims);
  }
  max(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.max(this, axes, keepDims);
  }
  min(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.min(this, axes, keepDims);
  }
  argmax(axis?: number, keepDims = false): Tensor {
    return ops.argmax(this, axis, keepDims);
  }
  argmin(axis?: number, keepDims = false): Tensor {
    return ops.argmin(this, axis, keepDims);
  }
  /** Variance (unbiased unless correction: 0). */
  var(axes?: number | readonly number[], opts: { correction?: number; keepDims?: boolean } = {}): Tensor {
    return ops.variance(this, axes, opts);
  }
  std(axes?: number | readonly number[], opts: { correction?: number; keepDims?: boolean } = {}): Tensor {
    return ops.std(this, axes, opts);
  }
  logSumExp(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.logSumExp(this, axes, keepDims);
  }

  // ------------------------------------------------------------ shape

  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return ops.reshape(this, shapeArg(shape));
  }
  /** Alias of reshape (a view whenever the layout allows). */
  view(...shape: number[] | [readonly number[]]): Tensor {
    return ops.reshape(this, shapeArg(shape));
  }
  flatten(startAxis = 0, endAxis = -1): Tensor {
    return ops.flatten(this, startAxis, endAxis);
  }
  squeeze(axis?: number): Tensor {
    return ops.squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  permute(...perm: number[] | [readonly number[]]): Tensor {
    return ops.permute(this, shapeArg(perm));
  }
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return ops.transpose(this, axis0, axis1);
  }
  /** Matrix transpose of a 2-D tensor. */
  get T(): Tensor {
    return ops.transpose(this);
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return ops.expand(this, shapeArg(shape));
  }
  slice(ranges: readonly (readonly [number?, number?, number?] | null)[]): Tensor {
    return ops.slice(this, ranges);
  }
  narrow(axis: number, start: number, length: number): Tensor {
    return ops.narrow(this, axis, start, length);
  }
  select(axis: number, index: number): Tensor {
    return ops.select(this, axis, index);
  }
  contiguous(): Tensor {
    return ops.contiguous(this);
  }
  pad(pads: readonly (readonly [number, number])[], value = 0): Tensor {
    return ops.pad(this, pads, value);
  }
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
