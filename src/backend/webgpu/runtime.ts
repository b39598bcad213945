/**
 * The GPU side of the backend: storages, the buffer pool, the pipeline cache and the
 * command stream.
 *
 * Work is recorded into one command encoder (one compute pass) and submitted when a read
 * needs it or after MAX_BATCH dispatches, so that a training step costs a handful of
 * submissions rather than hundreds. Each dispatch takes its own 256-byte slot of a uniform
 * arena, written with one queue.writeBuffer just before the submit: queue operations run in
 * order, so reusing the arena for the next batch never races the previous one.
 */
import { type DType, type TypedArray, allocArray } from '../../core/dtype.js';
import { UnsupportedError } from '../../core/errors.js';
import {
  BufferUsage,
  MapModeRead,
  ShaderStageCompute,
  type GPUBindGroupLayoutLike,
  type GPUBufferLike,
  type GPUCommandEncoderLike,
  type GPUComputePassLike,
  type GPUDeviceLike,
  type GPUPipelineLike,
} from './gpu-types.js';

/** Dispatches recorded before a submit; also the number of uniform slots. */
export const MAX_BATCH = 64;
/** Bytes of uniform parameters per dispatch (64 32-bit words). */
export const SLOT_BYTES = 256;
export const SLOT_WORDS = SLOT_BYTES / 4;

/** A pooled GPU buffer: its size class in bytes. */
interface Pooled {
  buffer: GPUBufferLike;
  bytes: number;
}

/** Shared between a storage and the finalizer, which must not reference the storage itself. */
interface Holder {
  pooled: Pooled | null;
  rt: Runtime;
}

/**
 * A tensor's storage on the webgpu backend. Every dtype takes 4 bytes per element on the GPU
 * (bool as u32). `host` holds the values where they live on the host: uploads (until used on
 * the GPU, and kept for host kernels), float64 tensors, and results of host kernels.
 */
export class GpuStorage {
  host: TypedArray | null = null;
  /** @internal */ readonly holder: Holder;
  /**
   * An untouched host allocation the size of the GPU buffer. The garbage collector cannot
   * see GPU memory: storages are small objects that survive into the old generation, and
   * without this the buffers of dead tensors waited for a rare major GC (the pool grew by
   * ~6 MiB per LeNet step). ArrayBuffers count as external memory, which does drive
   * collections; calloc'ed pages that are never written cost no resident memory.
   */
  /** @internal */ pressure: ArrayBuffer | null = null;

  constructor(
    readonly dtype: DType,
    readonly size: number,
    rt: Runtime,
  ) {
    this.holder = { pooled: null, rt };
    registry.register(this, this.holder);
  }

  /** @internal */
  attach(p: Pooled): void {
    this.holder.pooled = p;
    if (p.bytes >= 65536) this.pressure = new ArrayBuffer(p.bytes);
  }

  get onGpu(): boolean {
    return this.holder.pooled !== null;
  }
}

/** Users never dispose tensors: a collected storage hands its GPU buffer back to the pool. */
const registry = new FinalizationRegistry<Holder>((h) => {
  if (h.pooled) h.rt.release(h.pooled);
  h.pooled = null;
});

/** Size classes 2^k and 1.5·2^k: at most a third wasted, few classes to search. */
function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 256);
  const p = 2 ** Math.ceil(Math.log2(b));
  return p * 0.75 >= b && p >= 512 ? p * 0.75 : p;
}

export interface Binding {
  storage: GpuStorage;
}

export class Runtime {
  readonly device: GPUDeviceLike;
  readonly adapterName: string;
  private free = new Map<number, GPUBufferLike[]>();
  /** Released while commands that use them may still be unsubmitted: reusable after the next submit. */
  private quarantine: Pooled[] = [];
  /** Bytes of all GPU buffers the pool owns (live and free). */
  poolBytes = 0;
  freeBytes = 0;
  private encoder: GPUCommandEncoderLike | null = null;
  private pass: GPUComputePassLike | null = null;
  private slots = 0;
  private readonly arena = new Uint32Array((MAX_BATCH * SLOT_BYTES) / 4);
  private readonly arenaBuffer: GPUBufferLike;
  private pipelines = new Map<string, { pipeline: GPUPipelineLike; layout: GPUBindGroupLayoutLike }>();
  private layouts = new Map<number, { layout: GPUBindGroupLayoutLike; pipelineLayout: unknown }>();
  /** Submissions not yet known complete; reads wait on the queue anyway, this bounds bursts. */
  submissions = 0;
  private destroyed = false;
  /** A shader validation error, reported by the next read. */
  error: Error | null = null;
  /** Free buffers above this many bytes are destroyed rather than kept. */
  maxFreeBytes = 512 * 1024 * 1024;
  /**
   * Use the barrier-free kernels (one invocation per output, no workgroup memory) for GEMMs,
   * convolutions and reductions. Software adapters (SwiftShader, llvmpipe) run a workgroup
   * barrier by switching between the workgroup's SIMD groups, so there a tiled kernel pays
   * per tile and K-step far more than its arithmetic; see setWebGPUKernels().
   */
  barrierFree = false;

