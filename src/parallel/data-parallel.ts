/**
 * Data parallelism on one machine: N replicas of a model, each in its own worker thread with
 * its own backend, each running a shard of every batch; the gradients are summed over the
 * replicas in a fixed order in shared memory, the optimizer steps once on the main copy, and
 * the replicas load the main copy's weights before every forward.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { getBackend } from '../backend/index.js';
import { ArgumentError, TsgradError } from '../core/errors.js';
import { Module, type Parameter, type StateDict } from '../nn/module.js';
import { fromArray } from '../tensor/creation.js';
import { isGradEnabled, noGrad } from '../tensor/dispatch.js';
import * as ops from '../tensor/ops.js';
import { defaultGenerator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Classifier, ModelFactory } from './factory.js';
import { valuesOf } from './host.js';
import { MAIN_PHASES, PROFILE_SLOTS, PhaseClock, type PhaseTotals, REPLICA_PHASES, readPhases } from './profile.js';
import {
  type BatchBuffers,
  CMD,
  CTRL,
  ERROR_BYTES,
  INFO_BYTES,
  REPLICA,
  REPLICA_SLOTS,
  type ReplicaInit,
  SCRATCH_VALUES,
  STATUS,
  type StateEntry,
  bytesPer,
  replicaSlot,
  viewOf,
} from './shared.js';

/** A replica failed or its thread died; DataParallel cannot continue (the last checkpoint is intact). */
export class ReplicaError extends TsgradError {
  constructor(
    message: string,
    /** Index of the replica that failed. */
    readonly replica: number,
  ) {
    super(message);
  }
}

export interface DataParallelOptions {
  /** Replicas (worker threads); default: the number of devices, else 2. */
  replicas?: number;
  /**
   * Backend of each replica, e.g. ['wasm', 'wasm'] or ['webgpu:0', 'webgpu:1'] (the number
   * after the colon picks a GPUDevice). Default: the main thread's backend for every replica.
   */
  devices?: string[];
  /** Normalize with the statistics of the whole batch (PyTorch's SyncBatchNorm); default false: per replica. */
  syncBatchNorm?: boolean;
  /**
   * How the replica threads build the model (a Module cannot cross threads). Required unless
   * the model came from `replicableModel` (which remembers its recipe).
   */
  factory?: ModelFactory;
  /** Intra-op threads of each replica's wasm backend (TSGRAD_NUM_THREADS there); default 1. */
  threadsPerReplica?: number;
  /**
   * Extra environment variables of each replica's thread, e.g. to give webgpu replicas
   * separate adapters where there are several:
   * `[{ TSGRAD_WEBGPU_FLAGS: 'backend=vulkan adapter=NVIDIA' }, { TSGRAD_WEBGPU_FLAGS: 'backend=vulkan adapter=AMD' }]`.
   * Each webgpu replica opens its own GPUDevice in any case.
   */
  replicaEnv?: Record<string, string>[];
  /** Time every phase of every step, per thread (read with `profile()`); for benchmarks. */
  profile?: boolean;
}

/** Recipes of models built by replicableModel, so DataParallel needs no factory for them. */
const recipes = new WeakMap<Module, ModelFactory>();

/**
 * A zoo model (createModel) that remembers how it was built, so DataParallel can rebuild it
 * in its replica threads without a factory.
 * @example const dp = new DataParallel(await replicableModel('lenet5', { numClasses: 10, inChannels: 1, inputSize: 28 }), { replicas: 2 });
 */
export async function replicableModel(
  name: string,
  options: { numClasses: number; inChannels: number; inputSize: number },
): Promise<Classifier> {
  const { createModel } = await import('../models/index.js');
  const model = createModel(name, options);
  recipes.set(model, { zoo: name, options });
  return model;
}

/** Splits `n` rows into `parts` shards as even as possible, the larger ones first. */
export function shardSizes(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, r) => Math.floor(n / parts) + (r < n % parts ? 1 : 0));
}

/**
 * Wraps a model for data-parallel training: a drop-in for Trainer, with the same parameters,
 * state dict (no `module.` prefix) and checkpoints as the model itself. In training mode
 * forward() scatters the batch to the replicas; backward() gathers their gradients, summed
 * in replica order (bit-identical from run to run), into the model's parameters, where the
 * optimizer uses them once. In evaluation mode (or under noGrad) it runs the model here.
 * Batch-norm statistics are per replica (the main copy keeps replica 0's, as PyTorch's
 * DistributedDataParallel broadcasts rank 0's) unless `syncBatchNorm` is set.
 * @example
 * const model = await replicableModel('lenet5', { numClasses: 10, inChannels: 1, inputSize: 28 });
 * const dp = new DataParallel(model, { replicas: 2 });
 * await new Trainer(dp, { train, epochs: 1, optimizer: new SGD(dp.parameters(), { lr: 0.01 }) }).fit();
 */
