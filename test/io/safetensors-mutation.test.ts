/**
 * safetensors cases io/safetensors.ts's mutation run showed untested: the decoded records are plain objects
 * a caller may edit (replace or drop a tensor before loading it), a header length just one byte too long is
 * refused, and the bounds of how a bad value is quoted in a message (arrays cut at 60 characters of JSON,
 * strings at 40 characters).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataFileError } from '../../src/core/errors.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { tensor } from '../../src/tensor/creation.js';
import { values } from '../helpers/nn-fixtures.js';

/** A file from a header object and no data; `extraLength` is added to the header length it declares. */
function file(header: unknown, extraLength = 0): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length + extraLength), true);
  out.set(text, 8);
  return out;
}

function fails(bytes: Uint8Array, message: string): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'x.safetensors'),
    (e: unknown) => e instanceof DataFileError && e.message === `x.safetensors: ${message}`,
    message,
  );
}

test('decoded tensors and metadata are plain records: entries can be replaced and deleted', () => {
  const bytes = encodeSafetensors({ head: tensor([1, 2]), body: tensor([3]) }, { epoch: '3' });
  const { tensors, metadata } = decodeSafetensors(bytes);
  // ES modules run in strict mode, where writing a read-only or deleting a non-configurable property throws.
  tensors['head'] = tensor([9, 9]);
  assert.deepEqual(values(tensors['head']), [9, 9]);
  delete tensors['body'];
  assert.deepEqual(Object.keys(tensors), ['head']);
  metadata['epoch'] = '4';
  delete metadata['epoch'];
  assert.deepEqual(metadata, {});
});

test('a declared header length even one byte past the end of the file is refused', () => {
  for (const extra of [1, 8]) {
    const bytes = file({ __metadata__: { k: 'v' } }, extra);
    fails(
      bytes,
      `header length ${bytes.length - 8 + extra} runs past the end of the file (${bytes.length} bytes leave at most ` +
        `${bytes.length - 8} for the header; truncated, or not a safetensors file?)`,
    );
  }
  // Exactly the room there is: a file with no tensors.
  assert.deepEqual(decodeSafetensors(file({ __metadata__: { k: 'v' } })).metadata, { k: 'v' });
});

test('a bad value is quoted up to 60 characters of JSON for an array and 40 characters for a string', () => {
  const must = "tensor 't': header entry must be an object with dtype, shape and data_offsets, got";
  const long = Array.from({ length: 30 }, (_, i) => i);
  const json = JSON.stringify(long);
  assert.ok(json.length > 60);
  fails(file({ t: long }), `${must} an array (${json.slice(0, 60)})`);
  const forty = 'y'.repeat(40);
  fails(file({ t: forty }), `${must} the string "${forty}"`);
  fails(file({ t: `${forty}z` }), `${must} the string "${forty}…"`);
});
