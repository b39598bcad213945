/**
 * torchvision-style `ImageFolder` for PNG files: `root/<class>/<image>.png`,
 * loaded into one `ImageSet` of equally sized planar images.
 */
import { closeSync, openSync, readdirSync, readSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, DataFileError } from '../core/errors.js';
import type { ImageSet } from './mnist.js';
import { decodePngHeader, readPngFile } from './png.js';

/** Bytes up to the end of the IHDR chunk: all `decodePngHeader` needs. */
const HEADER_BYTES = 33;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function listDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ENOENT') throw new DataFileError(dir, 'directory not found');
    if (code === 'ENOTDIR') throw new DataFileError(dir, 'not a directory');
    throw new DataFileError(dir, `cannot list directory: ${errorMessage(err)}`);
  }
}

/** Follows symbolic links, as torchvision does, so linked class folders and images count. */
function kind(dir: string, entry: Dirent): 'dir' | 'file' | 'other' {
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return 'other';
  try {
    const st = statSync(join(dir, entry.name));
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'other';
  }
}

/** Code-unit order, i.e. Python's `sorted()` on these names; never locale-dependent. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function readHeader(path: string): ReturnType<typeof decodePngHeader> {
  const head = new Uint8Array(HEADER_BYTES);
  let n: number;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    n = readSync(fd, head, 0, HEADER_BYTES, 0);
  } catch (err) {
    throw new DataFileError(path, `cannot read file: ${errorMessage(err)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return decodePngHeader(head.subarray(0, n), path);
}

function checkOptions(opts: { channels?: 1 | 3; size?: [number, number] }): void {
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw new ArgumentError(`loadImageFolder: channels must be 1 or 3, got ${String(opts.channels)}`);
  }
  if (opts.size !== undefined) {
    const s = opts.size;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new ArgumentError(`loadImageFolder: size must be [height, width] of positive integers, got ${String(s)}`);
    }
  }
}

/**
 * Loads a folder with one sub-folder per class, like torchvision's
 * `ImageFolder`: class names sorted by code unit are labels 0, 1, …; each
 * class contributes every `*.png` (any case) directly inside its folder,
 * sorted by file name, so the order is deterministic. Nested folders and
 * folders whose name starts with '.' (e.g. `.ipynb_checkpoints`) are skipped;
 * other files are ignored.
 *
 * - `channels`: default 1 when every PNG is gray or gray+alpha by its IHDR
 *   color type, else 3 (palette images count as color). See `toChw` for the
 *   conversions; alpha is dropped.
 * - `size` = [height, width]: default the first image's (first class, first
 *   file); images of another size are resized bilinearly.
 *
 * Errors (`DataFileError`): the directory is missing, it has no class
 * sub-folders, a class folder has no PNG (named), more than 256 classes
 * (labels are bytes), or a PNG is corrupt (named by `decodePng`).
 * @example
 * // pets/cat/1.png, pets/cat/2.png, pets/dog/1.png
 * const set = loadImageFolder('pets', { channels: 3, size: [64, 64] });
 * set.classes; // ['cat', 'dog']
 * set.labels; // Uint8Array [0, 0, 1]
 */
export function loadImageFolder(dir: string, opts: { channels?: 1 | 3; size?: [number, number] } = {}): ImageSet {
  checkOptions(opts);
  const classes = listDir(dir)
    .filter((e) => !e.name.startsWith('.') && kind(dir, e) === 'dir')
    .map((e) => e.name)
    .sort(byName);
  if (classes.length === 0) {
    throw new DataFileError(
      dir,
      'no class sub-folders: expected one folder per class holding its PNG images (e.g. cat/1.png, dog/1.png)',
    );
  }
  if (classes.length > 256) {
    throw new DataFileError(dir, `${classes.length} class folders, at most 256 are supported (labels are bytes)`);
  }
  const files: { path: string; label: number }[] = [];
  classes.forEach((name, label) => {
    const classDir = join(dir, name);
    const pngs = listDir(classDir)
      .filter((e) => /\.png$/i.test(e.name) && kind(classDir, e) === 'file')
      .map((e) => e.name)
      .sort(byName);
    if (pngs.length === 0) throw new DataFileError(classDir, `class folder '${name}' holds no .png files`);
    for (const png of pngs) files.push({ path: join(classDir, png), label });
  });

  let channels = opts.channels;
  let size = opts.size;
  if (size === undefined) {
    const first = readHeader(files[0]!.path);
    size = [first.height, first.width];
  }
  if (channels === undefined) {
    // Headers only: a full decode here would hold every image in memory or decode each twice.
    const gray = files.every((f) => {
      const colorType = readHeader(f.path).colorType;
      return colorType === 0 || colorType === 4;
    });
    channels = gray ? 1 : 3;
  }
  const [height, width] = size;
  const ch = channels;
  const per = ch * height * width;
  const images = new Uint8Array(files.length * per);
  const labels = new Uint8Array(files.length);
  files.forEach((f, i) => {
    images.set(readPngFile(f.path, { channels: ch, size: [height, width] }), i * per);
    labels[i] = f.label;
  });
  return { images, labels, count: files.length, channels: ch, height, width, classes };
}
