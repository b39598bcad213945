/**
 * Seeded image augmentation on planar CHW float images, in plain TypeScript
 * (no Node imports, so it runs in browsers too).
 *
 * Conventions:
 * - An `Image` is planar: `data[c·H·W + y·W + x]`, x to the right, y down.
 *   Values are in [0, 1] while augmenting; `normalize` comes last.
 * - The deterministic primitives (`shift`, `rotate`, `resize`, `crop`, …)
 *   return a new image and never modify their input.
 * - Random transforms take every random number from the `Generator` they are
 *   given, so the same seed gives the same images. A random transform may
 *   return its input unchanged (e.g. a flip that was not drawn), so treat
 *   images as immutable.
 */
import { ArgumentError, ShapeError } from '../core/errors.js';
import { fromArray } from '../tensor/creation.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import type { Batch, Dataset } from './dataset.js';
import type { ImageSet } from './mnist.js';

/**
 * A planar channels×height×width float image.
 * @example const img: Image = { data: new Float32Array(28 * 28), channels: 1, height: 28, width: 28 };
 */
export interface Image {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/**
 * An image-to-image function that takes its randomness from `g`.
 * @example const t: Transform = (img, g) => shift(img, g.int(-2, 3), 0);
 */
export type Transform = (img: Image, g: Generator) => Image;

/** Padding as torchvision takes it: all sides, [left/right, top/bottom], or [left, top, right, bottom]. */
export type Padding = number | readonly [number, number] | readonly [number, number, number, number];

/** An output size: a square side or [height, width]. */
export type Size = number | readonly [number, number];

// ------------------------------------------------------------------ helpers

function checkImage(img: Image, op: string): void {
  const { channels: c, height: h, width: w } = img;
  for (const [name, v] of [
    ['channels', c],
    ['height', h],
    ['width', w],
  ] as const) {
    if (!(Number.isInteger(v) && v > 0))
      throw new ShapeError(`${op}: image ${name} must be a positive integer, got ${v}`);
  }
  if (img.data.length !== c * h * w) {
    throw new ShapeError(`${op}: image data holds ${img.data.length} values, expected ${c}×${h}×${w} = ${c * h * w}`);
  }
}

function checkInt(op: string, name: string, v: number, min = -Infinity): void {
  if (!(Number.isInteger(v) && v >= min)) {
    const what = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : 'an integer';
    throw new ArgumentError(`${op}: ${name} must be ${what}, got ${v}`);
  }
}

function checkFinite(op: string, name: string, v: number, min = -Infinity): void {
  if (!(Number.isFinite(v) && v >= min)) {
    throw new ArgumentError(`${op}: ${name} must be a finite number${min === 0 ? ' ≥ 0' : ''}, got ${v}`);
  }
}

function checkProbability(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`${op}: p must be in [0, 1], got ${p}`);
}

function parseSize(op: string, size: Size): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!(Number.isInteger(h) && h! > 0 && Number.isInteger(w) && w! > 0)) {
    throw new ArgumentError(`${op}: size must be positive integers, got ${JSON.stringify(size)}`);
  }
  return [h!, w!];
}

/** [top, right, bottom, left]. */
function parsePadding(op: string, padding: Padding): [number, number, number, number] {
  let sides: [number, number, number, number];
  if (typeof padding === 'number') sides = [padding, padding, padding, padding];
  else if (padding.length === 2) sides = [padding[1], padding[0], padding[1], padding[0]];
  else if (padding.length === 4) sides = [padding[1], padding[2], padding[3], padding[0]];
  else throw new ArgumentError(`${op}: padding must be a number or 2 or 4 numbers, got ${JSON.stringify(padding)}`);
  if (!sides.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new ArgumentError(`${op}: padding must be non-negative integers, got ${JSON.stringify(padding)}`);
  }
  return sides;
}

