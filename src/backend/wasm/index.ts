/**
 * The wasm backend: the cpu backend with the float32 kernels that dominate CNN training
 * (GEMM-based matmul and convolutions with both gradients, pooling) replaced by WebAssembly
 * SIMD kernels written in AssemblyScript (./assembly/kernels.ts, built by
 * scripts/build-wasm.mjs, which also generates their TypeScript interface, kernels-abi.ts).
 *
 * Where things live:
 *   - lifecycle.ts: probing, choosing a build, instantiating it, the worker pool's threads
 *     (all on first use: importing this module does no work);
 *   - runtime.ts / pool.ts / worker.ts: one instantiated build with its scratch arena, and
 *     the worker threads that share its memory;
 *   - plan.ts: how work splits into per-lane programs, and how views become kernel operands;
 *   - kernels/: the kernels by family (matmul, conv, pool, elementwise, reduce);
 *   - this file: the kernel table, with the cpu kernels as the fallback (../fallback.ts).
 *
 * Storage is plain typed arrays, so every other kernel is the cpu one and tensors of both
 * backends share one format: host arrays as on the cpu backend, or, within the resident
 * budget (TSGRAD_WASM_RESIDENT_MIB, 64 MiB by default: see heap.ts), Float32Array views of the
 * kernels' shared linear memory, which kernels read and write in place; host operands are
 * copied in and out through a scratch block (kernels/common.ts's stage()). Inside each override, float64 (gradient
 * checks) and int32 inputs take the cpu kernel, as do calls made before an asynchronously
 * compiled module is ready and calls whose scratch would not fit in linear memory.
 *
 * Some memory-bound ops are overridden too (float32 add/sub/mul/div/maximum/minimum and
 * comparisons on dense or broadcast operands, relu/neg/abs/sqrt, bool→float32 casts, sums):
 * they do O(1) work per element, so the copies cost about as much as the op, yet they still
 * win several times over, because the reference kernels call a closure per element or
 * branch per element (relu and comparisons on random signs mispredict half the time),
 * while these run branch-free four lanes at a time. In a LeNet-5 training step they were
 * half the time left once the convolutions ran in wasm. Other layouts (transposed
 * operands, more than three broadcast runs) and other ops stay on the cpu kernels.
 */
import type { DType, TypedArray } from '../../core/dtype.js';
import type { KernelOpName } from '../../core/ops.js';
import { sizeOf } from '../../core/shape.js';
import type { Backend, Kernel, KernelTable } from '../backend.js';
import { cpuBackend } from '../cpu/index.js';
import type { CpuView } from '../cpu/storage.js';
import { withFallback } from '../fallback.js';
import type { KernelFunction } from './kernels-abi.js';
import type { FastKernel } from './kernels/common.js';
import {
  conv2dBiasActFast,
  conv2dFast,
  conv2dGradInputActFast,
  conv2dGradInputFast,
  conv2dGradWeightActFast,
  conv2dGradWeightFast,
} from './kernels/conv.js';
import {
  WASM_BINARY_OPS,
  WASM_UNARY_OPS,
  binaryFast,
  castFast,
  compareFast,
  unaryFast,
} from './kernels/elementwise.js';
import { matmulBiasActFast, matmulFast } from './kernels/matmul.js';
import { wasmOptimizerKernels } from './kernels/optim.js';
import { avgPool2dFast, avgPool2dGradFast, maxPool2dFast, maxPool2dGradFast } from './kernels/pool.js';
import { biasActGradFast, logSoftmaxFast, sumFast } from './kernels/reduce.js';
import type { HeapStats, WasmHeap } from './heap.js';
import { activeHeap, activeRuntime, features, ready, setThreads, threads, threadsReady } from './lifecycle.js';
import { ArenaFullError, type KernelVariant, type WasmRuntime, instantiateSync, stagingCopies } from './runtime.js';

export type { WasmFeatures } from './features.js';
export type { KernelVariant } from './runtime.js';
export { type HeapStats, WasmMemoryLimitError } from './heap.js';