  constructor(device: GPUDeviceLike, adapterName: string) {
    this.device = device;
    this.adapterName = adapterName;
    this.arenaBuffer = device.createBuffer({
      size: this.arena.byteLength,
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
    });
  }

  get maxBindingBytes(): number {
    return Math.min(
      this.device.limits['maxStorageBufferBindingSize'] ?? 2 ** 27,
      this.device.limits['maxBufferSize'] ?? 2 ** 28,
    );
  }

  // ------------------------------------------------------------ buffers

  private acquire(bytes: number, op: string): Pooled {
    const cls = sizeClass(bytes);
    if (cls > this.maxBindingBytes) {
      throw new UnsupportedError(
        `${op}: a tensor of ${bytes} bytes exceeds this adapter's largest storage binding (${this.maxBindingBytes} bytes)`,
      );
    }
    const list = this.free.get(cls);
    const buffer = list?.pop();
    if (buffer) {
      this.freeBytes -= cls;
      return { buffer, bytes: cls };
    }
    this.poolBytes += cls;
    return {
      buffer: this.device.createBuffer({
        size: cls,
        usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
      }),
      bytes: cls,
    };
  }

  /** @internal Called by the finalizer. */
  release(p: Pooled): void {
    if (this.destroyed) return;
    this.quarantine.push(p);
  }

  private recycle(): void {
    for (const p of this.quarantine) {
      if (this.freeBytes + p.bytes > this.maxFreeBytes) {
        p.buffer.destroy();
        this.poolBytes -= p.bytes;
        continue;
      }
      let list = this.free.get(p.bytes);
      if (!list) this.free.set(p.bytes, (list = []));
      list.push(p.buffer);
      this.freeBytes += p.bytes;
    }
    this.quarantine = [];
  }

  /** The GPU buffer of an input, uploading host values or zero-filling a never-written storage. */
  input(s: GpuStorage, op: string): GPUBufferLike {
    if (s.holder.pooled) return s.holder.pooled.buffer;
    const p = this.acquire(s.size * 4, op);
    s.attach(p);
    if (s.host) {
      const words = gpuWords(s.host, s.dtype);
      this.device.queue.writeBuffer(p.buffer, 0, words);
      // float32 values now live on the GPU; other dtypes keep the host copy for host kernels.
      if (s.dtype === 'float32') s.host = null;
    } else {
      // Pooled buffers hold stale data; alloc() promises zeros.
      this.endPass();
      this.enc().clearBuffer(p.buffer, 0, Math.ceil((s.size * 4) / 4) * 4);
    }
    return p.buffer;
  }

  /** The GPU buffer a kernel writes its output to (contents undefined until written). */
  output(s: GpuStorage, op: string): GPUBufferLike {
    if (!s.holder.pooled) s.attach(this.acquire(s.size * 4, op));
    s.host = null;
    return s.holder.pooled!.buffer;
  }

  /** A scratch buffer owned by a storage nobody references: pooled again once collected. */
  scratch(dtype: DType, size: number, op: string): GpuStorage {
    const s = new GpuStorage(dtype, size, this);
    this.output(s, op);
    return s;
  }

  // ------------------------------------------------------------ pipelines