function perChannel(op: string, name: string, v: number | readonly number[], channels: number): number[] {
  const arr = typeof v === 'number' ? [v] : [...v];
  if (arr.length !== 1 && arr.length !== channels) {
    throw new ArgumentError(`${op}: ${name} has ${arr.length} values for ${channels} channels`);
  }
  return arr.length === 1 ? new Array<number>(channels).fill(arr[0]!) : arr;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function like(img: Image, data: Float32Array): Image {
  return { data, channels: img.channels, height: img.height, width: img.width };
}

// -------------------------------------------------------------- geometry

/**
 * The `height`×`width` window whose top-left corner is at (`top`, `left`) of
 * the image. The window may reach outside the image (negative offsets too);
 * those pixels are `fill`, which is how padding, shifting and padded random
 * crops are all one copy.
 * @example crop(img, 2, 2, 24, 24); // centre 24×24 of a 28×28 image
 */
export function crop(img: Image, top: number, left: number, height: number, width: number, fill = 0): Image {
  checkImage(img, 'crop');
  checkInt('crop', 'top', top);
  checkInt('crop', 'left', left);
  checkInt('crop', 'height', height, 1);
  checkInt('crop', 'width', width, 1);
  const { channels: C, height: H, width: W, data } = img;
  const out = new Float32Array(C * height * width);
  if (fill !== 0) out.fill(fill);
  // Output columns [x0, x1) read input columns [left + x0, left + x1).
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, W - left);
  const y0 = Math.max(0, -top);
  const y1 = Math.min(height, H - top);
  if (x1 > x0 && y1 > y0) {
    for (let c = 0; c < C; c++) {
      for (let y = y0; y < y1; y++) {
        const dst = (c * height + y) * width;
        const src = (c * H + top + y) * W + left;
        for (let x = x0; x < x1; x++) out[dst + x] = data[src + x]!;
      }
    }
  }
  return { data: out, channels: C, height, width };
}

/**
 * Integer translation: positive `dx` moves the content right, positive `dy`
 * moves it down; vacated pixels are `fill`. The size is unchanged.
 * @example shift(img, 2, -1); // two pixels right, one up
 */
export function shift(img: Image, dx: number, dy: number, fill = 0): Image {
  checkInt('shift', 'dx', dx);
  checkInt('shift', 'dy', dy);
  checkImage(img, 'shift');
  return crop(img, -dy, -dx, img.height, img.width, fill);
}

/**
 * Pads the borders with `fill`. `padding` is one number for all sides,
 * [left/right, top/bottom], or [left, top, right, bottom] (torchvision's order).
 * @example pad(img, 4).height; // 36 for a 28-pixel image
 */
export function pad(img: Image, padding: Padding, fill = 0): Image {
  checkImage(img, 'pad');
  const [top, right, bottom, left] = parsePadding('pad', padding);
  return crop(img, -top, -left, img.height + top + bottom, img.width + left + right, fill);
}

/**
 * Mirrors left–right.
 * @example hflip(img);
 */
export function hflip(img: Image): Image {
  checkImage(img, 'hflip');
  const { channels: C, height: H, width: W, data } = img;
  const out = new Float32Array(data.length);
  for (let r = 0; r < C * H; r++) {
    const o = r * W;
    for (let x = 0; x < W; x++) out[o + x] = data[o + W - 1 - x]!;
  }
  return like(img, out);
}

/**
 * Mirrors top–bottom.
 * @example vflip(img);
 */
export function vflip(img: Image): Image {
  checkImage(img, 'vflip');
  const { channels: C, height: H, width: W, data } = img;
  const out = new Float32Array(data.length);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      const p = c * H * W;
      out.set(data.subarray(p + (H - 1 - y) * W, p + (H - y) * W), p + y * W);
    }
  }
  return like(img, out);
}

/** cos and sin of an angle in degrees, exact at multiples of 90° so quarter turns move pixels without blur. */
function cosSinDegrees(degrees: number): [number, number] {
  const r = ((degrees % 360) + 360) % 360;
  if (r === 0) return [1, 0];
  if (r === 90) return [0, 1];
  if (r === 180) return [-1, 0];
  if (r === 270) return [0, -1];
  const rad = (r * Math.PI) / 180;
  return [Math.cos(rad), Math.sin(rad)];
}

/**
 * Rotates about the image centre ((W−1)/2, (H−1)/2) by `degrees`, positive
 * = counter-clockwise as displayed (y down), like torchvision. Each output
 * pixel samples the input bilinearly; neighbours outside the image count as
 * `fill`, so edges blend into the fill. The size is unchanged (corners are cut).
 * @example rotate(img, 15);
 */
