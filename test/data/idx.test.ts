import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataFileError } from '../../src/core/errors.js';
import { parseIdx, readIdx, readIdxSync } from '../../src/data/idx.js';
import { expectDataFileError } from '../helpers/assert.js';

type Code = 0x08 | 0x09 | 0x0b | 0x0c | 0x0d | 0x0e;
const SIZES: Record<Code, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

/** Builds an IDX file by hand, big-endian, independently of the reader. */
function encodeIdx(code: Code, dims: number[], values: number[]): Uint8Array {
  const size = SIZES[code];
  const header = 4 + 4 * dims.length;
  const buf = new ArrayBuffer(header + values.length * size);
  const view = new DataView(buf);
  view.setUint8(0, 0);
  view.setUint8(1, 0);
  view.setUint8(2, code);
  view.setUint8(3, dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  values.forEach((v, i) => {
    const at = header + i * size;
    if (code === 0x08) view.setUint8(at, v);
    else if (code === 0x09) view.setInt8(at, v);
    else if (code === 0x0b) view.setInt16(at, v, false);
    else if (code === 0x0c) view.setInt32(at, v, false);
    else if (code === 0x0d) view.setFloat32(at, v, false);
    else view.setFloat64(at, v, false);
  });
  return new Uint8Array(buf);
}

async function expectDataFileErrorAsync(
  fn: () => Promise<unknown>,
  file: string,
  ...parts: (string | RegExp)[]
): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof DataFileError, `expected DataFileError, got ${String(err)}`);
    assert.equal(err.file, file);
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
      else assert.match(err.message, part);
    }
    return true;
  });
}

describe('parseIdx', () => {
  test('uint8 3-d array round-trips', () => {
    const values = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256);
    const arr = parseIdx(encodeIdx(0x08, [2, 3, 4], values), 'mem');
    assert.equal(arr.dtype, 'uint8');
    assert.deepEqual(arr.shape, [2, 3, 4]);
    assert.ok(arr.data instanceof Uint8Array);
    assert.deepEqual(Array.from(arr.data), values);
  });

  test('int8, int16, int32 keep signs and are read big-endian', () => {
    const i8 = parseIdx(encodeIdx(0x09, [4], [-128, -1, 0, 127]), 'mem');
    assert.equal(i8.dtype, 'int8');
    assert.ok(i8.data instanceof Int8Array);
    assert.deepEqual(Array.from(i8.data), [-128, -1, 0, 127]);

    const i16 = parseIdx(encodeIdx(0x0b, [3], [-32768, 258, 32767]), 'mem');
    assert.equal(i16.dtype, 'int16');
    assert.ok(i16.data instanceof Int16Array);
    assert.deepEqual(Array.from(i16.data), [-32768, 258, 32767]);

    const values = [0, 1, -1, 256, 0x01020304, -2147483648, 2147483647, 65536];
    const i32 = parseIdx(encodeIdx(0x0c, [2, 4], values), 'mem');
    assert.equal(i32.dtype, 'int32');
    assert.deepEqual(i32.shape, [2, 4]);
    assert.ok(i32.data instanceof Int32Array);
    assert.deepEqual(Array.from(i32.data), values);
  });

  test('int32 byte order is big-endian on the wire', () => {
    // 0x00000102 = 258 big-endian; a little-endian reader would give 0x02010000.
    const bytes = new Uint8Array([0, 0, 0x0c, 1, 0, 0, 0, 1, 0x00, 0x00, 0x01, 0x02]);
    assert.deepEqual(Array.from(parseIdx(bytes, 'mem').data), [258]);
  });

  test('float32 and float64 round-trip exactly', () => {
    const f32 = [0, 1.5, -2.25, Math.fround(Math.PI), -0.000123, 1e30].map(Math.fround);
    const a = parseIdx(encodeIdx(0x0d, [3, 2], f32), 'mem');
    assert.equal(a.dtype, 'float32');
    assert.ok(a.data instanceof Float32Array);
    assert.deepEqual(Array.from(a.data), f32);

    const f64 = [Math.PI, -Math.E, 1e-300, 12345.678];
    const b = parseIdx(encodeIdx(0x0e, [4], f64), 'mem');
    assert.equal(b.dtype, 'float64');
    assert.ok(b.data instanceof Float64Array);
    assert.deepEqual(Array.from(b.data), f64);
  });

  test('works on a view with a non-zero, unaligned byteOffset and copies the data', () => {
    const file = encodeIdx(0x0c, [3], [7, -8, 9]);
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 1);
    const view = padded.subarray(1, 1 + file.length);
    const arr = parseIdx(view, 'mem');
    assert.deepEqual(Array.from(arr.data), [7, -8, 9]);

    const u8file = encodeIdx(0x08, [2], [5, 6]);
    const u8 = parseIdx(u8file, 'mem');
    u8file[u8file.length - 1] = 99;
    assert.deepEqual(Array.from(u8.data), [5, 6], 'result must not alias the input bytes');
  });

  test('an empty dimension gives an empty array', () => {
    const arr = parseIdx(encodeIdx(0x08, [0, 28, 28], []), 'mem');
    assert.deepEqual(arr.shape, [0, 28, 28]);
    assert.equal(arr.data.length, 0);
  });

  test('bad magic shows the bytes found', () => {
    const bytes = encodeIdx(0x08, [1], [1]);
    bytes[0] = 0x50;
    bytes[1] = 0x4b;
    expectDataFileError(() => parseIdx(bytes, 'x.idx'), 'x.idx', 'bad magic', '0x50 0x4b 0x08 0x01');
  });

  test('unknown type code', () => {
    const bytes = encodeIdx(0x08, [1], [1]);
    bytes[2] = 0x0a;
    expectDataFileError(() => parseIdx(bytes, 'x.idx'), 'x.idx', 'unknown IDX type code 0x0a');
  });

  test('zero dims', () => {
    expectDataFileError(() => parseIdx(new Uint8Array([0, 0, 8, 0, 1, 2]), 'x.idx'), 'x.idx', 'zero dims');
  });

  test('truncated header: shorter than the magic', () => {
    expectDataFileError(() => parseIdx(new Uint8Array([0, 0]), 'x.idx'), 'x.idx', 'truncated header', '2 byte');
    expectDataFileError(() => parseIdx(new Uint8Array([]), 'x.idx'), 'x.idx', 'truncated header', '0 byte');
  });

  test('truncated header: dims cut off', () => {
    const bytes = encodeIdx(0x08, [2, 3, 4], []).subarray(0, 10); // needs 16 bytes
    expectDataFileError(() => parseIdx(bytes, 'x.idx'), 'x.idx', 'truncated header', '16-byte header', 'only 10');
  });

  test('short data says expected vs found bytes', () => {
    const full = encodeIdx(0x0c, [2, 3], [1, 2, 3, 4, 5, 6]); // 12 + 24 bytes
    const short = full.subarray(0, full.length - 5);
    expectDataFileError(
      () => parseIdx(short, 'x.idx'),
      'x.idx',
      'data length mismatch',
      'needs 24 data bytes',
      'found 19',
      'short data',
    );
  });

  test('trailing bytes are rejected too', () => {
    const full = encodeIdx(0x08, [3], [1, 2, 3]);
    const long = new Uint8Array(full.length + 2);
    long.set(full);
    expectDataFileError(() => parseIdx(long, 'x.idx'), 'x.idx', 'needs 3 data bytes', 'found 5', 'trailing');
  });
});

