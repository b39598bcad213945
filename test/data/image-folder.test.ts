import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArgumentError, DataFileError } from '../../src/core/errors.js';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { encodePng } from '../../src/data/png.js';
import jpeg from 'jpeg-js';

function writeGray(path: string, width: number, height: number, values: number[]): void {
  writeFileSync(path, encodePng(width, height, 1, Uint8Array.from(values)));
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

describe('loadImageFolder', () => {
  let root = '';
  let n = 0;
  /** A fresh folder with the given class sub-folders. */
  function makeRoot(...classes: string[]): string {
    const dir = join(root, `set${n++}`);
    mkdirSync(dir);
    for (const c of classes) mkdirSync(join(dir, c));
    return dir;
  }

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tsgrad-imgfolder-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  test('classes sorted, files sorted by name, gray images give one channel', () => {
    // created out of order on purpose
    const dir = makeRoot('dog', 'bird', 'cat', '.ipynb_checkpoints');
    writeGray(join(dir, 'dog', 'b.png'), 2, 1, [1, 2]);
    writeGray(join(dir, 'dog', 'a.png'), 2, 1, [3, 4]);
    writeGray(join(dir, 'dog', '9.png'), 2, 1, [5, 6]);
    writeGray(join(dir, 'dog', '10.png'), 2, 1, [7, 8]);
    writeGray(join(dir, 'bird', 'Z.PNG'), 2, 1, [9, 10]);
    writeGray(join(dir, 'cat', 'x.png'), 2, 1, [11, 12]);
    writeFileSync(join(dir, 'cat', 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'cat', 'x.png.bak'), 'not an image either');
    mkdirSync(join(dir, 'cat', 'nested'));
    writeGray(join(dir, 'cat', 'nested', 'skipped.png'), 2, 1, [0, 0]);
    writeGray(join(dir, '.ipynb_checkpoints', 'skipped.png'), 2, 1, [0, 0]);
    writeGray(join(dir, 'stray.png'), 2, 1, [0, 0]);

    const set = loadImageFolder(dir);
    assert.deepEqual(set.classes, ['bird', 'cat', 'dog']);
    assert.equal(set.count, 6);
    assert.equal(set.channels, 1);
    assert.equal(set.height, 1);
    assert.equal(set.width, 2);
    assert.deepEqual(Array.from(set.labels), [0, 1, 2, 2, 2, 2]);
    // dog in code-unit order: 10.png, 9.png, a.png, b.png
    assert.deepEqual(Array.from(set.images), [9, 10, 11, 12, 7, 8, 5, 6, 3, 4, 1, 2]);
  });

  test('one color image makes the set RGB; gray is replicated, alpha dropped', () => {
    const dir = makeRoot('a', 'b');
    writeGray(join(dir, 'a', '1.png'), 1, 2, [50, 60]);
    writeFileSync(join(dir, 'b', '1.png'), encodePng(1, 2, 4, Uint8Array.of(10, 20, 30, 0, 40, 50, 60, 255)));
    const set = loadImageFolder(dir);
    assert.equal(set.channels, 3);
    assert.deepEqual([set.height, set.width], [2, 1]);
    assert.deepEqual(Array.from(set.images), [50, 60, 50, 60, 50, 60, 10, 40, 20, 50, 30, 60]);
    // forcing one channel uses luma: (299·10 + 587·20 + 114·30)/1000 = 18.15 → 18, (299·40 + 587·50 + 114·60)/1000 = 48.15 → 48
    assert.deepEqual(Array.from(loadImageFolder(dir, { channels: 1 }).images), [50, 60, 18, 48]);
  });

  test('size defaults to the first image; others are resized bilinearly', () => {
    const dir = makeRoot('big', 'alpha');
    // 'alpha' sorts first, so its 2×2 image sets the size
    writeGray(join(dir, 'alpha', 'first.png'), 2, 2, [0, 100, 200, 40]);
    // 4×4 → 2×2 averages 2×2 blocks: (1+10+40+50)/4 = 25.25 → 25, 45, 105, (100+110+140+151)/4 = 125.25 → 125
    writeGray(join(dir, 'big', 'x.png'), 4, 4, [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 151]);
    const set = loadImageFolder(dir);
    assert.deepEqual(set.classes, ['alpha', 'big']);
    assert.deepEqual([set.channels, set.height, set.width], [1, 2, 2]);
    assert.deepEqual(Array.from(set.images), [0, 100, 200, 40, 25, 45, 105, 125]);

    // explicit size: the 2×2 image upsamples as in PyTorch's bilinear, align_corners=False (see png.test.ts)
    const up = loadImageFolder(dir, { size: [4, 4], channels: 3 });
    assert.deepEqual([up.count, up.channels, up.height, up.width], [2, 3, 4, 4]);
    const plane = [0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55, 200, 160, 80, 40];
    assert.deepEqual(Array.from(up.images.subarray(0, 48)), [...plane, ...plane, ...plane]);
    assert.deepEqual(
      Array.from(up.images.subarray(48, 64)),
      [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 151],
    );
  });

  test('errors name the directory, the empty class folder or the corrupt file', () => {
    const missing = join(root, 'does-not-exist');
    expectDataFileError(() => loadImageFolder(missing), missing, 'directory not found');

    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    expectDataFileError(() => loadImageFolder(file), file, 'not a directory');

    const flat = makeRoot();
    writeGray(join(flat, 'loose.png'), 1, 1, [0]);
    expectDataFileError(() => loadImageFolder(flat), flat, 'no class sub-folders');

    const withEmpty = makeRoot('full', 'empty');
    writeGray(join(withEmpty, 'full', '1.png'), 1, 1, [0]);
    writeFileSync(join(withEmpty, 'empty', 'readme.txt'), 'no images');
    expectDataFileError(
      () => loadImageFolder(withEmpty),
      join(withEmpty, 'empty'),
      "class folder 'empty' holds no .png or .jpg images (1 other file skipped)",
    );

    const junk = makeRoot('c');
    writeGray(join(junk, 'c', '1.png'), 1, 1, [0]);
    const notPng = join(junk, 'c', '2.png');
    writeFileSync(notPng, 'GIF89a, not a PNG');
    expectDataFileError(() => loadImageFolder(junk), notPng, 'bad signature');
    expectDataFileError(() => loadImageFolder(junk, { channels: 1, size: [1, 1] }), notPng, 'bad signature');

    // a valid header with damaged pixel data is caught by the full decode
    const damaged = makeRoot('c');
    const bytes = encodePng(3, 3, 1, new Uint8Array(9));
    bytes[bytes.length - 20] ^= 0xff; // inside the IDAT chunk
    const bad = join(damaged, 'c', 'bad.png');
    writeFileSync(bad, bytes);
    expectDataFileError(() => loadImageFolder(damaged), bad, 'CRC mismatch in IDAT');
  });

  test('files that are not PNG or JPEG are listed as skipped, with the reason', () => {
    const dir = makeRoot('a', 'b');
    writeGray(join(dir, 'a', '1.png'), 1, 1, [0]);
    writeGray(join(dir, 'b', '1.png'), 1, 1, [9]);
    writeFileSync(join(dir, 'a', 'notes.txt'), 'text');
    writeFileSync(join(dir, 'b', 'photo.gif'), 'GIF89a');
    writeFileSync(join(dir, 'b', '.DS_Store'), 'finder');
    const set = loadImageFolder(dir);
    assert.equal(set.count, 2);
    assert.deepEqual(
      set.skipped.map((f) => f.path),
      [join(dir, 'a', 'notes.txt'), join(dir, 'b', 'photo.gif')],
    );
    assert.ok(set.skipped.every((f) => f.reason.includes('not a PNG or JPEG')));
  });

  test('JPEG images load (jpeg-js), gray and color, resized like PNGs', () => {
    const dir = makeRoot('color', 'gray');
    // A 4x4 RGB gradient at quality 100: the decoder must return it within JPEG's rounding.
    const rgba = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) rgba.set([i * 16, 255 - i * 16, 128, 255], i * 4);
    writeFileSync(join(dir, 'color', 'x.jpg'), jpeg.encode({ width: 4, height: 4, data: rgba }, 100).data);
    writeGray(
      join(dir, 'gray', 'y.png'),
      4,
      4,
      Array.from({ length: 16 }, (_, i) => i * 16),
    );
    const set = loadImageFolder(dir);
    assert.equal(set.channels, 3);
    assert.deepEqual([set.height, set.width, set.count], [4, 4, 2]);
    const red = set.images.subarray(0, 16);
    const green = set.images.subarray(16, 32);
    for (let i = 0; i < 16; i++) {
      assert.ok(Math.abs(red[i]! - i * 16) <= 12, `red[${i}] = ${red[i]}, want about ${i * 16}`);
      assert.ok(Math.abs(green[i]! - (255 - i * 16)) <= 12, `green[${i}] = ${green[i]}`);
    }
    // a corrupt JPEG is named
    const bad = makeRoot('c');
    writeGray(join(bad, 'c', '1.png'), 1, 1, [0]);
    writeFileSync(join(bad, 'c', 'broken.jpeg'), Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0));
    expectDataFileError(() => loadImageFolder(bad), join(bad, 'c', 'broken.jpeg'), 'corrupt JPEG');
  });

  test('several corrupt files are all listed in one error', () => {
    const dir = makeRoot('a', 'b');
    writeGray(join(dir, 'a', 'good.png'), 1, 1, [0]);
    for (const f of [join(dir, 'a', 'bad1.png'), join(dir, 'b', 'bad2.png'), join(dir, 'b', 'bad3.jpg')])
      writeFileSync(f, 'garbage');
    expectDataFileError(
      () => loadImageFolder(dir),
      dir,
      '3 of 4 images cannot be read',
      join(dir, 'a', 'bad1.png'),
      join(dir, 'b', 'bad2.png'),
      join(dir, 'b', 'bad3.jpg'),
    );
    // also when the decode (not the header pass) finds them
    expectDataFileError(
      () => loadImageFolder(dir, { channels: 1, size: [1, 1] }),
      dir,
      '3 of 4 images cannot be read',
      'bad3.jpg',
    );
  });

  test('bad options are ArgumentErrors', () => {
    const dir = makeRoot('a');
    writeGray(join(dir, 'a', '1.png'), 1, 1, [0]);
    assert.throws(() => loadImageFolder(dir, { channels: 2 as 1 }), ArgumentError);
    assert.throws(() => loadImageFolder(dir, { size: [0, 4] }), ArgumentError);
    assert.throws(() => loadImageFolder(dir, { size: [4] as unknown as [number, number] }), ArgumentError);
  });
});
