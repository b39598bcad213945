/**
 * The wasm backend's worker pool: worker threads that instantiate the same compiled kernels
 * on one shared WebAssembly.Memory and run "programs" (short lists of kernel calls on
 * pointers into that memory) handed to them through a shared control block.
 *
 * A kernel of kernels/ splits its work into one program per lane (lane 0 is the calling
 * thread), along a dimension that does not change any summation order (GEMM output rows or
 * columns, batch samples, pooling planes), so results are bit-identical for any number of
 * threads. dispatch() writes each worker's program into its slot of the control block
 * (op code + int args, no postMessage per call), bumps the slot's generation and wakes it,
 * runs lane 0 itself, then waits for a shared counter to reach zero: a short spin, then
 * Atomics.wait. Workers likewise spin briefly before sleeping in Atomics.wait.
 *
 * Only the spawning of workers is platform-specific: spawnNodeWorker (node:worker_threads)
 * and spawnWebWorker (module Web Workers) below; serveWorker() is the whole worker body and
 * uses nothing but WebAssembly and Atomics. Browsers allow Atomics.wait only off the main
 * thread and share memory only in cross-origin isolated pages, so there the pool runs when
 * tsgrad itself runs in a Web Worker of such a page (see threadSupport()); elsewhere
 * everything runs on one thread.
 */
import { FLOAT_PARAMS, KERNEL_FUNCTIONS, type KernelExports, type KernelFunction } from './kernels-abi.js';

/** One kernel call: its name and integer arguments (pointers are byte offsets). */
export interface Call {
  fn: KernelFunction;
  args: number[];
}

/** A lane's work: calls run in order. */
export type Program = Call[];

/** A function's op code in an encoded program: its index in the generated KERNEL_FUNCTIONS. */
const FN_CODE = Object.fromEntries(KERNEL_FUNCTIONS.map((f, i) => [f, i])) as Record<KernelFunction, number>;

// Control block layout (Int32Array over a SharedArrayBuffer).
const PENDING = 0; // workers still running the current dispatch
const ERROR = 1; // set by a worker whose program threw
const HEADER = 16; // ints; keeps the slots off the header's cache line
/** Ints per worker slot: generation, ready flag, program length, then the program. */
const SLOT = 2048;
const GEN = 0;
const READY = 1;
const LENGTH = 2;
const PROGRAM = 16;
/** Program length that tells a worker to return. */
const SHUTDOWN = -1;

/** Busy-wait iterations (Atomics.load) before sleeping in Atomics.wait: tens of microseconds. */
const SPIN = 20000;

const slotBase = (worker: number): number => HEADER + (worker - 1) * SLOT;

/** Bytes of the control block for a pool of `lanes` lanes (lanes − 1 workers). */
export function controlBytes(lanes: number): number {
  return (HEADER + Math.max(lanes - 1, 0) * SLOT) * 4;
}

/** Runs one call on an instance's exports; a call with the wrong number of arguments is a bug, reported as such. */
export function invoke(exports: KernelExports, call: Call): void {
  const arity = FLOAT_PARAMS[call.fn].length;
  if (call.args.length !== arity) {
    throw new Error(`wasm backend: ${call.fn} takes ${arity} arguments, a program passed ${call.args.length}`);
  }
  (exports[call.fn] as (...a: number[]) => void)(...call.args);
}

/** Writes a program into a worker slot; false when it does not fit. */
function encode(control: Int32Array, floats: Float32Array, base: number, program: Program): boolean {
  let at = base + PROGRAM;
  const end = base + SLOT;
  for (const call of program) {
    if (at + 2 + call.args.length > end) return false;
    const isFloat = FLOAT_PARAMS[call.fn];
    if (call.args.length !== isFloat.length) {
      throw new Error(
        `wasm backend: ${call.fn} takes ${isFloat.length} arguments, a program passed ${call.args.length}`,
      );
    }
    control[at++] = FN_CODE[call.fn];
    control[at++] = call.args.length;
    call.args.forEach((a, i) => {
      if (isFloat[i]) floats[at] = a;
      else control[at] = a;
      at++;
    });
  }
  control[base + LENGTH] = at - (base + PROGRAM);
  return true;
}

