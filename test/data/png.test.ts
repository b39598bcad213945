import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { ArgumentError } from '../../src/core/errors.js';
import { decodePng, decodePngHeader, encodePng, readPngFile, toChw, type PngImage } from '../../src/data/png.js';
import { expectDataFileError } from '../helpers/assert.js';

// ---- an independent PNG writer: bitwise CRC, hand-applied filters, raw chunks ----

function crc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function chunk(type: string, data: ArrayLike<number> = []): Uint8Array {
  const body = Uint8Array.from([...Array.from(type, (ch) => ch.charCodeAt(0)), ...Array.from(data)]);
  return Uint8Array.from([...u32(data.length), ...body, ...u32(crc(body))]);
}

function ihdr(width: number, height: number, bitDepth: number, colorType: number, interlace = 0): Uint8Array {
  return chunk('IHDR', [...u32(width), ...u32(height), bitDepth, colorType, 0, 0, interlace]);
}

const SIG = [137, 80, 78, 71, 13, 10, 26, 10];

function png(...chunks: Uint8Array[]): Uint8Array {
  return Uint8Array.from([...SIG, ...chunks.flatMap((c) => Array.from(c))]);
}

/** IHDR, optional extra chunks, one IDAT of the deflated scanlines, IEND. */
function simplePng(
  width: number,
  height: number,
  bitDepth: number,
  colorType: number,
  scanlines: ArrayLike<number>,
  extra: Uint8Array[] = [],
  interlace = 0,
): Uint8Array {
  return png(
    ihdr(width, height, bitDepth, colorType, interlace),
    ...extra,
    chunk('IDAT', deflateSync(Uint8Array.from(Array.from(scanlines)))),
    chunk('IEND'),
  );
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** Filter byte + filtered bytes for each unfiltered row, `filters[y]` chosen per row. */
function filterRows(rows: number[][], bpp: number, filters: number[]): number[] {
  const out: number[] = [];
  rows.forEach((row, y) => {
    const f = filters[y % filters.length]!;
    const prior = y > 0 ? rows[y - 1]! : row.map(() => 0);
    out.push(f);
    row.forEach((x, i) => {
      const a = i >= bpp ? row[i - bpp]! : 0;
      const b = prior[i]!;
      const c = i >= bpp ? prior[i - bpp]! : 0;
      const pred = [0, a, b, Math.floor((a + b) / 2), paeth(a, b, c)][f]!;
      out.push((x - pred + 256) % 256);
    });
  });
  return out;
}

/** Packs sub-byte samples MSB first, padding the row to whole bytes with zero bits. */
function packRow(values: number[], bitDepth: number): number[] {
  const out = new Array<number>(Math.ceil((values.length * bitDepth) / 8)).fill(0);
  values.forEach((v, i) => {
    const bit = i * bitDepth;
    out[bit >> 3]! |= v << (8 - bitDepth - (bit % 8));
  });
  return out;
}

/** Splits pixel rows (arrays of per-pixel sample arrays) into the seven Adam7 pass images. */
function adam7(pixels: number[][][]): number[][][][] {
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  return passes.map(([x0, y0, dx, dy]) => {
    const rows: number[][][] = [];
    for (let y = y0!; y < pixels.length; y += dy!) {
      const row: number[][] = [];
      for (let x = x0!; x < pixels[0]!.length; x += dx!) row.push(pixels[y]![x]!);
      if (row.length > 0) rows.push(row);
    }
    return rows;
  });
}

function pattern(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 37 + seed * 11 + ((i * i) % 7) * 19) % 256);
}

function decodeAs(bytes: Uint8Array): { width: number; height: number; channels: number; data: number[] } {
  const img = decodePng(bytes, 'test.png');
  return { width: img.width, height: img.height, channels: img.channels, data: Array.from(img.data) };
}

