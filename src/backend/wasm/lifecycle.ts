/**
 * The wasm backend's lifecycle: feature probing, choosing and instantiating a build of the
 * kernels, and the worker pool's threads. Nothing runs at import time: the probes run on the
 * first question that needs them (wasmFeatures(), registering the backend), the module is
 * compiled on the first kernel call or by `await wasmReady()`, and the worker pool starts on
 * the first kernel call made with more than one thread set.
 */
import { type WasmFeatures, probeWasmFeatures } from './features.js';
import type { WasmHeap } from './heap.js';
import { threadSupport } from './pool.js';
import {
  type KernelVariant,
  type WasmRuntime,
  instantiateAsync,
  instantiateSync,
  instantiateThreaded,
  kernelBytes,
} from './runtime.js';

/** Picks the build for the probed features; a relaxed build that fails to validate falls back to plain SIMD. */
function chooseVariant(f: WasmFeatures): KernelVariant | null {
  if (!f.simd) return null;
  if (f.relaxedSimd && WebAssembly.validate(kernelBytes('relaxed-simd'))) return 'relaxed-simd';
  return WebAssembly.validate(kernelBytes('simd')) ? 'simd' : null;
}

let probed: { features: WasmFeatures; variant: KernelVariant | null } | undefined;

/** The probe results and the build they select (probed once, on first use). */
function probe(): { features: WasmFeatures; variant: KernelVariant | null } {
  if (!probed) {
    const features = probeWasmFeatures();
    probed = { features, variant: chooseVariant(features) };
  }
  return probed;
}

/** The build of the kernels this engine runs, or null without WebAssembly SIMD. */
export function kernelVariant(): KernelVariant | null {
  return probe().variant;
}

let singleRuntime: WasmRuntime | null = null;
/** A background compile in progress or done (browsers' main threads refuse synchronous compiles of large modules). */
let compiling: Promise<boolean> | null = null;

function compileAsync(variant: KernelVariant): Promise<boolean> {
  compiling ??= instantiateAsync(variant).then(
    (rt) => ((singleRuntime = rt), true),
    () => false,
  );
  return compiling;
}

/**
 * The single-threaded runtime, instantiated on first use; null without SIMD, or while a
 * background compile runs (the kernels then take the cpu fallback).
 */
function single(): WasmRuntime | null {
  if (singleRuntime || compiling) return singleRuntime;
  const variant = kernelVariant();
  if (!variant) return null;
  try {
    singleRuntime = instantiateSync(variant);
  } catch {
    // Browsers refuse synchronous compilation of modules over 4 KiB on the main thread.
    void compileAsync(variant);
  }
  return singleRuntime;
}

/**
 * Resolves true once the wasm kernels are instantiated, false where WebAssembly SIMD is
 * unavailable. Compiles them if nothing has yet (synchronously in Node, in the background
 * where the engine requires it).
 */
export function ready(): Promise<boolean> {
  if (single()) return Promise.resolve(true);
  return compiling ?? Promise.resolve(false);
}

/**
 * The heap float32 tensors of the wasm backend are allocated in (the single-threaded
 * runtime's, which the threaded one shares), or null while no runtime is up.
 */
export function activeHeap(): WasmHeap | null {
  return single()?.heap ?? null;
}

/** Most threads setNumThreads accepts. */
const MAX_THREADS = 64;

let platform: ReturnType<typeof threadSupport> | undefined;
function threadPlatform(): ReturnType<typeof threadSupport> {
  if (platform === undefined) platform = kernelVariant() ? threadSupport() : null;
  return platform;
}

function initialThreads(): number {
  const tp = threadPlatform();
  if (!tp) return 1;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const requested = Number.parseInt(env?.['TSGRAD_NUM_THREADS'] ?? '', 10);
  const n = Number.isFinite(requested) && requested >= 1 ? requested : tp.cores;
  return Math.min(n, MAX_THREADS);
}

let numThreads: number | undefined;
/** The shared-memory runtime with its worker pool, created on the first kernel call that can use it. */
let threadedRuntime: WasmRuntime | null = null;

/** The thread count in effect (the default is read on first use). */
export function threads(): number {
  return (numThreads ??= initialThreads());
}

/** The runtime kernels run on now: the threaded one when more than one thread is set. */
export function activeRuntime(): WasmRuntime | null {
  const base = single();
  const tp = threadPlatform();
  const variant = kernelVariant();
  if (threads() > 1 && base && tp && variant) {
    if (!threadedRuntime) {
      try {
        threadedRuntime = instantiateThreaded(variant, threads(), tp.spawn, base);
      } catch {
        numThreads = 1; // no shared memory here after all
        return base;
      }
    }
    return threadedRuntime;
  }
  return base;
}

/** Sets the thread count (clamped to the platform: 1 without a worker pool); returns the count in effect. */
export function setThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected an integer ≥ 1, got ${n}`);
  const next = threadPlatform() ? Math.min(n, MAX_THREADS) : 1;
  if (next !== threads()) {
    threadedRuntime?.close();
    threadedRuntime = null;
    numThreads = next;
  }
  return threads();
}

/** Resolves once the worker pool's threads are up (starting it if needed); false after `timeoutMs` or without a pool. */
export async function threadsReady(timeoutMs: number): Promise<boolean> {
  const rt = activeRuntime();
  if (!rt || rt.lanes < 2) return false;
  const until = Date.now() + timeoutMs;
  while (rt.readyWorkers() < rt.lanes - 1) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** Feature-probe results, with the thread state and the build in use. */
export function features(): WasmFeatures & { kernels: KernelVariant | null } {
  const { features: f, variant } = probe();
  return { ...f, threads: variant !== null && threads() > 1, kernels: variant };
}
