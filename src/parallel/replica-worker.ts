/**
 * Entry of one replica thread of DataParallel (started by the supervisor thread). It builds
 * its own copy of the model on its own backend, then serves commands from the control
 * array: forward on its shard (after loading the main copy's weights), and backward from
 * the output gradient, followed by its part of the fixed-order gradient reduction.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { backward as runBackward } from '../autograd/engine.js';
import { getBackend, initWebGPU, setBackend, shutdownWebGPU, webgpuStatus } from '../backend/index.js';
import { TsgradError } from '../core/errors.js';
import type { Parameter, StateDict } from '../nn/module.js';
import { fromArray } from '../tensor/creation.js';
import { defaultGenerator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { buildFromFactory, type Classifier } from './factory.js';
import { storesTypedArrays, tensorOver, valuesOf, valuesOfAsync } from './host.js';
import {
  type BatchBuffers,
  CMD,
  CTRL,
  ERROR_BYTES,
  INFO_BYTES,
  REPLICA,
  type ReplicaInit,
  STATUS,
  barrier,
  replicaSlot,
  viewOf,
} from './shared.js';
import { convertSyncBatchNorm } from './sync-batchnorm.js';
import { PROFILE_SLOTS, PhaseClock, REPLICA_PHASES } from './profile.js';

const init = workerData as ReplicaInit & { port: MessagePort };
const r = init.replica;
const ctrl = new Int32Array(init.ctrl);
const errors = new Uint8Array(init.errors, r * ERROR_BYTES, ERROR_BYTES);
const grads = new Float32Array(init.grads);
const myGrads = grads.subarray(r * init.numGradValues, (r + 1) * init.numGradValues);
const reduced = new Float32Array(init.reduced);
const scratch = new Float64Array(init.scratch);
const paramEntries = init.entries.filter((e) => e.isParameter);
/** Index in init.entries (and the flags) of each parameter entry. */
const entryIndex = init.entries.flatMap((e, i) => (e.isParameter ? [i] : []));
const bufferEntries = init.entries.filter((e) => !e.isParameter);

const clock = new PhaseClock(
  init.profile ? new Float64Array(init.profile, r * PROFILE_SLOTS * 8, PROFILE_SLOTS) : null,
  REPLICA_PHASES,
);
let batch: BatchBuffers | null = null;
let output: Tensor | null = null;

function fail(e: unknown): void {
  const msg = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
  const bytes = new TextEncoder().encode(msg).subarray(0, ERROR_BYTES);
  errors.set(bytes);
  Atomics.store(ctrl, replicaSlot(r, REPLICA.errorLength), bytes.length);
  Atomics.store(ctrl, replicaSlot(r, REPLICA.status), STATUS.failed);
}

/** Picks up reallocated batch buffers (posted before the command that needs them). */
function refreshBatchBuffers(): void {
  const want = Atomics.load(ctrl, CTRL.batchGen);
  while (!batch || batch.gen !== want) {
    const m = receiveMessageOnPort(init.port);
    if (!m) throw new TsgradError(`replica ${r}: batch buffers of generation ${want} were not sent`);
    batch = m.message as BatchBuffers;
  }
}

/** The model's parameters in entry order, and whether they sit over the shared state (no per-step copy). */
let params: Parameter[] = [];
let paramsShared = false;

/**
 * Points the parameters at the shared state where the backend allows: the main thread writes
 * the new weights there between steps, and the replica reads them in place. Otherwise each
 * forward uploads them (loadState).
 */
function bindParameters(model: Classifier): void {
  const byName = new Map(model.namedParameters());
  params = paramEntries.map((e) => byName.get(e.name)!);
  const backend = params[0]?.backend ?? getBackend();
  paramsShared = storesTypedArrays(backend);
  if (!paramsShared) return;
  paramEntries.forEach((e, i) =>
    params[i]!.assign(tensorOver(viewOf(init.state, e.dtype, e.byteOffset, e.numel), e.shape, e.dtype, backend)),
  );
}