describe('encodePng / decodePng round trip', () => {
  for (const channels of [1, 3, 4] as const) {
    test(`${channels} channel(s), 7×5`, () => {
      const data = Uint8Array.from(pattern(7 * 5 * channels, channels));
      const bytes = encodePng(7, 5, channels, data);
      assert.deepEqual(Array.from(bytes.subarray(0, 8)), SIG);
      assert.equal(bytes[8 + 8 + 9], { 1: 0, 3: 2, 4: 6 }[channels], 'IHDR color type');
      const img = decodePng(bytes);
      assert.equal(img.width, 7);
      assert.equal(img.height, 5);
      assert.equal(img.channels, channels);
      assert.deepEqual(img.data, data);
    });
  }

  test('smooth gradients and a 1×1 image survive too', () => {
    const w = 40;
    const h = 30;
    const grad = Uint8Array.from({ length: w * h * 3 }, (_, i) => {
      const px = Math.floor(i / 3);
      return ((px % w) * 3 + Math.floor(px / w) * 5 + (i % 3) * 40) % 256;
    });
    assert.deepEqual(decodePng(encodePng(w, h, 3, grad)).data, grad);
    assert.deepEqual(Array.from(decodePng(encodePng(1, 1, 4, Uint8Array.of(1, 2, 3, 4))).data), [1, 2, 3, 4]);
  });

  test('encodePng rejects bad arguments with ArgumentError', () => {
    assert.throws(() => encodePng(2, 2, 3, new Uint8Array(11)), ArgumentError);
    assert.throws(() => encodePng(0, 2, 1, new Uint8Array(0)), ArgumentError);
    assert.throws(() => encodePng(2.5, 2, 1, new Uint8Array(5)), ArgumentError);
    assert.throws(() => encodePng(1, 1, 2 as 1, new Uint8Array(2)), ArgumentError);
  });
});

