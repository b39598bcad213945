/**
 * A small, dependency-free PNG codec (node:zlib does the deflate) so image
 * data sets can be read and samples saved without native image libraries.
 *
 * Decoding covers the whole PNG 1.2 core: color types 0/2/3/4/6 at every
 * legal bit depth, all five row filters, Adam7 interlacing, palette tRNS.
 * Output is always 8-bit: 16-bit samples keep their high byte and 1/2/4-bit
 * gray is scaled to 0..255 (as libpng and PIL do). Gamma, color profiles and
 * the tRNS color key of gray/RGB images are ignored, as PIL's
 * `convert('RGB')` ignores them.
 */
import { constants as bufferConstants } from 'node:buffer';
import { deflateSync, inflateSync } from 'node:zlib';
import { ArgumentError, DataFileError } from '../core/errors.js';
import { readFileBytes } from '../io/read-file.js';
import { resizePlanes } from './transforms.js';

/** A decoded image: `data` is interleaved [height, width, channels], one byte per sample. */
export interface PngImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

/** The IHDR fields of a PNG, read without decoding the pixels. */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const COLOR_TYPES: Readonly<Record<number, { name: string; samples: number; depths: readonly number[] }>> = {
  0: { name: 'grayscale', samples: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', samples: 3, depths: [8, 16] },
  3: { name: 'palette', samples: 1, depths: [1, 2, 4, 8] },
  4: { name: 'grayscale+alpha', samples: 2, depths: [8, 16] },
  6: { name: 'RGBA', samples: 4, depths: [8, 16] },
};

/** Adam7 passes as [x0, y0, dx, dy]. */
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];
const PROGRESSIVE: readonly (readonly [number, number, number, number])[] = [[0, 0, 1, 1]];

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = crcTable[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ');
}

function hex32(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

function isLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

function checkSignature(bytes: Uint8Array, file: string): void {
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    const found = bytes.length === 0 ? 'an empty file' : hex(bytes.subarray(0, SIGNATURE.length));
    throw new DataFileError(file, `not a PNG file: bad signature (expected ${hex(SIGNATURE)}, found ${found})`);
  }
}

function parseIhdr(bytes: Uint8Array, at: number, length: number, file: string): PngHeader {
  if (length !== 13) throw new DataFileError(file, `IHDR chunk has ${length} data bytes, expected 13`);
  const width = readU32(bytes, at);
  const height = readU32(bytes, at + 4);
  const bitDepth = bytes[at + 8]!;
  const colorType = bytes[at + 9]!;
  const compression = bytes[at + 10]!;
  const filter = bytes[at + 11]!;
  const interlace = bytes[at + 12]!;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new DataFileError(file, `invalid IHDR image size ${width}×${height} (each side must be 1..2^31-1)`);
  }
  const type = COLOR_TYPES[colorType];
  if (type === undefined) {
    throw new DataFileError(
      file,
      `unsupported PNG color type ${colorType} (expected 0 gray, 2 RGB, 3 palette, 4 gray+alpha or 6 RGBA)`,
    );
  }
  if (!type.depths.includes(bitDepth)) {
    throw new DataFileError(
      file,
      `unsupported bit depth ${bitDepth} for color type ${colorType} (${type.name}); allowed: ${type.depths.join(', ')}`,
    );
  }
  if (compression !== 0) throw new DataFileError(file, `unknown IHDR compression method ${compression} (expected 0)`);
  if (filter !== 0) throw new DataFileError(file, `unknown IHDR filter method ${filter} (expected 0)`);
  if (interlace > 1) {
    throw new DataFileError(file, `unknown IHDR interlace method ${interlace} (expected 0 none or 1 Adam7)`);
  }
  return { width, height, bitDepth, colorType, interlaced: interlace === 1 };
}

/**
 * Reads the signature and IHDR of a PNG (the first 33 bytes are enough), so a
 * caller can learn sizes and color types without inflating pixel data. The
 * IHDR CRC is checked; the rest of the file is not looked at.
 * @example
 * decodePngHeader(bytes, 'cat.png'); // { width: 32, height: 32, bitDepth: 8, colorType: 2, interlaced: false }
 */