const cpu = cpuBackend.kernels as KernelTable<TypedArray>;

/** The dtypes a wasm kernel takes in and gives out; any other call runs the cpu kernel. */
export interface NativeDtypes {
  readonly inputs: readonly DType[];
  readonly output: readonly DType[];
}

const FLOAT32: NativeDtypes = { inputs: ['float32'], output: ['float32'] };

/**
 * The ops the wasm backend runs in WebAssembly and for which dtypes (every other op, and
 * every other dtype, runs the cpu reference kernel). Filled by override() below as the
 * kernel table is built, so it is the table dispatch itself uses (`tsgrad ops` prints it).
 */
export const WASM_NATIVE: Partial<Record<KernelOpName, NativeDtypes>> = {};

/**
 * Which kernel family calls each function kernels.ts exports. Typed over the generated
 * KernelFunction, so an export added to the AssemblyScript source without a caller here (or
 * a caller of a function that is not exported) fails to compile.
 */
export const KERNEL_CALLERS: { readonly [F in KernelFunction]: string } = {
  heapBase: 'runtime',
  gemmWorkspaceBytes: 'runtime',
  gemm: 'kernels/conv',
  gemmBatched: 'kernels/matmul',
  im2col: 'kernels/conv',
  col2im: 'kernels/conv',
  nchwToChannelRows: 'kernels/conv',
  channelRowsToNchw: 'kernels/conv',
  maxPool2d: 'kernels/pool',
  maxPool2dGrad: 'kernels/pool',
  avgPool2d: 'kernels/pool',
  avgPool2dGrad: 'kernels/pool',
  binary: 'kernels/elementwise',
  compare: 'kernels/elementwise',
  unary: 'kernels/elementwise',
  boolToF32: 'kernels/elementwise',
  sumKRKR: 'kernels/reduce',
  sgdStep: 'kernels/optim',
  adamStep: 'kernels/optim',
  convDirectWorkBytes: 'kernels/conv-direct',
  packConvFilters: 'kernels/conv-direct',
  convDirect: 'kernels/conv-direct',
  convImplicitWorkBytes: 'kernels/conv-direct',
  convImplicitAccBytes: 'kernels/conv-direct',
  convImplicitGradWeight: 'kernels/conv-direct',
  maxPool2x2: 'kernels/pool',
  maxPool2x2Grad: 'kernels/pool',
  biasActPlanes: 'kernels/conv',
  epilogueMask: 'kernels/conv',
  biasActRows: 'kernels/matmul',
  logSoftmaxRows: 'kernels/reduce',
  zeroBytes: 'runtime',
};

/**
 * A wasm kernel with the cpu kernel as fallback: for other dtypes (by default anything but
 * float32 in and out), empty tensors, calls before the module is ready, layouts the wasm
 * kernel declines, and scratch that would not fit in linear memory.
 */
function override<K extends KernelOpName>(
  op: K,
  runtime: () => WasmRuntime | null,
  fast: FastKernel<K>,
  native: NativeDtypes = FLOAT32,
): Kernel<K, TypedArray> {
  WASM_NATIVE[op] = native;
  return withFallback<K, TypedArray>({
    op,
    accepts: (inputs, out) =>
      native.output.includes(out.dtype) &&
      inputs.every((v) => native.inputs.includes(v.dtype)) &&
      sizeOf(out.shape) > 0 &&
      inputs.every((v) => sizeOf(v.shape) > 0),
    fast: (inputs, out, p) => {
      const rt = runtime();
      return rt ? fast(rt, inputs as readonly CpuView[], out as CpuView, p) : false;
    },
    fallback: cpu[op] as unknown as Kernel<K, TypedArray>,
    recoverable: (e) => e instanceof ArenaFullError,
  });
}

/**
 * Storage: float32 tensors live in the runtime's linear memory (heap.ts's resident arrays:
 * Float32Array views of a shared memory, freed when garbage-collected) while the heap's
 * budget has room, so wasm kernels read and write them in place; every other dtype, and
 * float32 past the budget, is a host typed array as on the cpu backend. Both are plain typed
 * arrays, so the cpu fallback kernels read either. read()/readSync() (`t.data()`) return a
 * copy, never a view of linear memory.
 */