/** Runs the program encoded in a worker slot. */
function runEncoded(exports: KernelExports, control: Int32Array, base: number, length: number): void {
  const floats = new Float32Array(control.buffer);
  let at = base + PROGRAM;
  const end = at + length;
  while (at < end) {
    const name = KERNEL_FUNCTIONS[control[at]!]!;
    const fn = exports[name] as (...a: number[]) => void;
    const isFloat = FLOAT_PARAMS[name];
    const argc = control[at + 1]!;
    const args: number[] = [];
    for (let i = 0; i < argc; i++) args.push(isFloat[i] ? floats[at + 2 + i]! : control[at + 2 + i]!);
    fn(...args);
    at += 2 + argc;
  }
}

/**
 * The body of a worker (any platform): marks its slot ready, then runs each program the
 * main thread posts until told to shut down. Never returns otherwise.
 */
export function serveWorker(exports: KernelExports, control: Int32Array, worker: number): void {
  const base = slotBase(worker);
  let seen = Atomics.load(control, base + GEN);
  Atomics.store(control, base + READY, 1);
  for (;;) {
    let spins = 0;
    while (Atomics.load(control, base + GEN) === seen) {
      if (++spins > SPIN) {
        Atomics.wait(control, base + GEN, seen);
        spins = 0;
      }
    }
    seen = Atomics.load(control, base + GEN);
    const length = control[base + LENGTH]!;
    if (length === SHUTDOWN) return;
    try {
      runEncoded(exports, control, base, length);
    } catch {
      Atomics.store(control, ERROR, 1);
    }
    if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
  }
}

/** What a worker needs to start: the compiled kernels, the memory, the control block and its index. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  worker: number;
}

/** A started worker, as far as the pool cares. */
export interface WorkerHandle {
  terminate(): void;
}

/** Starts one worker running serveWorker() on `init`: the platform adapter. */
export type SpawnWorker = (init: WorkerInit) => WorkerHandle;

interface NodeWorkerThreads {
  Worker: new (
    url: URL,
    options: { workerData: unknown },
  ) => {
    unref(): void;
    terminate(): Promise<number>;
    on(event: string, listener: (...a: unknown[]) => void): void;
  };
  isMainThread: boolean;
}

interface NodeProcessLike {
  getBuiltinModule?: (id: string) => unknown;
}

function nodeWorkerThreads(): NodeWorkerThreads | undefined {
  const proc = (globalThis as { process?: NodeProcessLike }).process;
  return proc?.getBuiltinModule?.('node:worker_threads') as NodeWorkerThreads | undefined;
}

/**
 * Node adapter: a node:worker_threads Worker running ./worker.js, unref'ed so that it never
 * keeps the process alive. Errors (a worker that fails to start) only leave its slot
 * not ready: dispatch() then runs that lane's programs on the calling thread.
 */
const spawnNodeWorker: SpawnWorker = (init) => {
  const wt = nodeWorkerThreads()!;
  const w = new wt.Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  w.on('error', () => {});
  w.unref();
  return { terminate: () => void w.terminate() };
};

interface WebPlatform {
  Worker?: new (
    url: URL,
    options: { type: 'module' },
  ) => {
    postMessage(message: unknown): void;
    terminate(): void;
    addEventListener(type: string, listener: () => void): void;
  };
  crossOriginIsolated?: boolean;
  WorkerGlobalScope?: abstract new () => unknown;
  navigator?: { hardwareConcurrency?: number };
}

/**
 * Browser adapter: a module Web Worker running ./worker.js, handed its init (the compiled
 * module, the shared memory and the control block) by postMessage. As with Node, a worker
 * that fails to load only leaves its slot not ready.
 */
const spawnWebWorker: SpawnWorker = (init) => {
  const w = new (globalThis as WebPlatform).Worker!(new URL('./worker.js', import.meta.url), { type: 'module' });
  w.addEventListener('error', () => {});
  w.postMessage(init);
  return { terminate: () => w.terminate() };
};

