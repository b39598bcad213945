/**
 * The safetensors format (https://github.com/huggingface/safetensors), the
 * weight-file format shared by PyTorch, JAX and Hugging Face tools.
 *
 * Layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8
 * JSON, `{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin,
 * end]}, ..., "__metadata__": {"key": "value"}}`; then the data buffer, every
 * value little-endian and row-major. Offsets count from the start of the data
 * buffer.
 *
 * Writing: tsgrad's float32, float64, int32 and bool tensors become F32, F64,
 * I32 and BOOL. Like the reference writer, the header is padded with spaces
 * to a multiple of 8 bytes (so the data buffer starts 8-byte aligned) and
 * the tensors are packed back to back, here in sorted-name order.
 *
 * Reading, into the dtypes tsgrad computes in:
 * - F32 → float32, F64 → float64, I32 → int32, BOOL → bool.
 * - F16 and BF16 → float32 (exact: every half / bfloat16 value is a float32).
 * - I8, U8, I16, U16 → int32 (exact; integer data such as labels or token
 *   ids keeps its meaning; call `.float()` for quantized weights).
 * - I64, U32, U64 → int32, with an error naming the tensor if a value does
 *   not fit (PyTorch stores BatchNorm's num_batches_tracked as I64).
 *
 * The reader is strict about anything that would give wrong numbers and
 * names the file and the problem (`DataFileError`): truncated file, header
 * length past the end, invalid UTF-8 / JSON / non-object header, unknown
 * dtype, bad shape or offsets, byte length ≠ elements × item size, offsets
 * outside the data buffer or overlapping, non-string metadata. Unused bytes
 * between or after tensors are tolerated.
 *
 * `encodeSafetensors` / `decodeSafetensors` work on bytes and use no Node
 * APIs (browser-safe); `saveSafetensors` / `loadSafetensors` use node:fs.
 */
import type { DType, TypedArray } from '../core/dtype.js';
import { ArgumentError, DataFileError } from '../core/errors.js';
import { fromArray } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

/** The safetensors dtypes tsgrad can read. */
export type SafetensorsDType =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** What a safetensors file holds: named tensors and string-to-string metadata. */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

