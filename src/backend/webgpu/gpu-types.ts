/**
 * The slice of the WebGPU API this backend uses, declared here rather than taken from
 * @webgpu/types: that package arrives only with the optional `webgpu` dependency, and the
 * library must type-check and load without it.
 */
export interface GPUBufferLike {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface GPUBindGroupLayoutLike {
  readonly __brand?: 'layout';
}
export interface GPUPipelineLike {
  readonly __brand?: 'pipeline';
}
export interface GPUBindGroupLike {
  readonly __brand?: 'bindgroup';
}
export interface GPUCommandBufferLike {
  readonly __brand?: 'cmd';
}

export interface GPUComputePassLike {
  setPipeline(p: GPUPipelineLike): void;
  setBindGroup(index: number, g: GPUBindGroupLike): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface GPUCommandEncoderLike {
  beginComputePass(): GPUComputePassLike;
  copyBufferToBuffer(src: GPUBufferLike, srcOffset: number, dst: GPUBufferLike, dstOffset: number, size: number): void;
  clearBuffer(buffer: GPUBufferLike, offset?: number, size?: number): void;
  finish(): GPUCommandBufferLike;
}

export interface GPUShaderModuleLike {
  getCompilationInfo?(): Promise<{ messages: readonly { type: string; message: string; lineNum: number }[] }>;
}

export interface GPUQueueLike {
  submit(buffers: GPUCommandBufferLike[]): void;
  writeBuffer(
    buffer: GPUBufferLike,
    offset: number,
    data: ArrayBufferView | ArrayBuffer,
    dataOffset?: number,
    size?: number,
  ): void;
  onSubmittedWorkDone(): Promise<void>;
}

export interface GPUDeviceLike {
  readonly queue: GPUQueueLike;
  readonly limits: Record<string, number>;
  readonly lost: Promise<{ reason: string; message: string }>;
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GPUBufferLike;
  createShaderModule(d: { code: string }): GPUShaderModuleLike;
  createBindGroupLayout(d: { entries: unknown[] }): GPUBindGroupLayoutLike;
  createPipelineLayout(d: { bindGroupLayouts: GPUBindGroupLayoutLike[] }): unknown;
  createComputePipeline(d: {
    layout: unknown;
    compute: { module: GPUShaderModuleLike; entryPoint: string };
  }): GPUPipelineLike;
  createBindGroup(d: { layout: GPUBindGroupLayoutLike; entries: unknown[] }): GPUBindGroupLike;
  createCommandEncoder(): GPUCommandEncoderLike;
  pushErrorScope(filter: string): void;
  popErrorScope(): Promise<{ message: string } | null>;
  destroy(): void;
}

export interface GPUAdapterLike {
  readonly limits: Record<string, number>;
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  requestDevice(d?: { requiredLimits?: Record<string, number> }): Promise<GPUDeviceLike>;
}

export interface GPULike {
  requestAdapter(o?: { powerPreference?: string }): Promise<GPUAdapterLike | null>;
}

// Usage and map-mode flags, fixed by the WebGPU specification (the globals may be absent in Node).
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
export const MapModeRead = 0x0001;
export const ShaderStageCompute = 0x4;
