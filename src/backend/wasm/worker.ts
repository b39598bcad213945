/**
 * Entry point of a wasm backend worker (started by pool.ts's adapters): instantiates the
 * compiled kernels on the shared memory it is handed and serves programs until the pool
 * shuts down. In Node the init object is the thread's workerData; in a browser's module
 * Web Worker it arrives as the first message.
 */
import { type WorkerInit, serveWorker } from './pool.js';
import type { KernelExports } from './kernels-abi.js';

const wt = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  'node:worker_threads',
) as { workerData: WorkerInit } | undefined;
function serve(init: WorkerInit): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  serveWorker(instance.exports as unknown as KernelExports, new Int32Array(init.control), init.worker);
}

if (wt?.workerData) serve(wt.workerData);
else {
  const scope = globalThis as unknown as {
    addEventListener?: (type: 'message', listener: (e: { data: WorkerInit }) => void, opts: { once: true }) => void;
  };
  scope.addEventListener?.('message', (e) => serve(e.data), { once: true });
}