export function rotate(img: Image, degrees: number, fill = 0): Image {
  checkImage(img, 'rotate');
  checkFinite('rotate', 'degrees', degrees);
  const { channels: C, height: H, width: W, data } = img;
  const plane = H * W;
  const out = new Float32Array(C * plane);
  const [cos, sin] = cosSinDegrees(degrees);
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  // Inverse map: output offset (u, v) from the centre reads the input at
  // (u·cos − v·sin, u·sin + v·cos), i.e. the output rotated back by −θ.
  for (let y = 0; y < H; y++) {
    const v = y - cy;
    let sx = -cx * cos - v * sin + cx;
    let sy = -cx * sin + v * cos + cy;
    for (let x = 0; x < W; x++, sx += cos, sy += sin) {
      const o = y * W + x;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) {
        for (let c = 0; c < C; c++) out[c * plane + o] = fill;
        continue;
      }
      const fx = sx - x0;
      const fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const i = y0 * W + x0;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        for (let c = 0, p = i; c < C; c++, p += plane) {
          out[c * plane + o] = w00 * data[p]! + w01 * data[p + 1]! + w10 * data[p + W]! + w11 * data[p + W + 1]!;
        }
      } else {
        const inX0 = x0 >= 0;
        const inX1 = x0 + 1 < W;
        const inY0 = y0 >= 0;
        const inY1 = y0 + 1 < H;
        for (let c = 0, p = i; c < C; c++, p += plane) {
          const a = inY0 && inX0 ? data[p]! : fill;
          const b = inY0 && inX1 ? data[p + 1]! : fill;
          const d = inY1 && inX0 ? data[p + W]! : fill;
          const e = inY1 && inX1 ? data[p + W + 1]! : fill;
          out[c * plane + o] = w00 * a + w01 * b + w10 * d + w11 * e;
        }
      }
    }
  }
  return like(img, out);
}

/** Source indices and weights along one axis, as PyTorch's align_corners=False bilinear computes them. */
function resizeAxis(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; l1: Float64Array } {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l1 = new Float64Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(0, (d + 0.5) * scale - 0.5);
    const k = Math.min(Math.floor(src), inSize - 1);
    i0[d] = k;
    i1[d] = k < inSize - 1 ? k + 1 : k;
    l1[d] = src - k;
  }
  return { i0, i1, l1 };
}

/**
 * @internal The bilinear resampling behind `resize` and the PNG loader's
 * resizing: planar [C, H, W] values in, [C, height, width] out, computed in
 * float64 (the PNG loader rounds the float64 results to bytes).
 */
export function resizePlanes(
  data: ArrayLike<number>,
  C: number,
  H: number,
  W: number,
  height: number,
  width: number,
  out: Float32Array | Float64Array,
): void {
  const ax = resizeAxis(W, width);
  const ay = resizeAxis(H, height);
  for (let c = 0; c < C; c++) {
    const p = c * H * W;
    for (let y = 0; y < height; y++) {
      const r0 = p + ay.i0[y]! * W;
      const r1 = p + ay.i1[y]! * W;
      const h1 = ay.l1[y]!;
      const h0 = 1 - h1;
      const o = (c * height + y) * width;
      for (let x = 0; x < width; x++) {
        const a = ax.i0[x]!;
        const b = ax.i1[x]!;
        const w1 = ax.l1[x]!;
        const w0 = 1 - w1;
        out[o + x] = h0 * (w0 * data[r0 + a]! + w1 * data[r0 + b]!) + h1 * (w0 * data[r1 + a]! + w1 * data[r1 + b]!);
      }
    }
  }
}

/**
 * Bilinear resize with PyTorch `interpolate(mode='bilinear',
 * align_corners=False)` semantics: pixel centres at half-integers, source
 * coordinates clamped at the edges, no antialiasing (so shrinking by more
 * than 2× skips pixels, as PyTorch does with antialias=False).
 * @example resize(img, 32, 32);
 */
export function resize(img: Image, height: number, width: number): Image {
  checkImage(img, 'resize');
  checkInt('resize', 'height', height, 1);
  checkInt('resize', 'width', width, 1);
  const { channels: C, height: H, width: W, data } = img;
  const out = new Float32Array(C * height * width);
  resizePlanes(data, C, H, W, height, width, out);
  return { data: out, channels: C, height, width };
}

// ----------------------------------------------------------------- colour

/**
 * Multiplies every value by `factor` (≥ 0) and clamps to [0, 1].
 * @example adjustBrightness(img, 1.2);
 */
export function adjustBrightness(img: Image, factor: number): Image {
  checkImage(img, 'adjustBrightness');
  checkFinite('adjustBrightness', 'factor', factor, 0);
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = clamp01(img.data[i]! * factor);
  return like(img, out);
}

