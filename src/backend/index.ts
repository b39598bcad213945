import { ArgumentError } from '../core/errors.js';
import type { Backend } from './backend.js';
import { cpuBackend } from './cpu/index.js';
import { wasmBackend, wasmFeatures } from './wasm/index.js';
import { NOT_INITIALISED, isSoftwareAdapter, onWebGPURegistration, webgpuStatus } from './webgpu/index.js';

export type { Backend, Kernel, KernelTable, View } from './backend.js';
export { cpuBackend } from './cpu/index.js';
export {
  type KernelVariant,
  type WasmFeatures,
  getNumThreads,
  setNumThreads,
  wasmBackend,
  wasmFeatures,
  wasmReady,
  wasmMemoryStats,
  type HeapStats,
  WasmMemoryLimitError,
} from './wasm/index.js';
export {
  type WebGPUStatus,
  initWebGPU,
  shutdownWebGPU,
  webgpuBackend,
  webgpuFallbacks,
  webgpuStatus,
  setWebGPUKernels,
  type WebGPUKernelStyle,
} from './webgpu/index.js';

/**
 * Backends known to this build, by name, filled on first use (importing tsgrad probes
 * nothing). The wasm backend registers only where the engine validates WebAssembly SIMD;
 * without it, it would be the cpu backend under another name.
 */
let known: Record<string, Backend> | null = null;
function registry(): Record<string, Backend> {
  if (!known) {
    known = { cpu: cpuBackend as Backend };
    if (wasmFeatures().kernels) known['wasm'] = wasmBackend as Backend;
  }
  return known;
}

// The webgpu backend appears once `await initWebGPU()` has found an adapter, and leaves on shutdownWebGPU().
onWebGPURegistration((b) => {
  const available = registry();
  if (b) available['webgpu'] = b;
  else {
    const gone = available['webgpu'];
    delete available['webgpu'];
    if (gone && current === gone) current = initialBackend();
  }
});

/**
 * What 'auto' selects: webgpu on a hardware adapter once registered, else wasm where
 * WebAssembly SIMD exists, else cpu. A software adapter (lavapipe) is slower than wasm.
 */
function autoBackend(): Backend {
  const available = registry();
  const gpu = available['webgpu'];
  if (gpu && !isSoftwareAdapter(webgpuStatus().adapter ?? '')) return gpu;
  return available['wasm'] ?? (cpuBackend as Backend);
}

/**
 * The default is the fastest registered backend (wasm where WebAssembly SIMD validates),
 * unless the environment variable TSGRAD_BACKEND names another. The wasm kernels agree with
 * the cpu ones to float32 rounding, not bit for bit (a blocked GEMM sums in another order),
 * so a seeded run reproduces exactly on the same backend.
 */
function initialBackend(): Backend {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const requested = env?.['TSGRAD_BACKEND'];
  if (requested && requested !== 'auto') {
    const available = registry();
    const b = available[requested];
    if (!b) {
      throw new ArgumentError(
        `TSGRAD_BACKEND=${requested}: unknown backend; available: ${Object.keys(available).join(', ')}, auto`,
      );
    }
    return b;
  }
  return autoBackend();
}
/** The current backend; chosen on the first getBackend() (TSGRAD_BACKEND, else 'auto'). */
let current: Backend | null = null;

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  return (current ??= initialBackend());
}

/**
 * Selects the backend for tensors created from now on: 'cpu', 'wasm' (where registered),
 * 'webgpu' (after `await initWebGPU()` succeeded), 'auto' (the fastest registered one:
 * webgpu on a hardware adapter, else wasm where WebAssembly SIMD exists, else cpu), or a
 * Backend object. Returns the backend now current. Tensors keep the backend they were
 * created on, and ops refuse to mix backends.
 * @example const previous = getBackend(); setBackend('auto'); ...; setBackend(previous);
 */
export function setBackend<S>(nameOrBackend: string | Backend<S>): Backend {
  if (typeof nameOrBackend !== 'string') {
    current = nameOrBackend as Backend;
    return current;
  }
  const name = nameOrBackend;
  const available = registry();
  const b = name === 'auto' ? autoBackend() : available[name];
  if (!b && name === 'webgpu') {
    const reason = webgpuStatus().reason ?? 'not initialised';
    throw new ArgumentError(
      reason === NOT_INITIALISED
        ? "setBackend('webgpu'): call `await initWebGPU()` first; the webgpu backend registers once it has found an adapter"
        : `setBackend('webgpu'): the webgpu backend is not available (${reason}); \`await initWebGPU()\` must return true first`,
    );
  }
  if (!b) {
    throw new ArgumentError(
      `setBackend: unknown backend '${name}'; available: ${Object.keys(available).join(', ')}, auto`,
    );
  }
  current = b as Backend;
  return current;
}

/** Names of the registered backends, e.g. ['cpu', 'wasm'], plus 'webgpu' after initWebGPU(). */
export function listBackends(): string[] {
  return Object.keys(registry());
}
