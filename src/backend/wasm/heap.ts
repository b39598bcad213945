/**
 * The allocator of the wasm backend's linear memory: float32 tensor storage that lives in
 * WebAssembly memory (so kernels read and write it in place, with no copy in or out), the
 * kernels' scratch, and the GEMM workspaces.
 *
 * Blocks come in size classes (four per power of two, at least 64 bytes, every block
 * 64-byte aligned, so SIMD loads never straddle two blocks' cache lines). A freed block goes
 * on its class's free list and the next request of that class takes it, so a training loop,
 * which asks for the same sizes every step, stops growing the memory after its first steps.
 * A freed block at the top of the heap lowers the top instead, so a kernel's scratch block
 * replaced by a larger one reuses its pages. New blocks come from the top of the heap; the memory grows (memory.grow) when the top
 * passes its end, up to the engine's limit (4 GiB for wasm32 in V8: growth past 2 GiB is
 * allowed, and pointers are handled as unsigned). Past the limit malloc throws a
 * WasmMemoryLimitError naming the sizes; wasm memory never shrinks.
 *
 * Tensor storage ("resident" arrays) is a Float32Array view onto the memory, handed out only
 * where the memory is shared (WebAssembly threads: Node, cross-origin isolated pages): growing
 * a shared memory never detaches its buffer, so views made before a growth stay valid for the
 * cpu fallback kernels and for every other reader; a non-shared memory's buffer is detached by
 * growth, so there all storage stays on the host. A resident block is freed when its view is
 * garbage-collected (FinalizationRegistry). The engine's GC does not see linear memory, and
 * FinalizationRegistry callbacks run only when the event loop turns, so resident storage is
 * capped by a budget: past it, new tensors get host arrays (which V8 counts as external memory,
 * so its GC then runs and the dead views' blocks come back). No block is freed while its view
 * is reachable, so no use-after-free is possible, and nobody calls dispose().
 */
import { TsgradError } from '../../core/errors.js';

const PAGE = 65536;
const ALIGN = 64;
/** The engine's linear-memory limit for wasm32 (V8: 65,536 pages). */
const MAX_PAGES = 65536;

/**
 * Linear memory cannot grow to what an allocation needs: the engine's (or the memory's
 * declared) limit. The wasm backend catches it (the tensor goes to the host, the kernel to the
 * cpu fallback); it reaches callers of the heap itself.
 * @example try { heap.malloc(n); } catch (e) { if (e instanceof WasmMemoryLimitError) console.log(e.limitBytes); }
 */