export class DataParallel extends Module {
  declare readonly module: Classifier;
  readonly replicas: number;
  readonly devices: readonly string[];
  readonly syncBatchNorm: boolean;
  private readonly ctrl: Int32Array;
  private readonly entries: StateEntry[];
  private readonly shared: Omit<ReplicaInit, 'replica' | 'factory' | 'syncBatchNorm' | 'backend' | 'replicas'>;
  private readonly flags: Uint8Array;
  private readonly supervisor: Worker;
  private readonly ports: MessagePort[];
  private batch: BatchBuffers | null = null;
  private seq = 0;
  private steps = 0;
  private ready = false;
  private broken: ReplicaError | null = null;
  private closed = false;
  private readonly clock: PhaseClock;

  constructor(model: Classifier, options: DataParallelOptions = {}) {
    super();
    // Not an enumerable property: the wrapper's tree is the model's own (same names, no prefix).
    Object.defineProperty(this, 'module', { value: model, enumerable: false });
    const replicas = options.replicas ?? options.devices?.length ?? 2;
    if (!(Number.isInteger(replicas) && replicas >= 1))
      throw new ArgumentError(`DataParallel: replicas must be a positive integer, got ${replicas}`);
    if (options.devices && options.devices.length !== replicas)
      throw new ArgumentError(
        `DataParallel: ${options.devices.length} devices for ${replicas} replicas; give one device per replica`,
      );
    const factory = options.factory ?? recipes.get(model);
    if (!factory)
      throw new ArgumentError(
        'DataParallel: the replica threads must rebuild the model; pass { factory: { zoo, options } | { module, export, args } } or build it with replicableModel()',
      );
    this.replicas = replicas;
    this.syncBatchNorm = options.syncBatchNorm ?? false;
    this.devices = options.devices ?? Array.from({ length: replicas }, () => getBackend().name);

    // The state (parameters, then persistent buffers) in one shared buffer, 8-byte aligned entries.
    const entries: StateEntry[] = [];
    let bytes = 0;
    let gradValues = 0;
    const add = (name: string, t: Tensor, isParameter: boolean): void => {
      if (isParameter && t.dtype !== 'float32')
        throw new ArgumentError(`DataParallel: parameter ${name} is ${t.dtype}; replicas train float32 parameters`);
      entries.push({
        name,
        dtype: t.dtype,
        shape: [...t.shape],
        numel: t.numel,
        byteOffset: bytes,
        isParameter,
        gradOffset: isParameter ? gradValues : -1,
      });
      bytes += Math.ceil((t.numel * bytesPer(t.dtype)) / 8) * 8;
      if (isParameter) gradValues += t.numel;
    };
    for (const [name, p] of model.namedParameters()) add(name, p, true);
    for (const [name, b] of model.namedBuffers({ persistentOnly: true })) add(name, b, false);
    this.entries = entries;
    const ctrlBuffer = new SharedArrayBuffer((CTRL.replicaBase + replicas * REPLICA_SLOTS) * 4);
    this.ctrl = new Int32Array(ctrlBuffer);
    for (let r = 0; r < replicas; r++) this.ctrl[replicaSlot(r, REPLICA.done)] = -1;
    const state = new SharedArrayBuffer(Math.max(8, bytes));
    this.shared = {
      entries,
      numGradValues: gradValues,
      ctrl: ctrlBuffer,
      state,
      grads: new SharedArrayBuffer(Math.max(4, replicas * gradValues * 4)),
      reduced: new SharedArrayBuffer(Math.max(4, gradValues * 4)),
      buffersBack: new SharedArrayBuffer(Math.max(8, bytes)),
      errors: new SharedArrayBuffer(replicas * ERROR_BYTES),
      scratch: new SharedArrayBuffer(replicas * SCRATCH_VALUES * 8),
      flags: new SharedArrayBuffer(Math.max(1, entries.length)),
      info: new SharedArrayBuffer(replicas * INFO_BYTES),
      profile: options.profile ? new SharedArrayBuffer((replicas + 1) * PROFILE_SLOTS * 8) : null,
    };
    this.clock = new PhaseClock(
      this.shared.profile ? new Float64Array(this.shared.profile, replicas * PROFILE_SLOTS * 8, PROFILE_SLOTS) : null,
      MAIN_PHASES,
    );
    this.flags = new Uint8Array(this.shared.flags);
    const inits: ReplicaInit[] = this.devices.map((device, r) => ({
      ...this.shared,
      replica: r,
      replicas,
      factory,
      syncBatchNorm: this.syncBatchNorm,
      backend: device,
    }));
    const channels = inits.map(() => new MessageChannel());
    this.ports = channels.map((c) => c.port1);
    const env: Record<string, string | undefined> = {
      ...process.env,
      TSGRAD_NUM_THREADS: String(options.threadsPerReplica ?? 1),
    };
    delete env['TSGRAD_BACKEND'];
    const envs = inits.map((_, r) => ({ ...env, ...(options.replicaEnv?.[r] ?? {}) }));
    const remote = channels.map((c) => c.port2);
    this.supervisor = new Worker(new URL('./supervisor.js', import.meta.url), {
      workerData: { inits, envs, ports: remote },
      transferList: remote,
    });
    // The replicas never keep the process alive on their own (users never call close()).
    this.supervisor.unref();
    for (const p of this.ports) p.unref();
  }

