/**
 * Acquires a WebGPU adapter and device: `navigator.gpu` in browsers (and in any engine that
 * has it), else the `webgpu` npm package (Dawn for Node, an optional peer dependency the
 * user installs), loaded with a dynamic
 * import so that bundles and browsers never need it.
 */
import type { GPUAdapterLike, GPUDeviceLike, GPULike } from './gpu-types.js';

export interface Acquired {
  readonly device: GPUDeviceLike;
  readonly adapterName: string;
  /** Drops the last reference to Dawn's GPU object so Node can exit (Node only). */
  readonly release: () => void;
}

export type AcquireResult = { ok: true; value: Acquired } | { ok: false; reason: string };

function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

async function nodeGpu(): Promise<{ gpu: GPULike | null; reason: string }> {
  // A variable specifier keeps bundlers from trying to resolve the optional package.
  const specifier = 'webgpu';
  let mod: { create: (flags: string[]) => GPULike; globals: Record<string, unknown> };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (e) {
    return {
      gpu: null,
      reason: `the 'webgpu' package (Dawn for Node) is not installed: npm install webgpu (${(e as Error).message.split('\n')[0]})`,
    };
  }
  // Dawn's constructors (GPUBufferUsage, ...) for code that expects them as globals.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  // Vulkan is Dawn's backend on Linux for both lavapipe and NVIDIA; TSGRAD_WEBGPU_FLAGS overrides.
  const flags = env('TSGRAD_WEBGPU_FLAGS')?.split(' ').filter(Boolean) ?? [
    process.platform === 'linux' ? 'backend=vulkan' : '',
  ];
  try {
    return { gpu: mod.create(flags.filter(Boolean)), reason: '' };
  } catch (e) {
    return { gpu: null, reason: `webgpu.create failed: ${(e as Error).message}` };
  }
}

function adapterName(a: GPUAdapterLike): string {
  const i = a.info;
  return i?.description || i?.device || i?.architecture || i?.vendor || 'unknown adapter';
}

/** Finds an adapter and opens a device with the adapter's largest buffer limits. */
export async function acquireDevice(): Promise<AcquireResult> {
  let gpu = (globalThis as { navigator?: { gpu?: GPULike } }).navigator?.gpu ?? null;
  let nodeOwned = false;
  if (!gpu) {
    if (typeof process === 'undefined' || !process.versions?.node) {
      return { ok: false, reason: 'this engine has no navigator.gpu (WebGPU is not available)' };
    }
    const r = await nodeGpu();
    if (!r.gpu) return { ok: false, reason: r.reason };
    gpu = r.gpu;
    nodeOwned = true;
  }
  let adapter: GPUAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, reason: `requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter (no GPU driver, and no lavapipe/software Vulkan)' };
  const want = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize'];
  const requiredLimits: Record<string, number> = {};
  for (const k of want) if (adapter.limits[k] !== undefined) requiredLimits[k] = adapter.limits[k]!;
  let device: GPUDeviceLike;
  try {
    device = await adapter.requestDevice({ requiredLimits });
  } catch (e) {
    return { ok: false, reason: `requestDevice failed: ${(e as Error).message}` };
  }
  let held: GPULike | null = gpu;
  return {
    ok: true,
    value: {
      device,
      adapterName: adapterName(adapter),
      release: () => {
        // dawn.node keeps the process alive while its GPU object is reachable.
        if (nodeOwned) held = null;
        void held;
      },
    },
  };
}
