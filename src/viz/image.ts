/**
 * The image type every viz function returns, and the few raster helpers they share: colour
 * maps, tiling into a grid, nearest-neighbour scaling, blending and a tiny bitmap font for
 * labels. Platform-free: a page draws an image with
 * `ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data.buffer), img.width, img.height), 0, 0)`
 * and Node writes it with `encodePng(img.width, img.height, 4, img.data)`.
 */
import { ArgumentError } from '../core/errors.js';

/** An 8-bit RGBA raster: `data` holds width × height × 4 bytes, row by row. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A blank image filled with one colour (default opaque white). */
export function createImage(
  width: number,
  height: number,
  rgb: readonly [number, number, number] = [255, 255, 255],
): RgbaImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new ArgumentError(`createImage: width and height must be positive integers, got ${width}x${height}`);
  }
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = rgb[0];
    data[i + 1] = rgb[1];
    data[i + 2] = rgb[2];
    data[i + 3] = 255;
  }
  return { width, height, data };
}

/** A colour map: a value in [0, 1] to RGB bytes. */
export type ColorMap = (v: number) => [number, number, number];

/** Black (0) to white (1). */
export const grayscale: ColorMap = (v) => {
  const g = Math.round(clamp01(v) * 255);
  return [g, g, g];
};

// Nine samples of matplotlib's viridis (perceptually uniform, readable in gray and by colour-blind readers).
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** Dark purple (0) through teal to yellow (1), interpolated between nine samples of viridis. */
export const viridis: ColorMap = (v) => {
  const t = clamp01(v) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(t), VIRIDIS.length - 2);
  const f = t - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
};

function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

/** Rescales values linearly to [0, 1] (all zeros when they are all equal). */
export function normalize01(values: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Float32Array(values.length);
  const range = hi - lo;
  if (!(range > 0)) return out;
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! - lo) / range;
  return out;
}

/** A height × width plane of values in [0, 1] drawn with a colour map. */
export function planeToImage(
  values: ArrayLike<number>,
  width: number,
  height: number,
  cmap: ColorMap = grayscale,
): RgbaImage {
  if (values.length !== width * height) {
    throw new ArgumentError(`planeToImage: ${values.length} values for a ${width}x${height} image`);
  }
  const img = createImage(width, height);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = cmap(values[i]!);
    img.data[i * 4] = r;
    img.data[i * 4 + 1] = g;
    img.data[i * 4 + 2] = b;
  }
  return img;
}

/** Each pixel repeated factor × factor times (keeps small kernels and 28×28 digits crisp). */
export function scaleNearest(img: RgbaImage, factor: number): RgbaImage {
  if (!(Number.isInteger(factor) && factor >= 1))
    throw new ArgumentError(`scaleNearest: factor must be a positive integer, got ${factor}`);
  if (factor === 1) return img;
  const out = createImage(img.width * factor, img.height * factor);
  for (let y = 0; y < out.height; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < out.width; x++) {
      const s = (sy * img.width + Math.floor(x / factor)) * 4;
      out.data.set(img.data.subarray(s, s + 4), (y * out.width + x) * 4);
    }
  }
  return out;
}

/** Copies src into dst with its top-left corner at (x, y), clipped to dst. */
export function blit(dst: RgbaImage, src: RgbaImage, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    const x0 = Math.max(0, -x);
    const x1 = Math.min(src.width, dst.width - x);
    if (x1 <= x0) continue;
    dst.data.set(
      src.data.subarray((sy * src.width + x0) * 4, (sy * src.width + x1) * 4),
      (dy * dst.width + x + x0) * 4,
    );
  }
}

/** Columns of the most nearly square grid that holds n tiles. */
export function gridColumns(n: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(n)));
}

/**
 * Tiles equally sized images in rows of `columns`, separated by `gap` pixels of the background colour.
 * @example tile([a, b, c, d], { columns: 2 }) // a 2 × 2 grid
 */
export function tile(
  tiles: readonly RgbaImage[],
  opts: { columns?: number; gap?: number; background?: readonly [number, number, number] } = {},
): RgbaImage {
  if (tiles.length === 0) throw new ArgumentError('tile: no images');
  const { width, height } = tiles[0]!;
  if (tiles.some((t) => t.width !== width || t.height !== height))
    throw new ArgumentError('tile: images differ in size');
  const columns = Math.min(opts.columns ?? gridColumns(tiles.length), tiles.length);
  const rows = Math.ceil(tiles.length / columns);
  const gap = opts.gap ?? 1;
  const out = createImage(
    columns * width + (columns + 1) * gap,
    rows * height + (rows + 1) * gap,
    opts.background ?? [255, 255, 255],
  );
  tiles.forEach((t, i) =>
    blit(out, t, gap + (i % columns) * (width + gap), gap + Math.floor(i / columns) * (height + gap)),
  );
  return out;
}

