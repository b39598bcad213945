/**
 * The webgpu backend: every primitive of the op table as a WGSL compute kernel, for float32,
 * int32 and bool tensors (./kernels). Data stays on the GPU between ops; reads are
 * asynchronous (`await t.data()`), and `dataSync()` refuses GPU-resident tensors.
 *
 * float64 has no WGSL type, so float64 tensors live on the host and their ops run the cpu
 * kernels (gradient checks use float64). Every such op is recorded: webgpuFallbacks() lists
 * them, and TSGRAD_WEBGPU_DEBUG=1 prints each op the first time it runs on the host. No
 * float32, int32 or bool op runs on the host.
 *
 * The adapter arrives asynchronously, so the backend registers itself only once
 * `await initWebGPU()` succeeds; `setBackend('webgpu')` works from then on.
 *
 * Shutting down: Dawn runs worker threads, and a process that exits while they still hold
 * the device has been seen to abort inside Dawn (see scripts/webgpu-probe.mjs). initWebGPU
 * therefore installs a `beforeExit` hook in Node that waits for the queue and destroys the
 * device (shutdownWebGPU() does the same on demand).
 */
import { type DType, type TypedArray, allocArray } from '../../core/dtype.js';
import { UnsupportedError } from '../../core/errors.js';
import { type KernelOpName, type OpParams, biasGradAxes } from '../../core/ops.js';
import type { Backend, Kernel, KernelTable } from '../backend.js';
import { cpuBackend } from '../cpu/index.js';
import { withFallback } from '../fallback.js';
import { acquireDevice } from './device.js';
import { GpuStorage, Runtime, fromWords } from './runtime.js';
import type { GpuView } from './kernels/common.js';
import {
  binaryGpu,
  castGpu,
  compareGpu,
  contiguousGpu,
  maskedGradGpu,
  unaryGpu,
  whereGpu,
} from './kernels/elementwise.js';
import { argmaxGpu, logSoftmaxGpu, maxGpu, sumGpu } from './kernels/reduce.js';
import { concatGpu, padGpu } from './kernels/movement.js';
import {
  conv2dBiasActGpu,
  conv2dGpu,
  conv2dGradInputGpu,
  conv2dGradWeightGpu,
  matmulBiasActGpu,
  matmulGpu,
} from './kernels/gemm.js';
import { avgPool2dGpu, avgPool2dGradGpu, maxPool2dGpu, maxPool2dGradGpu } from './kernels/pool.js';

export { GpuStorage } from './runtime.js';

let runtime: Runtime | null = null;
let releaseGpu: (() => void) | null = null;
/** webgpuStatus().reason before the first initWebGPU() call. */
export const NOT_INITIALISED = 'initWebGPU() has not been called';
let unavailable = NOT_INITIALISED;

function rt(op: string): Runtime {
  if (!runtime) throw new UnsupportedError(`${op}: the webgpu backend is not initialised (${unavailable})`);
  return runtime;
}

const debug = (): boolean =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.['TSGRAD_WEBGPU_DEBUG'] ===
  '1';

const fallbackCounts = new Map<string, number>();

/**
 * Ops that ran on the host (cpu kernels) on the webgpu backend, with counts. Only float64
 * work goes there; an entry for any other dtype would be a bug.
 * @example await initWebGPU(); ...; console.log(webgpuFallbacks()); // [{ op: 'matmul', dtype: 'float64', count: 3 }]
 */
export function webgpuFallbacks(): { op: string; dtype: DType; count: number }[] {
  return [...fallbackCounts].map(([key, count]) => {
    const [op, dtype] = key.split(':') as [string, DType];
    return { op, dtype, count };
  });
}

/** The host copy of a storage for a cpu kernel; GPU-only data cannot be read synchronously. */
function hostArray(s: GpuStorage, op: string, shape: readonly number[]): TypedArray {
  if (s.host) return s.host;
  if (!s.onGpu) return (s.host = allocArray(s.dtype, s.size));
  throw new UnsupportedError(
    `${op}: float64 work on webgpu runs on the host, but a ${s.dtype} input of shape [${shape.join(', ')}] was computed on the GPU; read it with await t.data() and build the float64 tensor from the values`,
  );
}

