/**
 * safetensors edge cases one by one: the layout's key order, a tensor named __proto__, the exact errors for
 * each malformed header field, unsupported dtypes, header lengths and int32 overflow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, DataFileError } from '../../src/core/errors.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { tensor } from '../../src/tensor/creation.js';

/** A file from a header object (its JSON text as given) and data bytes. */
function file(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const headerOf = (bytes: Uint8Array): string => {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
};

function fails(bytes: Uint8Array, message: string): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'x.safetensors'),
    (e: unknown) => e instanceof DataFileError && e.message === `x.safetensors: ${message}`,
    message,
  );
}

const SUPPORTED = 'F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL';

test('tensors are laid out and decoded in code-unit order of their names, whatever the given order', () => {
  const t = (v: number) => tensor([v]);
  const a = encodeSafetensors({ a: t(1), B: t(2), _: t(3) });
  const b = encodeSafetensors({ _: t(3), a: t(1), B: t(2) });
  assert.deepEqual(a, b);
  const keys = Object.keys(JSON.parse(headerOf(a)) as object);
  assert.deepEqual(keys, ['B', '_', 'a'], "'B' (66) < '_' (95) < 'a' (97), not the locale's order");
  // A header written in another order decodes to the same, sorted, record.
  const four = new Uint8Array(new Float32Array([7]).buffer);
  const data = new Uint8Array([...four, ...four]);
  const decoded = decodeSafetensors(
    file(
      {
        z: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        m: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      },
      data,
    ),
  );
  assert.deepEqual(Object.keys(decoded.tensors), ['m', 'z']);
});

test('a tensor named __proto__ round-trips as an own enumerable key', () => {
  const data = new Uint8Array(new Float32Array([5]).buffer);
  const { tensors } = decodeSafetensors(
    file(JSON.parse('{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'), data),
  );
  assert.deepEqual(Object.keys(tensors), ['__proto__']);
  assert.deepEqual(Array.from(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.dataSync()), [5]);
  assert.equal(Object.getPrototypeOf(tensors), Object.prototype);
});

test('metadata: absent when empty; refused when not an object of strings, saying what it got', () => {
  assert.ok(!headerOf(encodeSafetensors({ w: tensor([1]) }, {})).includes('__metadata__'));
  assert.ok(headerOf(encodeSafetensors({ w: tensor([1]) }, { a: 'b' })).startsWith('{"__metadata__":{"a":"b"},'));
  const refuse = (metadata: unknown, got: string): void =>
    assert.throws(
      () => encodeSafetensors({}, metadata as Record<string, string>),
      (e: unknown) =>
        e instanceof ArgumentError &&
        e.message === `encodeSafetensors: metadata must be an object of strings, got ${got}`,
    );
  refuse(['x'], 'an array (["x"])');
  refuse(null, 'null');
  refuse('epoch 3', 'the string "epoch 3"');
  assert.throws(
    () => encodeSafetensors({}, { k: {} as unknown as string }),
    (e: unknown) =>
      e instanceof ArgumentError &&
      e.message ===
        "encodeSafetensors: metadata value for 'k' must be a string (the format allows only strings), got an object",
  );
  assert.throws(
    () => encodeSafetensors({ __metadata__: tensor([1]) }),
    (e: unknown) =>
      e instanceof ArgumentError &&
      e.message === "encodeSafetensors: '__metadata__' is reserved for metadata and cannot name a tensor",
  );
});

test('each malformed header entry gets its own message', () => {
  const entry = (info: unknown) => file({ t: info });
  const must = 'header entry must be an object with dtype, shape and data_offsets, got';
  fails(entry('F32'), `tensor 't': ${must} the string "F32"`);
  fails(entry(null), `tensor 't': ${must} null`);
  fails(entry([1, 2]), `tensor 't': ${must} an array ([1,2])`);
  const long = 'x'.repeat(50);
  fails(
    entry({ dtype: 'F32', shape: long, data_offsets: [0, 0] }),
    `tensor 't': shape must be an array of non-negative integers, got the string "${'x'.repeat(40)}…"`,
  );
  fails(
    entry({ dtype: 'F32', shape: 'short', data_offsets: [0, 0] }),
    `tensor 't': shape must be an array of non-negative integers, got the string "short"`,
  );
  const offsets = 'data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got';
  fails(entry({ dtype: 'F32', shape: [0], data_offsets: [0.5, 1] }), `tensor 't': ${offsets} an array ([0.5,1])`);
  fails(entry({ dtype: 'F32', shape: [0], data_offsets: [-1, 0] }), `tensor 't': ${offsets} an array ([-1,0])`);
  fails(
    entry({ dtype: 'F32', shape: [1.5], data_offsets: [0, 0] }),
    `tensor 't': shape must be an array of non-negative integers, got an array ([1.5])`,
  );
  fails(
    file({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)),
    "tensor 't': shape [2] of F32 needs 8 byte(s) (2 element(s) × 4), but data_offsets [0, 4] span 4",
  );
  fails(
    file({ t: { dtype: 'F32', shape: [2], data_offsets: [4, 8] } }, new Uint8Array(8)),
    "tensor 't': shape [2] of F32 needs 8 byte(s) (2 element(s) × 4), but data_offsets [4, 8] span 4",
  );
});

test('dtypes the format defines but tsgrad cannot read are "not supported", others "unknown"', () => {
  for (const dtype of ['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']) {
    fails(
      file({ t: { dtype, shape: [0], data_offsets: [0, 0] } }),
      `tensor 't': dtype '${dtype}' is not supported (supported: ${SUPPORTED})`,
    );
  }
  fails(
    file({ t: { dtype: 'F7', shape: [0], data_offsets: [0, 0] } }),
    `tensor 't': unknown dtype 'F7' (supported: ${SUPPORTED})`,
  );
});

test('a header length past the end of the file says how much room there was', () => {
  const bytes = file({});
  new DataView(bytes.buffer).setBigUint64(0, 100n, true);
  fails(
    bytes,
    `header length 100 runs past the end of the file (${bytes.length} bytes leave at most ${bytes.length - 8} for the header; truncated, or not a safetensors file?)`,
  );
  // Exactly the file's remaining bytes is allowed.
  const exact = file({});
  assert.deepEqual(decodeSafetensors(exact).tensors, {});
});

test('an integer tensor value outside int32 is named with its index', () => {
  const data = new Uint8Array(new BigInt64Array([1n, 2147483648n]).buffer);
  fails(
    file({ t: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data),
    "tensor 't': I64 value 2147483648 at index 1 does not fit in int32 (tsgrad reads integer tensors as int32)",
  );
  const ok = new Uint8Array(new BigInt64Array([-2147483648n, 2147483647n]).buffer);
  const { tensors } = decodeSafetensors(file({ t: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, ok));
  assert.equal(tensors['t']!.dtype, 'int32');
  assert.deepEqual(Array.from(tensors['t']!.dataSync()), [-2147483648, 2147483647]);
});
