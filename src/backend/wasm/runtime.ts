/**
 * The compiled kernels, the linear memory they run on and its heap (heap.ts).
 *
 * Where the engine allows shared memories (Node; cross-origin isolated pages), every build
 * runs on a shared `WebAssembly.Memory`, single-threaded or not, and the wasm backend's
 * float32 tensors live in it (heap.ts's resident arrays): a kernel passes their byte offsets
 * to the module and writes its output in place, with no copy in or out. Operands that live
 * elsewhere (host arrays: other dtypes, tensors made after the resident budget was spent,
 * another backend's storage) are staged: copied into this runtime's scratch block (reserve(),
 * put()) and the output copied back (get()); kernels/common.ts's stage() chooses per operand.
 * Without shared memories, growth would detach every view of the memory, so all storage stays
 * on the host and every operand is staged, as before resident storage existed.
 *
 * Threads: the shared build is instantiated on the same shared memory by the calling thread
 * and by every worker of a WorkerPool (pool.ts), sharing one heap, so resident tensors are
 * every lane's operands. Such a runtime has `lanes` > 1 and one GEMM workspace per lane;
 * kernels hand each lane pointers through run(). Growing a shared memory never detaches its
 * buffer, but views made before keep their old length, so f32()/u8() re-create them when the
 * buffer changes, and resident arrays made before keep pointing at valid memory.
 */
import {
  KERNELS_RELAXED_SIMD_BASE64,
  KERNELS_RELAXED_SIMD_SHARED_BASE64,
  KERNELS_SIMD_BASE64,
  KERNELS_SIMD_SHARED_BASE64,
} from './kernels-wasm.js';
import type { KernelExports } from './kernels-abi.js';
import { WasmHeap, WasmMemoryLimitError } from './heap.js';
import { type Program, type SpawnWorker, WorkerPool, invoke } from './pool.js';

export type { KernelExports } from './kernels-abi.js';

/** Which build of the kernels to run. */
export type KernelVariant = 'simd' | 'relaxed-simd';

/** Alignment of every arena region: a cache line, so SIMD loads never straddle two regions' lines. */
const ALIGN = 64;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The module bytes of a build (`shared`: the build importing a shared memory, for threads). */
export function kernelBytes(variant: KernelVariant, shared = false): Uint8Array<ArrayBuffer> {
  if (shared) {
    return decodeBase64(variant === 'relaxed-simd' ? KERNELS_RELAXED_SIMD_SHARED_BASE64 : KERNELS_SIMD_SHARED_BASE64);
  }
  return decodeBase64(variant === 'relaxed-simd' ? KERNELS_RELAXED_SIMD_BASE64 : KERNELS_SIMD_BASE64);
}

/** Pages of the shared memory's maximum (as the shared builds declare): all of wasm32's 4 GiB. */
const SHARED_MAXIMUM_PAGES = 65536;

/**
 * A kernel's scratch cannot be placed in linear memory (the engine's limit); the kernel falls
 * back to the cpu backend. The same error the heap throws (WasmMemoryLimitError).
 */
export const ArenaFullError = WasmMemoryLimitError;
export type ArenaFullError = WasmMemoryLimitError;

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Copies between JS arrays and linear memory made by kernels' staging (put/get): a debug
 * counter, so tests can check that kernels on resident tensors copy nothing. `float32` counts
 * the copies of float32 data alone (bool storage is never resident, so masks are always staged).
 */
export const stagingCopies = { count: 0, bytes: 0, float32: 0 };

/** An instantiated build of the kernels, with the heap of the memory it runs on. */
export class WasmRuntime {
  readonly exports: KernelExports;
  /** Byte offset of lane 0's GEMM workspace. */
  readonly gemmWork: number;
  /** Threads kernels may split work across (1: no pool). */
  readonly lanes: number;
  /** The allocator of this runtime's linear memory (shared with every runtime on the same memory). */
  readonly heap: WasmHeap;
  private readonly workStride: number;
  private readonly pool: WorkerPool | null;
  private readonly memory: WebAssembly.Memory;
  private view: Float32Array;
  private bytes: Uint8Array;
  /** The scratch block reserve() lays regions out in (kept and reused; replaced by a larger one when needed). */
  private scratch = -1;
  private scratchBytes = 0;

  constructor(
    readonly variant: KernelVariant,
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    pool: WorkerPool | null = null,
    heap: WasmHeap | null = null,
  ) {
    this.exports = instance.exports as unknown as KernelExports;
    this.memory = memory;
    this.pool = pool;
    this.lanes = pool ? pool.lanes : 1;
    this.heap = heap ?? new WasmHeap(memory, this.exports.heapBase());
    this.heap.zeroFill ??= (ptr, bytes) => this.exports.zeroBytes(ptr, bytes);
    this.workStride = align(this.exports.gemmWorkspaceBytes());
    this.gemmWork = this.heap.malloc(this.lanes * this.workStride);
    this.view = new Float32Array(memory.buffer);
    this.bytes = new Uint8Array(memory.buffer);
  }

  /** Byte offset of a lane's GEMM workspace. */
  gemmWorkFor(lane: number): number {
    return this.gemmWork + lane * this.workStride;
  }

  /** Worker threads that are up and take work (0 without a pool, or while they start). */
  readyWorkers(): number {
    return this.pool ? this.pool.readyWorkers() : 0;
  }