const cpuKernels = cpuBackend.kernels as KernelTable<TypedArray>;

type GpuKernel<K extends KernelOpName> = (r: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams[K]) => void;

/** The dtypes WGSL kernels compute; a call with any other (float64) runs the cpu kernel on the host. `tsgrad ops` prints it. */
export const WEBGPU_NATIVE_DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];

/** A GPU kernel, with float64 calls sent to the cpu kernel on host copies (and recorded): the shared fallback wrapper. */
function kernel<K extends KernelOpName>(op: K, gpu: GpuKernel<K>): Kernel<K, GpuStorage> {
  const reference = cpuKernels[op] as unknown as Kernel<K, TypedArray>;
  const native = (d: DType): boolean => WEBGPU_NATIVE_DTYPES.includes(d);
  return withFallback<K, GpuStorage>({
    op,
    accepts: (inputs, out) => native(out.dtype) && inputs.every((v) => native(v.dtype)),
    fast: (inputs, out, p) => gpu(rt(op), inputs as readonly GpuView[], out as GpuView, p),
    onFallback: () => {
      const key = `${op}:float64`;
      if (!fallbackCounts.has(key) && debug()) console.error(`tsgrad webgpu: ${op} (float64) runs on the host`);
      fallbackCounts.set(key, (fallbackCounts.get(key) ?? 0) + 1);
    },
    fallback: (inputs, out, p) => {
      const views = inputs.map((v) => ({ ...v, storage: hostArray(v.storage, op, v.shape) }));
      const o = allocArray(out.dtype, out.storage.size);
      reference(views, { ...out, storage: o }, p);
      out.storage.host = o;
    },
  });
}

const kernels: KernelTable<GpuStorage> = {
  neg: kernel('neg', unaryGpu('neg')),
  exp: kernel('exp', unaryGpu('exp')),
  log: kernel('log', unaryGpu('log')),
  sqrt: kernel('sqrt', unaryGpu('sqrt')),
  abs: kernel('abs', unaryGpu('abs')),
  sign: kernel('sign', unaryGpu('sign')),
  relu: kernel('relu', unaryGpu('relu')),
  sigmoid: kernel('sigmoid', unaryGpu('sigmoid')),
  tanh: kernel('tanh', unaryGpu('tanh')),
  add: kernel('add', binaryGpu('add')),
  sub: kernel('sub', binaryGpu('sub')),
  mul: kernel('mul', binaryGpu('mul')),
  div: kernel('div', binaryGpu('div')),
  maximum: kernel('maximum', binaryGpu('maximum')),
  minimum: kernel('minimum', binaryGpu('minimum')),
  reluBackward: kernel('reluBackward', binaryGpu('reluBackward')),
  pow: kernel('pow', binaryGpu('pow')),
  compare: kernel('compare', compareGpu),
  where: kernel('where', whereGpu),
  cast: kernel('cast', castGpu),
  sum: kernel('sum', sumGpu),
  max: kernel('max', maxGpu),
  argmax: kernel('argmax', argmaxGpu),
  logSoftmax: kernel('logSoftmax', logSoftmaxGpu),
  contiguous: kernel('contiguous', contiguousGpu),
  pad: kernel('pad', padGpu),
  concat: kernel('concat', concatGpu),
  matmul: kernel('matmul', matmulGpu),
  conv2d: kernel('conv2d', conv2dGpu),
  conv2dBiasAct: kernel('conv2dBiasAct', conv2dBiasActGpu),
  matmulBiasAct: kernel('matmulBiasAct', matmulBiasActGpu),
  conv2dGradInput: kernel('conv2dGradInput', conv2dGradInputGpu),
  conv2dGradWeight: kernel('conv2dGradWeight', conv2dGradWeightGpu),
  // The backward of a fused epilogue: the masked gradient into scratch, then the plain kernel.
  conv2dGradInputAct: kernel('conv2dGradInputAct', (r, [dy, w, y], out, p) =>
    conv2dGradInputGpu(r, [maskedGradGpu(r, 'conv2dGradInputAct', dy!, y!, p), w!], out, p),
  ),
  conv2dGradWeightAct: kernel('conv2dGradWeightAct', (r, [x, dy, y], out, p) =>
    conv2dGradWeightGpu(r, [x!, maskedGradGpu(r, 'conv2dGradWeightAct', dy!, y!, p)], out, p),
  ),
  biasActGrad: kernel('biasActGrad', (r, [dy, y], out, p) =>
    sumGpu(r, [maskedGradGpu(r, 'biasActGrad', dy!, y!, p)], out, {
      axes: biasGradAxes(dy!.shape.length, p.axis),
      keepDims: false,
    }),
  ),
  maxPool2d: kernel('maxPool2d', maxPool2dGpu),
  maxPool2dGrad: kernel('maxPool2dGrad', maxPool2dGradGpu),
  avgPool2d: kernel('avgPool2d', avgPool2dGpu),
  avgPool2dGrad: kernel('avgPool2dGrad', avgPool2dGradGpu),
};

