/**
 * The shared-memory protocol between DataParallel (the main thread), its supervisor thread
 * and the replica threads. Everything a step needs travels through SharedArrayBuffers and
 * Atomics, so the main thread can wait for a step synchronously (forward() and backward()
 * stay synchronous, as for any Module) and the reduction order is fixed by replica index.
 */
import type { DType, TypedArray } from '../core/dtype.js';

/** Slots of the control array (Int32Array over a SharedArrayBuffer). */
export const CTRL = {
  /** Incremented by the main thread to issue a command. */
  seq: 0,
  /** The command: see CMD. */
  cmd: 1,
  /** Rows of the whole batch this step. */
  globalRows: 2,
  /** Replicas taking part this step (fewer than all when the batch has fewer rows). */
  active: 3,
  /** Seed for the replicas' random generators this step (dropout). */
  seed: 4,
  /** Generation of the batch-sized buffers; bumped when they are reallocated. */
  batchGen: 5,
  /** Barrier among the active replicas: arrivals and generation. */
  barrierCount: 6,
  barrierGen: 7,
  /** Set to 1 by the supervisor when any replica died. */
  anyDead: 8,
  /** Per replica, from here: REPLICA_SLOTS ints each. */
  replicaBase: 16,
} as const;

/** Per-replica slots, relative to CTRL.replicaBase + r * REPLICA_SLOTS. */
export const REPLICA = {
  /** Last command sequence number this replica finished (-1 before it is ready, then 0). */
  done: 0,
  /** 0 ok; 1 the command failed (message in the error buffer); 2 the thread died. */
  status: 1,
  /** Rows of this replica's shard this step. */
  rows: 2,
  /** Length in bytes of the message in the error buffer. */
  errorLength: 3,
  /** Exit code when the thread died. */
  exitCode: 4,
  /** First row of this replica's shard in the batch buffers this step. */
  rowStart: 5,
} as const;
export const REPLICA_SLOTS = 8;

export const CMD = { forward: 1, backward: 2, exit: 3 } as const;
export const STATUS = { ok: 0, failed: 1, dead: 2 } as const;

/** Bytes of each replica's error message buffer. */
export const ERROR_BYTES = 4096;
/** Bytes per replica of the info buffer: the backend (and adapter) it runs on. */
export const INFO_BYTES = 256;
/** Float64 values per replica in the scratch used by synchronised batch norm. */
export const SCRATCH_VALUES = 8192;

export function replicaSlot(r: number, field: number): number {
  return CTRL.replicaBase + r * REPLICA_SLOTS + field;
}

/** One tensor of the state (a parameter or a buffer) inside the shared state buffer. */
export interface StateEntry {
  name: string;
  dtype: DType;
  shape: number[];
  numel: number;
  /** Byte offset in the state buffer. */
  byteOffset: number;
  isParameter: boolean;
  /** For parameters: element offset in the flat float32 gradient vectors. */
  gradOffset: number;
}

export function bytesPer(dtype: DType): number {
  return dtype === 'float64' ? 8 : dtype === 'bool' ? 1 : 4;
}

/** A typed view of `numel` elements of `dtype` at `byteOffset` in `buffer`. */
export function viewOf(buffer: SharedArrayBuffer, dtype: DType, byteOffset: number, numel: number): TypedArray {
  switch (dtype) {
    case 'float64':
      return new Float64Array(buffer, byteOffset, numel);
    case 'int32':
      return new Int32Array(buffer, byteOffset, numel);
    case 'bool':
      return new Uint8Array(buffer, byteOffset, numel);
    default:
      return new Float32Array(buffer, byteOffset, numel);
  }
}

/**
 * The buffers sized by the batch, each holding the whole batch row after row (replica r's
 * shard is rows rowStart .. rowStart + rows): the main thread writes the inputs and the
 * output gradients once, each replica writes its rows of the outputs.
 */
export interface BatchBuffers {
  gen: number;
  /** Rows the buffers hold. */
  capacityRows: number;
  sampleShape: number[];
  outputShape: number[];
  inputs: SharedArrayBuffer;
  outputs: SharedArrayBuffer;
  gradOutputs: SharedArrayBuffer;
}

/** Everything a replica thread is started with. */
export interface ReplicaInit {
  replica: number;
  replicas: number;
  factory: import('./factory.js').ModelFactory;
  syncBatchNorm: boolean;
  backend: string | null;
  entries: StateEntry[];
  numGradValues: number;
  ctrl: SharedArrayBuffer;
  state: SharedArrayBuffer;
  /** replicas × numGradValues float32: each replica's own gradient. */
  grads: SharedArrayBuffer;
  /** numGradValues float32: the reduced gradient. */
  reduced: SharedArrayBuffer;
  /** Replica 0 writes its buffers (running statistics) here after its forward. */
  buffersBack: SharedArrayBuffer;
  errors: SharedArrayBuffer;
  scratch: SharedArrayBuffer;
  /** One byte per state entry: 1 where the parameter requires a gradient (frozen ones do not). */
  flags: SharedArrayBuffer;
  /** Per replica: a length (int32) and the UTF-8 name of the backend it runs on. */
  info: SharedArrayBuffer;
  /** Phase timings (profile option): PROFILE_SLOTS float64 per replica, then the main thread's. */
  profile: SharedArrayBuffer | null;
}

/**
 * Waits until every one of `count` callers has arrived (a generation barrier). Used by the
 * replicas only: the main thread never blocks on one.
 */
export function barrier(ctrl: Int32Array, count: number): void {
  if (count <= 1) return;
  const gen = Atomics.load(ctrl, CTRL.barrierGen);
  if (Atomics.add(ctrl, CTRL.barrierCount, 1) === count - 1) {
    Atomics.store(ctrl, CTRL.barrierCount, 0);
    Atomics.add(ctrl, CTRL.barrierGen, 1);
    Atomics.notify(ctrl, CTRL.barrierGen);
  } else {
    while (Atomics.load(ctrl, CTRL.barrierGen) === gen) Atomics.wait(ctrl, CTRL.barrierGen, gen);
  }
}

/**
 * Sums `values` over the active replicas, in replica order, the same on every replica.
 * Each replica writes its values into its scratch slot, waits for the others, reads
 * every slot, then waits again so no slot is overwritten before all have read it.
 */
export function allReduceSum(
  ctrl: Int32Array,
  scratch: Float64Array,
  replica: number,
  active: number,
  values: ArrayLike<number>,
): Float64Array {
  const n = values.length;
  if (n > SCRATCH_VALUES)
    throw new RangeError(`allReduceSum: ${n} values exceed the scratch slot of ${SCRATCH_VALUES}`);
  const mine = scratch.subarray(replica * SCRATCH_VALUES, replica * SCRATCH_VALUES + n);
  for (let i = 0; i < n; i++) mine[i] = values[i]!;
  barrier(ctrl, active);
  const out = new Float64Array(n);
  for (let r = 0; r < active; r++) {
    const slot = scratch.subarray(r * SCRATCH_VALUES, r * SCRATCH_VALUES + n);
    for (let i = 0; i < n; i++) out[i] = out[i]! + slot[i]!;
  }
  barrier(ctrl, active);
  return out;
}