  override namedChildren(): [string, Module][] {
    return this.module.namedChildren();
  }

  override namedModules(prefix = ''): [string, Module][] {
    return this.module.namedModules(prefix);
  }

  override describe(): string {
    return `DataParallel(${this.module.describe()}, replicas=${this.replicas}${this.syncBatchNorm ? ', syncBatchNorm' : ''})`;
  }

  forward(x: Tensor): Tensor {
    if (!this.module.training || !isGradEnabled()) return this.module.forward(x);
    this.check();
    this.clock.start();
    const n = x.shape[0]!;
    if (x.rank < 1 || n < 1)
      throw new ArgumentError(`DataParallel: expected a batch [N, ...], got shape [${x.shape.join(', ')}]`);
    const active = Math.min(this.replicas, n);
    const rows = shardSizes(n, active);
    const xd = valuesOf(x.dtype === 'float32' ? x : x.cast('float32'));
    const b = this.batchBuffers(x, xd, n);
    this.clock.lap('scatter');
    this.writeState();
    this.clock.lap('writeState');
    new Float32Array(b.inputs, 0, xd.length).set(xd);
    let start = 0;
    rows.forEach((k, r) => {
      Atomics.store(this.ctrl, replicaSlot(r, REPLICA.rows), k);
      Atomics.store(this.ctrl, replicaSlot(r, REPLICA.rowStart), start);
      start += k;
    });
    Atomics.store(this.ctrl, CTRL.globalRows, n);
    Atomics.store(this.ctrl, CTRL.active, active);
    Atomics.store(this.ctrl, CTRL.seed, defaultGenerator.int(0, 0x7fffffff));
    this.steps++;
    this.clock.lap('scatter');
    this.command(CMD.forward, active, 'forward');
    this.clock.lap('waitForward');
    const outSize = b.outputShape.reduce((a, d) => a * d, 1);
    const params = this.module.parameters();
    // The replicas wrote their rows one after another: the batch's output is one copy away.
    const anchor = fromArray(new Float32Array(b.outputs, 0, n * outSize), [n, ...b.outputShape], {
      backend: params[0]?.backend ?? getBackend(),
    });
    this.clock.lap('gather');
    this.readBuffersOfReplica0();
    this.clock.lap('readBuffers');
    anchor.requiresGrad = true;
    anchor.registerHook((g) => {
      this.backwardReplicas(g, rows);
      return undefined;
    });
    return anchor;
  }

