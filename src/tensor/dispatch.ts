/**
 * Runs one primitive: validates shapes through the op table, lets the
 * tensor's backend compute it (or builds a view), and records the graph
 * node autograd needs when an input requires a gradient.
 */
import { type OpName, type OpParams, type TensorMeta, opDefs } from '../core/ops.js';
import { ArgumentError } from '../core/errors.js';
import { broadcastShapes, contiguousStrides, sizeOf, viewStrides } from '../core/shape.js';
import type { View } from '../backend/backend.js';
import { isFloat } from '../core/dtype.js';
import { Tensor } from './tensor.js';

/** A recorded application of a primitive: what backward needs to apply its rule. */
export interface GraphNode<K extends OpName = OpName> {
  readonly op: K;
  readonly params: OpParams[K];
  inputs: readonly Tensor[];
}

let gradEnabled = true;

/** Sees every primitive as it runs, with its output (ONNX export traces a forward pass with it). */
export type OpObserver = (op: OpName, inputs: readonly Tensor[], params: OpParams[OpName], out: Tensor) => void;
let opObserver: OpObserver | null = null;

/**
 * Runs `fn` while `observer` sees every primitive dispatched, in order.
 * @example observeOps((op) => ops.push(op), () => model.forward(x));
 */
export function observeOps<T>(observer: OpObserver, fn: () => T): T {
  const prev = opObserver;
  opObserver = observer;
  try {
    return fn();
  } finally {
    opObserver = prev;
  }
}

/** True while an {@link observeOps} observer sees the ops (whatever it keeps, a backward pass must not recycle). */
export function isObservingOps(): boolean {
  return opObserver !== null;
}

/** Where run() notes each storage it allocates while a log is open; null (the default) costs run() one comparison. */
let allocationLog: unknown[] | null = null;

/**
 * Runs `fn` (synchronous) while every storage that run() allocates for an op's output is
 * appended to `log`. The autograd engine uses it to know which storages are its own
 * temporaries, which it then hands back to the backend (Backend.recycle).
 */
export function logAllocations<T>(log: unknown[], fn: () => T): T {
  const prev = allocationLog;
  allocationLog = log;
  try {
    return fn();
  } finally {
    allocationLog = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording a graph (evaluation, parameter updates).
 * Works with async functions too: recording resumes when the promise settles.
 * @example const y = noGrad(() => model.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with graph recording on or off, restoring the previous mode afterwards. */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    gradEnabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      gradEnabled = prev;
    }) as T;
  }
  gradEnabled = prev;
  return result;
}

function viewOf(t: Tensor): View {
  return { storage: t.storage, dtype: t.dtype, shape: t.shape, strides: t.strides, offset: t.offset };
}

/** A stride-0 view of `t` broadcast to `shape` (no copy). */
function broadcastView(t: Tensor, shape: readonly number[]): View {
  const off = shape.length - t.shape.length;
  const strides = shape.map((d, i) => {
    const j = i - off;
    return j < 0 || t.shape[j] !== d ? 0 : t.strides[j]!;
  });
  return { storage: t.storage, dtype: t.dtype, shape, strides, offset: t.offset };
}

function viewLayout<K extends OpName>(
  op: K,
  x: Tensor,
  shape: readonly number[],
  p: OpParams[K],
): { strides: number[]; offset: number } {
  switch (op) {
    case 'reshape':
      // ops.reshape makes a strided tensor contiguous first where no strides fit (viewStrides).
      return {
        strides: x.isContiguous() ? contiguousStrides(shape) : viewStrides(x.shape, x.strides, shape)!,
        offset: x.offset,
      };
    case 'permute': {
      const perm = (p as OpParams['permute']).perm;
      return { strides: perm.map((a) => x.strides[a]!), offset: x.offset };
    }
    case 'expand': {
      const off = shape.length - x.shape.length;
      return {
        strides: shape.map((d, i) => (i < off || x.shape[i - off] !== d ? 0 : x.strides[i - off]!)),
        offset: x.offset,
      };
    }
    case 'slice': {
      const sp = p as OpParams['slice'];
      let offset = x.offset;
      sp.starts.forEach((s, i) => (offset += s * x.strides[i]!));
      return { strides: x.strides.map((s, i) => s * sp.steps[i]!), offset };
    }
    default:
      throw new ArgumentError(`${op} is not a view op`);
  }
}