function checkColourChannels(op: string, img: Image): void {
  if (img.channels !== 1 && img.channels !== 3) {
    throw new ShapeError(`${op}: expected a 1- or 3-channel image, got ${img.channels} channels`);
  }
}

/** Luma weights of torchvision's rgb_to_grayscale (ITU-R 601). */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * Blends with the mean grey level: `clamp(factor·v + (1 − factor)·m)`, where
 * m is the mean of 0.299R + 0.587G + 0.114B over the image (the mean of the
 * image for one channel), as torchvision does. 0 gives flat grey, 1 the input.
 * @example adjustContrast(img, 0.8);
 */
export function adjustContrast(img: Image, factor: number): Image {
  checkImage(img, 'adjustContrast');
  checkFinite('adjustContrast', 'factor', factor, 0);
  checkColourChannels('adjustContrast', img);
  const { data, channels: C } = img;
  const plane = img.height * img.width;
  let sum = 0;
  for (let c = 0; c < C; c++) {
    const k = C === 1 ? 1 : LUMA[c]!;
    let s = 0;
    for (let j = c * plane; j < (c + 1) * plane; j++) s += data[j]!;
    sum += k * s;
  }
  const bias = (1 - factor) * (sum / plane);
  const out = new Float32Array(data.length);
  for (let i = 0; i < out.length; i++) out[i] = clamp01(factor * data[i]! + bias);
  return like(img, out);
}

/**
 * Blends each pixel with its own grey level 0.299R + 0.587G + 0.114B: 0
 * gives greyscale, 1 the input, above 1 more saturated. One-channel images
 * come back unchanged (copied).
 * @example adjustSaturation(img, 0); // greyscale, still 3 channels
 */
export function adjustSaturation(img: Image, factor: number): Image {
  checkImage(img, 'adjustSaturation');
  checkFinite('adjustSaturation', 'factor', factor, 0);
  checkColourChannels('adjustSaturation', img);
  const { data } = img;
  if (img.channels === 1) return like(img, data.slice());
  const plane = img.height * img.width;
  const out = new Float32Array(data.length);
  for (let j = 0; j < plane; j++) {
    const r = data[j]!;
    const g = data[j + plane]!;
    const b = data[j + 2 * plane]!;
    const grey = (1 - factor) * (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b);
    out[j] = clamp01(factor * r + grey);
    out[j + plane] = clamp01(factor * g + grey);
    out[j + 2 * plane] = clamp01(factor * b + grey);
  }
  return like(img, out);
}

/**
 * Rotates the hue by `delta` turns (in [−0.5, 0.5]) through RGB → HSV → RGB,
 * following torchvision's formulas; 1/3 turns red into green. One-channel
 * images come back unchanged (copied); other channel counts are an error.
 * @example adjustHue(img, 0.1);
 */
export function adjustHue(img: Image, delta: number): Image {
  checkImage(img, 'adjustHue');
  if (!(delta >= -0.5 && delta <= 0.5))
    throw new ArgumentError(`adjustHue: delta must be in [-0.5, 0.5], got ${delta}`);
  checkColourChannels('adjustHue', img);
  const { data } = img;
  if (img.channels === 1) return like(img, data.slice());
  const plane = img.height * img.width;
  const out = new Float32Array(data.length);
  for (let j = 0; j < plane; j++) {
    const r = data[j]!;
    const g = data[j + plane]!;
    const b = data[j + 2 * plane]!;
    const v = Math.max(r, g, b);
    const cr = v - Math.min(r, g, b);
    // Greys (cr = 0) have hue 0 and saturation 0, and stay grey.
    const s = cr === 0 ? 0 : cr / v;
    let h = 0;
    if (cr !== 0) {
      if (v === r) h = (g - b) / cr;
      else if (v === g) h = 2 + (b - r) / cr;
      else h = 4 + (r - g) / cr;
    }
    // Hue kept in sixths of a turn, so whole-sector turns (1/3 → 2) stay exact.
    const h6 = (((h + 6 * delta) % 6) + 6) % 6;
    const i = Math.floor(h6);
    const f = h6 - i;
    const p = clamp01(v * (1 - s));
    const q = clamp01(v * (1 - s * f));
    const t = clamp01(v * (1 - s * (1 - f)));
    let ro: number, go: number, bo: number;
    switch (i % 6) {
      case 0:
        [ro, go, bo] = [v, t, p];
        break;
      case 1:
        [ro, go, bo] = [q, v, p];
        break;
      case 2:
        [ro, go, bo] = [p, v, t];
        break;
      case 3:
        [ro, go, bo] = [p, q, v];
        break;
      case 4:
        [ro, go, bo] = [t, p, v];
        break;
      default:
        [ro, go, bo] = [v, p, q];
    }
    out[j] = ro;
    out[j + plane] = go;
    out[j + 2 * plane] = bo;
  }
  return like(img, out);
}

