/**
 * Named devices for model parallelism: 'cpu:0', 'cpu:1', 'wasm:1', 'webgpu:0', ... Each name
 * is its own Backend object, so tensors placed on two devices can never meet in one op by
 * accident (ops refuse to mix backends): whatever crosses does so through transfer().
 */
import { type Backend, cpuBackend, getBackend, listBackends, setBackend } from '../backend/index.js';
import { ArgumentError } from '../core/errors.js';
import { fromArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

const devices = new Map<string, Backend>();
/** Backends registered by name for 'webgpu:N' (see registerDevice). */
const registered = new Map<string, Backend>();

/**
 * Makes `backend` the device called `name` (e.g. a webgpu backend bound to a second
 * GPUDevice as 'webgpu:1').
 * @example registerDevice('webgpu:1', await createWebGPUBackend({ deviceIndex: 1 }));
 */
export function registerDevice(name: string, backend: Backend): void {
  registered.set(name, backend);
  devices.delete(name);
}

/**
 * The backend of a device name. 'cpu:0' / 'wasm:0' are the ordinary backends; 'cpu:N' and
 * 'wasm:N' (N ≥ 1) are further instances of them (same kernels, a backend of their own);
 * 'webgpu:N' must have been registered. A name without a number is that backend itself.
 * @example const b = device('cpu:1'); setBackend(b);
 */
export function device(name: string): Backend {
  const known = registered.get(name) ?? devices.get(name);
  if (known) return known;
  const m = /^([a-z]+)(?::(\d+))?$/.exec(name);
  if (!m) throw new ArgumentError(`device: '${name}' is not a device name like 'cpu:0', 'wasm:1' or 'webgpu:0'`);
  const kind = m[1]!;
  const index = Number(m[2] ?? 0);
  if (kind === 'webgpu' && index > 0)
    throw new ArgumentError(`device: '${name}' is not registered; registerDevice('${name}', backend) first`);
  if (kind !== 'cpu' && !listBackends().includes(kind))
    throw new ArgumentError(`device: no '${kind}' backend here (available: ${listBackends().join(', ')})`);
  const base: Backend = kind === 'cpu' ? (cpuBackend as Backend) : withBackend(kind, getBackend);
  const b: Backend = index === 0 ? base : { ...base, name: `${kind}:${index}` };
  devices.set(name, b);
  return b;
}

function withBackend<T>(name: string, fn: () => T): T {
  const previous = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(previous);
  }
}

/** Runs `fn` with `backend` as the backend new tensors are created on. */
export function onDevice<T>(backend: Backend, fn: () => T): T {
  const previous = getBackend();
  setBackend(backend);
  try {
    return fn();
  } finally {
    setBackend(previous);
  }
}

/** Bytes moved by transfer() since the counter was last reset, by "from->to". */
export const transferLog = new Map<string, number>();

/**
 * A copy of `t` on `backend` (no graph: model parallelism carries gradients across itself).
 * Counted in transferLog unless `log` is false (weights gathered for a state dict are not traffic of a step).
 */
export function transfer(t: Tensor, backend: Backend, log = true): Tensor {
  if (t.backend === backend) return t;
  const key = `${t.backend.name}->${backend.name}`;
  if (log) transferLog.set(key, (transferLog.get(key) ?? 0) + t.numel * 4);
  return fromArray(t.contiguous().dataSync(), [...t.shape], { dtype: t.dtype, backend });
}