function loadState(model: Classifier): void {
  const flags = new Uint8Array(init.flags);
  paramEntries.forEach((e, i) => {
    const p = params[i]!;
    if (!paramsShared)
      p.assign(tensorOver(viewOf(init.state, e.dtype, e.byteOffset, e.numel), e.shape, e.dtype, p.backend));
    p.requiresGrad = flags[entryIndex[i]!] === 1;
  });
  if (!bufferEntries.length) return;
  const sd: StateDict = {};
  for (const e of bufferEntries)
    sd[e.name] = fromArray(viewOf(init.state, e.dtype, e.byteOffset, e.numel).slice(), e.shape, { dtype: e.dtype });
  model.loadStateDict(sd, { strict: false });
}

async function forward(model: Classifier, rows: number, rowStart: number): Promise<void> {
  refreshBatchBuffers();
  const b = batch!;
  loadState(model);
  clock.lap('loadState');
  if (!model.training) model.train();
  // Each replica draws its own dropout masks, from a seed the main thread drew for this step.
  defaultGenerator.seed((Atomics.load(ctrl, CTRL.seed) + r * 0x9e3779b1) >>> 0);
  const sampleSize = b.sampleShape.reduce((a, d) => a * d, 1);
  const backend = params[0]?.backend ?? getBackend();
  const x = tensorOver(
    new Float32Array(b.inputs, rowStart * sampleSize * 4, rows * sampleSize),
    [rows, ...b.sampleShape],
    'float32',
    backend,
  );
  clock.lap('input');
  const out = model.forward(x) as unknown;
  if (!(out instanceof Tensor))
    throw new TsgradError(
      `replica ${r}: the model's training forward returned ${out === null ? 'null' : typeof out}, not one tensor; DataParallel needs a single output (e.g. GoogLeNet without aux heads)`,
    );
  const outSize = b.outputShape.reduce((a, d) => a * d, 1);
  if (out.numel !== rows * outSize)
    throw new TsgradError(
      `replica ${r}: the model's output has shape [${out.shape.join(', ')}], expected [${rows}, ${b.outputShape.join(', ')}]`,
    );
  clock.lap('forward');
  const values = out.dtype === 'float32' ? await valuesOfAsync(out) : await out.cast('float32').data();
  new Float32Array(b.outputs, rowStart * outSize * 4, rows * outSize).set(values);
  output = out;
  if (r === 0 && bufferEntries.length) {
    const current = new Map(model.namedBuffers({ persistentOnly: true }));
    for (const e of bufferEntries)
      viewOf(init.buffersBack, e.dtype, e.byteOffset, e.numel).set(valuesOf(current.get(e.name)!));
  }
  clock.lap('output');
}

async function backward(model: Classifier, rows: number, rowStart: number, active: number): Promise<void> {
  const b = batch!;
  if (!output) throw new TsgradError(`replica ${r}: backward without a forward`);
  const outSize = b.outputShape.reduce((a, d) => a * d, 1);
  const g = tensorOver(
    new Float32Array(b.gradOutputs, rowStart * outSize * 4, rows * outSize),
    output.shape,
    'float32',
    output.backend,
  );
  model.zeroGrad();
  clock.lap('gradIn');
  runBackward(output, output.dtype === 'float32' ? g : g.cast(output.dtype));
  output = null;
  clock.lap('backward');
  for (let i = 0; i < paramEntries.length; i++) {
    const e = paramEntries[i]!;
    const dst = myGrads.subarray(e.gradOffset, e.gradOffset + e.numel);
    const grad = params[i]!.grad;
    if (grad) dst.set(grad.dtype === 'float32' ? await valuesOfAsync(grad) : await grad.cast('float32').data());
    else dst.fill(0);
  }
  clock.lap('gradOut');
  // Reduce-scatter in a fixed order: each active replica sums one chunk over replicas 0..active-1.
  barrier(ctrl, active);
  clock.lap('barrier');
  const n = init.numGradValues;
  const lo = Math.floor((r * n) / active);
  const hi = Math.floor(((r + 1) * n) / active);
  if (active === 1) reduced.set(grads.subarray(lo, hi), lo);
  else if (active === 2) {
    for (let i = lo; i < hi; i++) reduced[i] = grads[i]! + grads[n + i]!;
  } else {
    for (let i = lo; i < hi; i++) {
      let s = 0;
      for (let q = 0; q < active; q++) s += grads[q * n + i]!;
      reduced[i] = s;
    }
  }
  clock.lap('reduce');
}