const ITEM_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Defined by the format but not readable here, named so the error says "unsupported" rather than "unknown". */
const UNSUPPORTED = new Set(['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

const WRITE_DTYPE: Readonly<Record<DType, SafetensorsDType>> = {
  float32: 'F32',
  float64: 'F64',
  int32: 'I32',
  bool: 'BOOL',
};

const METADATA_KEY = '__metadata__';

/** The format is little-endian; typed arrays use the host's order, so big-endian hosts swap bytes. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytesInPlace(bytes: Uint8Array, itemSize: number): void {
  if (HOST_LITTLE_ENDIAN || itemSize === 1) return;
  for (let i = 0; i < bytes.length; i += itemSize) bytes.subarray(i, i + itemSize).reverse();
}

/** Code-unit order, so the layout does not depend on the locale. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Plain assignment would treat a tensor named "__proto__" as a prototype change. */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array (${JSON.stringify(v).slice(0, 60)})`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}

function fmtList(a: readonly number[]): string {
  return `[${a.join(', ')}]`;
}

// ------------------------------------------------------------------ writing

/** JSON built by hand so keys keep the given order (JS objects would move integer-like keys first). */
function objectJson(entries: readonly [string, unknown][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

/**
 * Serializes tensors (and optional string metadata) to safetensors bytes.
 * Non-contiguous tensors (views, transposes) are written in logical
 * row-major order. The tensors' values must be readable synchronously (CPU
 * backends). Throws `ArgumentError` for a non-tensor value, a tensor named
 * `__metadata__`, or a non-string metadata value.
 * @example
 * const bytes = encodeSafetensors(model.stateDict(), { epoch: '3' });
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort(byCodeUnit);
  // Each entry is `"key":value` JSON text, kept in layout order.
  const entries: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new ArgumentError(`encodeSafetensors: metadata must be an object of strings, got ${describe(metadata)}`);
    }
    const keys = Object.keys(metadata).sort(byCodeUnit);
    for (const k of keys) {
      const v: unknown = metadata[k];
      if (typeof v !== 'string') {
        throw new ArgumentError(
          `encodeSafetensors: metadata value for '${k}' must be a string (the format allows only strings), got ${describe(v)}`,
        );
      }
    }
    if (keys.length > 0)
      entries.push(`${JSON.stringify(METADATA_KEY)}:${objectJson(keys.map((k) => [k, metadata[k]]))}`);
  }
  const chunks: { bytes: Uint8Array; itemSize: number }[] = [];
  let offset = 0;
  for (const name of names) {
    const t: unknown = tensors[name];
    if (name === METADATA_KEY) {
      throw new ArgumentError(`encodeSafetensors: '${METADATA_KEY}' is reserved for metadata and cannot name a tensor`);
    }
    if (!(t instanceof Tensor)) {
      throw new ArgumentError(`encodeSafetensors: '${name}' is not a Tensor (got ${describe(t)})`);
    }
    const dtype = WRITE_DTYPE[(t as Tensor).dtype];
    const data: TypedArray = t.dataSync();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    chunks.push({ bytes, itemSize: ITEM_SIZE[dtype] });
    const info = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    entries.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { bytes, itemSize } of chunks) {
    out.set(bytes, at);
    // Swapped in the output, so the tensor's own data is never touched.
    swapBytesInPlace(out.subarray(at, at + bytes.length), itemSize);
    at += bytes.length;
  }
  return out;
}

// ------------------------------------------------------------------ reading

let halfTable: Float32Array | undefined;

/** All 65536 half-precision values, built on first use: a table lookup is exact and faster than bit twiddling per value. */
function halfToFloat(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1024 + frac) * 2 ** (exp - 25);
  }
  halfTable = table;
  return table;
}

interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(fail: (p: string) => DataFileError, name: string, info: unknown, dataLength: number): Entry {
  const where = `tensor '${name}'`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw fail(`${where}: header entry must be an object with dtype, shape and data_offsets, got ${describe(info)}`);
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string') throw fail(`${where}: dtype must be a string, got ${describe(dtype)}`);
  if (!Object.hasOwn(ITEM_SIZE, dtype)) {
    const supported = Object.keys(ITEM_SIZE).join(', ');
    throw fail(
      UNSUPPORTED.has(dtype)
        ? `${where}: dtype '${dtype}' is not supported (supported: ${supported})`
        : `${where}: unknown dtype '${dtype}' (supported: ${supported})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw fail(`${where}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw fail(`${where}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw fail(
      `${where}: data_offsets ${fmtList(offsets)} are out of range: the data buffer after the header ` +
        `holds only ${dataLength} byte(s) (file truncated?)`,
    );
  }
  const st = dtype as SafetensorsDType;
  const numel = shape.reduce((a: number, b: number) => a * b, 1);
  const need = numel * ITEM_SIZE[st];
  if (need !== end - begin) {
    throw fail(
      `${where}: shape ${fmtList(shape)} of ${st} needs ${need} byte(s) (${numel} element(s) × ${ITEM_SIZE[st]}), ` +
        `but data_offsets ${fmtList(offsets)} span ${end - begin}`,
    );
  }
  return { name, dtype: st, shape: [...shape], begin, end };
}

function checkOverlaps(fail: (p: string) => DataFileError, entries: readonly Entry[]): void {
  // Empty tensors own no bytes, so they cannot collide with anything.
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw fail(
        `tensors '${prev.name}' (data_offsets ${fmtList([prev.begin, prev.end])}) and '${cur.name}' ` +
          `(data_offsets ${fmtList([cur.begin, cur.end])}) overlap`,
      );
    }
  }
}

function toInt32(
  fail: (p: string) => DataFileError,
  e: Entry,
  values: BigInt64Array | BigUint64Array | Uint32Array,
): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 2147483647 || v < -2147483648) {
      throw fail(
        `tensor '${e.name}': ${e.dtype} value ${v} at index ${i} does not fit in int32 ` +
          `(tsgrad reads integer tensors as int32)`,
      );
    }
    out[i] = Number(v);
  }
  return out;
}