/**
 * `(v − mean[c]) / std[c]` per channel; a single number applies to every channel.
 * @example normalize(img, 0.1307, 0.3081);
 */
export function normalize(img: Image, mean: readonly number[] | number, std: readonly number[] | number): Image {
  checkImage(img, 'normalize');
  const m = perChannel('normalize', 'mean', mean, img.channels);
  const s = perChannel('normalize', 'std', std, img.channels);
  if (!s.every((v) => v > 0)) throw new ArgumentError(`normalize: std must be positive, got [${s.join(', ')}]`);
  const plane = img.height * img.width;
  const out = new Float32Array(img.data.length);
  for (let c = 0; c < img.channels; c++) {
    const mc = m[c]!;
    const sc = s[c]!;
    for (let j = c * plane; j < (c + 1) * plane; j++) out[j] = (img.data[j]! - mc) / sc;
  }
  return like(img, out);
}

// -------------------------------------------------------- random transforms

/**
 * Applies transforms left to right.
 * @example const t = compose([randomShift(2), randomRotation(10)]);
 */
export function compose(transforms: readonly Transform[]): Transform {
  const list = [...transforms];
  if (!list.every((t) => typeof t === 'function'))
    throw new ArgumentError('compose: every transform must be a function');
  return (img, g) => {
    for (const t of list) img = t(img, g);
    return img;
  };
}

/**
 * A random `size` window of the image padded by `padding` (padded pixels are
 * `fill`); draws the top row, then the left column, uniformly.
 * @example randomCrop(28, { padding: 4 }); // the classic CIFAR/MNIST augmentation
 */
export function randomCrop(size: Size, opts: { padding?: Padding; fill?: number } = {}): Transform {
  const [h, w] = parseSize('randomCrop', size);
  const [pt, pr, pb, pl] = parsePadding('randomCrop', opts.padding ?? 0);
  const fill = opts.fill ?? 0;
  return (img, g) => {
    checkImage(img, 'randomCrop');
    const ph = img.height + pt + pb;
    const pw = img.width + pl + pr;
    if (h > ph || w > pw) {
      throw new ShapeError(`randomCrop: crop ${h}×${w} is larger than the padded image ${ph}×${pw}`);
    }
    const top = g.int(0, ph - h + 1);
    const left = g.int(0, pw - w + 1);
    return crop(img, top - pt, left - pl, h, w, fill);
  };
}

/**
 * Shifts by integers drawn uniformly from [−maxDx, maxDx] and then
 * [−maxDy, maxDy] (see `shift` for directions).
 * @example randomShift(2); // up to two pixels each way
 */
export function randomShift(maxDx: number, maxDy = maxDx, fill = 0): Transform {
  checkInt('randomShift', 'maxDx', maxDx, 0);
  checkInt('randomShift', 'maxDy', maxDy, 0);
  return (img, g) => {
    const dx = g.int(-maxDx, maxDx + 1);
    const dy = g.int(-maxDy, maxDy + 1);
    return shift(img, dx, dy, fill);
  };
}

/**
 * Rotates by an angle drawn uniformly from [−maxDegrees, maxDegrees] (see
 * `rotate` for direction and sampling).
 * @example randomRotation(10);
 */
export function randomRotation(maxDegrees: number, fill = 0): Transform {
  checkFinite('randomRotation', 'maxDegrees', maxDegrees, 0);
  return (img, g) => rotate(img, maxDegrees * (2 * g.uniform() - 1), fill);
}

/**
 * torchvision's RandomResizedCrop: a window of random area (fraction of the
 * image in `scale`) and aspect ratio (log-uniform in `ratio`, width/height),
 * resized to `size`; after 10 failed draws it falls back to the largest
 * centred window with an allowed ratio. Window sides are rounded half up.
 * @example randomResizedCrop(28, { scale: [0.6, 1] });
 */