export class WasmMemoryLimitError extends TsgradError {
  constructor(
    readonly requestedBytes: number,
    readonly heapBytes: number,
    readonly limitBytes: number,
    cause?: unknown,
  ) {
    super(
      `wasm backend: cannot allocate ${requestedBytes} bytes in WebAssembly memory: the heap already spans ` +
        `${heapBytes} bytes and linear memory stops at ${limitBytes} bytes (the engine's limit)`,
    );
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

/**
 * The block size serving a request of `bytes`: multiples of 64 up to 256, then four classes
 * per power of two (320, 384, 448, 512, 640, ...; all multiples of 64), so at most a quarter
 * of a block is waste.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 4 * ALIGN) return alignUp(Math.max(bytes, 1));
  const step = 2 ** Math.floor(Math.log2(bytes - 1)) / 4;
  return Math.ceil(bytes / step) * step;
}

const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** What the heap holds now (for tests, benchmarks and `wasmMemoryStats()`). */
export interface HeapStats {
  /** Bytes of linear memory (the memory's current size). */
  readonly memoryBytes: number;
  /** Byte offset of the heap's top: blocks lie below it, new ones start there. */
  readonly topBytes: number;
  /** Bytes of blocks handed out and not freed (by class size). */
  readonly allocatedBytes: number;
  /** Bytes of those that are resident tensor storage. */
  readonly residentBytes: number;
  /** Resident arrays handed out and not yet garbage-collected. */
  readonly residentArrays: number;
  /** Bytes sitting on free lists, ready for reuse. */
  readonly freeBytes: number;
  /** Allocations served from a free list, and from the top of the heap. */
  readonly reused: number;
  readonly fresh: number;
  /** Tensor storages that went to the host because the resident budget was spent. */
  readonly hostFallbacks: number;
}

/** An allocator over one WebAssembly.Memory, from byte `base` (the end of the module's static data) up. */
export class WasmHeap {
  readonly shared: boolean;
  /** The most bytes of resident tensor storage at once (blocks by class size). */
  residentBudget: number;
  private top: number;
  private readonly free = new Map<number, number[]>();
  private readonly sizes = new Map<number, number>();
  /** Every ArrayBuffer object this memory has had (a shared memory gives a new one after each growth). */
  private readonly buffers = new Set<ArrayBufferLike>();
  private readonly registry: FinalizationRegistry<number>;
  private allocated = 0;
  private resident = 0;
  private residentCount = 0;
  private freeTotal = 0;
  private reusedCount = 0;
  private freshCount = 0;
  private hostCount = 0;
  private readonly limitBytes: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
    options: { residentBudget?: number; maximumPages?: number } = {},
  ) {
    this.top = alignUp(base);
    this.shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    this.residentBudget = options.residentBudget ?? defaultResidentBudget();
    this.limitBytes = (options.maximumPages ?? MAX_PAGES) * PAGE;
    this.buffers.add(memory.buffer);
    this.registry = new FinalizationRegistry((ptr) => this.releaseResident(ptr));
  }

  /** A block of at least `bytes` bytes (64-byte aligned); throws WasmMemoryLimitError past the engine's limit. */
  malloc(bytes: number): number {
    const size = sizeClass(Math.max(bytes, 1));
    const list = this.free.get(size);
    let ptr = list?.pop();
    if (ptr !== undefined) {
      this.reusedCount++;
      this.freeTotal -= size;
    } else {
      ptr = this.top;
      this.ensure(ptr + size, bytes);
      this.top = ptr + size;
      this.freshCount++;
    }
    this.sizes.set(ptr, size);
    this.allocated += size;
    return ptr;
  }

  /** Returns a block from malloc() to its class's free list. */
  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`wasm heap: ${ptr} is not an allocated block`);
    this.sizes.delete(ptr);
    this.allocated -= size;
    if (ptr + size === this.top) {
      // The topmost block goes back to the top, so a block replaced by a larger one (a
      // kernel's scratch growing) reuses its pages instead of leaving them on a free list.
      this.top = ptr;
      return;
    }
    this.freeTotal += size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(ptr);
  }

  /** The size class of an allocated block, or undefined. */
  blockSize(ptr: number): number | undefined {
    return this.sizes.get(ptr);
  }

  /**
   * A zero-filled Float32Array of `length` elements living in linear memory, freed when it is
   * garbage-collected; null where storage cannot be resident (a non-shared memory, the budget
   * spent, the engine's limit reached): the caller then allocates on the host.
   */
  residentF32(length: number, zero = true): Float32Array | null {
    if (!this.shared || length === 0) return null;
    const size = sizeClass(length * 4);
    if (this.resident + size > this.residentBudget) {
      this.hostCount++;
      return null;
    }
    let ptr: number;
    try {
      ptr = this.malloc(length * 4);
    } catch (e) {
      if (e instanceof WasmMemoryLimitError) {
        this.hostCount++;
        return null;
      }
      throw e;
    }
    this.resident += size;
    this.residentCount++;
    const view = new Float32Array(this.buffer(), ptr, length);
    if (zero) view.fill(0);
    this.registry.register(view, ptr);
    return view;
  }

  /** The byte offset of `a`'s first element when it lives in this heap's memory, else -1. */
  pointerOf(a: ArrayBufferView): number {
    return this.buffers.has(a.buffer) ? a.byteOffset : -1;
  }

  /** The memory's current buffer (a new object after each growth of a shared memory). */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (!this.buffers.has(b)) this.buffers.add(b);
    return b;
  }

  stats(): HeapStats {
    return {
      memoryBytes: this.memory.buffer.byteLength,
      topBytes: this.top,
      allocatedBytes: this.allocated,
      residentBytes: this.resident,
      residentArrays: this.residentCount,
      freeBytes: this.freeTotal,
      reused: this.reusedCount,
      fresh: this.freshCount,
      hostFallbacks: this.hostCount,
    };
  }

  private releaseResident(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.resident -= size;
    this.residentCount--;
    this.release(ptr);
  }

  /** Grows the memory to at least `end` bytes. */
  private ensure(end: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > this.limitBytes) throw new WasmMemoryLimitError(requested, this.top, this.limitBytes);
    // Grow by at least an eighth of the memory (and 1 MiB): memory.grow is slow (tens of µs for a
    // shared memory), and pages are only committed when touched, so growing ahead costs no RSS.
    const needed = Math.ceil((end - have) / PAGE);
    const ahead = Math.max(needed, Math.ceil(have / 8 / PAGE), 16);
    const pages = Math.min(ahead, this.limitBytes / PAGE - have / PAGE);
    try {
      try {
        this.memory.grow(Math.max(pages, needed));
      } catch (e) {
        if (pages <= needed) throw e;
        this.memory.grow(needed); // a memory declared smaller than the engine's limit
      }
    } catch (e) {
      throw new WasmMemoryLimitError(requested, this.top, Math.min(this.limitBytes, have), e);
    }
    this.buffer();
  }
}

/**
 * TSGRAD_WASM_RESIDENT_MIB, or 0 (resident storage off): measured on the 10,000-step memory
 * bench, a synchronous training loop never lets FinalizationRegistry callbacks run, so the
 * budget fills with dead tensors within a few steps and stays full, adding its size to the
 * peak RSS while every later tensor takes the host path anyway. Resident storage pays where
 * the loop turns the event loop (or once blocks can be spilled to the host); until then it is
 * opt-in.
 */
function defaultResidentBudget(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const raw = env?.['TSGRAD_WASM_RESIDENT_MIB'];
  const mib = raw === undefined || raw === '' ? 0 : Number(raw);
  return (Number.isFinite(mib) && mib >= 0 ? mib : 0) * 2 ** 20;
}
