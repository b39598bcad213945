/**
 * Whole-file reads (Node) whose failures are `DataFileError`s naming the file: the one
 * place the loaders (IDX, PNG, CIFAR-10, MNIST, safetensors) turn fs errors into messages.
 */
import { readFileSync } from 'node:fs';
import { DataFileError } from '../core/errors.js';

/**
 * The error for an fs failure `err` reading `path`: "file not found", "is a directory, not
 * `what`", "permission denied: …" or "cannot read file: …".
 */
export function readError(path: string, err: unknown, what = 'a file'): DataFileError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return new DataFileError(path, 'file not found');
  if (code === 'EISDIR') return new DataFileError(path, `is a directory, not ${what}`);
  if (code === 'EACCES' || code === 'EPERM') return new DataFileError(path, `permission denied: ${message}`);
  return new DataFileError(path, `cannot read file: ${message}`);
}

/** A Buffer's bytes as a Uint8Array over the same memory. */
export function bytesOf(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The bytes of the file at `path`; failures as in readError. */
export function readFileBytes(path: string, what = 'a file'): Uint8Array {
  try {
    return bytesOf(readFileSync(path));
  } catch (err) {
    throw readError(path, err, what);
  }
}