/** Selects the replica's backend; 'webgpu' / 'webgpu:N' opens this thread's own GPUDevice. */
async function selectBackend(name: string): Promise<void> {
  const kind = name.replace(/:\d+$/, '');
  if (kind === 'webgpu') {
    if (!(await initWebGPU()))
      throw new TsgradError(
        `replica ${r}: no WebGPU device for '${name}': ${webgpuStatus().reason ?? 'unknown reason'}`,
      );
    if (init.syncBatchNorm) throw new TsgradError(`replica ${r}: syncBatchNorm is not available on webgpu replicas`);
  }
  setBackend(kind);
  const adapter = kind === 'webgpu' ? ` (${webgpuStatus().adapter ?? 'adapter unknown'})` : '';
  const bytes = new TextEncoder().encode(`${getBackend().name}${adapter}`).subarray(0, INFO_BYTES - 4);
  new Uint8Array(init.info, r * INFO_BYTES + 4, INFO_BYTES - 4).set(bytes);
  new Int32Array(init.info, r * INFO_BYTES, 1)[0] = bytes.length;
}

async function main(): Promise<void> {
  let model: Classifier;
  try {
    if (init.backend) await selectBackend(init.backend);
    model = await buildFromFactory(init.factory);
    if (init.syncBatchNorm) convertSyncBatchNorm(model, { ctrl, scratch, replica: r });
    const have = new Map(Object.entries(model.stateDict()));
    const bad = init.entries.filter((e) => {
      const t = have.get(e.name);
      return !t || t.shape.join() !== e.shape.join();
    });
    if (bad.length || have.size !== init.entries.length)
      throw new TsgradError(
        `the model built by the factory does not match the one given to DataParallel (${bad.length ? `differs at ${bad.map((e) => e.name).join(', ')}` : `${have.size} vs ${init.entries.length} tensors`})`,
      );
    bindParameters(model);
  } catch (e) {
    fail(e);
    Atomics.store(ctrl, replicaSlot(r, REPLICA.done), 0);
    Atomics.notify(ctrl, replicaSlot(r, REPLICA.done));
    return;
  }
  Atomics.store(ctrl, replicaSlot(r, REPLICA.done), 0);
  Atomics.notify(ctrl, replicaSlot(r, REPLICA.done));
  let seen = 0;
  clock.start();
  for (;;) {
    while (Atomics.load(ctrl, CTRL.seq) === seen) Atomics.wait(ctrl, CTRL.seq, seen);
    seen = Atomics.load(ctrl, CTRL.seq);
    clock.lap('idle');
    const cmd = Atomics.load(ctrl, CTRL.cmd);
    if (cmd === CMD.exit) {
      // Free the GPUDevice here, before the supervisor ends the thread (Dawn must not be torn down mid-call).
      if (webgpuStatus().available) await shutdownWebGPU();
      Atomics.store(ctrl, replicaSlot(r, REPLICA.done), seen);
      Atomics.notify(ctrl, replicaSlot(r, REPLICA.done));
      return;
    }
    const active = Atomics.load(ctrl, CTRL.active);
    if (r < active && Atomics.load(ctrl, replicaSlot(r, REPLICA.status)) === STATUS.ok) {
      const rows = Atomics.load(ctrl, replicaSlot(r, REPLICA.rows));
      const rowStart = Atomics.load(ctrl, replicaSlot(r, REPLICA.rowStart));
      try {
        if (cmd === CMD.forward) await forward(model, rows, rowStart);
        else if (cmd === CMD.backward) await backward(model, rows, rowStart, active);
      } catch (e) {
        fail(e);
      }
    }
    Atomics.store(ctrl, replicaSlot(r, REPLICA.done), seen);
    Atomics.notify(ctrl, replicaSlot(r, REPLICA.done));
    clock.lap('done');
    // Let promise callbacks (asynchronous backends) run between commands.
    await new Promise((resolve) => setImmediate(resolve));
    clock.lap('turn');
  }
}

void main();