/** True inside a Web Worker, where Atomics.wait is allowed (a page's main thread may not block). */
function inWebWorker(): boolean {
  const g = globalThis as WebPlatform;
  return typeof g.WorkerGlobalScope === 'function' && globalThis instanceof g.WorkerGlobalScope;
}

/**
 * How this platform can run the pool: a spawn adapter and the logical core count, or null
 * where it cannot (a browser page's main thread, a page that is not cross-origin isolated,
 * engines without shared memory).
 */
export function threadSupport(): { spawn: SpawnWorker; cores: number } | null {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return null;
  const wt = nodeWorkerThreads();
  if (wt?.Worker) {
    const proc = (globalThis as { process?: NodeProcessLike }).process;
    const os = proc?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
    return { spawn: spawnNodeWorker, cores: Math.max(1, os?.availableParallelism?.() ?? 1) };
  }
  const g = globalThis as WebPlatform;
  if (typeof g.Worker === 'function' && g.crossOriginIsolated === true && inWebWorker()) {
    return { spawn: spawnWebWorker, cores: Math.max(1, g.navigator?.hardwareConcurrency ?? 1) };
  }
  return null;
}

/** Worker threads serving one shared memory; lane 0 is the thread calling dispatch(). */
export class WorkerPool {
  private readonly control: Int32Array;
  /** The control block as float32, for float arguments (FLOAT_PARAMS). */
  private readonly floats: Float32Array;
  private readonly workers: WorkerHandle[] = [];
  private closed = false;

  constructor(
    readonly lanes: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    private readonly exports: KernelExports,
    spawn: SpawnWorker,
  ) {
    const sab = new SharedArrayBuffer(controlBytes(lanes));
    this.control = new Int32Array(sab);
    this.floats = new Float32Array(sab);
    for (let w = 1; w < lanes; w++) this.workers.push(spawn({ module, memory, control: sab, worker: w }));
  }

  /** Workers that have instantiated the kernels and wait for work. */
  readyWorkers(): number {
    let n = 0;
    for (let w = 1; w < this.lanes; w++) n += Atomics.load(this.control, slotBase(w) + READY);
    return n;
  }

  /**
   * Runs programs[0] on this thread and programs[i] on worker i, and returns when all are
   * done. A program whose worker is not ready yet (still starting) or that does not fit its
   * slot runs on this thread too; results do not depend on which thread runs a program.
   */
  dispatch(programs: readonly Program[]): void {
    const c = this.control;
    const mine: Program[] = [programs[0] ?? []];
    const sent: number[] = [];
    for (let i = 1; i < programs.length; i++) {
      const p = programs[i]!;
      if (p.length === 0) continue;
      const base = slotBase(i);
      if (!this.closed && i < this.lanes && Atomics.load(c, base + READY) === 1 && encode(c, this.floats, base, p))
        sent.push(i);
      else mine.push(p);
    }
    Atomics.store(c, PENDING, sent.length);
    for (const i of sent) {
      Atomics.add(c, slotBase(i) + GEN, 1);
      Atomics.notify(c, slotBase(i) + GEN, 1);
    }
    let failure: unknown = null;
    try {
      for (const p of mine) for (const call of p) invoke(this.exports, call);
    } catch (e) {
      failure = e;
    }
    let spins = 0;
    for (let left = Atomics.load(c, PENDING); left !== 0; left = Atomics.load(c, PENDING)) {
      if (++spins > SPIN) {
        Atomics.wait(c, PENDING, left);
        spins = 0;
      }
    }
    if (failure) throw failure;
    if (Atomics.exchange(c, ERROR, 0)) throw new Error('wasm backend: a kernel failed in a worker thread');
  }

  /** Stops the workers (they finish nothing further); later dispatches run on this thread. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let w = 1; w < this.lanes; w++) {
      const base = slotBase(w);
      this.control[base + LENGTH] = SHUTDOWN;
      Atomics.add(this.control, base + GEN, 1);
      Atomics.notify(this.control, base + GEN);
    }
    for (const w of this.workers) w.terminate();
  }
}
