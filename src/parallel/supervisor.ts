/**
 * The supervisor thread of DataParallel: it starts the replica threads and watches them.
 * The main thread waits for a step synchronously (Atomics.wait), so it cannot see a
 * thread's 'exit' event while it waits; this thread can, and marks the replica dead in the
 * control array, which ends the main thread's wait with an error naming the replica.
 */
import { type MessagePort, Worker, parentPort, workerData } from 'node:worker_threads';
import { CTRL, ERROR_BYTES, REPLICA, type ReplicaInit, STATUS, replicaSlot } from './shared.js';

const { inits, envs, ports } = workerData as {
  inits: ReplicaInit[];
  envs: Record<string, string | undefined>[];
  ports: MessagePort[];
};
const ctrl = new Int32Array(inits[0]!.ctrl);
const errors = new Uint8Array(inits[0]!.errors);
let closing = false;

function markDead(r: number, why: string, code: number): void {
  if (Atomics.load(ctrl, replicaSlot(r, REPLICA.status)) !== STATUS.failed) {
    const bytes = new TextEncoder().encode(why).subarray(0, ERROR_BYTES);
    errors.set(bytes, r * ERROR_BYTES);
    Atomics.store(ctrl, replicaSlot(r, REPLICA.errorLength), bytes.length);
  }
  Atomics.store(ctrl, replicaSlot(r, REPLICA.exitCode), code);
  Atomics.store(ctrl, replicaSlot(r, REPLICA.status), STATUS.dead);
  Atomics.store(ctrl, CTRL.anyDead, 1);
  Atomics.notify(ctrl, replicaSlot(r, REPLICA.done));
}

const workers = inits.map((init, r) => {
  const w = new Worker(new URL('./replica-worker.js', import.meta.url), {
    workerData: { ...init, port: ports[r] },
    transferList: [ports[r]!],
    env: envs[r],
  });
  let lastError = '';
  w.on('error', (e) => (lastError = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)));
  w.on('exit', (code) => {
    if (!closing) markDead(r, lastError || `its thread exited with code ${code}`, code);
  });
  return w;
});

parentPort!.on('message', (msg: { type: 'terminate'; replica: number } | { type: 'close' }) => {
  if (msg.type === 'terminate') void workers[msg.replica]?.terminate();
  else {
    closing = true;
    void Promise.all(workers.map((w) => w.terminate())).then(() => process.exit(0));
  }
});