/**
 * The webgpu backend object. Usable after `await initWebGPU()` returns true.
 * @example if (await initWebGPU()) setBackend('webgpu');
 */
export const webgpuBackend: Backend<GpuStorage> = {
  name: 'webgpu',
  alloc: (dtype: DType, size: number) => new GpuStorage(dtype, size, rt('alloc')),
  upload: (data: TypedArray, dtype: DType) => {
    const s = new GpuStorage(dtype, data.length, rt('upload'));
    // Kept on the host until a GPU kernel needs it (uploaded then); float64 stays here.
    const copy = allocArray(dtype, data.length);
    copy.set(data);
    s.host = copy;
    return s;
  },
  read: async (s, dtype, size) => {
    if (s.host) return s.host.slice(0, size);
    if (!s.onGpu) return allocArray(dtype, size);
    const bytes = await rt('read').readBytes(s, size * 4);
    return fromWords(bytes, dtype, size);
  },
  // Host-resident storages (float64, uploads, host-kernel results) read at once; GPU ones cannot.
  readSync: (s, dtype, size) => (s.host ? s.host.slice(0, size) : s.onGpu ? undefined : allocArray(dtype, size)),
  // Tensor reads stay asynchronous whatever the storage's state, so code that works on a fresh tensor
  // works on a computed one; readSync above remains for the library's own peeks (label checks).
  syncReadDTypes: ['float64'],
  kernels,
};

export interface WebGPUStatus {
  readonly available: boolean;
  /** The adapter's name (e.g. 'llvmpipe (LLVM 15.0.6, 256 bits)') when available. */
  readonly adapter?: string;
  /** Why the backend is unavailable, when it is not. */
  readonly reason?: string;
  /** Bytes of GPU buffers held by the pool (in use and free). */
  readonly poolBytes: number;
  readonly freeBytes: number;
  readonly pipelines: number;
  /** 'direct' (barrier-free GEMM, convolution and reduction kernels) or 'tiled'; see setWebGPUKernels. */
  readonly kernels?: 'tiled' | 'direct';
}

/** Where the webgpu backend stands: adapter, or why there is none; pool sizes. */
export function webgpuStatus(): WebGPUStatus {
  return runtime
    ? {
        available: true,
        adapter: runtime.adapterName,
        poolBytes: runtime.poolBytes,
        freeBytes: runtime.freeBytes,
        pipelines: runtime.pipelineCount,
        kernels: runtime.barrierFree ? 'direct' : 'tiled',
      }
    : { available: false, reason: unavailable, poolBytes: 0, freeBytes: 0, pipelines: 0 };
}

/** True for software rasterisers, which 'auto' does not prefer over the wasm backend. */
export function isSoftwareAdapter(name: string): boolean {
  return /llvmpipe|lavapipe|swiftshader|software/i.test(name);
}

export type WebGPUKernelStyle = 'auto' | 'tiled' | 'direct';
let kernelStyle: WebGPUKernelStyle | null = null;

