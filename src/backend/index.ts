import { ArgumentError } from '../core/errors.js';
import type { Backend } from './backend.js';
import { cpuBackend } from './cpu/index.js';

export type { Backend, Kernel, KernelTable, View } from './backend.js';
export { cpuBackend } from './cpu/index.js';

/** Backends known to this build, by name. Faster backends register here as they land. */
const available: Record<string, Backend> = { cpu: cpuBackend as Backend };
let current: Backend = cpuBackend as Backend;

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  return current;
}

/**
 * Selects the backend for tensors created from now on.
 * @example setBackend('cpu')
 */
export function setBackend(name: string): Backend {
  const b = name === 'auto' ? cpuBackend : available[name];
  if (!b) {
    throw new ArgumentError(
      `setBackend: unknown backend '${name}'; available: ${Object.keys(available).join(', ')}, auto`,
    );
  }
  current = b as Backend;
  return current;
}

export function listBackends(): string[] {
  return Object.keys(available);
}