describe('decodePng on hand-built files', () => {
  test('a known 1×1 RGBA PNG given as bytes (Sub filter, zlib level 9)', () => {
    // Widely circulated 1×1 PNG; its IDAT inflates to [1, 0, 0, 255, 127] (checked with Python's zlib).
    const bytes = Uint8Array.from(
      Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
        'base64',
      ),
    );
    assert.deepEqual(decodeAs(bytes), { width: 1, height: 1, channels: 4, data: [0, 0, 255, 127] });
  });

  test('all five filter types, 8-bit RGB, including Average/Paeth on the first row', () => {
    const width = 3;
    const rows = [
      [250, 10, 0, 255, 255, 255, 1, 2, 3],
      [0, 0, 0, 128, 64, 32, 200, 100, 50],
      [255, 0, 255, 7, 8, 9, 255, 255, 0],
      [12, 250, 100, 130, 5, 99, 0, 0, 0],
      [60, 61, 62, 200, 201, 202, 3, 255, 128],
    ];
    const expected = rows.flat();
    for (const filters of [
      [0, 1, 2, 3, 4],
      [4, 3, 2, 1, 0],
      [3, 4, 1, 2, 4],
      [1, 1, 1, 1, 1],
      [2, 2, 2, 2, 2],
    ]) {
      const bytes = simplePng(width, rows.length, 8, 2, filterRows(rows, 3, filters));
      assert.deepEqual(decodeAs(bytes), { width, height: 5, channels: 3, data: expected }, `filters ${filters}`);
    }
  });

  test('16-bit gray, gray+alpha, RGB and RGBA keep the high byte of each sample', () => {
    const cases: { colorType: number; samples: number }[] = [
      { colorType: 0, samples: 1 },
      { colorType: 4, samples: 2 },
      { colorType: 2, samples: 3 },
      { colorType: 6, samples: 4 },
    ];
    for (const { colorType, samples } of cases) {
      const width = 3;
      const height = 3;
      const hi = pattern(width * height * samples, colorType);
      const lo = pattern(width * height * samples, colorType + 50);
      const rows: number[][] = [];
      for (let y = 0; y < height; y++) {
        const row: number[] = [];
        for (let i = 0; i < width * samples; i++) row.push(hi[y * width * samples + i]!, lo[y * width * samples + i]!);
        rows.push(row);
      }
      const bytes = simplePng(width, height, 16, colorType, filterRows(rows, 2 * samples, [4, 1, 3]));
      assert.deepEqual(decodeAs(bytes), { width, height, channels: samples, data: hi }, `color type ${colorType}`);
    }
  });

  test('1/2/4-bit gray is scaled to 0..255, rows padded to whole bytes', () => {
    // 1-bit: ×255; 2-bit: ×85; 4-bit: ×17. Width 5 leaves unused bits in every row.
    const cases: { bitDepth: number; values: number[][]; expected: number[] }[] = [
      {
        bitDepth: 1,
        values: [
          [1, 0, 1, 1, 0],
          [0, 1, 0, 0, 1],
        ],
        expected: [255, 0, 255, 255, 0, 0, 255, 0, 0, 255],
      },
      {
        bitDepth: 2,
        values: [
          [0, 1, 2, 3, 1],
          [3, 3, 0, 2, 2],
        ],
        expected: [0, 85, 170, 255, 85, 255, 255, 0, 170, 170],
      },
      {
        bitDepth: 4,
        values: [
          [0, 15, 7, 8, 1],
          [2, 3, 4, 5, 6],
        ],
        expected: [0, 255, 119, 136, 17, 34, 51, 68, 85, 102],
      },
    ];
    for (const { bitDepth, values, expected } of cases) {
      const packed = values.map((row) => packRow(row, bitDepth));
      const bytes = simplePng(5, 2, bitDepth, 0, filterRows(packed, 1, [0, 1]));
      assert.deepEqual(decodeAs(bytes), { width: 5, height: 2, channels: 1, data: expected }, `${bitDepth}-bit`);
    }
  });

  test('8-bit gray, gray+alpha and RGBA', () => {
    const gray = [9, 8, 7, 6, 5, 4];
    assert.deepEqual(decodeAs(simplePng(3, 2, 8, 0, filterRows([gray.slice(0, 3), gray.slice(3)], 1, [2, 4]))), {
      width: 3,
      height: 2,
      channels: 1,
      data: gray,
    });
    const ga = [10, 255, 20, 128, 30, 0, 40, 1];
    assert.deepEqual(decodeAs(simplePng(2, 2, 8, 4, filterRows([ga.slice(0, 4), ga.slice(4)], 2, [1, 3]))), {
      width: 2,
      height: 2,
      channels: 2,
      data: ga,
    });
    const rgba = pattern(2 * 2 * 4, 3);
    assert.deepEqual(decodeAs(simplePng(2, 2, 8, 6, filterRows([rgba.slice(0, 8), rgba.slice(8)], 4, [4, 4]))), {
      width: 2,
      height: 2,
      channels: 4,
      data: rgba,
    });
  });

  const PLTE = chunk('PLTE', [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);

  test('8-bit palette without tRNS decodes to RGB', () => {
    const bytes = simplePng(4, 1, 8, 3, filterRows([[3, 0, 1, 2]], 1, [1]), [PLTE]);
    assert.deepEqual(decodeAs(bytes), {
      width: 4,
      height: 1,
      channels: 3,
      data: [10, 20, 30, 255, 0, 0, 0, 255, 0, 0, 0, 255],
    });
  });

  test('2-bit palette with a short tRNS decodes to RGBA, entries past tRNS opaque', () => {
    const trns = chunk('tRNS', [0, 128]);
    const rows = [packRow([0, 1, 2], 2), packRow([3, 3, 1], 2)];
    const bytes = simplePng(3, 2, 2, 3, filterRows(rows, 1, [0, 2]), [PLTE, trns]);
    assert.deepEqual(decodeAs(bytes), {
      width: 3,
      height: 2,
      channels: 4,
      data: [255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 10, 20, 30, 255, 10, 20, 30, 255, 0, 255, 0, 128],
    });
  });

  test('1-bit and 4-bit palettes', () => {
    const two = chunk('PLTE', [0, 0, 0, 200, 100, 50]);
    const oneBit = simplePng(9, 1, 1, 3, filterRows([packRow([1, 0, 0, 0, 0, 0, 0, 1, 1], 1)], 1, [0]), [two]);
    const img = decodePng(oneBit);
    assert.equal(img.channels, 3);
    assert.deepEqual(
      Array.from(img.data),
      [1, 0, 0, 0, 0, 0, 0, 1, 1].flatMap((i) => (i ? [200, 100, 50] : [0, 0, 0])),
    );
    const fourBit = simplePng(3, 1, 4, 3, filterRows([packRow([2, 3, 0], 4)], 1, [3]), [PLTE]);
    assert.deepEqual(Array.from(decodePng(fourBit).data), [0, 0, 255, 10, 20, 30, 255, 0, 0]);
  });

  test('IDAT split over several chunks; ancillary chunks and bytes after IEND are ignored', () => {
    const rows = [pattern(6, 1), pattern(6, 2), pattern(6, 3)];
    const z = deflateSync(Uint8Array.from(filterRows(rows, 3, [1, 2, 4])));
    const bytes = png(
      ihdr(2, 3, 8, 2),
      chunk(
        'tEXt',
        Array.from('Comment\0hi', (c) => c.charCodeAt(0)),
      ),
      chunk('IDAT', z.subarray(0, 3)),
      chunk('IDAT', []),
      chunk('IDAT', z.subarray(3, 10)),
      chunk('IDAT', z.subarray(10)),
      chunk('abCd', [1, 2, 3]),
      chunk('IEND'),
    );
    const withTail = Uint8Array.from([...bytes, 1, 2, 3, 4, 5]);
    for (const b of [bytes, withTail]) {
      assert.deepEqual(decodeAs(b), { width: 2, height: 3, channels: 3, data: rows.flat() });
    }
  });

  test('Adam7 interlaced 8-bit RGB (9×10, every pass non-empty) matches the plain pixels', () => {
    const width = 9;
    const height = 10;
    const flat = pattern(width * height * 3, 5);
    const pixels = Array.from({ length: height }, (_, y) =>
      Array.from({ length: width }, (_, x) => flat.slice((y * width + x) * 3, (y * width + x) * 3 + 3)),
    );
    const scanlines = adam7(pixels).flatMap((pass, p) =>
      filterRows(
        pass.map((row) => row.flat()),
        3,
        [p % 5, (p + 2) % 5, 4],
      ),
    );
    const bytes = simplePng(width, height, 8, 2, scanlines, [], 1);
    assert.deepEqual(decodeAs(bytes), { width, height, channels: 3, data: flat });
    assert.equal(decodePngHeader(bytes).interlaced, true);
  });

  test('Adam7 interlaced 1-bit gray (11×3) and 1×1 (only the first pass has pixels)', () => {
    const width = 11;
    const height = 3;
    const bits = Array.from({ length: width * height }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const pixels = Array.from({ length: height }, (_, y) =>
      Array.from({ length: width }, (_, x) => [bits[y * width + x]!]),
    );
    const scanlines = adam7(pixels).flatMap((pass) =>
      filterRows(
        pass.map((row) => packRow(row.flat(), 1)),
        1,
        [1],
      ),
    );
    assert.deepEqual(decodeAs(simplePng(width, height, 1, 0, scanlines, [], 1)), {
      width,
      height,
      channels: 1,
      data: bits.map((b) => b * 255),
    });
    assert.deepEqual(decodeAs(simplePng(1, 1, 8, 6, [0, 1, 2, 3, 4], [], 1)), {
      width: 1,
      height: 1,
      channels: 4,
      data: [1, 2, 3, 4],
    });
  });

  test('decodePngHeader reads IHDR without the pixel data', () => {
    const bytes = simplePng(5, 2, 4, 0, []);
    assert.deepEqual(decodePngHeader(bytes.subarray(0, 33), 'h.png'), {
      width: 5,
      height: 2,
      bitDepth: 4,
      colorType: 0,
      interlaced: false,
    });
    expectDataFileError(() => decodePngHeader(bytes.subarray(0, 20), 'h.png'), 'h.png', 'truncated IHDR');
    expectDataFileError(
      () => decodePngHeader(png(chunk('IDAT', [1]), ihdr(1, 1, 8, 0)), 'h.png'),
      'h.png',
      "missing IHDR chunk: the first chunk is 'IDAT'",
    );
  });
});

describe('decodePng rejects corrupt files with a DataFileError naming the file', () => {
  const F = 'corrupt.png';
  const goodRows = filterRows([pattern(6, 1), pattern(6, 2)], 3, [0, 1]);
  const good = simplePng(2, 2, 8, 2, goodRows);
  const idatAt = 8 + 25; // after the signature and the 25-byte IHDR chunk

  test('the baseline file is fine', () => {
    assert.equal(decodePng(good, F).width, 2);
  });

  test('empty input and bad signatures', () => {
    expectDataFileError(() => decodePng(new Uint8Array(0), F), F, 'bad signature', 'empty file');
    expectDataFileError(() => decodePng(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0), F), F, 'FF D8 FF E0');
    const lf = Uint8Array.from(good);
    lf[4] = 0x0a; // CRLF turned into LF by a text-mode transfer
    expectDataFileError(() => decodePng(lf, F), F, 'not a PNG file: bad signature (expected 89 50 4E 47');
  });

  test('truncated files', () => {
    expectDataFileError(() => decodePng(good.subarray(0, 12), F), F, 'truncated chunk header at byte 8');
    expectDataFileError(() => decodePng(good.subarray(0, 20), F), F, 'truncated IHDR chunk at byte 8');
    expectDataFileError(() => decodePng(good.subarray(0, idatAt + 15), F), F, `truncated IDAT chunk at byte ${idatAt}`);
    expectDataFileError(() => decodePng(good.subarray(0, good.length - 12), F), F, 'missing IEND chunk');
    expectDataFileError(() => decodePng(good.subarray(0, 8), F), F, 'missing IHDR');
  });

  test('CRC mismatches in IHDR and IDAT', () => {
    const badIdat = Uint8Array.from(good);
    badIdat[idatAt + 9] ^= 0x01;
    expectDataFileError(() => decodePng(badIdat, F), F, `CRC mismatch in IDAT chunk at byte ${idatAt}`, /stored 0x/);
    const badIhdr = Uint8Array.from(good);
    badIhdr[19] ^= 0x10; // width
    expectDataFileError(() => decodePng(badIhdr, F), F, 'CRC mismatch in IHDR chunk at byte 8');
    expectDataFileError(() => decodePngHeader(badIhdr, F), F, 'CRC mismatch in IHDR');
  });

  test('missing IHDR, IDAT or PLTE; unknown critical chunks; bad chunk types', () => {
    const idat = chunk('IDAT', deflateSync(Uint8Array.from(goodRows)));
    expectDataFileError(
      () => decodePng(png(idat, chunk('IEND')), F),
      F,
      "missing IHDR chunk: the first chunk is 'IDAT'",
    );
    expectDataFileError(() => decodePng(png(ihdr(2, 2, 8, 2), chunk('IEND')), F), F, 'missing IDAT chunk');
    expectDataFileError(() => decodePng(simplePng(1, 1, 8, 3, [0, 0]), F), F, 'missing PLTE chunk');
    expectDataFileError(
      () => decodePng(png(ihdr(2, 2, 8, 2), chunk('ABCD', [1]), idat, chunk('IEND')), F),
      F,
      "unknown critical chunk 'ABCD'",
    );
    expectDataFileError(
      () => decodePng(png(ihdr(2, 2, 8, 2), chunk('AB1D', [1]), idat, chunk('IEND')), F),
      F,
      'invalid chunk type 41 42 31 44',
    );
    expectDataFileError(
      () => decodePng(png(ihdr(2, 2, 8, 2), ihdr(2, 2, 8, 2), idat, chunk('IEND')), F),
      F,
      'second IHDR',
    );
  });

  test('inflate failure and wrong decompressed size', () => {
    expectDataFileError(
      () => decodePng(png(ihdr(2, 2, 8, 2), chunk('IDAT', [1, 2, 3, 4]), chunk('IEND')), F),
      F,
      'inflate failed',
    );
    const z = deflateSync(Uint8Array.from(goodRows));
    expectDataFileError(
      () => decodePng(png(ihdr(2, 2, 8, 2), chunk('IDAT', z.subarray(0, z.length - 6)), chunk('IEND')), F),
      F,
      'inflate failed',
    );
    // 2 rows × (1 filter byte + 6 data bytes) = 14 bytes expected
    expectDataFileError(
      () => decodePng(simplePng(2, 2, 8, 2, goodRows.slice(0, 7)), F),
      F,
      'wrong decompressed size: image data inflates to 7 bytes, expected 14',
    );
    expectDataFileError(
      () => decodePng(simplePng(2, 2, 8, 2, [...goodRows, 0]), F),
      F,
      'wrong decompressed size: image data inflates to 15 bytes, expected 14',
    );
    // Far too much data is cut off while inflating instead of being buffered whole.
    expectDataFileError(
      () => decodePng(simplePng(2, 2, 8, 2, [...goodRows, ...new Array<number>(100000).fill(0)]), F),
      F,
      'wrong decompressed size',
      'more than the 14 bytes',
    );
  });

  test('unsupported color types, bit depths and IHDR fields', () => {
    const one = [0, 0];
    expectDataFileError(() => decodePng(simplePng(1, 1, 8, 5, one), F), F, 'unsupported PNG color type 5');
    expectDataFileError(() => decodePng(simplePng(1, 1, 8, 1, one), F), F, 'unsupported PNG color type 1');
    expectDataFileError(() => decodePng(simplePng(1, 1, 3, 0, one), F), F, 'unsupported bit depth 3 for color type 0');
    expectDataFileError(() => decodePng(simplePng(1, 1, 4, 2, one), F), F, 'unsupported bit depth 4 for color type 2');
    expectDataFileError(
      () => decodePng(simplePng(1, 1, 16, 3, one), F),
      F,
      'unsupported bit depth 16 for color type 3',
    );
    expectDataFileError(() => decodePng(simplePng(1, 1, 2, 4, one), F), F, 'unsupported bit depth 2 for color type 4');
    expectDataFileError(() => decodePng(simplePng(0, 1, 8, 0, one), F), F, 'invalid IHDR image size 0×1');
    expectDataFileError(() => decodePng(simplePng(1, 1, 8, 0, one, [], 2), F), F, 'unknown IHDR interlace method 2');
    const compressed = png(
      chunk('IHDR', [...u32(1), ...u32(1), 8, 0, 1, 0, 0]),
      chunk('IDAT', deflateSync(Uint8Array.of(0, 0))),
      chunk('IEND'),
    );
    expectDataFileError(() => decodePng(compressed, F), F, 'unknown IHDR compression method 1');
    const short = png(chunk('IHDR', [...u32(1), ...u32(1), 8, 0, 0, 0]), chunk('IEND'));
    expectDataFileError(() => decodePng(short, F), F, 'IHDR chunk has 12 data bytes, expected 13');
  });

  test('bad filter type, palette index out of range, oversized tRNS', () => {
    expectDataFileError(
      () => decodePng(simplePng(2, 2, 8, 0, [0, 1, 2, 5, 3, 4]), F),
      F,
      'unknown filter type 5 on scanline 1',
    );
    const plte = chunk('PLTE', [1, 2, 3, 4, 5, 6]);
    expectDataFileError(
      () => decodePng(simplePng(3, 1, 8, 3, [0, 0, 1, 2], [plte]), F),
      F,
      'palette index 2 at pixel (2, 0) is out of range for the 2-entry palette',
    );
    expectDataFileError(
      () => decodePng(simplePng(1, 1, 8, 3, [0, 0], [plte, chunk('tRNS', [1, 2, 3])]), F),
      F,
      'tRNS chunk has 3 alpha values but the palette has only 2 entries',
    );
    expectDataFileError(
      () => decodePng(simplePng(1, 1, 8, 3, [0, 0], [chunk('PLTE', [1, 2, 3, 4])]), F),
      F,
      'PLTE chunk has 4 bytes',
    );
  });
});