/** Mixes `top` over `bottom` (same size) with weight alpha for top. */
export function blend(bottom: RgbaImage, top: RgbaImage, alpha: number): RgbaImage {
  if (bottom.width !== top.width || bottom.height !== top.height)
    throw new ArgumentError('blend: images differ in size');
  const out = createImage(bottom.width, bottom.height);
  for (let i = 0; i < out.data.length; i += 4) {
    for (let c = 0; c < 3; c++)
      out.data[i + c] = Math.round(bottom.data[i + c]! * (1 - alpha) + top.data[i + c]! * alpha);
  }
  return out;
}

/** Bilinear resampling of a height × width plane (align-corners off, as PyTorch's interpolate). */
export function resizePlane(values: ArrayLike<number>, w: number, h: number, outW: number, outH: number): Float32Array {
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * h) / outH - 0.5, 0), h - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * w) / outW - 0.5, 0), w - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = sx - x0;
      const top = values[y0 * w + x0]! * (1 - fx) + values[y0 * w + x1]! * fx;
      const bottom = values[y1 * w + x0]! * (1 - fx) + values[y1 * w + x1]! * fx;
      out[y * outW + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

// A 3×5 bitmap font: each glyph is five octal digits, one per row, bit 4 the left pixel.
const GLYPHS: Record<string, string> = {
  '0': '75557',
  '1': '26227',
  '2': '71747',
  '3': '71717',
  '4': '55711',
  '5': '74717',
  '6': '74757',
  '7': '71111',
  '8': '75757',
  '9': '75717',
  A: '25755',
  B: '65656',
  C: '34443',
  D: '65556',
  E: '74647',
  F: '74644',
  G: '34553',
  H: '55755',
  I: '72227',
  J: '11152',
  K: '55655',
  L: '44447',
  M: '57755',
  N: '65555',
  O: '25552',
  P: '65644',
  Q: '25573',
  R: '65655',
  S: '34216',
  T: '72222',
  U: '55557',
  V: '55552',
  W: '55775',
  X: '55255',
  Y: '55222',
  Z: '71247',
  '-': '00700',
  '/': '11244',
  '.': '00002',
  ' ': '00000',
  _: '00007',
  '(': '24442',
  ')': '42224',
  ':': '02020',
  '+': '02720',
  '%': '51245',
  "'": '22000',
  ',': '00024',
  '?': '71202',
  '!': '22202',
  '#': '57575',
  '=': '07070',
  '&': '25253',
};

/** Width in pixels of text drawn by drawText at a scale. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * 4 - 1) * scale;
}

/** Height in pixels of one line of drawText at a scale. */
export function textHeight(scale = 1): number {
  return 5 * scale;
}

/**
 * Draws text with the built-in 3×5 font (capitals, digits, common punctuation; lower case is
 * drawn as capitals, anything else as '?'), each font pixel scale × scale.
 */
export function drawText(
  img: RgbaImage,
  text: string,
  x: number,
  y: number,
  rgb: readonly [number, number, number],
  scale = 1,
): void {
  let cx = x;
  for (const ch of text.toUpperCase()) {
    const glyph = GLYPHS[ch] ?? GLYPHS['?']!;
    for (let row = 0; row < 5; row++) {
      const bits = Number(glyph[row]);
      for (let col = 0; col < 3; col++) {
        if (!(bits & (4 >> col))) continue;
        fillRect(img, cx + col * scale, y + row * scale, scale, scale, rgb);
      }
    }
    cx += 4 * scale;
  }
}

/** Fills a rectangle, clipped to the image. */
export function fillRect(
  img: RgbaImage,
  x: number,
  y: number,
  w: number,
  h: number,
  rgb: readonly [number, number, number],
): void {
  for (let py = Math.max(0, y); py < Math.min(img.height, y + h); py++) {
    for (let px = Math.max(0, x); px < Math.min(img.width, x + w); px++) {
      const i = (py * img.width + px) * 4;
      img.data[i] = rgb[0];
      img.data[i + 1] = rgb[1];
      img.data[i + 2] = rgb[2];
      img.data[i + 3] = 255;
    }
  }
}
