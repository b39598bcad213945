import { ArgumentError, ShapeError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { type RgbaImage, createImage, grayscale, planeToImage, scaleNearest, tile } from './image.js';

export interface FilterGridOptions {
  /**
   * 'filter' (default) stretches each kernel to its own min..max, showing every kernel's
   * pattern; 'layer' uses one min..max for the whole layer, so weak kernels look faint.
   */
  normalize?: 'filter' | 'layer';
  /** Screen pixels per kernel element (default: about 20 pixels per kernel side). */
  scale?: number;
  /** Pixels between tiles (default 1). */
  gap?: number;
}

/**
 * A conv layer's kernels as one image. A layer with 3 input channels (an RGB first layer)
 * shows each kernel in colour, one tile per output channel; a layer with 1 input channel
 * one gray tile per output channel; any other layer one row per output channel and one
 * gray column per input channel. Tiles are separated by white lines.
 * @example
 * const img = await filterGrid(model.features.at(0) as Conv2d);
 * writeFileSync('filters.png', encodePng(img.width, img.height, 4, img.data));
 */
export async function filterGrid(conv: { weight: Tensor }, opts: FilterGridOptions = {}): Promise<RgbaImage> {
  const w = conv.weight;
  if (w.rank !== 4) throw new ShapeError(`filterGrid: expected a conv weight [out, in, kh, kw], got ${fmt(w.shape)}`);
  const [out, inC, kh, kw] = w.shape as [number, number, number, number];
  const mode = opts.normalize ?? 'filter';
  if (mode !== 'filter' && mode !== 'layer') {
    throw new ArgumentError(`filterGrid: normalize must be 'filter' or 'layer', got '${String(mode)}'`);
  }
  const scale = opts.scale ?? Math.max(1, Math.ceil(20 / Math.max(kh, kw)));
  const values = Float32Array.from(await w.data());
  const per = inC * kh * kw;
  const plane = kh * kw;
  const rangeOf = (start: number, length: number): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = start; i < start + length; i++) {
      lo = Math.min(lo, values[i]!);
      hi = Math.max(hi, values[i]!);
    }
    return [lo, hi];
  };
  const layerRange = rangeOf(0, values.length);
  const scaled = (v: number, [lo, hi]: [number, number]): number => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
  const tiles: RgbaImage[] = [];
  for (let o = 0; o < out; o++) {
    const range = mode === 'layer' ? layerRange : rangeOf(o * per, per);
    if (inC === 3) {
      const img = createImage(kw, kh);
      for (let i = 0; i < plane; i++) {
        for (let c = 0; c < 3; c++)
          img.data[i * 4 + c] = Math.round(scaled(values[o * per + c * plane + i]!, range) * 255);
      }
      tiles.push(scaleNearest(img, scale));
    } else {
      for (let c = 0; c < inC; c++) {
        const start = o * per + c * plane;
        const gray = Array.from(values.subarray(start, start + plane), (v) => scaled(v, range));
        tiles.push(scaleNearest(planeToImage(gray, kw, kh, grayscale), scale));
      }
    }
  }
  const columns = inC === 1 || inC === 3 ? undefined : inC;
  return tile(tiles, { ...(columns !== undefined ? { columns } : {}), gap: opts.gap ?? 1 });
}
