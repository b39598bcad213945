/**
 * Crash-safe file writes: readers of the target see either the old file or
 * the complete new one, never a half-written file, even if the process dies
 * or the disk fills up mid-write.
 */
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { DataFileError } from '../core/errors.js';

function reason(err: unknown, dir: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return `cannot write file: directory ${dir} does not exist (${message})`;
  if (code === 'EACCES' || code === 'EPERM') return `cannot write file: permission denied (${message})`;
  if (code === 'EISDIR') return `cannot write file: the target is a directory (${message})`;
  if (code === 'ENOSPC') return `cannot write file: no space left on device (${message})`;
  return `cannot write file: ${message}`;
}

/** The mode of an existing regular file, so replacing it does not silently change who may read it. */
function existingMode(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

/** Makes the rename itself durable; not every platform can open a directory (Windows), so failure is ignored. */
function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort: the data is already safely in place under the new name
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // nothing more can be done
      }
    }
  }
}

/**
 * Writes `data` (a string is written as UTF-8) to `path` atomically and
 * synchronously: the bytes go to a temporary file in the same directory
 * (`.<name>.<pid>.<random>.tmp`), which is fsynced and then renamed over the
 * target. The temporary file must be on the same file system as the target
 * for the rename to be atomic, hence the same directory. An existing target
 * keeps its permission bits.
 *
 * On any failure the temporary file is removed, the previous contents of
 * `path` (if any) are left untouched, and a `DataFileError` naming `path`
 * and the reason is thrown.
 * @example writeFileAtomic('runs/checkpoint.bin', bytes);
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  let created = false;
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`data must be a string or a Uint8Array, got ${typeof data}`);
    }
    // 'wx' refuses to reuse an existing file, so two writers can never share a temp file.
    fd = openSync(tmp, 'wx', existingMode(path) ?? 0o666);
    created = true;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    // Without this, a crash after the rename could leave the new name pointing at unwritten blocks.
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one worth reporting
      }
    }
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // already failing; the original error is the one worth reporting
      }
    }
    const error = new DataFileError(path, reason(err, dir));
    error.cause = err;
    throw error;
  }
  fsyncDirectory(dir);
}

/**
 * Writes `value` as pretty-printed JSON (2-space indent, trailing newline)
 * through `writeFileAtomic`, so a crash never leaves truncated JSON behind.
 * @example writeJsonAtomic('runs/history.json', { epoch: 3, loss: 0.25 });
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (err) {
    // Circular structures and BigInts fail here, before anything touches the disk.
    const error = new DataFileError(path, `cannot write file: value is not JSON-serializable (${String(err)})`);
    error.cause = err;
    throw error;
  }
  if (text === undefined) {
    throw new DataFileError(path, `cannot write file: ${typeof value} has no JSON representation`);
  }
  writeFileAtomic(path, text + '\n');
}
