// The file-read errors every loader reports (src/io/read-file.ts), message by message, and the bytes a read
// returns; loadSafetensors names what it expected a directory to be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFileError, loadSafetensors, saveSafetensors, tensor } from '../../src/index.js';
import { bytesOf, readError, readFileBytes } from '../../src/io/read-file.js';
import { throwsExactly } from '../helpers/nn-fixtures.js';

/** An fs-style error: a message and a code. */
const fsError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

test('readError: one DataFileError naming the file per kind of fs failure', () => {
  const cases: [unknown, string | undefined, string][] = [
    [fsError('ENOENT', "ENOENT: no such file or directory, open 'x'"), undefined, 'data/x.bin: file not found'],
    [
      fsError('EISDIR', 'EISDIR: illegal operation on a directory'),
      undefined,
      'data/x.bin: is a directory, not a file',
    ],
    [fsError('EISDIR', 'EISDIR'), 'an IDX file', 'data/x.bin: is a directory, not an IDX file'],
    [
      fsError('EACCES', 'EACCES: permission denied'),
      undefined,
      'data/x.bin: permission denied: EACCES: permission denied',
    ],
    [
      fsError('EPERM', 'EPERM: operation not permitted'),
      undefined,
      'data/x.bin: permission denied: EPERM: operation not permitted',
    ],
    [fsError('EIO', 'EIO: i/o error, read'), undefined, 'data/x.bin: cannot read file: EIO: i/o error, read'],
    // Not an Error at all: its string form; no code.
    ['disk on fire', undefined, 'data/x.bin: cannot read file: disk on fire'],
    [null, undefined, 'data/x.bin: cannot read file: null'],
    [{ code: 'ENOENT' }, undefined, 'data/x.bin: file not found'],
  ];
  for (const [err, what, message] of cases) {
    const e = what === undefined ? readError('data/x.bin', err) : readError('data/x.bin', err, what);
    assert.ok(e instanceof DataFileError, message);
    assert.equal(e.message, message);
    assert.equal(e.file, 'data/x.bin');
  }
});

test('bytesOf views the Buffer’s own memory, offset and length included', () => {
  const backing = new ArrayBuffer(16);
  const buf = Buffer.from(backing, 4, 6);
  buf.set([1, 2, 3, 4, 5, 6]);
  const bytes = bytesOf(buf);
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(Array.from(bytes), [1, 2, 3, 4, 5, 6]);
  assert.equal(bytes.buffer, backing);
  assert.equal(bytes.byteOffset, 4);
  bytes[0] = 9;
  assert.equal(buf[0], 9, 'the same memory, not a copy');
});

test('readFileBytes: the file’s bytes, or the error naming the path and what was expected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-read-'));
  try {
    const path = join(dir, 'data.bin');
    writeFileSync(path, Uint8Array.from([7, 8, 9]));
    assert.deepEqual(Array.from(readFileBytes(path)), [7, 8, 9]);
    const missing = join(dir, 'missing.bin');
    throwsExactly(() => readFileBytes(missing), DataFileError, `${missing}: file not found`);
    throwsExactly(() => readFileBytes(dir), DataFileError, `${dir}: is a directory, not a file`);
    throwsExactly(() => readFileBytes(dir, 'a PNG image'), DataFileError, `${dir}: is a directory, not a PNG image`);
    // loadSafetensors says what it expected, and decoding errors name the file.
    throwsExactly(() => loadSafetensors(dir), DataFileError, `${dir}: is a directory, not a safetensors file`);
    const short = join(dir, 'short.safetensors');
    writeFileSync(short, Uint8Array.from([1, 2, 3]));
    assert.throws(
      () => loadSafetensors(short),
      (e: unknown) =>
        e instanceof DataFileError && e.file === short && e.message.startsWith(`${short}: truncated file`),
    );
    const ok = join(dir, 'ok.safetensors');
    saveSafetensors(ok, { w: tensor([1.5, -2]) }, { note: 'x' });
    const back = loadSafetensors(ok);
    assert.deepEqual(Array.from(back.tensors['w']!.dataSync()), [1.5, -2]);
    assert.deepEqual(back.metadata, { note: 'x' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