export function decodePngHeader(bytes: Uint8Array, file = '<buffer>'): PngHeader {
  checkSignature(bytes, file);
  if (bytes.length < 33) {
    throw new DataFileError(file, `truncated IHDR chunk: a PNG header needs 33 bytes, found ${bytes.length}`);
  }
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (type !== 'IHDR') throw new DataFileError(file, `missing IHDR chunk: the first chunk is '${type}'`);
  const length = readU32(bytes, 8);
  if (length !== 13) throw new DataFileError(file, `IHDR chunk has ${length} data bytes, expected 13`);
  checkCrc(bytes, 8, length, type, file);
  return parseIhdr(bytes, 16, length, file);
}

function checkCrc(bytes: Uint8Array, pos: number, length: number, type: string, file: string): void {
  const stored = readU32(bytes, pos + 8 + length);
  const computed = crc32(bytes, pos + 4, pos + 8 + length);
  if (stored !== computed) {
    throw new DataFileError(
      file,
      `CRC mismatch in ${type} chunk at byte ${pos}: stored ${hex32(stored)}, computed ${hex32(computed)} (file corrupt)`,
    );
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Bytes in one scanline of `width` pixels, excluding the filter byte. */
function rowBytes(width: number, bitsPerPixel: number): number {
  return Math.ceil((width * bitsPerPixel) / 8);
}

/** Reverses the five PNG row filters in place; `at` is the filter byte of the pass's first row. */
function unfilterPass(raw: Uint8Array, at: number, rows: number, stride: number, bpp: number, file: string): void {
  for (let y = 0; y < rows; y++) {
    const f = raw[at]!;
    const start = at + 1;
    const end = start + stride;
    const prev = start - stride - 1; // start of the previous row's data (only read when y > 0)
    switch (f) {
      case 0:
        break;
      case 1:
        for (let i = start + bpp; i < end; i++) raw[i] = (raw[i]! + raw[i - bpp]!) & 0xff;
        break;
      case 2:
        if (y > 0) for (let i = start; i < end; i++) raw[i] = (raw[i]! + raw[prev + i - start]!) & 0xff;
        break;
      case 3:
        for (let i = start; i < end; i++) {
          const a = i - start >= bpp ? raw[i - bpp]! : 0;
          const b = y > 0 ? raw[prev + i - start]! : 0;
          raw[i] = (raw[i]! + ((a + b) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let i = start; i < end; i++) {
          const left = i - start >= bpp;
          const a = left ? raw[i - bpp]! : 0;
          const b = y > 0 ? raw[prev + i - start]! : 0;
          const c = left && y > 0 ? raw[prev + i - start - bpp]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          raw[i] = (raw[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
        }
        break;
      default:
        throw new DataFileError(file, `unknown filter type ${f} on scanline ${y} (expected 0..4)`);
    }
    at = end;
  }
}

/**
 * Decodes a PNG held in memory into 8-bit interleaved samples. Gray → 1
 * channel, gray+alpha → 2, RGB → 3, RGBA → 4, palette → 3 (4 when a tRNS
 * chunk gives the palette alpha). Every structural problem is a
 * `DataFileError` naming `file`: bad signature, truncated chunk, CRC
 * mismatch, missing IHDR/PLTE/IDAT/IEND, unknown critical chunk, inflate
 * failure, wrong decompressed size, bad filter type, palette index out of
 * range, unsupported color type or bit depth.
 * @example
 * const img = decodePng(readFileSync('cat.png'), 'cat.png');
 * img.channels; // 3
 * img.data[(y * img.width + x) * 3 + 1]; // green at (x, y)
 */
export function decodePng(bytes: Uint8Array, file = '<buffer>'): PngImage {
  checkSignature(bytes, file);
  let header: PngHeader | undefined;
  let palette: Uint8Array | undefined;
  let alpha: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  let pos = SIGNATURE.length;
  while (pos < bytes.length) {
    if (pos + 8 > bytes.length) {
      throw new DataFileError(file, `truncated chunk header at byte ${pos}: only ${bytes.length - pos} byte(s) left`);
    }
    const length = readU32(bytes, pos);
    const typeBytes = bytes.subarray(pos + 4, pos + 8);
    if (!typeBytes.every(isLetter)) {
      throw new DataFileError(file, `invalid chunk type ${hex(typeBytes)} at byte ${pos} (file corrupt)`);
    }
    const type = String.fromCharCode(...typeBytes);
    if (length > 0x7fffffff) {
      throw new DataFileError(file, `${type} chunk at byte ${pos} declares length ${length}, above the 2^31-1 limit`);
    }
    if (pos + 12 + length > bytes.length) {
      throw new DataFileError(
        file,
        `truncated ${type} chunk at byte ${pos}: needs ${length + 12} bytes (data + length, type, CRC), ` +
          `only ${bytes.length - pos} left`,
      );
    }
    checkCrc(bytes, pos, length, type, file);
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    if (header === undefined && type !== 'IHDR') {
      throw new DataFileError(file, `missing IHDR chunk: the first chunk is '${type}'`);
    }
    switch (type) {
      case 'IHDR':
        if (header !== undefined) throw new DataFileError(file, `second IHDR chunk at byte ${pos}`);
        header = parseIhdr(bytes, pos + 8, length, file);
        break;
      case 'PLTE':
        if (length === 0 || length % 3 !== 0 || length > 768) {
          throw new DataFileError(file, `PLTE chunk has ${length} bytes, expected 3 × (1..256) entries`);
        }
        palette = data;
        break;
      case 'tRNS':
        if (header!.colorType === 3) {
          if (palette === undefined) throw new DataFileError(file, 'tRNS chunk appears before the PLTE chunk');
          if (length > palette.length / 3) {
            throw new DataFileError(
              file,
              `tRNS chunk has ${length} alpha values but the palette has only ${palette.length / 3} entries`,
            );
          }
          alpha = data;
        }
        break;
      case 'IDAT':
        idat.push(data);
        break;
      case 'IEND':
        ended = true;
        break;
      default:
        // Bit 5 of the first type byte clear = critical: the spec forbids guessing at those.
        if ((typeBytes[0]! & 0x20) === 0) {
          throw new DataFileError(file, `unknown critical chunk '${type}' at byte ${pos}`);
        }
    }
    pos += length + 12;
    if (ended) break;
  }
  if (header === undefined) throw new DataFileError(file, 'missing IHDR chunk: the file holds no chunks');
  if (idat.length === 0) throw new DataFileError(file, 'missing IDAT chunk: the file holds no image data');
  if (!ended) throw new DataFileError(file, 'missing IEND chunk (file truncated?)');
  if (header.colorType === 3 && palette === undefined) {
    throw new DataFileError(file, 'missing PLTE chunk: required for palette (color type 3) images');
  }
  return decodePixels(header, concat(idat), palette, alpha, file);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function decodePixels(
  header: PngHeader,
  compressed: Uint8Array,
  palette: Uint8Array | undefined,
  alpha: Uint8Array | undefined,
  file: string,
): PngImage {
  const { width, height, bitDepth, colorType } = header;
  const samples = COLOR_TYPES[colorType]!.samples;
  const bitsPerPixel = samples * bitDepth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const passes = (header.interlaced ? ADAM7 : PROGRESSIVE).map(([x0, y0, dx, dy]) => {
    const w = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const h = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    return { x0, y0, dx, dy, w, h, stride: w > 0 ? rowBytes(w, bitsPerPixel) : 0 };
  });
  // A pass with no pixels contributes no scanlines, not even filter bytes.
  const expected = passes.reduce((n, p) => n + (p.w > 0 ? p.h * (p.stride + 1) : 0), 0);
  const channels: 1 | 2 | 3 | 4 = colorType === 3 ? (alpha !== undefined ? 4 : 3) : (samples as 1 | 2 | 3 | 4);
  const outBytes = width * height * channels;
  if (expected >= bufferConstants.MAX_LENGTH || outBytes >= bufferConstants.MAX_LENGTH) {
    throw new DataFileError(file, `image ${width}×${height} is too large to decode in memory`);
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(compressed, { maxOutputLength: expected + 1 });
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DataFileError(
        file,
        `wrong decompressed size: image data inflates to more than the ${expected} bytes expected for ` +
          `${width}×${height} ${COLOR_TYPES[colorType]!.name} at ${bitDepth} bit(s)`,
      );
    }
    throw new DataFileError(file, `inflate failed (corrupt IDAT data): ${errorMessage(err)}`);
  }
  if (raw.length !== expected) {
    throw new DataFileError(
      file,
      `wrong decompressed size: image data inflates to ${raw.length} bytes, expected ${expected} for ` +
        `${width}×${height} ${COLOR_TYPES[colorType]!.name} at ${bitDepth} bit(s)`,
    );
  }

  const out = new Uint8Array(outBytes);
  const mask = (1 << bitDepth) - 1;
  const grayScale = colorType === 0 && bitDepth < 8 ? 255 / mask : 1;
  const paletteSize = palette !== undefined ? palette.length / 3 : 0;
  let at = 0;
  for (const p of passes) {
    if (p.w === 0 || p.h === 0) continue;
    unfilterPass(raw, at, p.h, p.stride, bpp, file);
    for (let py = 0; py < p.h; py++) {
      const row = at + py * (p.stride + 1) + 1;
      const y = p.y0 + py * p.dy;
      for (let px = 0; px < p.w; px++) {
        const dst = (y * width + p.x0 + px * p.dx) * channels;
        if (bitDepth === 16) {
          for (let s = 0; s < samples; s++) out[dst + s] = raw[row + 2 * (px * samples + s)]!;
          continue;
        }
        if (colorType !== 3 && bitDepth === 8) {
          for (let s = 0; s < samples; s++) out[dst + s] = raw[row + px * samples + s]!;
          continue;
        }
        // One sample per pixel from here on: gray or a palette index, possibly packed.
        let v: number;
        if (bitDepth === 8) v = raw[row + px]!;
        else {
          const bit = px * bitDepth;
          v = (raw[row + (bit >> 3)]! >> (8 - bitDepth - (bit & 7))) & mask;
        }
        if (colorType === 0) {
          out[dst] = Math.round(v * grayScale);
          continue;
        }
        if (v >= paletteSize) {
          throw new DataFileError(
            file,
            `palette index ${v} at pixel (${p.x0 + px * p.dx}, ${y}) is out of range for the ${paletteSize}-entry palette`,
          );
        }
        out[dst] = palette![3 * v]!;
        out[dst + 1] = palette![3 * v + 1]!;
        out[dst + 2] = palette![3 * v + 2]!;
        if (channels === 4) out[dst + 3] = v < alpha!.length ? alpha![v]! : 255;
      }
    }
    at += p.h * (p.stride + 1);
  }
  return { width, height, channels, data: out };
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 12);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length, false);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length), false);
  return out;
}

function checkDims(what: string, width: number, height: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) {
      throw new ArgumentError(`${what}: ${name} must be an integer in 1..2^31-1, got ${v}`);
    }
  }
}

