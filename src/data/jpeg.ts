/**
 * JPEG files for image folders, decoded by the `jpeg-js` package (pure JavaScript, no
 * native build), which is loaded on first use so that `import 'tsgrad'` stays light.
 */
import { createRequire } from 'node:module';
import { DataFileError } from '../core/errors.js';
import { readFileBytes } from '../io/read-file.js';
import { type PngImage, toChw } from './png.js';

type JpegDecoder = typeof import('jpeg-js');
let decoder: JpegDecoder | null = null;

function jpegJs(): JpegDecoder {
  // jpeg-js is CommonJS; require() keeps image loading synchronous, like the PNG path.
  decoder ??= createRequire(import.meta.url)('jpeg-js') as JpegDecoder;
  return decoder;
}

/** File names image folders read as JPEG. */
export const JPEG_NAME = /\.jpe?g$/i;

/** Width, height and component count (1: gray, 3: color) from a JPEG's start-of-frame marker. */
export interface JpegHeader {
  width: number;
  height: number;
  components: number;
}

/** Reads the start-of-frame segment without decoding the image (for sizes and the gray/color decision). */
export function decodeJpegHeader(bytes: Uint8Array, file = '<buffer>'): JpegHeader {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8)
    throw new DataFileError(file, 'not a JPEG file (no start-of-image marker)');
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) throw new DataFileError(file, `corrupt JPEG: expected a marker at byte ${i}`);
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 10 > bytes.length) break;
      const height = (bytes[i + 5]! << 8) | bytes[i + 6]!;
      const width = (bytes[i + 7]! << 8) | bytes[i + 8]!;
      const components = bytes[i + 9]!;
      if (width === 0 || height === 0) throw new DataFileError(file, `corrupt JPEG: frame of ${width}x${height}`);
      return { width, height, components };
    }
    if (marker === 0xda || marker === 0xd9) break; // image data or end before any frame header
    i += 2 + length;
  }
  throw new DataFileError(file, 'corrupt JPEG: no frame header (truncated file?)');
}

/** Decodes JPEG bytes to interleaved RGBA (what jpeg-js gives), as a PngImage-shaped value. */
export function decodeJpeg(bytes: Uint8Array, file = '<buffer>'): PngImage {
  decodeJpegHeader(bytes, file);
  try {
    const img = jpegJs().decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return { width: img.width, height: img.height, channels: 4, data: img.data } as PngImage;
  } catch (err) {
    throw new DataFileError(file, `corrupt JPEG: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Reads a JPEG file as planar [channels, height, width] bytes, converted and resized as
 * `readPngFile` does.
 * @example const x = readJpegFile('pets/cat/1.jpg', { channels: 3, size: [64, 64] });
 */
export function readJpegFile(path: string, opts: { channels: 1 | 3; size?: [number, number] }): Uint8Array {
  return toChw(decodeJpeg(readFileBytes(path), path), opts.channels, opts.size);
}
