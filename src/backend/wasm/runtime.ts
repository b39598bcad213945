/**
 * The compiled kernels and their scratch arena in linear memory.
 *
 * Tensors of the wasm backend keep the cpu backend's JS typed arrays as storage, so the
 * garbage collector frees them as before (nobody calls dispose()) and cpu and wasm
 * tensors share one storage format. A kernel copies its float32 inputs into the arena,
 * runs, and copies its output back: O(inputs + output) copies against O(M·N·K) work,
 * a few percent for the GEMM-based kernels this backend accelerates.
 *
 * The arena is linear memory from the end of the module's static data upwards. It grows
 * when a call needs more than any call before (memory.grow, page granularity) and is
 * reused otherwise; wasm memory cannot shrink, so the high-water mark stays allocated for
 * the life of the process. A fixed GEMM workspace (packed panels) sits at its start.
 *
 * Threads: the module imports its memory, so a second build declaring a shared memory
 * (--sharedMemory, maximum 4 GiB) is instantiated on a `WebAssembly.Memory({ shared: true })`
 * by the calling thread and by every worker of a WorkerPool (pool.ts). Such a runtime has
 * `lanes` > 1: one GEMM workspace per lane at the arena's start, then the regions reserve()
 * lays out as before (placed by the calling thread); kernels hand each lane pointers into
 * them through run(). Growing a shared memory never detaches its buffer, but views made
 * before keep their old length, so f32()/u8() re-create them when the buffer changes.
 */
import {
  KERNELS_RELAXED_SIMD_BASE64,
  KERNELS_RELAXED_SIMD_SHARED_BASE64,
  KERNELS_SIMD_BASE64,
  KERNELS_SIMD_SHARED_BASE64,
} from './kernels-wasm.js';
import type { KernelExports } from './kernels-abi.js';
import { type Program, type SpawnWorker, WorkerPool, invoke } from './pool.js';

export type { KernelExports } from './kernels-abi.js';

/** Which build of the kernels to run. */
export type KernelVariant = 'simd' | 'relaxed-simd';

const PAGE = 65536;
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

/** The arena cannot grow to a kernel's needs; the kernel falls back to the cpu backend. */
export class ArenaFullError extends Error {
  constructor(bytes: number, cause: unknown) {
    super(`wasm backend: cannot grow linear memory to ${bytes} bytes`, { cause });
    this.name = 'ArenaFullError';
  }
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** An instantiated build of the kernels plus its arena. */
export class WasmRuntime {
  readonly exports: KernelExports;
  /** Byte offset of lane 0's GEMM workspace (the arena's fixed first region). */
  readonly gemmWork: number;
  /** Threads kernels may split work across (1: no pool). */
  readonly lanes: number;
  private readonly workStride: number;
  private readonly pool: WorkerPool | null;
  private readonly memory: WebAssembly.Memory;
  private readonly arenaStart: number;
  private view: Float32Array;
  private bytes: Uint8Array;

  constructor(
    readonly variant: KernelVariant,
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    pool: WorkerPool | null = null,
  ) {
    this.exports = instance.exports as unknown as KernelExports;
    this.memory = memory;
    this.pool = pool;
    this.lanes = pool ? pool.lanes : 1;
    this.gemmWork = align(this.exports.heapBase());
    this.workStride = align(this.exports.gemmWorkspaceBytes());
    this.arenaStart = this.gemmWork + this.lanes * this.workStride;
    this.view = new Float32Array(memory.buffer);
    this.bytes = new Uint8Array(memory.buffer);
    this.ensure(this.arenaStart);
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

  /** Stops the worker threads, if any (later run() calls stay on this thread). */
  close(): void {
    this.pool?.close();
  }

  /**
   * Lays out regions of the given byte sizes after the GEMM workspace and returns their
   * byte offsets (ALIGN-aligned), growing the memory first if they do not fit. Regions are
   * only valid until the next reserve(): kernels reserve once per call. Throws an ArenaFullError
   * when the memory cannot grow that far (4 GiB for wasm32, or the engine's limit).
   */
  reserve(sizes: readonly number[]): number[] {
    let at = this.arenaStart;
    const ptrs = sizes.map((s) => {
      const p = at;
      at = align(at + s);
      return p;
    });
    this.ensure(at);
    return ptrs;
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

  /** Copies `data` to byte offset `ptr`. */
  put(ptr: number, data: Float32Array | Uint8Array): void {
    if (data instanceof Uint8Array) this.u8().set(data, ptr);
    else this.f32().set(data, ptr >> 2);
  }

  /** Copies `length` elements from byte offset `ptr` into `out`. */
  get(ptr: number, out: Float32Array | Uint8Array, length = out.length): void {
    if (out instanceof Uint8Array) {
      out.set(this.u8().subarray(ptr, ptr + length));
      return;
    }
    const start = ptr >> 2;
    out.set(this.f32().subarray(start, start + length));
  }

  /** Zeroes `length` floats from byte offset `ptr` (for kernels that accumulate into their output). */
  zero(ptr: number, length: number): void {
    const start = ptr >> 2;
    this.f32().fill(0, start, start + length);
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    try {
      this.memory.grow(Math.ceil((bytes - have) / PAGE));
    } catch (e) {
      throw new ArenaFullError(bytes, e);
    }
  }
}

function memoryFor(): WebAssembly.Memory {
  // Start small; the arena grows to the first kernel's needs.
  return new WebAssembly.Memory({ initial: 64 });
}

/**
 * Instantiates the shared-memory build of `variant` on a new shared memory with a pool of
 * `lanes` − 1 workers (started asynchronously by `spawn`; until each is up, its share runs
 * on the calling thread). Throws where shared memories or synchronous compilation are not
 * available.
 */
export function instantiateThreaded(variant: KernelVariant, lanes: number, spawn: SpawnWorker): WasmRuntime {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: SHARED_MAXIMUM_PAGES, shared: true });
  const module = new WebAssembly.Module(kernelBytes(variant, true));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const pool = new WorkerPool(lanes, module, memory, instance.exports as unknown as KernelExports, spawn);
  return new WasmRuntime(variant, instance, memory, pool);
}

/** Instantiates a build synchronously; throws where the engine forbids it (large modules on a browser's main thread). */
export function instantiateSync(variant: KernelVariant): WasmRuntime {
  const memory = memoryFor();
  const module = new WebAssembly.Module(kernelBytes(variant));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return new WasmRuntime(variant, instance, memory);
}

/** Instantiates a build asynchronously (always allowed). */
export async function instantiateAsync(variant: KernelVariant): Promise<WasmRuntime> {
  const memory = memoryFor();
  const module = await WebAssembly.compile(kernelBytes(variant));
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return new WasmRuntime(variant, instance, memory);
}