export function randomResizedCrop(
  size: Size,
  opts: { scale?: readonly [number, number]; ratio?: readonly [number, number] } = {},
): Transform {
  const [oh, ow] = parseSize('randomResizedCrop', size);
  const [sLo, sHi] = opts.scale ?? [0.08, 1];
  const [rLo, rHi] = opts.ratio ?? [3 / 4, 4 / 3];
  if (!(sLo > 0 && sLo <= sHi && Number.isFinite(sHi))) {
    throw new ArgumentError(`randomResizedCrop: scale must be 0 < lo ≤ hi, got [${sLo}, ${sHi}]`);
  }
  if (!(rLo > 0 && rLo <= rHi && Number.isFinite(rHi))) {
    throw new ArgumentError(`randomResizedCrop: ratio must be 0 < lo ≤ hi, got [${rLo}, ${rHi}]`);
  }
  const logLo = Math.log(rLo);
  const logHi = Math.log(rHi);
  return (img, g) => {
    checkImage(img, 'randomResizedCrop');
    const H = img.height;
    const W = img.width;
    const area = H * W;
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * (sLo + (sHi - sLo) * g.uniform());
      const aspect = Math.exp(logLo + (logHi - logLo) * g.uniform());
      const w = Math.round(Math.sqrt(target * aspect));
      const h = Math.round(Math.sqrt(target / aspect));
      if (w > 0 && w <= W && h > 0 && h <= H) {
        const top = g.int(0, H - h + 1);
        const left = g.int(0, W - w + 1);
        return resize(crop(img, top, left, h, w), oh, ow);
      }
    }
    let w = W;
    let h = H;
    if (W / H < rLo) h = Math.round(W / rLo);
    else if (W / H > rHi) w = Math.round(H * rHi);
    return resize(crop(img, Math.floor((H - h) / 2), Math.floor((W - w) / 2), h, w), oh, ow);
  };
}

/**
 * Mirrors left–right with probability `p`. Always draws one number, so the
 * stream advances the same whatever `p` is.
 * @example randomHorizontalFlip(); // p = 0.5
 */
export function randomHorizontalFlip(p = 0.5): Transform {
  checkProbability('randomHorizontalFlip', p);
  return (img, g) => (g.uniform() < p ? hflip(img) : img);
}

/**
 * Mirrors top–bottom with probability `p` (one draw per call).
 * @example randomVerticalFlip(0.1);
 */
export function randomVerticalFlip(p = 0.5): Transform {
  checkProbability('randomVerticalFlip', p);
  return (img, g) => (g.uniform() < p ? vflip(img) : img);
}

/** A jitter strength b (factors in [max(0, 1 − b), 1 + b]) or an explicit [min, max] range. */
export type JitterRange = number | readonly [number, number];

/** The strengths of `colorJitter`; an absent or zero entry is not applied and draws nothing. */
export interface ColorJitterOptions {
  brightness?: JitterRange;
  contrast?: JitterRange;
  saturation?: JitterRange;
  /** h in [0, 0.5] (deltas in [−h, h]) or a range within [−0.5, 0.5]. */
  hue?: JitterRange;
}

function factorRange(name: string, v: JitterRange | undefined): [number, number] | null {
  if (v === undefined) return null;
  if (typeof v === 'number') {
    if (!(v >= 0 && Number.isFinite(v))) throw new ArgumentError(`colorJitter: ${name} must be ≥ 0, got ${v}`);
    return v === 0 ? null : [Math.max(0, 1 - v), 1 + v];
  }
  const [lo, hi] = v;
  if (!(lo >= 0 && lo <= hi && Number.isFinite(hi))) {
    throw new ArgumentError(`colorJitter: ${name} range must be 0 ≤ min ≤ max, got [${lo}, ${hi}]`);
  }
  return [lo, hi];
}

function hueRange(v: JitterRange | undefined): [number, number] | null {
  if (v === undefined) return null;
  if (typeof v === 'number') {
    if (!(v >= 0 && v <= 0.5)) throw new ArgumentError(`colorJitter: hue must be in [0, 0.5], got ${v}`);
    return v === 0 ? null : [-v, v];
  }
  const [lo, hi] = v;
  if (!(lo >= -0.5 && lo <= hi && hi <= 0.5)) {
    throw new ArgumentError(`colorJitter: hue range must be -0.5 ≤ min ≤ max ≤ 0.5, got [${lo}, ${hi}]`);
  }
  return [lo, hi];
}

