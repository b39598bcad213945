/**
 * Mutation fuzzing of the ONNX reader: 100,000 corrupted versions of a small
 * model's bytes (flipped bits, overwritten bytes, truncations, removed and
 * duplicated ranges) must each either import or fail with a TsgradError
 * (DataFileError for a malformed file, UnsupportedError for an operator tsgrad
 * lacks): never another exception, a crash or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv2d, Flatten, Generator, Linear, MaxPool2d, ReLU, Sequential, TsgradError } from '../../src/index.js';
import { exportOnnxBytes, importOnnx } from '../../src/interop/index.js';
import { randn } from '../../src/tensor/creation.js';

const ITERATIONS = 100_000;

function mutate(src: Uint8Array, g: Generator): Uint8Array {
  const pick = (n: number) => Math.floor(g.uniform() * n);
  const bytes = Uint8Array.from(src);
  switch (pick(5)) {
    case 0: {
      for (let k = 1 + pick(4); k > 0; k--) bytes[pick(bytes.length)]! ^= 1 << pick(8);
      return bytes;
    }
    case 1: {
      for (let k = 1 + pick(4); k > 0; k--) bytes[pick(bytes.length)] = pick(256);
      return bytes;
    }
    case 2:
      return bytes.subarray(0, pick(bytes.length));
    case 3: {
      const a = pick(bytes.length);
      const b = Math.min(bytes.length, a + 1 + pick(16));
      return Uint8Array.from([...bytes.subarray(0, a), ...bytes.subarray(b)]);
    }
    default: {
      const a = pick(bytes.length);
      const b = Math.min(bytes.length, a + 1 + pick(16));
      return Uint8Array.from([...bytes.subarray(0, b), ...bytes.subarray(a)]);
    }
  }
}

test(`${ITERATIONS.toLocaleString('en-US')} mutated ONNX files: each imports or gives a TsgradError`, async () => {
  const net = new Sequential(new Conv2d(1, 2, 3), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(8, 3));
  const original = await exportOnnxBytes(net, randn([1, 1, 6, 6]));
  const g = new Generator(15);
  let imported = 0;
  const kinds = new Map<string, number>();
  for (let i = 0; i < ITERATIONS; i++) {
    const bytes = mutate(original, g);
    try {
      await importOnnx(bytes, { name: 'fuzz.onnx' });
      imported++;
    } catch (e) {
      if (!(e instanceof TsgradError)) {
        assert.fail(`mutation ${i} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
      assert.ok(e.message.includes('fuzz.onnx') || e.name === 'UnsupportedError', e.message);
      kinds.set(e.name, (kinds.get(e.name) ?? 0) + 1);
    }
  }
  // Both outcomes occur: the mutations are neither all harmless nor all fatal.
  assert.ok(imported > 0, 'no mutated file imported');
  assert.ok((kinds.get('DataFileError') ?? 0) > 0, 'no mutated file was rejected');
});
