import { ArgumentError } from '../core/errors.js';
import type { Backend } from './backend.js';
import { cpuBackend } from './cpu/index.js';
import { wasmBackend, wasmFeatures } from './wasm/index.js';

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
} from './wasm/index.js';

/**
 * Backends known to this build, by name. The wasm backend registers only where the engine
 * validates WebAssembly SIMD; without it, it would be the cpu backend under another name.
 */
const available: Record<string, Backend> = { cpu: cpuBackend as Backend };
if (wasmFeatures().kernels) available['wasm'] = wasmBackend as Backend;

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
    const b = available[requested];
    if (!b) {
      throw new ArgumentError(
        `TSGRAD_BACKEND=${requested}: unknown backend; available: ${Object.keys(available).join(', ')}, auto`,
      );
    }
    return b;
  }
  return available['wasm'] ?? (cpuBackend as Backend);
}
let current: Backend = initialBackend();

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  return current;
}

/**
 * Selects the backend for tensors created from now on: 'cpu', 'wasm' (where registered),
 * 'auto' (the fastest registered one: wasm where WebAssembly SIMD exists, else cpu), or a
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
  const b = name === 'auto' ? (available['wasm'] ?? cpuBackend) : available[name];
  if (!b) {
    throw new ArgumentError(
      `setBackend: unknown backend '${name}'; available: ${Object.keys(available).join(', ')}, auto`,
    );
  }
  current = b as Backend;
  return current;
}

/** Names of the registered backends, e.g. ['cpu', 'wasm']. */
export function listBackends(): string[] {
  return Object.keys(available);
}
