/**
 * Host storages handed back by the autograd engine (Backend.recycle), kept for reuse by the
 * next alloc() of the same type and length. A training loop repeats its shapes every step,
 * so the backward pass's temporaries become the next forward pass's outputs instead of new
 * ArrayBuffers: fewer allocations means fewer garbage collections (a new ArrayBuffer's
 * memory is also zeroed and faulted in page by page, a reused one is only zeroed).
 */
import { type DType, type TypedArray, arrayConstructor } from '../../core/dtype.js';
import { uninitialised as poisoned } from '../uninitialised.js';

/** Bytes kept at most; past it, the pool is emptied (a new run of shapes then refills it). */
export const RECYCLE_MAX_BYTES = 64 * 1024 * 1024;
/** Storages kept at most per type and length: more are not needed by a loop that repeats itself. */
export const RECYCLE_MAX_PER_SIZE = 16;

type Ctor = new (length: number) => TypedArray;

export interface RecyclerStats {
  /** Storages and bytes held now. */
  readonly held: number;
  readonly heldBytes: number;
  /** alloc() requests served from the pool, and storages taken back, since the start. */
  readonly reused: number;
  readonly recycled: number;
}

export class StorageRecycler {
  private readonly free = new Map<Ctor, Map<number, TypedArray[]>>();
  private bytes = 0;
  private count = 0;
  private reusedCount = 0;
  private recycledCount = 0;

  constructor(
    readonly maxBytes = RECYCLE_MAX_BYTES,
    readonly maxPerSize = RECYCLE_MAX_PER_SIZE,
  ) {}

  /** A zero-filled (`zero` false: uninitialised) storage of `length` elements of `ctor`'s type from the pool, or undefined. */
  take(ctor: Ctor, length: number, zero = true): TypedArray | undefined {
    const a = this.free.get(ctor)?.get(length)?.pop();
    if (a === undefined) return undefined;
    this.bytes -= a.byteLength;
    this.count--;
    this.reusedCount++;
    return zero ? a.fill(0) : a;
  }

  /** Keeps `a` for reuse: the caller promises that nothing reads or writes it any more. */
  give(a: TypedArray): void {
    // A view into a larger buffer (a subarray, a wasm memory) is not the pool's to hand out.
    if (a.length === 0 || a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) return;
    if (a.byteLength > this.maxBytes) return;
    if (this.bytes + a.byteLength > this.maxBytes) this.clear();
    const ctor = a.constructor as Ctor;
    let sizes = this.free.get(ctor);
    if (!sizes) this.free.set(ctor, (sizes = new Map()));
    let list = sizes.get(a.length);
    if (!list) sizes.set(a.length, (list = []));
    if (list.length >= this.maxPerSize) return;
    list.push(a);
    this.bytes += a.byteLength;
    this.count++;
    this.recycledCount++;
  }

  /** Lets go of every storage held (the GC then frees them). */
  clear(): void {
    this.free.clear();
    this.bytes = 0;
    this.count = 0;
  }

  stats(): RecyclerStats {
    return { held: this.count, heldBytes: this.bytes, reused: this.reusedCount, recycled: this.recycledCount };
  }
}

/** The pool shared by the cpu backend and the wasm backend's host storages. */
export const hostRecycler = new StorageRecycler();

/**
 * A zero-filled host storage: a recycled one when the pool has one of this type and length.
 * `uninitialised`: the caller writes every element, so a recycled one is not zeroed (see
 * ../uninitialised.ts).
 */
export function allocHost(dtype: DType, length: number, uninitialised = false): TypedArray {
  const ctor = arrayConstructor(dtype);
  const a = hostRecycler.take(ctor, length, !uninitialised) ?? new ctor(length);
  return uninitialised ? poisoned(a) : a;
}
