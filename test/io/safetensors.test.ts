import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgumentError } from '../../src/core/errors.js';
import type { DType } from '../../src/core/dtype.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors-file.js';
import { fromArray, tensor, zeros } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { Module } from '../../src/nn/module.js';
import { Conv2d } from '../../src/nn/layers/conv.js';
import { Linear } from '../../src/nn/layers/linear.js';
import { BatchNorm2d } from '../../src/nn/layers/normalization.js';
import { expectDataFileError } from '../helpers/assert.js';

// ------------------------------------------------------------------ helpers

type Kind = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';
const SIZE: Record<Kind, number> = {
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

/** Little-endian bytes of `values`, written with DataView independently of the code under test. F16/BF16 take raw bit patterns. */
function le(kind: Kind, values: readonly (number | bigint)[]): Uint8Array {
  const size = SIZE[kind];
  const out = new Uint8Array(values.length * size);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => {
    const at = i * size;
    switch (kind) {
      case 'F64':
        return v.setFloat64(at, Number(x), true);
      case 'F32':
        return v.setFloat32(at, Number(x), true);
      case 'F16':
      case 'BF16':
      case 'U16':
        return v.setUint16(at, Number(x), true);
      case 'I16':
        return v.setInt16(at, Number(x), true);
      case 'I64':
        return v.setBigInt64(at, BigInt(x), true);
      case 'U64':
        return v.setBigUint64(at, BigInt(x), true);
      case 'I32':
        return v.setInt32(at, Number(x), true);
      case 'U32':
        return v.setUint32(at, Number(x), true);
      case 'I8':
        return v.setInt8(at, Number(x));
      case 'U8':
      case 'BOOL':
        return v.setUint8(at, Number(x));
    }
  });
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A safetensors file built by hand: 8-byte LE header length, the header text (space-padded to 8 if asked), the data. */
function build(header: string | object, data: Uint8Array = new Uint8Array(0), pad = false): Uint8Array {
  let h: Uint8Array = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  if (pad) h = concat(h, new Uint8Array((8 - (h.length % 8)) % 8).fill(0x20));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(h.length), true);
  return concat(len, h, data);
}

function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

function roundTrip(tensors: Record<string, Tensor>, metadata?: Record<string, string>) {
  return decodeSafetensors(encodeSafetensors(tensors, metadata), 'mem');
}

function assertSameTensor(actual: Tensor | undefined, expected: Tensor, label: string): void {
  assert.ok(actual, `${label}: missing`);
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepEqual([...actual.shape], [...expected.shape], `${label}: shape`);
  assert.deepEqual(values(actual), values(expected), `${label}: values`);
}

function headerOf(bytes: Uint8Array): { length: number; json: Record<string, unknown>; text: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + length));
  return { length, json: JSON.parse(text) as Record<string, unknown>, text };
}

/** Named like the PyTorch fixture's modules (conv, bn, fc); [1, 1, 3, 4] in, [1, 3] out. */
class TinyNet extends Module {
  conv = new Conv2d(1, 2, 3);
  bn = new BatchNorm2d(2);
  fc = new Linear(4, 3);
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.bn.forward(this.conv.forward(x)).flatten(1));
  }
}

// ------------------------------------------------------------------ round trips

