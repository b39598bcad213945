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
 * growth, so there all storage stays on the host.
 *
 * Freeing resident storage. The engine's GC does not see linear memory, so the heap keeps a
 * WeakRef to each resident view and sweeps them (every SWEEP_EVERY or more resident allocations, and
 * when an allocation would pass the budget): a view whose WeakRef reads undefined is
 * unreachable for good, so its block goes back to its free list. Two engine rules decide when
 * a dead view's WeakRef reads undefined, both measured in Node 20 (V8 11.3; see
 * test/backend/wasm-heap.test.ts):
 *   - only a full (mark-compact) GC clears a WeakRef's target; scavenges keep it. A training
 *     loop runs one every few steps (its host arrays and promoted objects drive them);
 *   - a WeakRef's target is kept alive until the end of the current job once the WeakRef is
 *     created or deref()'d (the spec's KeepDuringJob set), and a synchronous training loop is
 *     one job that never ends, so neither WeakRefs nor FinalizationRegistry callbacks (which
 *     also wait for the event loop) would ever free anything there. In Node the heap
 *     therefore clears that set after each sweep (keptObjectsClearer(): evaluating a script in
 *     a vm context with its own microtask queue ends with V8's ClearKeptObjects). That set is
 *     the isolate's: other code's WeakRefs deref()'d earlier in the same job may then be
 *     cleared before the job ends (never while their target is otherwise reachable). Where
 *     there is no vm (browsers) the set clears when the job ends, as the spec says: an
 *     asynchronous loop frees its blocks, a synchronous one fills the budget once.
 * When no free block fits and the budget is spent, the heap sweeps, and where that is not
 * enough, runs a full GC itself (Node: fullGcFunction(); rate-limited to about half of the
 * time, see makeRoom()) and sweeps again; past that, new tensors get host arrays (which V8
 * counts as external memory, so its own GCs run and the dead views' blocks come back at a
 * later sweep). No block is freed while
 * its view is reachable, so no use-after-free is possible, and nobody calls dispose().
 *
 * Every block is followed by at least TAIL_SLACK addressable bytes (the memory is grown to
 * cover them), so a kernel whose last vector load of a row reads up to 12 bytes past an
 * operand stays in bounds for an operand that ends a block at the top of the heap.
 */
import { TsgradError } from '../../core/errors.js';
import { uninitialised } from '../uninitialised.js';

const PAGE = 65536;
const ALIGN = 64;
/** Addressable bytes kept past the heap's top (see the header). */
const TAIL_SLACK = 64;
/**
 * A periodic sweep after this many resident allocations; the gap doubles (up to
 * SWEEP_MAX_GAP) after each periodic sweep that frees nothing, and comes back to this when
 * one does. Only a full GC makes a sweep find anything, and full GCs are rare in a training
 * loop, so most periodic sweeps find nothing: a fixed gap of 64 spent 2% of a LeNet-5 step
 * (128 MiB budget) walking a few thousand live views. makeRoom() sweeps whatever the gap.
 */
const SWEEP_EVERY = 64;
const SWEEP_MAX_GAP = 4096;
/** Past the budget, a sweep at most every this many allocation requests (a budget full of live tensors costs O(1) then). */
const SWEEP_MIN_GAP = 8;
/** Past the budget, a full GC at most every this many requests; doubled (up to the max) while GCs free little. */
const GC_MIN_GAP = 32;
const GC_MAX_GAP = 4096;
/** A forced GC waits this many times the last one's duration after it (forced GCs: at most ~1/2 of the time). */
const GC_COST_RATIO = 1;
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
  /** Resident blocks freed after their tensors were garbage-collected, and the sweeps that found them. */
  readonly reclaimed: number;
  readonly sweeps: number;
  /** Resident blocks freed at once because the autograd engine handed their views back (Backend.recycle). */
  readonly recycled: number;
  /** Bytes of resident temporaries held now (temporaryF32), and how many were handed out since the start. */
  readonly temporaryBytes: number;
  readonly temporaries: number;
  /** Full GCs the heap ran because the budget was spent, and their total milliseconds. */
  readonly fullGcs: number;
  readonly fullGcMs: number;
}