describe('toChw', () => {
  const gray: PngImage = { width: 2, height: 2, channels: 1, data: Uint8Array.of(0, 100, 200, 40) };
  // (10,20,30), (255,0,0), (0,0,250), (0,255,0)
  const rgb: PngImage = {
    width: 2,
    height: 2,
    channels: 3,
    data: Uint8Array.of(10, 20, 30, 255, 0, 0, 0, 0, 250, 0, 255, 0),
  };

  test('gray stays one plane, or is replicated into R, G and B', () => {
    assert.deepEqual(Array.from(toChw(gray, 1)), [0, 100, 200, 40]);
    assert.deepEqual(Array.from(toChw(gray, 3)), [0, 100, 200, 40, 0, 100, 200, 40, 0, 100, 200, 40]);
  });

  test('RGB becomes planar, or luma (299 R + 587 G + 114 B) / 1000 rounded half up', () => {
    assert.deepEqual(Array.from(toChw(rgb, 3)), [10, 255, 0, 0, 20, 0, 0, 255, 30, 0, 250, 0]);
    // 18.15 → 18; 76.245 → 76; 114·250/1000 = 28.5 → 29; 149.685 → 150
    assert.deepEqual(Array.from(toChw(rgb, 1)), [18, 76, 29, 150]);
    const white: PngImage = { width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 255, 255) };
    assert.deepEqual(Array.from(toChw(white, 1)), [255]);
  });

  test('alpha is dropped, not composited', () => {
    const rgba: PngImage = { width: 2, height: 1, channels: 4, data: Uint8Array.of(10, 20, 30, 0, 255, 0, 0, 128) };
    assert.deepEqual(Array.from(toChw(rgba, 3)), [10, 255, 20, 0, 30, 0]);
    assert.deepEqual(Array.from(toChw(rgba, 1)), [18, 76]);
    const ga: PngImage = { width: 2, height: 1, channels: 2, data: Uint8Array.of(7, 0, 9, 255) };
    assert.deepEqual(Array.from(toChw(ga, 1)), [7, 9]);
    assert.deepEqual(Array.from(toChw(ga, 3)), [7, 9, 7, 9, 7, 9]);
  });

  test('bilinear 2×2 → 4×4 (align_corners=false), hand-computed', () => {
    // Output index o samples source (o + 0.5)·(2/4) − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped below at 0 and
    // clamped to the last pixel above, so per axis the weights are: a, ¾a+¼b, ¼a+¾b, b.
    // Rows of [[0, 100], [200, 40]] widen to [0, 25, 75, 100] and [200, 160, 80, 40]; between them:
    //   ¾·top + ¼·bottom = [50, 58.75, 76.25, 85]   → [50, 59, 76, 85]
    //   ¼·top + ¾·bottom = [150, 126.25, 78.75, 55] → [150, 126, 79, 55]
    const expected = [0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55, 200, 160, 80, 40];
    assert.deepEqual(Array.from(toChw(gray, 1, [4, 4])), expected);
    // Each of the three replicated planes is resized the same way.
    assert.deepEqual(Array.from(toChw(gray, 3, [4, 4])), [...expected, ...expected, ...expected]);
  });

  test('bilinear 4×4 → 2×2 averages each 2×2 block (sources at 0.5 and 2.5)', () => {
    const img: PngImage = {
      width: 4,
      height: 4,
      channels: 1,
      data: Uint8Array.of(1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 151),
    };
    // (1+10+40+50)/4 = 25.25 → 25; (20+30+60+70)/4 = 45; (80+90+120+130)/4 = 105; (100+110+140+151)/4 = 125.25 → 125
    assert.deepEqual(Array.from(toChw(img, 1, [2, 2])), [25, 45, 105, 125]);
  });

  test('bilinear on one axis only, non-square, and upsampling a single pixel', () => {
    const row: PngImage = { width: 3, height: 1, channels: 1, data: Uint8Array.of(0, 100, 200) };
    // sources (o + 0.5)·1.5 − 0.5 = 0.25 and 1.75: ¾·0 + ¼·100 = 25; ¼·100 + ¾·200 = 175
    assert.deepEqual(Array.from(toChw(row, 1, [1, 2])), [25, 175]);
    // Height 1 → 2 keeps each column; width 3 → 2 as above.
    assert.deepEqual(Array.from(toChw(row, 1, [2, 2])), [25, 175, 25, 175]);
    const dot: PngImage = { width: 1, height: 1, channels: 3, data: Uint8Array.of(9, 99, 199) };
    assert.deepEqual(
      Array.from(toChw(dot, 3, [2, 3])),
      [9, 9, 9, 9, 9, 9, 99, 99, 99, 99, 99, 99, 199, 199, 199, 199, 199, 199],
    );
    assert.deepEqual(toChw(gray, 1, [2, 2]), toChw(gray, 1), 'same size: no resampling');
  });

  test('bad arguments are ArgumentErrors', () => {
    assert.throws(() => toChw(gray, 2 as 1), ArgumentError);
    assert.throws(() => toChw(gray, 1, [0, 3]), ArgumentError);
    assert.throws(() => toChw(gray, 1, [2.5, 3]), ArgumentError);
    assert.throws(() => toChw({ ...gray, data: new Uint8Array(3) }, 1), ArgumentError);
  });
});

describe('readPngFile', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgrad-png-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads, converts and resizes', () => {
    const path = join(dir, 'g.png');
    writeFileSync(path, encodePng(2, 2, 1, Uint8Array.of(0, 100, 200, 40)));
    assert.deepEqual(Array.from(readPngFile(path, { channels: 1 })), [0, 100, 200, 40]);
    assert.deepEqual(
      Array.from(readPngFile(path, { channels: 3, size: [4, 4] }).subarray(16, 32)),
      [0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55, 200, 160, 80, 40],
    );
  });

  test('missing and corrupt files name the path', () => {
    const missing = join(dir, 'nope.png');
    expectDataFileError(() => readPngFile(missing, { channels: 1 }), missing, 'file not found');
    const junk = join(dir, 'junk.png');
    writeFileSync(junk, 'not a png at all');
    expectDataFileError(() => readPngFile(junk, { channels: 3 }), junk, 'bad signature');
    expectDataFileError(() => readPngFile(dir, { channels: 3 }), dir, 'is a directory');
  });
});