function decodeEntry(fail: (p: string) => DataFileError, bytes: Uint8Array, dataStart: number, e: Entry): Tensor {
  // slice() copies into a fresh, aligned buffer: the result never aliases the input, and typed-array views need alignment.
  const raw = bytes.slice(dataStart + e.begin, dataStart + e.end);
  swapBytesInPlace(raw, ITEM_SIZE[e.dtype]);
  const buf = raw.buffer;
  switch (e.dtype) {
    case 'F32':
      return fromArray(new Float32Array(buf), e.shape, { dtype: 'float32' });
    case 'F64':
      return fromArray(new Float64Array(buf), e.shape, { dtype: 'float64' });
    case 'F16': {
      const table = halfToFloat();
      const halves = new Uint16Array(buf);
      const out = new Float32Array(halves.length);
      for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
      return fromArray(out, e.shape, { dtype: 'float32' });
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const halves = new Uint16Array(buf);
      const out = new Float32Array(halves.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
      return fromArray(out, e.shape, { dtype: 'float32' });
    }
    case 'I32':
      return fromArray(new Int32Array(buf), e.shape, { dtype: 'int32' });
    case 'I64':
      return fromArray(toInt32(fail, e, new BigInt64Array(buf)), e.shape, { dtype: 'int32' });
    case 'U64':
      return fromArray(toInt32(fail, e, new BigUint64Array(buf)), e.shape, { dtype: 'int32' });
    case 'U32':
      return fromArray(toInt32(fail, e, new Uint32Array(buf)), e.shape, { dtype: 'int32' });
    case 'I16':
      return fromArray(Int32Array.from(new Int16Array(buf)), e.shape, { dtype: 'int32' });
    case 'U16':
      return fromArray(Int32Array.from(new Uint16Array(buf)), e.shape, { dtype: 'int32' });
    case 'I8':
      return fromArray(Int32Array.from(new Int8Array(buf)), e.shape, { dtype: 'int32' });
    case 'U8':
      return fromArray(Int32Array.from(raw), e.shape, { dtype: 'int32' });
    case 'BOOL':
      return fromArray(raw, e.shape, { dtype: 'bool' });
  }
}

function parseMetadata(fail: (p: string) => DataFileError, value: unknown): Record<string, string> {
  const metadata: Record<string, string> = {};
  // The reference reader treats a null __metadata__ as absent.
  if (value === undefined || value === null) return metadata;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw fail(`${METADATA_KEY} must be an object of strings, got ${describe(value)}`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw fail(`${METADATA_KEY} value for key '${k}' must be a string, got ${describe(v)}`);
    }
    setOwn(metadata, k, v);
  }
  return metadata;
}

/**
 * Decodes safetensors bytes into tensors (which own copies of their data)
 * and metadata. `file` names the source in error messages. See the module
 * comment for the dtype mapping and the checks made; every problem is a
 * `DataFileError(file, problem)`.
 * @example
 * const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
 * const { tensors, metadata } = decodeSafetensors(bytes, url);
 */
export function decodeSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsContents {
  const fail = (problem: string): DataFileError => new DataFileError(file, problem);
  if (bytes.length < 8) {
    throw fail(
      `truncated file: a safetensors file starts with an 8-byte header length, found only ${bytes.length} byte(s)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw fail(
      `header length ${declared} runs past the end of the file (${bytes.length} bytes leave at most ` +
        `${bytes.length - 8} for the header; truncated, or not a safetensors file?)`,
    );
  }
  const headerLength = Number(declared);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw fail(`header (${headerLength} bytes) is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw fail(`header (${headerLength} bytes) is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw fail(`header must be a JSON object, got ${describe(header)}`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const fields = header as Record<string, unknown>;
  const metadata = parseMetadata(fail, fields[METADATA_KEY]);
  const entries = Object.keys(fields)
    .filter((k) => k !== METADATA_KEY)
    .sort(byCodeUnit)
    .map((name) => parseEntry(fail, name, fields[name], dataLength));
  checkOverlaps(fail, entries);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) setOwn(tensors, e.name, decodeEntry(fail, bytes, dataStart, e));
  return { tensors, metadata };
}
