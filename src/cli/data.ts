import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCifar10 } from '../data/cifar.js';
import { type ImageFolderSet, loadImageFolder } from '../data/image-folder.js';
import { type ImageSet, loadFashionMnist, loadMnistPackage } from '../data/mnist.js';
import { UsageError } from './args.js';

export const DATASETS = ['mnist', 'fashion-mnist', 'cifar10'] as const;

export interface LoadedData {
  name: string;
  train: ImageSet;
  test: ImageSet;
}

/** Every `every`-th image goes to the second set: a deterministic split for folders without train/test. */
function splitSet(set: ImageSet, every: number): [ImageSet, ImageSet] {
  const plane = set.channels * set.height * set.width;
  const pick = (keep: (i: number) => boolean): ImageSet => {
    const idx = Array.from({ length: set.count }, (_, i) => i).filter(keep);
    const images = new Uint8Array(idx.length * plane);
    const labels = new Uint8Array(idx.length);
    idx.forEach((i, j) => {
      images.set(set.images.subarray(i * plane, (i + 1) * plane), j * plane);
      labels[j] = set.labels[i]!;
    });
    return { ...set, images, labels, count: idx.length };
  };
  return [pick((i) => i % every !== every - 1), pick((i) => i % every === every - 1)];
}

/** Folders whose skipped files were already reported (train loads its data twice). */
const reported = new Set<string>();

/** A folder's images, refused when there is one class only; skipped files reported once on stderr. */
function loadFolder(dir: string, opts: { channels?: 1 | 3; size?: [number, number] }): ImageFolderSet {
  const set = loadImageFolder(dir, opts);
  if (set.classes.length < 2) {
    throw new UsageError(
      `${dir} has one class folder ('${set.classes[0]}'); a classifier needs at least two (one sub-folder per class)`,
    );
  }
  if (set.skipped.length && !reported.has(dir)) {
    reported.add(dir);
    const names = set.skipped.slice(0, 5).map((f) => f.path);
    const more = set.skipped.length > 5 ? `, and ${set.skipped.length - 5} more` : '';
    console.error(
      `note: ${dir}: skipped ${set.skipped.length} file${set.skipped.length > 1 ? 's' : ''} that ${set.skipped.length > 1 ? 'are' : 'is'} not PNG or JPEG images (by name): ${names.join(', ')}${more}`,
    );
  }
  return set;
}

/**
 * Loads a dataset by name — mnist (the digits bundled with the `mnist`
 * package), fashion-mnist, cifar10 — or from a folder of PNG / JPEG images with one
 * sub-folder per class (train/ and test/ sub-folders are used when present;
 * otherwise every 5th image is held out for testing). Folder images are
 * resized to `size`×`size` when it is given.
 */
export function loadDataset(name: string, dataDir?: string, channels?: 1 | 3, size?: number): LoadedData {
  switch (name) {
    case 'mnist':
      return { name, ...loadMnistPackage() };
    case 'fashion-mnist':
      return { name, train: loadFashionMnist('train', dataDir), test: loadFashionMnist('test', dataDir) };
    case 'cifar10': {
      const dir = dataDir ?? process.env['TSGRAD_CIFAR10'] ?? 'data';
      return { name, train: loadCifar10(dir, 'train'), test: loadCifar10(dir, 'test') };
    }
  }
  if (existsSync(name) && statSync(name).isDirectory()) {
    const opts = { ...(channels ? { channels } : {}), ...(size ? { size: [size, size] as [number, number] } : {}) };
    if (existsSync(join(name, 'train')) && existsSync(join(name, 'test'))) {
      return {
        name,
        train: loadFolder(join(name, 'train'), opts),
        test: loadFolder(join(name, 'test'), opts),
      };
    }
    const [train, test] = splitSet(loadFolder(name, opts), 5);
    return { name, train, test };
  }
  if (existsSync(name))
    throw new UsageError(`--dataset ${name}: is a file; give a folder with one sub-folder per class`);
  if (/[/\\.]/.test(name)) {
    throw new UsageError(`--dataset ${name}: the folder does not exist (looked for ${resolve(name)})`);
  }
  throw new UsageError(
    `unknown dataset '${name}': use ${DATASETS.join(', ')} or a folder of PNG / JPEG images (one sub-folder per class); there is no folder '${name}' here either`,
  );
}

/** Per-channel mean and standard deviation of the training images, in [0, 1] units. */
export function channelStats(set: ImageSet): { mean: number[]; std: number[] } {
  const plane = set.height * set.width;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < set.channels; c++) {
    let s = 0;
    let s2 = 0;
    for (let n = 0; n < set.count; n++) {
      const off = (n * set.channels + c) * plane;
      for (let i = 0; i < plane; i++) {
        const v = set.images[off + i]! / 255;
        s += v;
        s2 += v * v;
      }
    }
    const count = set.count * plane;
    const m = s / count;
    mean.push(m);
    std.push(Math.sqrt(Math.max(s2 / count - m * m, 1e-12)));
  }
  return { mean, std };
}