  private layoutFor(nStorage: number): { layout: GPUBindGroupLayoutLike; pipelineLayout: unknown } {
    let l = this.layouts.get(nStorage);
    if (!l) {
      const entries: unknown[] = [];
      for (let i = 0; i < nStorage; i++) {
        const last = i === nStorage - 1;
        entries.push({
          binding: i,
          visibility: ShaderStageCompute,
          buffer: { type: last ? 'storage' : 'read-only-storage' },
        });
      }
      entries.push({ binding: nStorage, visibility: ShaderStageCompute, buffer: { type: 'uniform' } });
      const layout = this.device.createBindGroupLayout({ entries });
      l = { layout, pipelineLayout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }) };
      this.layouts.set(nStorage, l);
    }
    return l;
  }

  /** Compiles (once per source) a pipeline whose bindings are nStorage buffers (the last written) and the params. */
  pipeline(code: string, nStorage: number): { pipeline: GPUPipelineLike; layout: GPUBindGroupLayoutLike } {
    let p = this.pipelines.get(code);
    if (!p) {
      const l = this.layoutFor(nStorage);
      // Validation errors arrive asynchronously; the next read rejects with them.
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ code });
      const pipeline = this.device.createComputePipeline({
        layout: l.pipelineLayout,
        compute: { module, entryPoint: 'main' },
      });
      void this.device.popErrorScope().then((e) => {
        if (e) this.error ??= new UnsupportedError(`webgpu: a kernel failed to compile: ${e.message}\n${code}`);
      });
      p = { pipeline, layout: l.layout };
      this.pipelines.set(code, p);
    }
    return p;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  // ------------------------------------------------------------ commands

  private enc(): GPUCommandEncoderLike {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /**
   * Records one dispatch: `buffers` bind to 0..k-1 (the last one written), `params` (at most
   * 64 words) to binding k. `groups` above 65535 along x are folded into y by the caller.
   */
  dispatch(
    code: string,
    buffers: readonly GPUBufferLike[],
    params: ArrayLike<number>,
    groups: readonly [number, number?, number?],
  ): void {
    const [x, y = 1, z = 1] = groups;
    if (x === 0 || y === 0 || z === 0) return;
    if (this.destroyed) throw new UnsupportedError('webgpu: the device was shut down (shutdownWebGPU)');
    const { pipeline, layout } = this.pipeline(code, buffers.length);
    if (this.slots === MAX_BATCH) this.flush();
    const slot = this.slots++;
    const base = slot * SLOT_WORDS;
    for (let i = 0; i < SLOT_WORDS; i++) this.arena[base + i] = i < params.length ? params[i]! : 0;
    const entries: unknown[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
    entries.push({
      binding: buffers.length,
      resource: { buffer: this.arenaBuffer, offset: slot * SLOT_BYTES, size: SLOT_BYTES },
    });
    const bindGroup = this.device.createBindGroup({ layout, entries });
    if (!this.pass) this.pass = this.enc().beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
  }

  /** Records zero-filling the first `count` elements of a buffer. */
  fill(buffer: GPUBufferLike, count: number): void {
    if (count === 0) return;
    this.endPass();
    this.enc().clearBuffer(buffer, 0, count * 4);
  }

  /** Records a buffer copy (ordered with the dispatches around it). */
  copy(src: GPUBufferLike, srcOffset: number, dst: GPUBufferLike, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.endPass();
    this.enc().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.endPass();
    if (this.encoder) {
      if (this.slots > 0) this.device.queue.writeBuffer(this.arenaBuffer, 0, this.arena, 0, this.slots * SLOT_WORDS);
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.slots = 0;
      this.submissions++;
    }
    this.recycle();
  }

  /** Copies `bytes` from a storage's buffer into a mappable staging buffer and resolves with them. */
  async readBytes(s: GpuStorage, bytes: number): Promise<ArrayBuffer> {
    const src = s.holder.pooled!.buffer;
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    this.copy(src, 0, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(MapModeRead);
      if (this.error) throw this.error;
      return staging.getMappedRange().slice(0, bytes);
    } finally {
      staging.unmap();
      staging.destroy();
    }
  }

  /** Waits for all submitted work. */
  async idle(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.submissions = 0;
  }

  /**
   * Waits for the queue, destroys every buffer and the device. Dawn's worker threads then
   * stop before the process exits (see scripts/webgpu-probe.mjs and the backend's notes).
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await this.idle();
    this.destroyed = true;
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.arenaBuffer.destroy();
    this.pipelines.clear();
    this.layouts.clear();
    this.device.destroy();
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }
}

/** Host values in the GPU's 4-bytes-per-element form (bool widened to u32). */
export function gpuWords(data: TypedArray, dtype: DType): Float32Array | Int32Array | Uint32Array {
  if (dtype === 'bool') return Uint32Array.from(data as Uint8Array, (v) => (v ? 1 : 0));
  if (dtype === 'int32') return data instanceof Int32Array ? data : Int32Array.from(data);
  if (data instanceof Float32Array) return data;
  return Float32Array.from(data);
}

/** GPU words back to the dtype's typed array. */
export function fromWords(buf: ArrayBuffer, dtype: DType, size: number): TypedArray {
  if (dtype === 'bool') {
    const out = allocArray('bool', size);
    out.set(new Uint32Array(buf, 0, size));
    return out;
  }
  if (dtype === 'int32') return new Int32Array(buf, 0, size);
  return new Float32Array(buf, 0, size);
}