/** Time spent on one primitive while {@link profileOps} is on, in milliseconds. */
export interface OpTiming {
  /** Times the primitive ran. */
  calls: number;
  /** Inside the backend's kernel (for copying backends this includes their copies in and out). */
  kernelMs: number;
  /** The whole of run(): shape inference, output allocation, views, graph node, and the kernel. */
  runMs: number;
}

/** Per-primitive timings while profiling is on; null when off, which costs run() one comparison. */
let opTimes: Map<OpName, OpTiming> | null = null;

/**
 * Runs `fn` (synchronous) while timing every primitive dispatched: calls, time inside the backend's
 * kernel, and time in dispatch as a whole. Time of `fn` outside both is JavaScript between kernels
 * (composite ops, modules, the autograd engine, optimizers). For profiling tools (bench/profile-step.ts);
 * off by default, and free when off.
 * @example const { ops } = profileOps(() => trainStep()); // ops.get('conv2d')?.kernelMs
 */
export function profileOps<T>(fn: () => T): { result: T; ops: Map<OpName, OpTiming> } {
  const prev = opTimes;
  const times = new Map<OpName, OpTiming>();
  opTimes = times;
  try {
    return { result: fn(), ops: times };
  } finally {
    opTimes = prev;
  }
}

/** Applies primitive `op` to `inputs`. The single entry point from tensors to backends. */
export function run<K extends OpName>(op: K, inputs: readonly Tensor[], params: OpParams[K]): Tensor {
  if (opTimes === null) return runOp(op, inputs, params, null);
  let t = opTimes.get(op);
  if (!t) opTimes.set(op, (t = { calls: 0, kernelMs: 0, runMs: 0 }));
  const start = performance.now();
  try {
    return runOp(op, inputs, params, t);
  } finally {
    t.calls++;
    t.runMs += performance.now() - start;
  }
}

function runOp<K extends OpName>(
  op: K,
  inputs: readonly Tensor[],
  params: OpParams[K],
  timing: OpTiming | null,
): Tensor {
  const def = opDefs[op];
  if (def.arity >= 0 && inputs.length !== def.arity) {
    throw new ArgumentError(`${op}: expected ${def.arity} inputs, got ${inputs.length}`);
  }
  const backend = inputs[0]!.backend;
  for (const t of inputs) {
    if (t.backend !== backend) {
      throw new ArgumentError(
        `${op}: inputs live on different backends (${backend.name} and ${t.backend.name}); copy one with fromArray(await t.data(), t.shape, { backend })`,
      );
    }
  }
  let metas: readonly TensorMeta[] = inputs;
  let outShape: readonly number[] | undefined;
  if (def.elementwise && inputs.length > 1) {
    outShape = inputs.map((t) => t.shape).reduce((a, b) => broadcastShapes(a, b, op));
    const s = outShape;
    metas = inputs.map((t) => ({ shape: s, dtype: t.dtype }));
  }
  const meta = def.infer(metas, params);
  let out: Tensor;
  if (def.view) {
    const x = inputs[0]!;
    const { strides, offset } = viewLayout(op, x, meta.shape, params);
    out = new Tensor(x.storage, meta.shape, strides, offset, meta.dtype, backend);
  } else {
    const kernel = backend.kernels[op as Exclude<K, 'reshape' | 'permute' | 'expand' | 'slice'>];
    if (!kernel) throw new ArgumentError(`${op}: backend '${backend.name}' has no kernel for this op`);
    const size = sizeOf(meta.shape);
    const storage = backend.alloc(meta.dtype, size, allocationLog !== null, def.writesAll === true);
    allocationLog?.push(storage);
    const strides = contiguousStrides(meta.shape);
    const views = outShape ? inputs.map((t) => broadcastView(t, outShape)) : inputs.map(viewOf);
    const outView: View = { storage, dtype: meta.dtype, shape: meta.shape, strides, offset: 0 };
    const k = kernel as (i: readonly View[], o: View, p: OpParams[K]) => void;
    if (timing === null) k(views, outView, params);
    else {
      const start = performance.now();
      k(views, outView, params);
      timing.kernelMs += performance.now() - start;
    }
    out = new Tensor(storage, meta.shape, strides, 0, meta.dtype, backend);
  }
  if (gradEnabled && isFloat(meta.dtype) && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, params, inputs } as GraphNode;
  }
  opObserver?.(op, inputs, params as OpParams[OpName], out);
  return out;
}
