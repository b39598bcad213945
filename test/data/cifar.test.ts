import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArgumentError, DataFileError } from '../../src/core/errors.js';
import { CIFAR10_CLASSES, loadCifar10, readCifar10Batch } from '../../src/data/cifar.js';

/** A distinct byte for every (record tag, channel, y, x), so misplaced pixels show. */
function pixel(tag: number, c: number, y: number, x: number): number {
  return (tag * 31 + c * 85 + y * 7 + x * 3) % 256;
}

/** One CIFAR-10 record written by hand: label, then the R, G and B planes, each row-major 32×32. */
function record(label: number, tag: number): number[] {
  const out = [label];
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out.push(pixel(tag, c, y, x));
  return out;
}

function batch(records: [label: number, tag: number][]): Uint8Array {
  return Uint8Array.from(records.flatMap(([label, tag]) => record(label, tag)));
}

/** Checks that image `i` of `images` is the record with `tag`, in [C, H, W] order. */
function assertImage(images: Uint8Array, i: number, tag: number): void {
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const got = images[i * 3072 + c * 1024 + y * 32 + x];
        if (got !== pixel(tag, c, y, x))
          assert.fail(`image ${i} (c=${c}, y=${y}, x=${x}): ${got} ≠ ${pixel(tag, c, y, x)}`);
      }
    }
  }
}

