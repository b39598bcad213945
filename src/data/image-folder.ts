/**
 * torchvision-style `ImageFolder` for PNG and JPEG files: `root/<class>/<image>.png`,
 * loaded into one `ImageSet` of equally sized planar images.
 */
import { closeSync, openSync, readdirSync, readSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, DataFileError } from '../core/errors.js';
import { readFileBytes } from '../io/read-file.js';
import { JPEG_NAME, decodeJpegHeader, readJpegFile } from './jpeg.js';
import type { ImageSet } from './mnist.js';
import { decodePngHeader, readPngFile } from './png.js';

const PNG_NAME = /\.png$/i;

/** A file in a class folder that loadImageFolder did not load, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

/** An image folder's contents, plus the files it skipped (not PNG or JPEG). */
export interface ImageFolderSet extends ImageSet {
  skipped: SkippedFile[];
}

/** How many bad files one error message lists before "and N more". */
const MAX_LISTED = 20;

/** Runs `read` on every file; if any fail with a DataFileError, throws one error that names them all. */
function readAll<T>(dir: string, files: readonly string[], read: (path: string) => T): T[] {
  const errors: DataFileError[] = [];
  const out: T[] = [];
  for (const f of files) {
    try {
      out.push(read(f));
    } catch (err) {
      if (!(err instanceof DataFileError)) throw err;
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) {
    const listed = errors.slice(0, MAX_LISTED).map((e) => `  ${e.message}`);
    if (errors.length > MAX_LISTED) listed.push(`  ... and ${errors.length - MAX_LISTED} more`);
    throw new DataFileError(dir, `${errors.length} of ${files.length} images cannot be read:\n${listed.join('\n')}`);
  }
  return out;
}

/** Size and gray-or-color of an image file, from its header only. */
function imageHeader(path: string): { height: number; width: number; gray: boolean } {
  if (JPEG_NAME.test(path)) {
    const h = decodeJpegHeader(readFileBytes(path), path);
    return { height: h.height, width: h.width, gray: h.components === 1 };
  }
  const h = readHeader(path);
  return { height: h.height, width: h.width, gray: h.colorType === 0 || h.colorType === 4 };
}

/** A PNG or JPEG file (by its name) as planar bytes, converted and resized as readPngFile does. */
export function readImageFile(path: string, opts: { channels: 1 | 3; size?: [number, number] }): Uint8Array {
  return JPEG_NAME.test(path) ? readJpegFile(path, opts) : readPngFile(path, opts);
}

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
 * class contributes every `*.png` and `*.jpg` / `*.jpeg` (any case; JPEG
 * decoded by the `jpeg-js` package) directly inside its folder, sorted by file
 * name, so the order is deterministic. Nested folders and names starting with
 * '.' (e.g. `.ipynb_checkpoints`, `.DS_Store`) are passed over; other files
 * are listed in the result's `skipped`, with the reason.
 *
 * - `channels`: default 1 when every image is gray (PNG gray or gray+alpha by
 *   its IHDR color type, one-component JPEG), else 3 (palette images count as
 *   color). See `toChw` for the conversions; alpha is dropped.
 * - `size` = [height, width]: default the first image's (first class, first
 *   file); images of another size are resized bilinearly.
 *
 * Errors (`DataFileError`): the directory is missing, it has no class
 * sub-folders, a class folder has no image (named), more than 256 classes
 * (labels are bytes), or images are corrupt (every corrupt file is named).
 * @example
 * // pets/cat/1.png, pets/cat/2.png, pets/dog/1.png
 * const set = loadImageFolder('pets', { channels: 3, size: [64, 64] });
 * set.classes; // ['cat', 'dog']
 * set.labels; // Uint8Array [0, 0, 1]
 */
export function loadImageFolder(dir: string, opts: { channels?: 1 | 3; size?: [number, number] } = {}): ImageFolderSet {
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
  const skipped: SkippedFile[] = [];
  classes.forEach((name, label) => {
    const classDir = join(dir, name);
    const names = listDir(classDir)
      .filter((e) => !e.name.startsWith('.') && kind(classDir, e) === 'file')
      .map((e) => e.name)
      .sort(byName);
    const images = names.filter((n) => PNG_NAME.test(n) || JPEG_NAME.test(n));
    for (const n of names) {
      if (!images.includes(n))
        skipped.push({ path: join(classDir, n), reason: 'not a PNG or JPEG file (by its name)' });
    }
    if (images.length === 0) {
      const other = names.length ? ` (${names.length} other file${names.length > 1 ? 's' : ''} skipped)` : '';
      throw new DataFileError(classDir, `class folder '${name}' holds no .png or .jpg images${other}`);
    }
    for (const img of images) files.push({ path: join(classDir, img), label });
  });

  const paths = files.map((f) => f.path);
  let channels = opts.channels;
  let size = opts.size;
  if (size === undefined || channels === undefined) {
    // Headers only: a full decode here would hold every image in memory or decode each twice.
    const headers = readAll(dir, size === undefined && channels !== undefined ? paths.slice(0, 1) : paths, imageHeader);
    size ??= [headers[0]!.height, headers[0]!.width];
    channels ??= headers.every((h) => h.gray) ? 1 : 3;
  }
  const [height, width] = size;
  const ch = channels;
  const per = ch * height * width;
  const images = new Uint8Array(files.length * per);
  const labels = new Uint8Array(files.length);
  let next = 0;
  readAll(dir, paths, (path) => {
    const i = next++;
    images.set(readImageFile(path, { channels: ch, size: [height, width] }), i * per);
    labels[i] = files[i]!.label;
  });
  return { images, labels, count: files.length, channels: ch, height, width, classes, skipped };
}
