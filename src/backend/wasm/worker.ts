/**
 * Entry point of a wasm backend worker thread in Node (started by pool.ts's Node adapter):
 * instantiates the compiled kernels on the shared memory it is handed and serves programs
 * until the pool shuts down. A browser port would be the same three lines in a Web Worker,
 * with the init object arriving by postMessage.
 */
import { type WorkerInit, serveWorker } from './pool.js';
import type { KernelExports } from './runtime.js';

const wt = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  'node:worker_threads',
) as { workerData: WorkerInit } | undefined;
const init = wt?.workerData;
if (init) {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  serveWorker(instance.exports as unknown as KernelExports, new Int32Array(init.control), init.worker);
}