describe('readIdxSync / readIdx', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgrad-idx-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('plain, .gz-named and gzip-by-magic files read the same', async () => {
    const values = Array.from({ length: 60 }, (_, i) => (i * 7) % 256);
    const bytes = encodeIdx(0x08, [5, 3, 4], values);
    const plain = join(dir, 'plain-idx3-ubyte');
    const gz = join(dir, 'plain-idx3-ubyte.gz');
    const sneaky = join(dir, 'gzip-without-suffix');
    writeFileSync(plain, bytes);
    writeFileSync(gz, gzipSync(bytes));
    writeFileSync(sneaky, gzipSync(bytes));
    for (const path of [plain, gz, sneaky]) {
      const sync = readIdxSync(path);
      assert.deepEqual(sync.shape, [5, 3, 4], path);
      assert.deepEqual(Array.from(sync.data), values, path);
      const async = await readIdx(path);
      assert.equal(async.dtype, 'uint8');
      assert.deepEqual(async.shape, [5, 3, 4], path);
      assert.deepEqual(Array.from(async.data), values, path);
    }
  });

  test('gzip-compressed int32 and float32 files', async () => {
    const ints = [1, -2, 300000, -400000];
    const floats = [0.5, -1.25, 3.75, 1e-3].map(Math.fround);
    const pi = join(dir, 'ints.idx.gz');
    const pf = join(dir, 'floats.idx.gz');
    writeFileSync(pi, gzipSync(encodeIdx(0x0c, [2, 2], ints)));
    writeFileSync(pf, gzipSync(encodeIdx(0x0d, [4], floats)));
    assert.deepEqual(Array.from(readIdxSync(pi).data), ints);
    assert.deepEqual(Array.from((await readIdx(pf)).data), floats);
    assert.ok((await readIdx(pi)).data instanceof Int32Array);
  });

  test('missing file', async () => {
    const path = join(dir, 'nope-idx1-ubyte.gz');
    expectDataFileError(() => readIdxSync(path), path, 'file not found');
    await expectDataFileErrorAsync(() => readIdx(path), path, 'file not found');
  });

  test('a directory is named as such', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expectDataFileError(() => readIdxSync(sub), sub, 'directory');
  });

  test('corrupt gzip stream (.gz name, not gzip data)', async () => {
    const path = join(dir, 'bad.gz');
    writeFileSync(path, encodeIdx(0x08, [2], [1, 2]));
    expectDataFileError(() => readIdxSync(path), path, 'not a valid gzip stream: ', /header/i);
    await expectDataFileErrorAsync(() => readIdx(path), path, 'not a valid gzip stream: ');
  });

  test('truncated gzip stream', async () => {
    const path = join(dir, 'truncated-idx.gz');
    const gz = gzipSync(
      encodeIdx(
        0x08,
        [100],
        Array.from({ length: 100 }, (_, i) => i),
      ),
    );
    writeFileSync(path, gz.subarray(0, gz.length - 10));
    expectDataFileError(() => readIdxSync(path), path, 'not a valid gzip stream: ');
    await expectDataFileErrorAsync(() => readIdx(path), path, 'not a valid gzip stream: ');
  });

  test('parse errors from a file name the file', async () => {
    const path = join(dir, 'short-data-idx1-ubyte.gz');
    const bytes = encodeIdx(0x08, [10], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).subarray(0, 12);
    writeFileSync(path, gzipSync(bytes));
    expectDataFileError(() => readIdxSync(path), path, 'needs 10 data bytes', 'found 4');
    await expectDataFileErrorAsync(() => readIdx(path), path, 'needs 10 data bytes', 'found 4');

    const magic = join(dir, 'text.idx');
    writeFileSync(magic, 'hello world');
    expectDataFileError(() => readIdxSync(magic), magic, 'bad magic', '0x68 0x65 0x6c 0x6c');
  });
});