/**
 * Encodes 8-bit gray (1), RGB (3) or RGBA (4) interleaved [height, width,
 * channels] bytes as a PNG. Each row gets the filter with the smallest sum
 * of absolute residuals (libpng's default heuristic) before zlib deflate.
 * Throws `ArgumentError` when sizes or the data length do not fit.
 * @example
 * writeFileSync('red.png', encodePng(1, 1, 3, new Uint8Array([255, 0, 0])));
 */
export function encodePng(width: number, height: number, channels: 1 | 3 | 4, data: Uint8Array): Uint8Array {
  checkDims('encodePng', width, height);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new ArgumentError(`encodePng: channels must be 1, 3 or 4, got ${String(channels)}`);
  }
  const stride = width * channels;
  if (data.length !== stride * height) {
    throw new ArgumentError(
      `encodePng: data holds ${data.length} bytes, expected ${height}×${width}×${channels} = ${stride * height}`,
    );
  }
  const raw = new Uint8Array((stride + 1) * height);
  const trial = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const cur = y * stride;
    const prev = cur - stride;
    const dst = y * (stride + 1);
    let bestCost = Infinity;
    for (let f = 0; f <= 4; f++) {
      if (y === 0 && (f === 2 || f === 4)) continue; // equal to None/Sub on the first row
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const x = data[cur + i]!;
        const a = i >= channels ? data[cur + i - channels]! : 0;
        const b = y > 0 ? data[prev + i]! : 0;
        const c = i >= channels && y > 0 ? data[prev + i - channels]! : 0;
        let pred = 0;
        if (f === 1) pred = a;
        else if (f === 2) pred = b;
        else if (f === 3) pred = (a + b) >> 1;
        else if (f === 4) {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        const r = (x - pred) & 0xff;
        trial[i] = r;
        cost += r < 128 ? r : 256 - r;
      }
      if (cost < bestCost) {
        bestCost = cost;
        raw[dst] = f;
        raw.set(trial, dst + 1);
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width, false);
  view.setUint32(4, height, false);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  return concat(parts);
}