function expectDataFileError(fn: () => unknown, file: string, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataFileError, `expected DataFileError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.ok(err.message.startsWith(`${file}: `), `message should start with the file: ${err.message}`);
    for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
    return true;
  });
}

describe('CIFAR-10 binary batches', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tsgrad-cifar-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  test('CIFAR10_CLASSES', () => {
    assert.deepEqual(
      [...CIFAR10_CLASSES],
      ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    );
    assert.ok(Object.isFrozen(CIFAR10_CLASSES));
  });

  test('readCifar10Batch: labels and pixels land in [C, H, W] order', () => {
    const path = join(root, 'three.bin');
    writeFileSync(
      path,
      batch([
        [3, 1],
        [0, 2],
        [9, 3],
      ]),
    );
    const set = readCifar10Batch(path);
    assert.equal(set.count, 3);
    assert.equal(set.channels, 3);
    assert.equal(set.height, 32);
    assert.equal(set.width, 32);
    assert.equal(set.images.length, 3 * 3072);
    assert.deepEqual(Array.from(set.labels), [3, 0, 9]);
    assert.deepEqual(set.classes, [...CIFAR10_CLASSES]);
    for (let i = 0; i < 3; i++) assertImage(set.images, i, i + 1);
    // Spot checks written out: record 0, green plane (c=1), y=2, x=5 = (31 + 85 + 14 + 15) % 256
    assert.equal(set.images[1024 + 2 * 32 + 5], 145);
    set.classes[0] = 'changed';
    assert.equal(CIFAR10_CLASSES[0], 'airplane', 'classes must be a copy');
  });

  test('readCifar10Batch errors name the file', () => {
    const missing = join(root, 'missing.bin');
    expectDataFileError(() => readCifar10Batch(missing), missing, 'file not found');
    const empty = join(root, 'empty.bin');
    writeFileSync(empty, new Uint8Array(0));
    expectDataFileError(() => readCifar10Batch(empty), empty, 'empty file', '3073-byte records');
    const ragged = join(root, 'ragged.bin');
    writeFileSync(
      ragged,
      Uint8Array.from([
        ...batch([
          [1, 1],
          [2, 2],
        ]),
        1,
        2,
        3,
        4,
        5,
      ]),
    );
    expectDataFileError(
      () => readCifar10Batch(ragged),
      ragged,
      'size 6151 bytes is not a multiple of the 3073-byte CIFAR-10 record',
      '2 whole record(s) and 5 stray byte(s)',
    );
    const badLabel = join(root, 'bad-label.bin');
    writeFileSync(
      badLabel,
      batch([
        [1, 1],
        [10, 2],
        [2, 3],
      ]),
    );
    expectDataFileError(
      () => readCifar10Batch(badLabel),
      badLabel,
      'label 10 in record 1 is out of range (expected 0..9)',
    );
  });

  test('loadCifar10 train concatenates the batches present, in order, from cifar-10-batches-bin/', () => {
    const dir = join(root, 'train-set');
    const sub = join(dir, 'cifar-10-batches-bin');
    mkdirSync(sub, { recursive: true });
    // data_batch_2 is absent on purpose; 4 before 1 on disk must not change the order
    writeFileSync(join(sub, 'data_batch_4.bin'), batch([[7, 40]]));
    writeFileSync(
      join(sub, 'data_batch_1.bin'),
      batch([
        [5, 10],
        [6, 11],
      ]),
    );
    writeFileSync(join(sub, 'test_batch.bin'), batch([[0, 99]]));
    writeFileSync(join(sub, 'batches.meta.txt'), 'a\nb\r\nc\nd\ne\nf\ng\nh\ni\nj\n\n\n');
    const set = loadCifar10(dir, 'train');
    assert.equal(set.count, 3);
    assert.deepEqual(Array.from(set.labels), [5, 6, 7]);
    assertImage(set.images, 0, 10);
    assertImage(set.images, 1, 11);
    assertImage(set.images, 2, 40);
    assert.deepEqual(set.classes, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
    const testSet = loadCifar10(dir, 'test');
    assert.equal(testSet.count, 1);
    assertImage(testSet.images, 0, 99);
    // the same folder given directly works too
    assert.deepEqual(Array.from(loadCifar10(sub, 'train').labels), [5, 6, 7]);
  });

  test('loadCifar10 test from the directory itself; default class names without batches.meta.txt', () => {
    const dir = join(root, 'flat');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'test_batch.bin'),
      batch([
        [8, 1],
        [2, 2],
      ]),
    );
    const set = loadCifar10(dir, 'test');
    assert.deepEqual(Array.from(set.labels), [8, 2]);
    assert.deepEqual(set.classes, [...CIFAR10_CLASSES]);
    assertImage(set.images, 1, 2);
  });

  test('loadCifar10 when nothing is found says what to get and where to put it', () => {
    const nowhere = join(root, 'no-such-dir');
    expectDataFileError(
      () => loadCifar10(nowhere, 'train'),
      nowhere,
      'CIFAR-10 train split not found',
      'data_batch_1.bin',
      'data_batch_5.bin',
      join(nowhere, 'cifar-10-batches-bin'),
      'does not exist',
      'not bundled',
      'TSGRAD_CIFAR10',
      '--data-dir',
    );
    const trainOnly = join(root, 'train-only');
    mkdirSync(trainOnly);
    writeFileSync(join(trainOnly, 'data_batch_1.bin'), batch([[1, 1]]));
    expectDataFileError(() => loadCifar10(trainOnly, 'test'), trainOnly, 'test split not found', 'test_batch.bin');
  });

  test('loadCifar10 errors name the bad batch or meta file; bad split is an ArgumentError', () => {
    const dir = join(root, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'data_batch_1.bin'), batch([[1, 1]]));
    writeFileSync(
      join(dir, 'data_batch_2.bin'),
      batch([
        [1, 2],
        [12, 3],
      ]),
    );
    const second = join(dir, 'data_batch_2.bin');
    expectDataFileError(() => loadCifar10(dir, 'train'), second, 'label 12 in record 1');
    writeFileSync(second, new Uint8Array(100));
    expectDataFileError(() => loadCifar10(dir, 'train'), second, 'not a multiple of the 3073-byte');
    writeFileSync(second, batch([[4, 4]]));
    const meta = join(dir, 'batches.meta.txt');
    writeFileSync(meta, 'only\nnine\nnames\nin\nthis\nmeta\nfile\nfor\nyou\n');
    expectDataFileError(() => loadCifar10(dir, 'train'), meta, 'lists 9 class name(s), expected 10');
    rmSync(meta);
    assert.deepEqual(Array.from(loadCifar10(dir, 'train').labels), [1, 4]);
    assert.throws(() => loadCifar10(dir, 'val' as 'test'), ArgumentError);
  });
});