function makeBackend(runtime: () => WasmRuntime | null, heap: () => WasmHeap | null): Backend<TypedArray> {
  const kernels: Record<string, unknown> = {
    ...cpu,
    matmul: override('matmul', runtime, matmulFast),
    conv2d: override('conv2d', runtime, conv2dFast),
    conv2dBiasAct: override('conv2dBiasAct', runtime, conv2dBiasActFast),
    matmulBiasAct: override('matmulBiasAct', runtime, matmulBiasActFast),
    conv2dGradInput: override('conv2dGradInput', runtime, conv2dGradInputFast),
    conv2dGradWeight: override('conv2dGradWeight', runtime, conv2dGradWeightFast),
    conv2dGradInputAct: override('conv2dGradInputAct', runtime, conv2dGradInputActFast),
    conv2dGradWeightAct: override('conv2dGradWeightAct', runtime, conv2dGradWeightActFast),
    biasActGrad: override('biasActGrad', runtime, biasActGradFast),
    maxPool2d: override('maxPool2d', runtime, maxPool2dFast),
    maxPool2dGrad: override('maxPool2dGrad', runtime, maxPool2dGradFast),
    avgPool2d: override('avgPool2d', runtime, avgPool2dFast),
    avgPool2dGrad: override('avgPool2dGrad', runtime, avgPool2dGradFast),
    compare: override('compare', runtime, compareFast, { inputs: ['float32'], output: ['bool'] }),
    cast: override('cast', runtime, castFast, { inputs: ['bool'], output: ['float32'] }),
    sum: override('sum', runtime, sumFast),
    logSoftmax: override('logSoftmax', runtime, logSoftmaxFast),
  };
  // One kernel per op code of kernels.ts (kernels-abi.ts): a code added there is registered here.
  for (const op of WASM_BINARY_OPS) kernels[op] = override(op, runtime, binaryFast(op));
  for (const op of WASM_UNARY_OPS) kernels[op] = override(op, runtime, unaryFast(op));
  return {
    ...cpuBackend,
    name: 'wasm',
    // A backward pass's temporaries go resident whenever the heap has room for them (the engine
    // frees them at once); other float32 storage within the resident budget (64 MiB by default).
    alloc: (dtype: DType, size: number, temporary?: boolean, uninitialised?: boolean) =>
      (dtype === 'float32'
        ? ((temporary ? heap()?.temporaryF32(size, !uninitialised) : null) ?? heap()?.residentF32(size, !uninitialised))
        : null) ?? cpuBackend.alloc(dtype, size, temporary, uninitialised),
    // A resident block goes straight back to the heap's free list; a host storage to the host pool.
    recycle: (storage: TypedArray) => {
      if (!(storage instanceof Float32Array && heap()?.recycle(storage))) cpuBackend.recycle!(storage);
    },
    upload: (data: TypedArray, dtype: DType) => {
      const resident = dtype === 'float32' ? heap()?.residentF32(data.length, false) : null;
      if (!resident) return cpuBackend.upload(data, dtype);
      resident.set(data);
      return resident;
    },
    kernels: kernels as unknown as KernelTable<TypedArray>,
    optimizerKernels: wasmOptimizerKernels(runtime),
  };
}

/**
 * Sets how many threads the wasm backend splits large kernels (GEMMs, convolutions, pooling)
 * across, the calling thread included; 1 turns the worker pool off. The default is the
 * number of logical cores (os.availableParallelism(), navigator.hardwareConcurrency), or
 * TSGRAD_NUM_THREADS. Where a worker pool cannot run it stays 1: in browsers the pool needs a
 * cross-origin isolated page (for shared memory) and tsgrad running in a Web Worker (the
 * page's main thread may not block). Results do not depend on it:
 * work is split along outputs, never along a sum. Returns the count now in effect.
 * @example setNumThreads(1); // single-threaded, no worker threads
 */
export function setNumThreads(n: number): number {
  return setThreads(n);
}