/** Bilinear source index and weight per output position, as PyTorch's align_corners=false. */
/**
 * Converts a decoded image to planar [channels, height, width] bytes.
 *
 * - gray → 3 channels: the gray plane is copied to R, G and B;
 * - RGB → 1 channel: luma round((299 R + 587 G + 114 B) / 1000), halves up;
 * - alpha is dropped, not composited (like PIL's `convert('RGB')`, which
 *   torchvision's ImageFolder applies), so transparent pixels keep their color.
 *
 * With `size` = [height, width] different from the image's, the result is
 * resized with bilinear interpolation using PyTorch's
 * `interpolate(mode='bilinear', align_corners=False)` coordinates (no
 * antialiasing), each value rounded to the nearest byte. Channel conversion
 * happens first, then resizing, as in `convert()` followed by `Resize`.
 * @example
 * const chw = toChw(decodePng(bytes), 3, [32, 32]); // Uint8Array(3 * 32 * 32)
 */
export function toChw(img: PngImage, channels: 1 | 3, size?: [number, number]): Uint8Array {
  if (channels !== 1 && channels !== 3) {
    throw new ArgumentError(`toChw: channels must be 1 or 3, got ${String(channels)}`);
  }
  const { width, height } = img;
  const inC = img.channels;
  checkDims('toChw', width, height);
  if (![1, 2, 3, 4].includes(inC) || img.data.length !== width * height * inC) {
    throw new ArgumentError(
      `toChw: image data holds ${img.data.length} bytes, expected ${height}×${width}×${inC} (channels 1..4)`,
    );
  }
  const plane = width * height;
  const planar = new Uint8Array(channels * plane);
  const src = img.data;
  const color = inC >= 3;
  for (let i = 0; i < plane; i++) {
    const s = i * inC;
    if (channels === 1) {
      planar[i] = color ? Math.floor((299 * src[s]! + 587 * src[s + 1]! + 114 * src[s + 2]! + 500) / 1000) : src[s]!;
    } else {
      planar[i] = src[s]!;
      planar[plane + i] = src[color ? s + 1 : s]!;
      planar[2 * plane + i] = src[color ? s + 2 : s]!;
    }
  }
  if (size === undefined || (size[0] === height && size[1] === width)) return planar;
  const [outH, outW] = size;
  checkDims('toChw size', outW, outH);
  return resizeBilinear(planar, channels, height, width, outH, outW);
}

function resizeBilinear(
  planar: Uint8Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Uint8Array {
  const values = new Float64Array(channels * outH * outW);
  resizePlanes(planar, channels, inH, inW, outH, outW, values);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(values[i]!)));
  return out;
}

/**
 * Reads a PNG file as planar [channels, height, width] bytes: `decodePng`
 * then `toChw` (see there for channel conversion and resizing). Without
 * `size` the image keeps its own height and width. A missing or corrupt
 * file is a `DataFileError` naming it.
 * @example
 * const x = readPngFile('digits/7/001.png', { channels: 1, size: [28, 28] }); // Uint8Array(784)
 */
export function readPngFile(path: string, opts: { channels: 1 | 3; size?: [number, number] }): Uint8Array {
  return toChw(decodePng(readFileBytes(path), path), opts.channels, opts.size);
}