/** An allocator over one WebAssembly.Memory, from byte `base` (the end of the module's static data) up. */
export class WasmHeap {
  readonly shared: boolean;
  /** The most bytes of resident tensor storage at once (live blocks, by class size; collected ones count until swept). */
  residentBudget: number;
  /**
   * Zeroes `bytes` bytes at byte offset `ptr` for zero-filled blocks: the first runtime on this
   * memory sets its kernels' memory.fill here (several times faster than a JS fill of a shared
   * view); until then, and for a heap without a runtime, a JS fill.
   */
  zeroFill: ((ptr: number, bytes: number) => void) | undefined;
  /**
   * The most bytes of resident temporaries at once (temporaryF32: storages the autograd engine
   * hands back as soon as its backward pass is done with them), apart from residentBudget.
   */
  temporaryBudget: number;
  /** Blocks handed out by temporaryF32 and not freed yet, and their bytes. */
  private readonly temporaries = new Set<number>();
  private temporaryBytes = 0;
  private top: number;
  private readonly free = new Map<number, number[]>();
  private readonly sizes = new Map<number, number>();
  /** Every ArrayBuffer object this memory has had (a shared memory gives a new one after each growth). */
  private readonly buffers = new Set<ArrayBufferLike>();
  /** Each resident block's view, weakly: the block is freed once its view has been collected. */
  private readonly owners = new Map<number, WeakRef<Float32Array>>();
  private readonly clearKept: () => void;
  private readonly collect: (() => void) | null;
  /** Requests since the last forced GC, and how many must pass before the next one. */
  private sinceGc = 0;
  private gcGap = GC_MIN_GAP;
  private gcCount = 0;
  private gcMs = 0;
  private readonly gcCostRatio: number;
  private lastGcEnd = -Infinity;
  private lastGcMs = 0;
  /** Allocation requests since the last sweep. */
  private sinceSweep = 0;
  private sweepGap = SWEEP_EVERY;
  private reclaimedCount = 0;
  private recycledCount = 0;
  private temporaryCount = 0;
  private sweepCount = 0;
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
    options: {
      residentBudget?: number;
      temporaryBudget?: number;
      maximumPages?: number;
      /** The full GC makeRoom() may run (default: fullGcFunction()), null for none. */
      fullGc?: (() => void) | null;
      /** How many times the last forced GC's duration must pass before the next (default GC_COST_RATIO). */
      gcCostRatio?: number;
    } = {},
  ) {
    this.top = alignUp(base);
    this.shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    this.residentBudget = options.residentBudget ?? defaultResidentBudget();
    this.temporaryBudget = options.temporaryBudget ?? defaultTemporaryBudget();
    this.limitBytes = (options.maximumPages ?? MAX_PAGES) * PAGE;
    this.buffers.add(memory.buffer);
    this.clearKept = keptObjectsClearer();
    this.collect = options.fullGc === undefined ? fullGcFunction() : options.fullGc;
    this.gcCostRatio = options.gcCostRatio ?? GC_COST_RATIO;
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
      this.ensure(ptr + size + TAIL_SLACK, bytes);
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
    if (size > this.residentBudget) {
      this.hostCount++;
      return null;
    }
    this.sinceSweep++;
    this.sinceGc++;
    let ptr = this.reuse(size);
    if (ptr < 0 && !this.mayGrow(size)) {
      this.makeRoom();
      ptr = this.reuse(size);
    }
    if (ptr < 0) {
      if (!this.mayGrow(size)) {
        this.hostCount++;
        return null;
      }
      ptr = this.mallocBelowLimit(length * 4);
      if (ptr < 0) {
        this.hostCount++;
        return null;
      }
    }
    this.resident += this.sizes.get(ptr)!;
    this.residentCount++;
    const view = this.ownedView(ptr, length, zero);
    if (this.sinceSweep >= this.sweepGap) this.periodicSweep();
    return view;
  }

  /**
   * A zero-filled resident Float32Array for a storage the autograd engine will most likely hand
   * back soon (Backend.recycle): a backward pass's temporaries, which then never wait for the
   * GC. Within temporaryBudget, apart from residentBudget, and never a forced GC: null when the
   * budget is spent (a temporary that escapes, a leaf's .grad, is freed by the GC like any
   * resident view), where memory cannot be shared, or at the engine's limit.
   */
  temporaryF32(length: number, zero = true): Float32Array | null {
    if (!this.shared || length === 0) return null;
    const size = sizeClass(length * 4);
    if (this.temporaryBytes + size > this.temporaryBudget) return null;
    let ptr = this.popFree(size);
    if (ptr < 0) ptr = this.mallocBelowLimit(length * 4);
    if (ptr < 0) return null;
    this.temporaries.add(ptr);
    this.temporaryBytes += size;
    this.temporaryCount++;
    const view = this.ownedView(ptr, length, zero);
    if (++this.sinceSweep >= this.sweepGap) this.periodicSweep();
    return view;
  }

  /** A view of `length` floats on block `ptr`, held weakly so that the block is freed once it is collected. */
  private ownedView(ptr: number, length: number, zero: boolean): Float32Array {
    const view = new Float32Array(this.buffer(), ptr, length);
    if (!zero) uninitialised(view);
    else if (this.zeroFill) this.zeroFill(ptr, length * 4);
    else view.fill(0);
    this.owners.set(ptr, new WeakRef(view));
    return view;
  }

  /** malloc(), or -1 where linear memory cannot grow that far (the caller then uses the host). */
  private mallocBelowLimit(bytes: number): number {
    try {
      return this.malloc(bytes);
    } catch (e) {
      if (e instanceof WasmMemoryLimitError) return -1;
      throw e;
    }
  }

  /** Takes a resident block out of the budget it counts in (on its way back to a free list). */
  private unaccount(ptr: number): void {
    const size = this.sizes.get(ptr)!;
    if (this.temporaries.delete(ptr)) this.temporaryBytes -= size;
    else {
      this.resident -= size;
      this.residentCount--;
    }
  }

  /**
   * Frees the block of a resident view now, without waiting for the GC: its owner promises
   * that nothing reads or writes the view again (Backend.recycle). False when `view` is not a
   * live resident view of this heap (a host array, a view already freed), which it leaves alone.
   */
  recycle(view: Float32Array): boolean {
    const ptr = this.pointerOf(view);
    if (ptr < 0 || this.owners.get(ptr)?.deref() !== view) return false;
    this.owners.delete(ptr);
    this.unaccount(ptr);
    this.release(ptr);
    this.recycledCount++;
    return true;
  }

  /**
   * A free block of class `size` for a resident request, within the budget of live bytes; -1
   * if none. (Taking blocks of larger classes too, up to twice the size, was measured worse on
   * the LeNet-5 memory bench: the larger requests then missed and grew the heap instead.)
   */
  private reuse(size: number): number {
    return this.resident + size > this.residentBudget ? -1 : this.popFree(size);
  }

  /** A block of class `size` from its free list, now allocated; -1 if the list is empty. */
  private popFree(size: number): number {
    const ptr = this.free.get(size)?.pop();
    if (ptr === undefined) return -1;
    this.freeTotal -= size;
    this.reusedCount++;
    this.sizes.set(ptr, size);
    this.allocated += size;
    return ptr;
  }

  /**
   * Whether resident storage may take `size` new bytes from the top. Only live bytes count:
   * also counting free blocks (so fragmentation could never push the heap past the budget)
   * was measured worse on the LeNet-5 memory bench at 32 MiB (RSS 126-142 MiB against 113,
   * 1,621 storages sent to the host against none), as each host storage adds its own memory.
   */
  private mayGrow(size: number): boolean {
    return this.resident + size <= this.residentBudget;
  }

  /**
   * No free block fits and the budget forbids growing: sweep (at most every SWEEP_MIN_GAP
   * requests); if more than 3/4 of the budget is still taken (live or not yet collected), run a
   * full GC and sweep again, at most every gcGap requests (doubled while GCs free under a
   * quarter of the budget, so a budget full of live tensors does not cost a GC per tensor)
   * and only once as much time as GC_COST_RATIO of the last GC's has passed since it ended
   * (so forced GCs take at most about half of the time, and a loop whose GCs cost more than that keeps some tensors on the host instead).
   */
  private makeRoom(): void {
    if (this.sinceSweep >= SWEEP_MIN_GAP) this.sweep();
    if (!this.collect || this.resident <= this.residentBudget * 0.75 || this.sinceGc < this.gcGap) return;
    const t0 = performance.now();
    if (t0 - this.lastGcEnd < this.gcCostRatio * this.lastGcMs) return;
    const before = this.resident;
    this.collect();
    this.lastGcEnd = performance.now();
    this.lastGcMs = this.lastGcEnd - t0;
    this.gcMs += this.lastGcMs;
    this.gcCount++;
    this.sinceGc = 0;
    this.sweep();
    const freed = before - this.resident;
    this.gcGap = freed >= this.residentBudget / 4 ? GC_MIN_GAP : Math.min(this.gcGap * 2, GC_MAX_GAP);
  }

  /** The sweep every sweepGap allocations, widening the gap while sweeps find nothing. */
  private periodicSweep(): void {
    this.sweepGap = this.sweep() > 0 ? SWEEP_EVERY : Math.min(this.sweepGap * 2, SWEEP_MAX_GAP);
  }

  /**
   * Frees the blocks of resident views the GC has collected and returns how many; then lets
   * the next full GC collect views that died since (see the header: the kept-objects set).
   * Runs on its own as tensors are allocated; tests and wasmMemoryStats() call it to see
   * what is live now.
   */
  sweep(): number {
    let freed = 0;
    for (const [ptr, owner] of this.owners) {
      if (owner.deref() !== undefined) continue;
      this.owners.delete(ptr);
      this.unaccount(ptr);
      this.release(ptr);
      freed++;
    }
    // deref() just kept every live view until the end of the job: let go of them again.
    this.clearKept();
    this.sinceSweep = 0;
    this.sweepCount++;
    this.reclaimedCount += freed;
    return freed;
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
      reclaimed: this.reclaimedCount,
      recycled: this.recycledCount,
      temporaryBytes: this.temporaryBytes,
      temporaries: this.temporaryCount,
      sweeps: this.sweepCount,
      fullGcs: this.gcCount,
      fullGcMs: this.gcMs,
    };
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
 * The resident budget without TSGRAD_WASM_RESIDENT_MIB, in MiB. Measured on the LeNet-5 memory bench
 * (2,000 steps, batch 64, Adam; 2-core machine, 2026-12-02, after backward temporaries were recycled and
 * optimizer outputs were no longer zeroed): resident storage off peaked at 191 MiB RSS and ran 44.8 s,
 * with 159,543 host storages; 64 MiB peaked at 175 MiB and ran 36.9 s with none on the host and 99
 * forced full GCs (1.05 s, about one every 20 steps); 128 MiB ran 32.7 s with 48 GCs but peaked at 245
 * MiB, and 256 MiB at 379. 64 MiB is the largest budget whose peak stays below resident storage off.
 * (On 2026-12-01, before those changes, 32 MiB cost a forced GC every 2 steps: opt-in then.)
 * TSGRAD_WASM_RESIDENT_MIB=0 turns resident storage off.
 */
