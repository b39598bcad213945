import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/io/atomic.js';
import { expectDataFileError } from '../helpers/assert.js';
import { skipUnlessRequired } from '../helpers/require.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('writeFileAtomic / writeJsonAtomic', () => {
  let root = '';
  let n = 0;
  /** A fresh empty directory per test, so "no stray files" can be checked by listing it. */
  const freshDir = (): string => {
    const d = join(root, `case-${n++}`);
    mkdirSync(d);
    return d;
  };
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tsgrad-atomic-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  test('writes a string as UTF-8 and leaves no temp file', () => {
    const dir = freshDir();
    const path = join(dir, 'out.txt');
    writeFileAtomic(path, 'héllo ✓\n');
    assert.equal(readFileSync(path, 'utf8'), 'héllo ✓\n');
    assert.deepEqual(readdirSync(dir), ['out.txt']);
  });

  test('writes bytes exactly, including an empty file and a subarray view', () => {
    const dir = freshDir();
    const path = join(dir, 'out.bin');
    const big = new Uint8Array(300_000).map((_, i) => (i * 31) % 256);
    writeFileAtomic(path, big);
    assert.deepEqual(new Uint8Array(readFileSync(path)), big);
    writeFileAtomic(path, big.subarray(5, 12));
    assert.deepEqual(Array.from(readFileSync(path)), Array.from(big.subarray(5, 12)));
    writeFileAtomic(path, new Uint8Array(0));
    assert.equal(readFileSync(path).length, 0);
    assert.deepEqual(readdirSync(dir), ['out.bin']);
  });

  test('replaces an existing file and keeps its permission bits', () => {
    const dir = freshDir();
    const path = join(dir, 'keep-mode.txt');
    writeFileSync(path, 'old contents that are longer than the new ones');
    chmodSync(path, 0o640);
    writeFileAtomic(path, 'new');
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(dir), ['keep-mode.txt']);
  });

  test('writeJsonAtomic writes 2-space JSON with a trailing newline', () => {
    const dir = freshDir();
    const path = join(dir, 'v.json');
    const value = { epoch: 3, loss: [0.5, 0.25], name: 'lenet' };
    writeJsonAtomic(path, value);
    assert.equal(readFileSync(path, 'utf8'), JSON.stringify(value, null, 2) + '\n');
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), value);
    assert.deepEqual(readdirSync(dir), ['v.json']);
  });

  test('a missing parent directory is a DataFileError naming the target', () => {
    const dir = freshDir();
    const path = join(dir, 'no', 'such', 'dir', 'out.json');
    expectDataFileError(() => writeFileAtomic(path, 'x'), path, 'cannot write file', 'does not exist');
    expectDataFileError(() => writeJsonAtomic(path, { a: 1 }), path, 'does not exist');
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a directory in the way fails, leaves the directory alone and removes the temp file', () => {
    const dir = freshDir();
    const path = join(dir, 'taken');
    mkdirSync(path);
    writeFileSync(join(path, 'inside.txt'), 'keep me');
    expectDataFileError(() => writeFileAtomic(path, 'x'), path, 'cannot write file', 'the target is a directory');
    assert.deepEqual(readdirSync(dir), ['taken']);
    assert.equal(readFileSync(join(path, 'inside.txt'), 'utf8'), 'keep me');
  });

  test('a failure after the temp file exists leaves the previous file intact and no temp file', () => {
    const dir = freshDir();
    const path = join(dir, 'checkpoint.json');
    writeJsonAtomic(path, { epoch: 1 });
    const before = readFileSync(path, 'utf8');
    // Not a string or bytes: fails inside the write, as a full disk would.
    expectDataFileError(() => writeFileAtomic(path, 42 as unknown as string), path, 'must be a string or a Uint8Array');
    assert.throws(
      () => writeFileAtomic(path, 42 as unknown as string),
      (e: unknown) =>
        e instanceof Error &&
        e.message === `${path}: cannot write file: data must be a string or a Uint8Array, got number`,
    );
    assert.equal(readFileSync(path, 'utf8'), before);
    assert.deepEqual(readdirSync(dir), ['checkpoint.json']);
  });

  test('writeJsonAtomic on a value JSON cannot represent touches nothing', () => {
    const dir = freshDir();
    const path = join(dir, 'state.json');
    writeJsonAtomic(path, { ok: true });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectDataFileError(() => writeJsonAtomic(path, cyclic), path, 'not JSON-serializable');
    expectDataFileError(() => writeJsonAtomic(path, undefined), path, 'no JSON representation');
    expectDataFileError(() => writeJsonAtomic(path, { n: 1n }), path, 'not JSON-serializable');
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { ok: true });
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  test(
    'a read-only directory fails with permission denied and keeps the previous file',
    { skip: skipUnlessRequired('permissions', isRoot && 'root ignores directory permissions') },
    () => {
      const dir = freshDir();
      const path = join(dir, 'model.bin');
      writeFileAtomic(path, new Uint8Array([1, 2, 3]));
      chmodSync(dir, 0o555);
      try {
        expectDataFileError(() => writeFileAtomic(path, new Uint8Array([9, 9])), path, 'permission denied');
        assert.deepEqual(Array.from(readFileSync(path)), [1, 2, 3]);
        assert.deepEqual(readdirSync(dir), ['model.bin']);
      } finally {
        chmodSync(dir, 0o755);
      }
    },
  );

  test('repeated writes leave only the target, with the last contents', () => {
    const dir = freshDir();
    const path = join(dir, 'many.txt');
    for (let i = 0; i < 20; i++) writeFileAtomic(path, `v${i}`);
    assert.equal(readFileSync(path, 'utf8'), 'v19');
    assert.deepEqual(readdirSync(dir), ['many.txt']);
  });
});
