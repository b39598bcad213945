/** Messages between the playground page and its training worker. */
import type { SessionConfig } from './session.js';

export interface Image {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A dropped file: its bytes and the folder it came from (its class). */
export interface DroppedFile {
  name: string;
  className: string;
  file: Blob;
}

export type ToWorker =
  | { type: 'init'; backend: 'auto' | 'webgpu' | 'wasm' | 'cpu'; threads: number }
  | { type: 'load-data'; dataset: string }
  | { type: 'load-folder'; files: DroppedFile[] }
  | { type: 'train'; config: SessionConfig; vizEvery: number; evalEvery: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'predict'; id: number; pixels: Float32Array }
  | { type: 'viz'; sample: number }
  | { type: 'evaluate' }
  | { type: 'get-weights' }
  | { type: 'load-weights'; bytes: Uint8Array; fileName: string };

export interface Progress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  samplesPerSecond: number;
  etaSeconds: number;
  trainMs: number;
  vizMs: number;
}

export type FromWorker =
  | { type: 'ready'; backend: string; threads: number; detail: string }
  | {
      type: 'data';
      name: string;
      classes: string[];
      train: number;
      test: number;
      size: number;
      samples: { index: number; label: number; pixels: Uint8Array }[];
      skipped: string[];
    }
  | { type: 'progress'; progress: Progress; losses: number[] }
  | {
      type: 'epoch';
      epoch: number;
      step: number;
      trainLoss: number | null;
      testLoss: number;
      testAccuracy: number;
      confusion: Image;
      worst: { index: number; label: number; predicted: number; probability: number; pixels: Uint8Array }[];
    }
  | { type: 'viz'; step: number; filters: Image; maps: { layer: string; image: Image }[]; sample: number; ms: number }
  | { type: 'prediction'; id: number; probs: Float32Array }
  | { type: 'state'; state: 'idle' | 'training' | 'paused' | 'done'; reason?: string }
  | { type: 'weights'; bytes: Uint8Array; fileName: string }
  | { type: 'loaded'; message: string }
  | { type: 'error'; message: string };