/**
 * torchvision's ColorJitter: draws an order of the four adjustments (one
 * shuffle), then a brightness, contrast, saturation and hue value for each
 * one enabled, uniformly in its range, and applies them in the drawn order.
 * @example colorJitter({ brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05 });
 */
export function colorJitter(opts: ColorJitterOptions = {}): Transform {
  const ranges = [
    factorRange('brightness', opts.brightness),
    factorRange('contrast', opts.contrast),
    factorRange('saturation', opts.saturation),
    hueRange(opts.hue),
  ];
  const ops = [adjustBrightness, adjustContrast, adjustSaturation, adjustHue];
  return (img, g) => {
    const order = [0, 1, 2, 3];
    g.shuffle(order);
    const values = ranges.map((r) => (r === null ? 0 : r[0] + (r[1] - r[0]) * g.uniform()));
    for (const k of order) if (ranges[k] !== null) img = ops[k]!(img, values[k]!);
    return img;
  };
}

// ----------------------------------------------------------------- dataset

/**
 * Sample `index` of an image set as a [0, 1] float image (bytes / 255).
 * @example const img = imageAt(set, 0);
 */
export function imageAt(set: ImageSet, index: number): Image {
  if (!(Number.isInteger(index) && index >= 0 && index < set.count)) {
    throw new ArgumentError(`imageAt: index ${index} out of range for ${set.count} images`);
  }
  const { channels, height, width } = set;
  const size = channels * height * width;
  const data = new Float32Array(size);
  const src = index * size;
  for (let j = 0; j < size; j++) data[j] = set.images[src + j]! / 255;
  return { data, channels, height, width };
}

/**
 * An `ImageSet` seen through a random transform: each sample's bytes become
 * [0, 1] floats, go through `transform`, and are then normalized per channel
 * with `mean`/`std`. Random numbers come from `generator`, by default the
 * global `defaultGenerator`, whose state training checkpoints save, so a
 * resumed run sees the same augmentations as an uninterrupted one. Samples
 * draw in batch order. All transformed samples of a batch must share one
 * shape; an empty batch has the untransformed shape.
 * @example
 * const train = new AugmentedDataset(set, compose([randomShift(2), randomRotation(10)]), { mean: 0.286, std: 0.353 });
 */
export class AugmentedDataset implements Dataset {
  readonly length: number;
  private readonly mean: number | readonly number[];
  private readonly std: number | readonly number[];
  private readonly generator: Generator;

  constructor(
    readonly set: ImageSet,
    readonly transform: Transform,
    opts: { mean?: number | readonly number[]; std?: number | readonly number[]; generator?: Generator } = {},
  ) {
    const { count, channels, height, width } = set;
    if (set.images.length !== count * channels * height * width) {
      throw new ShapeError(
        `AugmentedDataset: ${set.images.length} bytes do not make ${count} images of ${channels}×${height}×${width}`,
      );
    }
    if (set.labels.length !== count) {
      throw new ShapeError(`AugmentedDataset: ${set.labels.length} labels for ${count} images`);
    }
    this.length = count;
    this.mean = opts.mean ?? 0;
    this.std = opts.std ?? 1;
    // Checked against the input channels now; a transform that changes the
    // channel count is checked again per batch.
    const s = perChannel('AugmentedDataset', 'std', this.std, channels);
    perChannel('AugmentedDataset', 'mean', this.mean, channels);
    if (!s.every((v) => v > 0))
      throw new ArgumentError(`AugmentedDataset: std must be positive, got [${s.join(', ')}]`);
    this.generator = opts.generator ?? defaultGenerator;
  }

  get(index: number): Batch {
    const b = this.getBatch([index]);
    return { x: b.x.reshape(b.x.shape.slice(1)), y: b.y.reshape([]) };
  }