  /**
   * Ends the replica threads (they never keep the process alive, so this is only needed to
   * free them early). The wrapper then trains no more; the model keeps working alone.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, CTRL.cmd, CMD.exit);
    const seq = ++this.seq;
    Atomics.store(this.ctrl, CTRL.seq, seq);
    Atomics.notify(this.ctrl, CTRL.seq);
    // Replicas free their devices before their threads end; a replica that is gone or stuck is not waited for long.
    const deadline = Date.now() + 10_000;
    const finished = (r: number): boolean =>
      Atomics.load(this.ctrl, replicaSlot(r, REPLICA.done)) >= seq ||
      Atomics.load(this.ctrl, replicaSlot(r, REPLICA.status)) !== STATUS.ok;
    while (this.ready && Date.now() < deadline && !Array.from({ length: this.replicas }, (_, r) => r).every(finished))
      await new Promise((resolve) => setTimeout(resolve, 10));
    const exited = new Promise((resolve) => this.supervisor.once('exit', resolve));
    this.supervisor.ref(); // keep the event loop alive until the threads are gone
    this.supervisor.postMessage({ type: 'close' });
    await exited;
  }

  /**
   * The backend each replica runs on, as the replica reports it (with the adapter on
   * webgpu); waits for the replicas to start.
   * @example dp.replicaBackends() // ['webgpu (llvmpipe ...)', 'webgpu (llvmpipe ...)']
   */
  replicaBackends(): string[] {
    this.check();
    return Array.from({ length: this.replicas }, (_, r) => {
      const n = new Int32Array(this.shared.info, r * INFO_BYTES, 1)[0]!;
      return new TextDecoder().decode(new Uint8Array(this.shared.info, r * INFO_BYTES + 4, n).slice());
    });
  }

  /** @internal Ends one replica's thread abruptly (fault-injection for tests). */
  terminateReplica(r: number): void {
    this.supervisor.postMessage({ type: 'terminate', replica: r });
  }

  /** @internal Whether the supervisor has seen replica r's thread die. */
  replicaDead(r: number): boolean {
    return Atomics.load(this.ctrl, replicaSlot(r, REPLICA.status)) === STATUS.dead;
  }

  private check(): void {
    if (this.broken)
      throw new ReplicaError(
        `DataParallel cannot continue after an earlier failure (${this.broken.message}); build a new one and resume from the last checkpoint`,
        this.broken.replica,
      );
    if (this.closed) throw new TsgradError('DataParallel: closed; its replicas are gone');
    if (!this.ready) {
      this.waitFor(
        Array.from({ length: this.replicas }, (_, r) => r),
        0,
        'start',
      );
      this.ready = true;
    }
  }

  /** (Re)allocates the batch-sized buffers when the sample shape changes or the batch outgrows them. */
  private batchBuffers(x: Tensor, xd: ArrayLike<number>, rows: number): BatchBuffers {
    const sampleShape = x.shape.slice(1);
    const b = this.batch;
    if (b && b.sampleShape.join() === sampleShape.join() && b.capacityRows >= rows) return b;
    const outputShape =
      b && b.sampleShape.join() === sampleShape.join() ? b.outputShape : this.probeOutputShape(xd, sampleShape);
    const sampleSize = sampleShape.reduce((a, d) => a * d, 1);
    const outSize = outputShape.reduce((a, d) => a * d, 1);
    const capacityRows = Math.max(rows, b?.capacityRows ?? 0);
    const make = (values: number): SharedArrayBuffer => new SharedArrayBuffer(Math.max(4, capacityRows * values * 4));
    const next: BatchBuffers = {
      gen: (b?.gen ?? 0) + 1,
      capacityRows,
      sampleShape,
      outputShape,
      inputs: make(sampleSize),
      outputs: make(outSize),
      gradOutputs: make(outSize),
    };
    for (const p of this.ports) p.postMessage(next);
    Atomics.store(this.ctrl, CTRL.batchGen, next.gen);
    this.batch = next;
    return next;
  }

  /** The output shape of one sample, from an evaluation-mode forward of the first row here. */
  private probeOutputShape(xd: ArrayLike<number>, sampleShape: number[]): number[] {
    const size = sampleShape.reduce((a, d) => a * d, 1);
    this.module.eval();
    try {
      const first = Float32Array.from({ length: size }, (_, i) => xd[i]!);
      const out = noGrad(() => this.module.forward(fromArray(first, [1, ...sampleShape])));
      if (!(out instanceof Tensor)) throw new ArgumentError('DataParallel: the model must return one tensor');
      return out.shape.slice(1);
    } finally {
      this.module.train();
    }
  }

  private writeState(): void {
    const byName = new Map<string, Tensor>([
      ...this.module.namedParameters(),
      ...this.module.namedBuffers({ persistentOnly: true }),
    ]);
    this.entries.forEach((e, i) => {
      const t = byName.get(e.name);
      if (!t) throw new TsgradError(`DataParallel: the model no longer has '${e.name}' (changed after wrapping?)`);
      viewOf(this.shared.state, e.dtype, e.byteOffset, e.numel).set(valuesOf(t));
      this.flags[i] = e.isParameter && t.requiresGrad ? 1 : 0;
    });
  }