export const DEFAULT_RESIDENT_MIB = 64;

/** A budget in bytes from the environment variable `name` (MiB; 0 allowed), else `fallbackMib`. */
function budgetFromEnv(name: string, fallbackMib: number): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const raw = env?.[name];
  const mib = raw === undefined || raw === '' ? fallbackMib : Number(raw);
  return (Number.isFinite(mib) && mib >= 0 ? mib : fallbackMib) * 2 ** 20;
}

/** TSGRAD_WASM_RESIDENT_MIB (0 turns resident storage off), else DEFAULT_RESIDENT_MIB. */
function defaultResidentBudget(): number {
  return budgetFromEnv('TSGRAD_WASM_RESIDENT_MIB', DEFAULT_RESIDENT_MIB);
}

/**
 * The temporaries' budget (temporaryF32) by default: a backward pass's working set, freed as it
 * goes (LeNet-5 at batch 64 peaks at about 7 MiB); what does not fit stays on the host.
 * TSGRAD_WASM_TEMPORARY_MIB overrides it (0: temporaries on the host too).
 */
export const DEFAULT_TEMPORARY_MIB = 32;

function defaultTemporaryBudget(): number {
  return budgetFromEnv('TSGRAD_WASM_TEMPORARY_MIB', DEFAULT_TEMPORARY_MIB);
}