  getBatch(indices: readonly number[]): Batch {
    const n = indices.length;
    const y = new Int32Array(n);
    let x: Float32Array | null = null;
    let shape = [this.set.channels, this.set.height, this.set.width];
    let mean: number[] = [];
    let std: number[] = [];
    for (let b = 0; b < n; b++) {
      const i = indices[b]!;
      if (!(Number.isInteger(i) && i >= 0 && i < this.length)) {
        throw new ArgumentError(`AugmentedDataset: index ${i} out of range for ${this.length} samples`);
      }
      y[b] = this.set.labels[i]!;
      const img = this.transform(imageAt(this.set, i), this.generator);
      checkImage(img, 'AugmentedDataset transform output');
      if (x === null) {
        shape = [img.channels, img.height, img.width];
        mean = perChannel('AugmentedDataset', 'mean', this.mean, img.channels);
        std = perChannel('AugmentedDataset', 'std', this.std, img.channels);
        x = new Float32Array(n * img.data.length);
      } else if (img.channels !== shape[0] || img.height !== shape[1] || img.width !== shape[2]) {
        throw new ShapeError(
          `AugmentedDataset: sample ${i} transformed to ${img.channels}×${img.height}×${img.width}, but the batch's first sample is ${shape.join('×')}`,
        );
      }
      const size = img.data.length;
      const plane = img.height * img.width;
      const dst = b * size;
      for (let c = 0; c < img.channels; c++) {
        const m = mean[c]!;
        const s = std[c]!;
        for (let j = c * plane; j < (c + 1) * plane; j++) x[dst + j] = (img.data[j]! - m) / s;
      }
    }
    return { x: fromArray(x ?? new Float32Array(0), [n, ...shape]), y: fromArray(y, [n]) };
  }
}

// ------------------------------------------------------- test-time preprocessing

/** Python's round(): halves go to the even neighbour (torchvision's centre-crop offsets use it). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The image resized (bilinearly) so its shorter side is `size`, keeping the
 * aspect ratio: the longer side becomes floor(size · long / short), as
 * torchvision's Resize(int) does. The first step of the AlexNet / VGG protocol.
 * @example resizeShorterSide(img, 256); // 512×384 -> 341×256
 */
export function resizeShorterSide(img: Image, size: number): Image {
  checkImage(img, 'resizeShorter');
  checkInt('resizeShorter', 'size', size, 1);
  const { height: H, width: W } = img;
  if (H <= W) return H === size ? img : resize(img, size, Math.floor((size * W) / H));
  return W === size ? img : resize(img, Math.floor((size * H) / W), size);
}

/**
 * A transform resizing so the shorter side is `size`, keeping the aspect ratio.
 * @example compose([resizeShorter(256), centerCrop(224)])
 */
export function resizeShorter(size: number): Transform {
  checkInt('resizeShorter', 'size', size, 1);
  return (img) => resizeShorterSide(img, size);
}

/**
 * The centred `size` window (torchvision's offsets: round((H − h) / 2), halves to
 * even); an image smaller than the window is padded with zeros.
 * @example centerCropImage(img, 224);
 */
export function centerCropImage(img: Image, size: Size): Image {
  checkImage(img, 'centerCrop');
  const [h, w] = parseSize('centerCrop', size);
  return crop(img, roundHalfEven((img.height - h) / 2), roundHalfEven((img.width - w) / 2), h, w);
}

/**
 * A transform cutting out the centred `size` window.
 * @example compose([resizeShorter(256), centerCrop(224)])
 */
export function centerCrop(size: Size): Transform {
  parseSize('centerCrop', size);
  return (img) => centerCropImage(img, size);
}

/**
 * The ten crops of AlexNet's test-time protocol, in torchvision's order: the four
 * corners (top-left, top-right, bottom-left, bottom-right) and the centre of the
 * image, then the same five of its mirror image.
 * @example const crops = tenCrop(img, 224); // 10 images of 224×224
 */
export function tenCrop(img: Image, size: Size): Image[] {
  checkImage(img, 'tenCrop');
  const [h, w] = parseSize('tenCrop', size);
  return tenCropWindows(img.height, img.width, h, w).map(({ top, left, flip }) => {
    const c = crop(img, top, left, h, w);
    return flip ? hflip(c) : c;
  });
}

/**
 * Where tenCrop cuts: for each of the ten crops its window in the original image and
 * whether it is mirrored (a crop of the mirror image is the mirror of the crop at the
 * reflected window).
 */
export function tenCropWindows(
  height: number,
  width: number,
  h: number,
  w: number,
): { top: number; left: number; flip: boolean }[] {
  if (h > height || w > width) {
    throw new ArgumentError(`tenCrop: crop ${h}×${w} is larger than the image ${height}×${width}`);
  }
  const five = [
    [0, 0],
    [0, width - w],
    [height - h, 0],
    [height - h, width - w],
    [roundHalfEven((height - h) / 2), roundHalfEven((width - w) / 2)],
  ] as const;
  return [
    ...five.map(([top, left]) => ({ top, left, flip: false })),
    ...five.map(([top, left]) => ({ top, left: width - w - left, flip: true })),
  ];
}
