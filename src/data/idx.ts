/**
 * Reader for the IDX format used by MNIST and Fashion-MNIST.
 *
 * Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
 * 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, each
 * dimension as a big-endian uint32, then the values, big-endian, row-major.
 *
 * `parseIdx` is pure (works on bytes, no Node APIs) so it can be used in a
 * browser on a fetched ArrayBuffer; `readIdx` / `readIdxSync` read a file
 * (optionally gzip-compressed) with node:fs and node:zlib.
 */
import { readFile } from 'node:fs/promises';
import { gunzip, gunzipSync } from 'node:zlib';
import { DataFileError } from '../core/errors.js';
import { bytesOf, readError, readFileBytes } from '../io/read-file.js';

/** The element type of an IDX array. */
export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** A decoded IDX array: values in native byte order, row-major over `shape`. */
export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPE_CODES: Readonly<Record<number, { dtype: IdxDType; size: number }>> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => '0x' + b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Decodes an IDX file held in memory. Every field is validated; problems
 * throw `DataFileError(source, problem)`: bad magic, unknown type code, zero
 * dimensions, truncated header, or a data length that does not match the
 * product of the dimensions. The returned array owns its data (a copy).
 * @example
 * const { dtype, shape, data } = parseIdx(new Uint8Array(await (await fetch(url)).arrayBuffer()), url);
 * // dtype 'uint8', shape [10000, 28, 28], data: Uint8Array(7840000)
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) {
    throw new DataFileError(
      source,
      `truncated header: IDX files start with a 4-byte magic number, found only ${bytes.length} byte(s)` +
        (bytes.length > 0 ? ` (${hex(bytes)})` : ''),
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataFileError(
      source,
      `bad magic: an IDX file starts with 0x00 0x00 <type> <ndims>, found ${hex(bytes.subarray(0, 4))}`,
    );
  }
  const code = bytes[2]!;
  const type = TYPE_CODES[code];
  if (type === undefined) {
    throw new DataFileError(
      source,
      `unknown IDX type code 0x${code.toString(16).padStart(2, '0')} ` +
        '(expected 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32 or 0x0e float64)',
    );
  }
  const ndims = bytes[3]!;
  if (ndims === 0) {
    throw new DataFileError(source, 'zero dims: the header declares 0 dimensions (at least 1 is required)');
  }
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new DataFileError(
      source,
      `truncated header: ${ndims} dimension(s) need a ${headerLength}-byte header, found only ${bytes.length} byte(s)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const dim = view.getUint32(4 + 4 * i, false);
    shape.push(dim);
    count *= dim;
  }
  const expectedBytes = count * type.size;
  const foundBytes = bytes.length - headerLength;
  if (foundBytes !== expectedBytes) {
    throw new DataFileError(
      source,
      `data length mismatch: shape [${shape.join(', ')}] of ${type.dtype} needs ${expectedBytes} data bytes ` +
        `after the ${headerLength}-byte header, found ${foundBytes} (${foundBytes < expectedBytes ? 'short data, file truncated?' : 'trailing bytes'})`,
    );
  }
  return { dtype: type.dtype, shape, data: decode(type.dtype, view, headerLength, count) };
}

function decode(dtype: IdxDType, view: DataView, offset: number, count: number): IdxArray['data'] {
  switch (dtype) {
    case 'uint8': {
      const out = new Uint8Array(count);
      out.set(new Uint8Array(view.buffer, view.byteOffset + offset, count));
      return out;
    }
    case 'int8': {
      const out = new Int8Array(count);
      out.set(new Int8Array(view.buffer, view.byteOffset + offset, count));
      return out;
    }
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isGzip(path: string, bytes: Uint8Array): boolean {
  return path.endsWith('.gz') || (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b);
}

/**
 * Reads an IDX file synchronously. Gzip is detected by a `.gz` name or the
 * 0x1f 0x8b magic and decompressed. Every failure is a `DataFileError` naming
 * the file: "file not found", "not a valid gzip stream: …", or a parse problem.
 * @example
 * const labels = readIdxSync('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz');
 * labels.shape; // [10000]
 */
export function readIdxSync(path: string): IdxArray {
  let bytes = readFileBytes(path, 'an IDX file');
  if (isGzip(path, bytes)) {
    try {
      bytes = bytesOf(gunzipSync(bytes));
    } catch (err) {
      throw new DataFileError(path, `not a valid gzip stream: ${errorMessage(err)}`);
    }
  }
  return parseIdx(bytes, path);
}

function gunzipAsync(bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(bytes, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * Reads an IDX file without blocking the event loop (fs/promises + async
 * gunzip). Same detection and errors as `readIdxSync`.
 * @example
 * const images = await readIdx('train-images-idx3-ubyte.gz');
 * images.shape; // [60000, 28, 28]
 */
export async function readIdx(path: string): Promise<IdxArray> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw readError(path, err, 'an IDX file');
  }
  let bytes = bytesOf(raw);
  if (isGzip(path, bytes)) {
    try {
      bytes = bytesOf(await gunzipAsync(bytes));
    } catch (err) {
      throw new DataFileError(path, `not a valid gzip stream: ${errorMessage(err)}`);
    }
  }
  return parseIdx(bytes, path);
}