  /**
   * Runs one program per lane (programs[0] on this thread, the others on the workers) and
   * returns when all are done; without a pool, runs them one after another here.
   */
  run(programs: readonly Program[]): void {
    if (this.pool && programs.length > 1) {
      this.pool.dispatch(programs);
      return;
    }
    for (const p of programs) for (const c of p) invoke(this.exports, c);
  }

  /** Stops the worker threads, if any, and returns this runtime's workspace and scratch to the heap. */
  close(): void {
    this.pool?.close();
    this.heap.release(this.gemmWork);
    if (this.scratch >= 0) this.heap.release(this.scratch);
    this.scratch = -1;
    this.scratchBytes = 0;
  }

  /**
   * Lays out regions of the given byte sizes in this runtime's scratch block and returns their
   * byte offsets (ALIGN-aligned), taking a larger block from the heap first if they do not fit.
   * Regions are only valid until the next reserve(): kernels reserve once per call. Throws an
   * ArenaFullError (WasmMemoryLimitError) when the memory cannot grow that far.
   */
  reserve(sizes: readonly number[]): number[] {
    let total = 0;
    const offsets = sizes.map((s) => {
      const p = total;
      total = align(total + s);
      return p;
    });
    if (total > this.scratchBytes) {
      if (this.scratch >= 0) this.heap.release(this.scratch);
      this.scratch = -1;
      this.scratchBytes = 0;
      this.scratch = this.heap.malloc(total);
      this.scratchBytes = this.heap.blockSize(this.scratch)!;
    }
    return offsets.map((o) => this.scratch + o);
  }

  /** The byte offset of `a` when it lives in this runtime's memory (a resident tensor), else -1. */
  pointerOf(a: ArrayBufferView): number {
    return this.heap.pointerOf(a);
  }

  /** The whole memory as float32 (re-created after growth, which detaches the old buffer). */
  f32(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /** The whole memory as bytes (for bool data). */
  u8(): Uint8Array {
    if (this.bytes.buffer !== this.memory.buffer) this.bytes = new Uint8Array(this.memory.buffer);
    return this.bytes;
  }

  /** Copies `data` to byte offset `ptr` (a staging copy: counted in stagingCopies). */
  put(ptr: number, data: Float32Array | Uint8Array): void {
    stagingCopies.count++;
    stagingCopies.bytes += data.byteLength;
    if (data instanceof Float32Array) stagingCopies.float32++;
    if (data instanceof Uint8Array) this.u8().set(data, ptr);
    else this.f32().set(data, ptr >>> 2);
  }

  /** Copies `length` elements from byte offset `ptr` into `out` (a staging copy: counted in stagingCopies). */
  get(ptr: number, out: Float32Array | Uint8Array, length = out.length): void {
    stagingCopies.count++;
    stagingCopies.bytes += length * out.BYTES_PER_ELEMENT;
    if (out instanceof Float32Array) stagingCopies.float32++;
    if (out instanceof Uint8Array) {
      out.set(this.u8().subarray(ptr, ptr + length));
      return;
    }
    const start = ptr >>> 2;
    out.set(this.f32().subarray(start, start + length));
  }

  /** Zeroes `length` floats from byte offset `ptr` (for kernels that accumulate into their output). */
  zero(ptr: number, length: number): void {
    this.exports.zeroBytes(ptr, length * 4);
  }
}

/** Whether this engine can create shared WebAssembly memories (threads; Node, cross-origin isolated pages). */
function sharedMemoryWorks(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The memory a runtime runs on: shared where the engine allows it, so tensors can live in it
 * (growing a shared memory never detaches views of it), else a plain one (storage then stays
 * on the host). Starts small; the heap grows it.
 */
function memoryFor(shared: boolean): WebAssembly.Memory {
  return shared
    ? new WebAssembly.Memory({ initial: 64, maximum: SHARED_MAXIMUM_PAGES, shared: true })
    : new WebAssembly.Memory({ initial: 64 });
}

/**
 * Instantiates the shared-memory build of `variant` on `base`'s memory and heap (so tensors
 * resident there are the kernels' operands in place) with a pool of `lanes` − 1 workers
 * (started asynchronously by `spawn`; until each is up, its share runs on the calling
 * thread). Throws where `base` is not on a shared memory or synchronous compilation is not
 * available.
 */
export function instantiateThreaded(
  variant: KernelVariant,
  lanes: number,
  spawn: SpawnWorker,
  base?: WasmRuntime,
): WasmRuntime {
  const onBase = base !== undefined && base.heap.shared;
  const memory = onBase ? base.heap.memory : memoryFor(true);
  const module = new WebAssembly.Module(kernelBytes(variant, true));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const pool = new WorkerPool(lanes, module, memory, instance.exports as unknown as KernelExports, spawn);
  return new WasmRuntime(variant, instance, memory, pool, onBase ? base.heap : null);
}

/**
 * Instantiates a build synchronously (on a shared memory where the engine allows it, unless
 * `shared` is false); throws where the engine forbids it (large modules on a browser's main thread).
 */
export function instantiateSync(variant: KernelVariant, shared = sharedMemoryWorks()): WasmRuntime {
  const memory = memoryFor(shared);
  const module = new WebAssembly.Module(kernelBytes(variant, shared));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return new WasmRuntime(variant, instance, memory);
}

/** Instantiates a build asynchronously (always allowed). */
export async function instantiateAsync(variant: KernelVariant, shared = sharedMemoryWorks()): Promise<WasmRuntime> {
  const memory = memoryFor(shared);
  const module = await WebAssembly.compile(kernelBytes(variant, shared));
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return new WasmRuntime(variant, instance, memory);
}