function applyKernelStyle(): void {
  if (!runtime) return;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[
    'TSGRAD_WEBGPU_KERNELS'
  ];
  const style = kernelStyle ?? (env === 'tiled' || env === 'direct' ? env : 'auto');
  // Only SwiftShader: on Mesa's llvmpipe the tiled kernels were faster (15 LeNet-5 steps of 8:
  // 12.3 s tiled, 17.5 s direct, on the shared 2-core machine at load average ~20).
  runtime.barrierFree = style === 'direct' || (style === 'auto' && /swiftshader/i.test(runtime.adapterName));
}

/**
 * Chooses the webgpu backend's GEMM, convolution and reduction kernels: 'tiled' (workgroup
 * memory and barriers), 'direct' (one invocation per output, no barriers: faster on
 * SwiftShader, which runs a barrier by switching between the workgroup's SIMD groups), or 'auto' (the default: direct on SwiftShader, tiled elsewhere).
 * The environment variable TSGRAD_WEBGPU_KERNELS=tiled|direct sets it in Node.
 * @example setWebGPUKernels('tiled'); // as on a hardware GPU, whatever the adapter
 */
export function setWebGPUKernels(style: WebGPUKernelStyle): void {
  runtime?.flush();
  kernelStyle = style;
  applyKernelStyle();
}

let initPromise: Promise<boolean> | null = null;
let registerHook: ((b: Backend | null) => void) | null = null;

/** @internal src/backend/index.ts registers the backend through this hook. */
export function onWebGPURegistration(hook: (b: Backend | null) => void): void {
  registerHook = hook;
}

/**
 * Acquires a WebGPU adapter and device (navigator.gpu, or the optional `webgpu` package in
 * Node) and registers the 'webgpu' backend. Resolves false, with the reason in
 * webgpuStatus().reason, where there is none. Safe to call more than once.
 * @example
 * if (await initWebGPU()) setBackend('webgpu');
 * else console.log(webgpuStatus().reason);
 */
export function initWebGPU(): Promise<boolean> {
  if (runtime && !runtime.isDestroyed) return Promise.resolve(true);
  initPromise ??= (async () => {
    const r = await acquireDevice();
    if (!r.ok) {
      unavailable = r.reason;
      initPromise = null;
      return false;
    }
    runtime = new Runtime(r.value.device, r.value.adapterName);
    applyKernelStyle();
    releaseGpu = r.value.release;
    void r.value.device.lost.then((info) => {
      if (runtime?.device === r.value.device && !runtime.isDestroyed) {
        unavailable = `device lost: ${info.message}`;
        console.error(`tsgrad webgpu: ${unavailable}`);
      }
    });
    installExitHook();
    registerHook?.(webgpuBackend as Backend);
    return true;
  })();
  return initPromise;
}

let hookInstalled = false;
function installExitHook(): void {
  const proc = (globalThis as { process?: { once?: (ev: string, f: () => void) => void } }).process;
  if (hookInstalled || !proc?.once) return;
  hookInstalled = true;
  // beforeExit fires when the event loop drains (not on process.exit()); the async
  // shutdown then runs and Node exits once it is done.
  proc.once('beforeExit', () => void shutdownWebGPU());
}

/**
 * Waits for the GPU to finish, frees every buffer, destroys the device and unregisters the
 * backend. Tensors on it become unusable. Node calls this itself before a normal exit; call
 * it before process.exit().
 * @example await shutdownWebGPU(); process.exit(0);
 */
export async function shutdownWebGPU(): Promise<void> {
  const r = runtime;
  if (!r) return;
  runtime = null;
  initPromise = null;
  unavailable = 'shut down by shutdownWebGPU()';
  registerHook?.(null);
  await r.destroy();
  releaseGpu?.();
  releaseGpu = null;
  hookInstalled = false;
}

/** @internal Submits recorded work and waits for the GPU (tests and benchmarks). */
export async function webgpuSync(): Promise<void> {
  await runtime?.idle();
}