/** The number of threads the wasm backend's kernels run on (1: no worker pool). */
export function getNumThreads(): number {
  return threads();
}

/**
 * @internal Resolves once the worker pool's threads are up (starting it if needed), or
 * false after `timeoutMs` or when there is no pool; until then their shares run on the
 * calling thread, so this only matters for tests and measurements.
 */
export function wasmThreadsReady(timeoutMs = 10000): Promise<boolean> {
  return threadsReady(timeoutMs);
}

/** Feature-probe results for this engine (SIMD, relaxed SIMD and how it was enabled, threads). */
export function wasmFeatures(): ReturnType<typeof features> {
  return features();
}

/**
 * Resolves true once the wasm kernels are instantiated (compiling them if nothing has yet:
 * at once in Node, in the background in browsers), false where WebAssembly SIMD is
 * unavailable.
 * @example if (await wasmReady()) setBackend('wasm');
 */
export function wasmReady(): Promise<boolean> {
  return ready();
}

/**
 * What the wasm backend's linear memory holds now: its size, the bytes of tensors resident in
 * it and their count, free-list bytes, how many float32 storages went to the host because
 * the resident budget was spent (TSGRAD_WASM_RESIDENT_MIB, 64 MiB by default), and how many blocks
 * of collected tensors were reclaimed. Sweeps first, so collected tensors are not counted.
 * null before the backend's first use.
 * @example const s = wasmMemoryStats(); if (s) console.log(s.residentBytes, s.memoryBytes);
 */
export function wasmMemoryStats(): HeapStats | null {
  const heap = activeHeap();
  if (!heap) return null;
  heap.sweep();
  return heap.stats();
}

/**
 * @internal Sets the most bytes of float32 storage the wasm backend keeps in linear memory
 * (0: every tensor on the host); returns the previous budget. For tests that force the host
 * fallback; the default comes from TSGRAD_WASM_RESIDENT_MIB (64 MiB without it).
 */
export function setWasmResidentBudget(bytes: number): number {
  const heap = activeHeap();
  if (!heap) return 0;
  const before = heap.residentBudget;
  heap.residentBudget = bytes;
  return before;
}

/** @internal Copies kernels made between host arrays and linear memory (count, bytes, and the float32 ones), since the process started. */
export function wasmStagingCopies(): { count: number; bytes: number; float32: number } {
  return { ...stagingCopies };
}

/**
 * The wasm backend: cpu storage and kernels, with WebAssembly SIMD kernels for float32
 * matmul, conv2d (forward and both gradients) and pooling. Usable even where SIMD is
 * missing (every kernel then falls back to cpu), but only registered when it is present.
 * @example setBackend('wasm'); // or setBackend('auto')
 */
export const wasmBackend: Backend<TypedArray> = makeBackend(activeRuntime, activeHeap);

/**
 * @internal A wasm backend on its own instance of one specific build, so tests can check
 * both builds against the cpu backend; its float32 tensors are resident in its memory (a
 * 256 MiB budget, whatever the default). Throws where the build does not validate.
 */
export function createWasmBackend(kernels: KernelVariant): Backend<TypedArray> {
  return createWasmBackendWithHeap(kernels, TEST_RESIDENT_BUDGET).backend;
}

/** Resident budget of the test backends (createWasmBackend): large, so tests cover the in-place path. */
const TEST_RESIDENT_BUDGET = 256 * 2 ** 20;

/**
 * @internal createWasmBackend with its heap exposed (stats, budget) and an optional resident
 * budget in bytes, so tests can force the host fallback and watch blocks being freed.
 */
export function createWasmBackendWithHeap(
  kernels: KernelVariant,
  residentBudget?: number,
): { backend: Backend<TypedArray>; heap: WasmHeap; runtime: WasmRuntime } {
  const rt = instantiateSync(kernels);
  if (residentBudget !== undefined) rt.heap.residentBudget = residentBudget;
  const backend = makeBackend(
    () => rt,
    () => rt.heap,
  );
  return { backend, heap: rt.heap, runtime: rt };
}