interface NodeVm {
  createContext(sandbox: object, options: { microtaskMode: 'afterEvaluate' }): object;
  Script: new (code: string) => { runInContext(context: object): unknown };
}

/**
 * A function that empties V8's kept-objects set (the WeakRef targets kept alive until the end
 * of the current job) now, in the middle of a job, or a no-op where that is not possible.
 * Node: a vm context with microtaskMode 'afterEvaluate' has its own microtask queue, and
 * every evaluation in it ends with a checkpoint of that queue, which in V8 ends with
 * ClearKeptObjects (about 8 µs). Measured: 1,000 WeakRefs created in one job are all cleared
 * by the next full GC after it, none without it, and none with a vm context of the default
 * mode. process.getBuiltinModule (Node ≥ 20.16), so browsers never import node:vm.
 */
export function keptObjectsClearer(): () => void {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const vm = proc?.getBuiltinModule?.('node:vm') as NodeVm | undefined;
    if (!vm) return () => {};
    const context = vm.createContext({}, { microtaskMode: 'afterEvaluate' });
    const script = new vm.Script('0');
    return () => void script.runInContext(context);
  } catch {
    return () => {};
  }
}

/**
 * V8's full, synchronous garbage collection, or null where it cannot be had (browsers).
 * Node: the process's own `gc` when it runs with --expose-gc; else --expose-gc is set at run
 * time, a fresh vm context (which then gets a `gc` global) hands its function over, and the
 * flag is turned off again, so no later context (a worker thread's, say) sees a `gc` global.
 */
export function fullGcFunction(): (() => void) | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as () => void;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const v8 = proc?.getBuiltinModule?.('node:v8') as { setFlagsFromString(flags: string): void } | undefined;
    const vm = proc?.getBuiltinModule?.('node:vm') as { runInNewContext(code: string): unknown } | undefined;
    if (!v8 || !vm) return null;
    v8.setFlagsFromString('--expose-gc');
    try {
      const gc = vm.runInNewContext('typeof gc === "function" ? gc : null');
      return typeof gc === 'function' ? (gc as () => void) : null;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  } catch {
    return null;
  }
}
