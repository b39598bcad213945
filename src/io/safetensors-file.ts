/**
 * safetensors files on disk (Node): atomic writes and synchronous reads over the
 * encoder / decoder in ./safetensors.ts, which is platform-free (browsers use it on bytes).
 */
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { readFileBytes } from './read-file.js';
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

/**
 * Reads a safetensors file synchronously (e.g. one saved by PyTorch's
 * `safetensors.torch.save_file`). Errors name the file: "file not found",
 * or any decoding problem (see `decodeSafetensors`).
 * @example
 * const { tensors } = loadSafetensors('lenet.safetensors');
 * model.loadStateDict(tensors);
 */
export function loadSafetensors(path: string): SafetensorsContents {
  return decodeSafetensors(readFileBytes(path, 'a safetensors file'), path);
}