describe('encodeSafetensors / decodeSafetensors round trip', () => {
  test('float32, float64, int32 and bool keep dtype, shape and values exactly', () => {
    const t = {
      w: tensor([
        [1.5, -2.25, Math.fround(Math.PI)],
        [0, -0, 1e-30],
      ]),
      d: tensor([Math.PI, -Math.E, 1e-300], { dtype: 'float64' }),
      labels: tensor([3, -1, 2147483647, -2147483648], { dtype: 'int32' }),
      mask: tensor([true, false, true]),
    };
    const { tensors, metadata } = roundTrip(t);
    assert.deepEqual(Object.keys(tensors).sort(), ['d', 'labels', 'mask', 'w']);
    for (const [k, v] of Object.entries(t)) assertSameTensor(tensors[k], v, k);
    assert.ok(Object.is(values(tensors.w!)[4], -0), 'the sign of zero survives');
    assert.deepEqual(metadata, {});
  });

  test('a 0-d scalar and empty tensors', () => {
    const t = {
      scalar: tensor(-1.5),
      iscalar: tensor(7, { dtype: 'int32' }),
      empty: zeros([0, 3]),
      empty2: zeros([2, 0, 4], { dtype: 'int32' }),
    };
    const bytes = encodeSafetensors(t);
    const { json } = headerOf(bytes);
    assert.deepEqual(json.scalar, { dtype: 'F32', shape: [], data_offsets: [4, 8] });
    assert.deepEqual(json.empty, { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] });
    const { tensors } = decodeSafetensors(bytes);
    for (const [k, v] of Object.entries(t)) assertSameTensor(tensors[k], v, k);
    assert.equal(tensors.scalar!.itemSync(), -1.5);
  });

  test('non-contiguous views are written in logical row-major order', () => {
    const base = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const transposed = base.transpose();
    assert.equal(transposed.isContiguous(), false, 'the test needs a non-contiguous view');
    const sliced = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { dtype: 'int32' }).slice([[1, 9, 3]]);
    const column = base.narrow(1, 1, 1); // offset view
    const { tensors } = roundTrip({ transposed, sliced, column });
    assert.deepEqual([...tensors.transposed!.shape], [3, 2]);
    assert.deepEqual(values(tensors.transposed!), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(values(tensors.sliced!), [1, 4, 7]);
    assert.deepEqual(values(tensors.column!), [2, 5]);
  });

  test('metadata round-trips; absent metadata reads as {}', () => {
    const metadata = { format: 'pt', epoch: '12', note: 'ünïcødé "quoted" \\ and\nnewline', '': 'empty key' };
    const got = roundTrip({ x: tensor([1]) }, metadata);
    assert.deepEqual(got.metadata, metadata);
    assert.deepEqual(roundTrip({ x: tensor([1]) }).metadata, {});
    assert.deepEqual(roundTrip({ x: tensor([1]) }, {}).metadata, {});
    // Metadata with no tensors at all.
    const only = roundTrip({}, { a: 'b' });
    assert.deepEqual(only.tensors, {});
    assert.deepEqual(only.metadata, { a: 'b' });
  });

  test('odd tensor names, integer-like names and "__proto__" survive', () => {
    const t: Record<string, Tensor> = {
      '10': tensor([10]),
      '2': tensor([2]),
      'layers.0.weight': tensor([0.5]),
      'naïve "name"': tensor([3]),
    };
    Object.defineProperty(t, '__proto__', { value: tensor([4]), enumerable: true });
    const { tensors } = roundTrip(t);
    assert.equal(Object.getPrototypeOf(tensors), Object.prototype);
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(t).sort());
    for (const k of Object.keys(t)) assertSameTensor(tensors[k], t[k]!, k);
  });

  test('decoded tensors own their data: changing the bytes afterwards changes nothing', () => {
    const bytes = encodeSafetensors({ x: tensor([1, 2, 3]) });
    const { tensors } = decodeSafetensors(bytes);
    bytes.fill(0, bytes.length - 12);
    assert.deepEqual(values(tensors.x!), [1, 2, 3]);
  });

  test('decoding works on a view with a non-zero, unaligned byteOffset', () => {
    const file = encodeSafetensors({ a: tensor([1.25, -7]), b: tensor([5, 6], { dtype: 'int32' }) });
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    const { tensors } = decodeSafetensors(padded.subarray(3));
    assert.deepEqual(values(tensors.a!), [1.25, -7]);
    assert.deepEqual(values(tensors.b!), [5, 6]);
  });

  test('a model state dict round-trips through a file and loads back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgrad-st-model-'));
    try {
      const a = new TinyNet();
      const b = new TinyNet();
      const path = join(dir, 'tiny.safetensors');
      saveSafetensors(path, a.stateDict(), { epoch: '1' });
      const { tensors, metadata } = loadSafetensors(path);
      assert.equal(metadata.epoch, '1');
      const result = b.loadStateDict(tensors);
      assert.equal(result.loadedKeys.length, Object.keys(a.stateDict()).length);
      for (const [k, v] of Object.entries(a.stateDict())) assertSameTensor(b.stateDict()[k], v, k);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------ layout

describe('byte layout', () => {
  test('matches a buffer built by hand: sorted names, packed data, space padding, metadata first', () => {
    const bytes = encodeSafetensors(
      {
        b: tensor([1.5, -2]),
        a: tensor([[1, -2]], { dtype: 'int32' }),
        c: tensor([true, false, true]),
        d: tensor([0.1], { dtype: 'float64' }),
      },
      { z: 'last', k: 'v' },
    );
    const header =
      '{"__metadata__":{"k":"v","z":"last"},' +
      '"a":{"dtype":"I32","shape":[1,2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
      '"c":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]},' +
      '"d":{"dtype":"F64","shape":[1],"data_offsets":[19,27]}}';
    const expected = build(
      header,
      concat(le('I32', [1, -2]), le('F32', [1.5, -2]), le('BOOL', [1, 0, 1]), le('F64', [0.1])),
      true,
    );
    assert.deepEqual(bytes, expected);
    // Spot-check the raw bytes too, in case build() and the encoder agree on something wrong.
    const headerLength = header.length + ((8 - (header.length % 8)) % 8);
    assert.equal(headerLength, 264);
    assert.deepEqual(Array.from(bytes.subarray(0, 8)), [8, 1, 0, 0, 0, 0, 0, 0]); // 264 = 0x108, little-endian
    const dataStart = bytes.length - 27;
    assert.deepEqual(Array.from(bytes.subarray(dataStart, dataStart + 8)), [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
    assert.deepEqual(Array.from(bytes.subarray(dataStart + 8, dataStart + 12)), [0, 0, 0xc0, 0x3f]); // 1.5f
  });

  test('an empty dict is the 8-byte length and "{}" padded to 8', () => {
    assert.deepEqual(Array.from(encodeSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
  });

  test('the header is padded with spaces to a multiple of 8, so the data starts 8-byte aligned', () => {
    for (let n = 1; n <= 17; n++) {
      const name = 'x'.repeat(n);
      const bytes = encodeSafetensors(
        { [name]: tensor([1, 2], { dtype: 'float64' }) },
        n % 2 ? { m: 'é'.repeat(n) } : undefined,
      );
      const { length, text, json } = headerOf(bytes);
      assert.equal(length % 8, 0, `name length ${n}: header length ${length}`);
      assert.equal((8 + length) % 8, 0);
      assert.equal(bytes.length, 8 + length + 16);
      assert.match(text, /^\{.*\} *$/s, 'only spaces after the JSON');
      assert.ok(text.length - text.trimEnd().length < 8, 'at most 7 padding spaces');
      assert.deepEqual(json[name], { dtype: 'F64', shape: [2], data_offsets: [0, 16] });
    }
  });

  test('tensors are packed back to back in sorted-name order', () => {
    const bytes = encodeSafetensors({ c: tensor([1, 2, 3]), a: tensor([1], { dtype: 'float64' }), b: zeros([0]) });
    const { json } = headerOf(bytes);
    assert.deepEqual((json.a as { data_offsets: number[] }).data_offsets, [0, 8]);
    assert.deepEqual((json.b as { data_offsets: number[] }).data_offsets, [8, 8]);
    assert.deepEqual((json.c as { data_offsets: number[] }).data_offsets, [8, 20]);
  });

  test('encoder argument errors', () => {
    assert.throws(() => encodeSafetensors({ __metadata__: tensor([1]) }), ArgumentError);
    assert.throws(
      () => encodeSafetensors({ x: tensor([1]) }, { epoch: 3 as unknown as string }),
      /metadata value for 'epoch' must be a string/,
    );
    assert.throws(() => encodeSafetensors({ x: [1, 2] as unknown as Tensor }), /'x' is not a Tensor/);
  });
});

// ------------------------------------------------------------------ reading other dtypes

describe('decodeSafetensors dtypes', () => {
  function one(kind: Kind, shape: number[], raw: readonly (number | bigint)[]): Tensor {
    const data = le(kind, raw);
    const bytes = build({ t: { dtype: kind, shape, data_offsets: [0, data.length] } }, data);
    return decodeSafetensors(bytes, 'mem').tensors.t!;
  }
  const check = (t: Tensor, dtype: DType, shape: number[], expected: number[]) => {
    assert.equal(t.dtype, dtype);
    assert.deepEqual([...t.shape], shape);
    assert.deepEqual(values(t), expected);
  };

  test('F16 → float32 exactly: normal, subnormal, max, signed zero, infinities, NaN', () => {
    const t = one('F16', [8], [0x3c00, 0xc100, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x3555]);
    assert.equal(t.dtype, 'float32');
    const v = values(t);
    assert.deepEqual(v.slice(0, 4), [1, -2.5, 65504, 2 ** -24]);
    assert.ok(Object.is(v[4], -0));
    assert.deepEqual(v.slice(5, 7), [Infinity, -Infinity]);
    assert.equal(v[7], Math.fround(0.333251953125));
    assert.ok(Number.isNaN(values(one('F16', [1], [0x7e00]))[0]));
  });

  test('BF16 → float32 exactly', () => {
    check(
      one('BF16', [2, 2], [0x3f80, 0xc049, 0x7f7f, 0x0001]),
      'float32',
      [2, 2],
      [1, -3.140625, Math.fround(3.3895313892515355e38), 2 ** -133],
    );
  });

  test('I64 → int32, and an out-of-range value is an error naming the tensor', () => {
    check(one('I64', [3], [-(2n ** 31n), 2n ** 31n - 1n, 5n]), 'int32', [3], [-2147483648, 2147483647, 5]);
    expectDataFileError(
      () => one('I64', [2], [1n, 2n ** 31n]),
      'mem',
      "tensor 't'",
      'I64 value 2147483648 at index 1',
      'int32',
    );
    expectDataFileError(() => one('I64', [1], [-(2n ** 40n)]), 'mem', 'does not fit in int32');
  });

  test('U64 and U32 → int32 with range checks', () => {
    check(one('U64', [2], [0n, 2n ** 31n - 1n]), 'int32', [2], [0, 2147483647]);
    expectDataFileError(() => one('U64', [1], [2n ** 64n - 1n]), 'mem', 'U64 value 18446744073709551615');
    check(one('U32', [2], [0, 2 ** 31 - 1]), 'int32', [2], [0, 2147483647]);
    expectDataFileError(() => one('U32', [1], [2 ** 32 - 1]), 'mem', 'U32 value 4294967295');
  });

  test('I8, U8, I16, U16 → int32 exactly', () => {
    check(one('I8', [4], [-128, -1, 0, 127]), 'int32', [4], [-128, -1, 0, 127]);
    check(one('U8', [2, 2], [0, 1, 128, 255]), 'int32', [2, 2], [0, 1, 128, 255]);
    check(one('I16', [3], [-32768, 32767, -2]), 'int32', [3], [-32768, 32767, -2]);
    check(one('U16', [2], [0, 65535]), 'int32', [2], [0, 65535]);
  });

  test('BOOL → bool; any non-zero byte is true', () => {
    check(one('BOOL', [4], [1, 0, 2, 255]), 'bool', [4], [1, 0, 1, 1]);
  });

  test('F64, F32, I32 from a hand-built file with an unpadded header, layout out of name order and a gap', () => {
    const data = concat(le('I32', [9, -9]), new Uint8Array(3), le('F32', [0.5]), le('F64', [Math.E]));
    const header = {
      z: { dtype: 'I32', shape: [2], data_offsets: [0, 8] },
      a: { dtype: 'F32', shape: [], data_offsets: [11, 15] },
      m: { dtype: 'F64', shape: [1, 1], data_offsets: [15, 23] },
      __metadata__: { k: 'v' },
    };
    const { tensors, metadata } = decodeSafetensors(build(header, data), 'mem');
    check(tensors.z!, 'int32', [2], [9, -9]);
    check(tensors.a!, 'float32', [], [0.5]);
    check(tensors.m!, 'float64', [1, 1], [Math.E]);
    assert.deepEqual(metadata, { k: 'v' });
  });

  test('a null __metadata__ reads as no metadata', () => {
    assert.deepEqual(decodeSafetensors(build({ __metadata__: null }), 'mem').metadata, {});
  });
});

// ------------------------------------------------------------------ corrupt input

describe('decodeSafetensors rejects corrupt input with a DataFileError', () => {
  const F = 'bad.safetensors';
  const ok = (offsets: number[] = [0, 8], shape: number[] = [2], dtype = 'F32') => ({
    dtype,
    shape,
    data_offsets: offsets,
  });
  const data8 = le('F32', [1, 2]);

  test('shorter than the 8-byte length', () => {
    expectDataFileError(() => decodeSafetensors(new Uint8Array(0), F), F, 'truncated file', 'only 0 byte(s)');
    expectDataFileError(() => decodeSafetensors(new Uint8Array(7), F), F, 'truncated file', 'only 7 byte(s)');
  });

  test('header length beyond the end of the file', () => {
    const bytes = build({ x: ok() }, data8);
    const cut = bytes.subarray(0, 20);
    expectDataFileError(
      () => decodeSafetensors(cut, F),
      F,
      /header length \d+ runs past the end of the file \(20 bytes/,
    );
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectDataFileError(() => decodeSafetensors(huge, F), F, 'header length 18446744073709551615 runs past the end');
    // A PNG is not a safetensors file.
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    expectDataFileError(() => decodeSafetensors(png, F), F, 'runs past the end');
  });

  test('header not valid JSON, or not UTF-8', () => {
    expectDataFileError(() => decodeSafetensors(build('{"x": {"dtype": "F32",'), F), F, 'not valid JSON');
    expectDataFileError(() => decodeSafetensors(build(''), F), F, 'header (0 bytes) is not valid JSON');
    const bad = build('{"x":1}');
    bad[9] = 0xff;
    expectDataFileError(() => decodeSafetensors(bad, F), F, 'not valid UTF-8');
  });

  test('header not a JSON object', () => {
    expectDataFileError(() => decodeSafetensors(build('[1, 2]'), F), F, 'header must be a JSON object', 'an array');
    expectDataFileError(() => decodeSafetensors(build('null'), F), F, 'header must be a JSON object, got null');
    expectDataFileError(() => decodeSafetensors(build('42'), F), F, 'header must be a JSON object, got number 42');
    expectDataFileError(() => decodeSafetensors(build('"text"'), F), F, 'header must be a JSON object');
  });

  test('an entry that is not an object, or has a non-string dtype', () => {
    expectDataFileError(() => decodeSafetensors(build({ x: [1, 2] }), F), F, "tensor 'x'", 'must be an object');
    expectDataFileError(
      () => decodeSafetensors(build({ x: { ...ok(), dtype: 4 } }), F),
      F,
      "tensor 'x'",
      'dtype must be a string',
    );
  });

  test('unknown or unsupported dtype', () => {
    expectDataFileError(
      () => decodeSafetensors(build({ x: ok([0, 8], [2], 'F31') }, data8), F),
      F,
      "tensor 'x'",
      "unknown dtype 'F31'",
      'supported: F64, F32',
    );
    expectDataFileError(
      () => decodeSafetensors(build({ x: ok([0, 2], [2], 'F8_E4M3') }, data8), F),
      F,
      "dtype 'F8_E4M3' is not supported",
    );
    expectDataFileError(
      () => decodeSafetensors(build({ x: ok([0, 8], [2], 'f32') }, data8), F),
      F,
      "unknown dtype 'f32'",
    );
  });

  test('a malformed shape', () => {
    for (const shape of [[-1], [1.5], ['2'], null, 2]) {
      expectDataFileError(
        () => decodeSafetensors(build({ x: { dtype: 'F32', shape, data_offsets: [0, 8] } }, data8), F),
        F,
        "tensor 'x'",
        'shape must be an array of non-negative integers',
      );
    }
  });

  test('malformed data_offsets', () => {
    for (const offsets of [[0], [0, 8, 9], [8, 0], [-4, 4], [0, 8.5], null, '0,8']) {
      expectDataFileError(
        () => decodeSafetensors(build({ x: { dtype: 'F32', shape: [2], data_offsets: offsets } }, data8), F),
        F,
        "tensor 'x'",
        'data_offsets must be [begin, end]',
      );
    }
  });

  test('shape / offset mismatch: byte length ≠ elements × item size', () => {
    expectDataFileError(
      () => decodeSafetensors(build({ x: ok([0, 8], [3]) }, le('F32', [1, 2, 3])), F),
      F,
      "tensor 'x'",
      'shape [3] of F32 needs 12 byte(s)',
      'data_offsets [0, 8] span 8',
    );
    expectDataFileError(
      () => decodeSafetensors(build({ x: ok([0, 8], [2], 'F64') }, le('F64', [1, 2])), F),
      F,
      'shape [2] of F64 needs 16 byte(s)',
    );
    // A 0-d tensor still needs one element.
    expectDataFileError(
      () => decodeSafetensors(build({ x: ok([0, 0], []) }, data8), F),
      F,
      'shape [] of F32 needs 4 byte(s)',
      'span 0',
    );
  });

  test('offsets beyond the data buffer (truncated file)', () => {
    expectDataFileError(
      () => decodeSafetensors(build({ x: ok([0, 8]) }, data8.subarray(0, 6)), F),
      F,
      "tensor 'x'",
      'data_offsets [0, 8] are out of range',
      'holds only 6 byte(s)',
    );
    expectDataFileError(
      () => decodeSafetensors(build({ x: ok([8, 16]) }, data8), F),
      F,
      'out of range',
      'holds only 8 byte(s)',
    );
  });

  test('overlapping tensors', () => {
    const data = le('F32', [1, 2, 3]);
    const header = { a: ok([0, 8]), b: ok([4, 12]) };
    expectDataFileError(
      () => decodeSafetensors(build(header, data), F),
      F,
      "tensors 'a' (data_offsets [0, 8]) and 'b' (data_offsets [4, 12]) overlap",
    );
    const same = { a: ok([0, 8]), b: ok([0, 8]) };
    expectDataFileError(() => decodeSafetensors(build(same, data), F), F, 'overlap');
    // Zero-length tensors own no bytes and never overlap.
    const withEmpty = { a: ok([0, 8]), e: ok([4, 4], [0]) };
    assert.deepEqual(Object.keys(decodeSafetensors(build(withEmpty, data), F).tensors).sort(), ['a', 'e']);
  });

  test('non-string metadata', () => {
    expectDataFileError(
      () => decodeSafetensors(build({ __metadata__: { epoch: 3 } }), F),
      F,
      "__metadata__ value for key 'epoch' must be a string, got number 3",
    );
    expectDataFileError(
      () => decodeSafetensors(build({ __metadata__: { a: 'ok', b: null } }), F),
      F,
      "value for key 'b'",
      'got null',
    );
    expectDataFileError(
      () => decodeSafetensors(build({ __metadata__: ['a'] }), F),
      F,
      '__metadata__ must be an object of strings',
    );
    expectDataFileError(
      () => decodeSafetensors(build({ __metadata__: 'format=pt' }), F),
      F,
      '__metadata__ must be an object of strings',
    );
  });

  test('the default file name is <buffer>', () => {
    expectDataFileError(() => decodeSafetensors(new Uint8Array(3)), '<buffer>', 'truncated file');
  });
});

// ------------------------------------------------------------------ files

describe('saveSafetensors / loadSafetensors', () => {
  const ok = () => ({ dtype: 'F32', shape: [2], data_offsets: [0, 8] });
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgrad-st-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('save then load; the file equals encodeSafetensors; no temp files left', () => {
    const sub = join(dir, 'ok');
    mkdirSync(sub);
    const path = join(sub, 'w.safetensors');
    const t = {
      w: tensor([
        [1, 2],
        [3, 4],
      ]).transpose(),
      n: tensor(3, { dtype: 'int32' }),
    };
    saveSafetensors(path, t, { format: 'pt' });
    assert.deepEqual(new Uint8Array(readFileSync(path)), encodeSafetensors(t, { format: 'pt' }));
    const { tensors, metadata } = loadSafetensors(path);
    assert.deepEqual(values(tensors.w!), [1, 3, 2, 4]);
    assert.equal(tensors.n!.itemSync(), 3);
    assert.deepEqual(metadata, { format: 'pt' });
    // Overwrite in place.
    saveSafetensors(path, { w: tensor([9]) });
    assert.deepEqual(Object.keys(loadSafetensors(path).tensors), ['w']);
    assert.deepEqual(readdirSync(sub), ['w.safetensors']);
  });

  test('saving into a missing directory is a DataFileError; a failed encode leaves the old file', () => {
    const missing = join(dir, 'nope', 'w.safetensors');
    expectDataFileError(() => saveSafetensors(missing, { w: tensor([1]) }), missing, 'does not exist');
    const sub = join(dir, 'keep');
    mkdirSync(sub);
    const path = join(sub, 'w.safetensors');
    saveSafetensors(path, { w: tensor([1, 2]) });
    const before = readFileSync(path);
    assert.throws(() => saveSafetensors(path, { w: tensor([5]) }, { bad: 1 as unknown as string }), ArgumentError);
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(readdirSync(sub), ['w.safetensors']);
  });

  test('missing file, directory, and corrupt file errors name the path', () => {
    const missing = join(dir, 'missing.safetensors');
    expectDataFileError(() => loadSafetensors(missing), missing, 'file not found');
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expectDataFileError(() => loadSafetensors(sub), sub, 'directory');
    const corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, build({ x: ok() }, new Uint8Array(2)));
    expectDataFileError(() => loadSafetensors(corrupt), corrupt, "tensor 'x'", 'out of range');
  });
});

// ------------------------------------------------------------------ PyTorch fixture

describe('PyTorch interop (test/fixtures/torch-small.*, scripts/make-safetensors-fixture.py)', () => {
  // this file compiles to dist/test/io/safetensors.test.js
  const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures');
  const TSGRAD_DTYPE: Record<string, DType> = {
    F32: 'float32',
    F16: 'float32',
    BF16: 'float32',
    F64: 'float64',
    I64: 'int32',
    I32: 'int32',
    I16: 'int32',
    I8: 'int32',
    U8: 'int32',
    BOOL: 'bool',
  };
  interface Expected {
    metadata: Record<string, string>;
    tensors: Record<string, { dtype: string; shape: number[]; values: (number | boolean)[] }>;
  }

  test('a state dict written by PyTorch loads with the values torch reports', () => {
    const expected = JSON.parse(readFileSync(join(fixtures, 'torch-small.json'), 'utf8')) as Expected;
    const { tensors, metadata } = loadSafetensors(join(fixtures, 'torch-small.safetensors'));
    assert.deepEqual(metadata, expected.metadata);
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected.tensors).sort());
    for (const [k, e] of Object.entries(expected.tensors)) {
      const t = tensors[k]!;
      assert.equal(t.dtype, TSGRAD_DTYPE[e.dtype], `${k}: ${e.dtype} should read as ${TSGRAD_DTYPE[e.dtype]}`);
      assert.deepEqual([...t.shape], e.shape, `${k}: shape`);
      // Exact: every stored value is representable in the tsgrad dtype (deepEqual also tells -0 from 0).
      assert.deepEqual(values(t), e.values.map(Number), `${k}: values`);
    }
    assert.equal(tensors['bn.num_batches_tracked']!.itemSync(), 1);
  });

  test('the PyTorch conv / linear / batch-norm weights load into the matching tsgrad layers', () => {
    const { tensors } = loadSafetensors(join(fixtures, 'torch-small.safetensors'));
    const net = new TinyNet();
    const sd = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith('extra.')));
    const result = net.loadStateDict(sd);
    assert.deepEqual(result.missingKeys, []);
    assert.deepEqual(result.unexpectedKeys, []);
    for (const [k, v] of Object.entries(sd)) assertSameTensor(net.stateDict()[k], v, k);
    // And they compute: one forward pass in eval mode uses the loaded running statistics.
    net.eval();
    const out = net.forward(fromArray(new Float32Array(12).fill(0.5), [1, 1, 3, 4]));
    assert.deepEqual([...out.shape], [1, 3]);
    assert.ok(values(out).every(Number.isFinite));
  });
});