  private readBuffersOfReplica0(): void {
    const sd: StateDict = {};
    for (const e of this.entries) {
      if (e.isParameter) continue;
      sd[e.name] = fromArray(viewOf(this.shared.buffersBack, e.dtype, e.byteOffset, e.numel).slice(), e.shape, {
        dtype: e.dtype,
      });
    }
    if (Object.keys(sd).length) this.module.loadStateDict(sd, { strict: false });
  }

  private backwardReplicas(g: Tensor, rows: number[]): void {
    this.check();
    this.clock.start();
    const b = this.batch!;
    new Float32Array(b.gradOutputs, 0, g.numel).set(valuesOf(g.dtype === 'float32' ? g : g.cast('float32')));
    this.clock.lap('gradScatter');
    this.command(CMD.backward, rows.length, 'backward');
    this.clock.lap('waitBackward');
    const reduced = new Float32Array(this.shared.reduced);
    const params = new Map<string, Parameter>(this.module.namedParameters());
    for (const e of this.entries) {
      if (!e.isParameter) continue;
      const p = params.get(e.name)!;
      if (!p.requiresGrad) continue;
      // fromArray copies: the shared buffer is overwritten by the next step.
      const grad = fromArray(reduced.subarray(e.gradOffset, e.gradOffset + e.numel), e.shape, { backend: p.backend });
      p.grad = p.grad ? ops.add(p.grad, grad) : grad;
    }
    this.clock.lap('gradsIn');
  }

  /**
   * Time per phase so far (with the `profile` option): the main thread's and each replica's,
   * wall and CPU milliseconds summed over the steps.
   * @example new DataParallel(model, { replicas: 2, profile: true }).profile().replicas[0].forward.cpuMs
   */
  profile(): { main: PhaseTotals; replicas: PhaseTotals[] } {
    const buf = this.shared.profile;
    if (!buf) throw new ArgumentError('DataParallel.profile(): build it with { profile: true }');
    const slots = (i: number): Float64Array => new Float64Array(buf, i * PROFILE_SLOTS * 8, PROFILE_SLOTS);
    return {
      main: readPhases(slots(this.replicas), MAIN_PHASES),
      replicas: Array.from({ length: this.replicas }, (_, r) => readPhases(slots(r), REPLICA_PHASES)),
    };
  }

  /** Clears the profile (e.g. after warm-up steps). */
  resetProfile(): void {
    if (this.shared.profile) new Float64Array(this.shared.profile).fill(0);
  }

  private command(cmd: number, active: number, what: string): void {
    Atomics.store(this.ctrl, CTRL.cmd, cmd);
    const seq = ++this.seq;
    Atomics.store(this.ctrl, CTRL.seq, seq);
    Atomics.notify(this.ctrl, CTRL.seq);
    this.waitFor(
      Array.from({ length: active }, (_, r) => r),
      seq,
      what,
    );
  }

  /** Waits until each replica has finished command `seq`, or throws as soon as any replica failed or died. */
  private waitFor(replicas: number[], seq: number, what: string): void {
    for (const r of replicas) {
      const slot = replicaSlot(r, REPLICA.done);
      for (;;) {
        const failed = this.firstFailure();
        if (failed !== null) throw this.fail(failed, what);
        const done = Atomics.load(this.ctrl, slot);
        if (done >= seq) break;
        Atomics.wait(this.ctrl, slot, done, 50);
      }
    }
    const failed = this.firstFailure();
    if (failed !== null) throw this.fail(failed, what);
  }

  private firstFailure(): number | null {
    for (let r = 0; r < this.replicas; r++)
      if (Atomics.load(this.ctrl, replicaSlot(r, REPLICA.status)) !== STATUS.ok) return r;
    return null;
  }

  private fail(r: number, what: string): ReplicaError {
    const status = Atomics.load(this.ctrl, replicaSlot(r, REPLICA.status));
    const length = Atomics.load(this.ctrl, replicaSlot(r, REPLICA.errorLength));
    const message = new TextDecoder().decode(new Uint8Array(this.shared.errors, r * ERROR_BYTES, length).slice());
    const how = status === STATUS.dead ? 'died' : 'failed';
    const when = what === 'start' ? 'while starting' : `in the ${what} of step ${this.steps}`;
    const e = new ReplicaError(
      `DataParallel: replica ${r} of ${this.replicas} (${this.devices[r]}, worker thread) ${how} ${when}: ${message}; ` +
        'this step was not applied, so the last checkpoint is still valid',
      r,
    );
    this.broken = e;
    // The other replicas may be waiting for the lost one: end them all.
    this.closed = true;
    this.supervisor.postMessage({ type: 'close' });
    return e;
  }
}
