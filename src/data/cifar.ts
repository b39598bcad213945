/**
 * CIFAR-10 in its "binary version" (cifar-10-binary.tar.gz). Each record is
 * 1 label byte then 3072 pixel bytes: the 32×32 red plane, then green, then
 * blue, each row-major, which is already the [channels, height, width]
 * layout of `ImageSet`, so records are copied without reordering.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, DataFileError } from '../core/errors.js';
import type { ImageSet } from './mnist.js';
import { readFileBytes } from '../io/read-file.js';

/**
 * The ten CIFAR-10 class names, indexed by label.
 * @example CIFAR10_CLASSES[3]; // 'cat'
 */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

const SIDE = 32;
const PIXELS = 3 * SIDE * SIDE;
const RECORD = 1 + PIXELS;
const TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
];
const TEST_FILES = ['test_batch.bin'];
const META_FILE = 'batches.meta.txt';
const SUBDIR = 'cifar-10-batches-bin';

/** Number of records in a batch file of `size` bytes; throws unless it is a positive whole number. */
function recordCount(size: number, path: string): number {
  if (size === 0) {
    throw new DataFileError(
      path,
      `empty file: a CIFAR-10 batch holds ${RECORD}-byte records (1 label + ${PIXELS} pixels)`,
    );
  }
  if (size % RECORD !== 0) {
    throw new DataFileError(
      path,
      `size ${size} bytes is not a multiple of the ${RECORD}-byte CIFAR-10 record (1 label byte + ${PIXELS} pixel bytes): ` +
        `${Math.floor(size / RECORD)} whole record(s) and ${size % RECORD} stray byte(s); truncated, or not a CIFAR-10 binary batch?`,
    );
  }
  return size / RECORD;
}

/** Copies the records of one batch into `images`/`labels` starting at record `first`. */
function parseBatchInto(bytes: Uint8Array, path: string, images: Uint8Array, labels: Uint8Array, first: number): void {
  const count = bytes.length / RECORD;
  for (let r = 0; r < count; r++) {
    const at = r * RECORD;
    const label = bytes[at]!;
    if (label >= CIFAR10_CLASSES.length) {
      throw new DataFileError(path, `label ${label} in record ${r} is out of range (expected 0..9)`);
    }
    labels[first + r] = label;
    images.set(bytes.subarray(at + 1, at + RECORD), (first + r) * PIXELS);
  }
}

/**
 * Reads one CIFAR-10 binary batch (`data_batch_N.bin` or `test_batch.bin`,
 * 10000 records each) into a 3×32×32 `ImageSet` labelled with
 * `CIFAR10_CLASSES`. A missing or empty file, a size that is not a multiple
 * of 3073 bytes, or a label above 9 is a `DataFileError` naming the file.
 * @example
 * const batch = readCifar10Batch('cifar-10-batches-bin/test_batch.bin');
 * batch.count; // 10000
 * batch.classes[batch.labels[0]]; // 'cat'
 */
export function readCifar10Batch(path: string): ImageSet {
  const bytes = readFileBytes(path);
  const count = recordCount(bytes.length, path);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  parseBatchInto(bytes, path, images, labels, 0);
  return { images, labels, count, channels: 3, height: SIDE, width: SIDE, classes: [...CIFAR10_CLASSES] };
}

function fileSize(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readClassNames(path: string): string[] {
  const names = new TextDecoder()
    .decode(readFileBytes(path))
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== ''); // the official file ends with blank lines
  if (names.length !== CIFAR10_CLASSES.length) {
    throw new DataFileError(path, `lists ${names.length} class name(s), expected 10 (one per line)`);
  }
  return names;
}

/**
 * Loads one CIFAR-10 split from `dir` or, failing that, from
 * `dir/cifar-10-batches-bin` (where the official archive extracts).
 *
 * - `'train'`: the records of `data_batch_1.bin` … `data_batch_5.bin`
 *   concatenated in that order. Whichever of the five exist are used (at
 *   least one), so a subset of batches works for quick experiments; the
 *   full set gives 50000 images.
 * - `'test'`: `test_batch.bin`, 10000 images.
 *
 * Class names come from `batches.meta.txt` next to the batches when present
 * (one per line, blank lines ignored, exactly 10 required), else
 * `CIFAR10_CLASSES`. When no batch file of the split is found the
 * `DataFileError` names `dir`, lists the expected files and says where to
 * get the data set, which is not bundled with tsgrad.
 * @example
 * const train = loadCifar10(process.env.TSGRAD_CIFAR10 ?? 'data', 'train');
 * [train.count, train.channels, train.height, train.width]; // [50000, 3, 32, 32]
 */
export function loadCifar10(dir: string, split: 'train' | 'test'): ImageSet {
  if (split !== 'train' && split !== 'test') {
    throw new ArgumentError(`loadCifar10: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  }
  const names = split === 'train' ? TRAIN_FILES : TEST_FILES;
  let found: { dir: string; files: { path: string; size: number }[] } | undefined;
  for (const candidate of [dir, join(dir, SUBDIR)]) {
    const files = names
      .map((name) => ({ path: join(candidate, name), size: fileSize(join(candidate, name)) }))
      .filter((f): f is { path: string; size: number } => f.size !== undefined);
    if (files.length > 0) {
      found = { dir: candidate, files };
      break;
    }
  }
  if (found === undefined) {
    const expected = split === 'train' ? 'data_batch_1.bin … data_batch_5.bin' : 'test_batch.bin';
    throw new DataFileError(
      dir,
      `CIFAR-10 ${split} split not found: expected ${expected} in ${dir} or ${join(dir, SUBDIR)}` +
        (isDirectory(dir) ? '' : ' (the directory does not exist)') +
        '. The data set is not bundled with tsgrad: download the binary version (cifar-10-binary.tar.gz) from ' +
        'https://www.cs.toronto.edu/~kriz/cifar.html, extract it, and point TSGRAD_CIFAR10 or --data-dir ' +
        `at the folder holding ${SUBDIR}/.`,
    );
  }
  // Sizes first, so the output is allocated once instead of concatenating per-batch copies.
  const counts = found.files.map((f) => recordCount(f.size, f.path));
  const count = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let first = 0;
  found.files.forEach((f, i) => {
    const bytes = readFileBytes(f.path);
    if (bytes.length !== f.size) {
      throw new DataFileError(f.path, `file changed while loading: ${f.size} bytes at first, ${bytes.length} now`);
    }
    parseBatchInto(bytes, f.path, images, labels, first);
    first += counts[i]!;
  });
  const meta = join(found.dir, META_FILE);
  const classes = fileSize(meta) !== undefined ? readClassNames(meta) : [...CIFAR10_CLASSES];
  return { images, labels, count, channels: 3, height: SIDE, width: SIDE, classes };
}
