/**
 * safetensors files on disk (Node): atomic writes and synchronous reads over the
 * encoder / decoder in ./safetensors.ts, which is platform-free (browsers use it on bytes).
 */
import { readFileSync } from 'node:fs';
import { DataFileError } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { type SafetensorsContents, decodeSafetensors, encodeSafetensors } from './safetensors.js';

/**
 * Writes tensors to a safetensors file, atomically (a crash never leaves a
 * half-written file; see `writeFileAtomic`). Errors as in
 * `encodeSafetensors`, and `DataFileError` if the file cannot be written.
 * @example
 * saveSafetensors('runs/lenet.safetensors', model.stateDict(), { format: 'pt' });
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

function readError(path: string, err: unknown): DataFileError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return new DataFileError(path, 'file not found');
  if (code === 'EISDIR') return new DataFileError(path, 'is a directory, not a safetensors file');
  if (code === 'EACCES' || code === 'EPERM') return new DataFileError(path, `permission denied: ${message}`);
  return new DataFileError(path, `cannot read file: ${message}`);
}

/**
 * Reads a safetensors file synchronously (e.g. one saved by PyTorch's
 * `safetensors.torch.save_file`). Errors name the file: "file not found",
 * or any decoding problem (see `decodeSafetensors`).
 * @example
 * const { tensors } = loadSafetensors('lenet.safetensors');
 * model.loadStateDict(tensors);
 */
export function loadSafetensors(path: string): SafetensorsContents {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw readError(path, err);
  }
  return decodeSafetensors(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), path);
}
