import { ArgumentError } from '../../core/errors.js';
import { type Pair, upsample } from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

export interface UpsampleLayerOptions {
  /** Output [H, W] (or one number for both). Give this or scaleFactor. */
  size?: Pair;
  /** Factor per axis (may be fractional: output floor(H·f), sampled with scale 1/f as PyTorch). */
  scaleFactor?: number | readonly [number, number];
  /** Default 'nearest'; 'bilinear' uses align_corners = false. */
  mode?: 'nearest' | 'bilinear';
}

/**
 * Resizes NCHW images by nearest-neighbour or bilinear interpolation, as
 * PyTorch's nn.Upsample (align_corners = false). A layer over `upsample`.
 * @example const up = new Upsample({ scaleFactor: 2, mode: 'bilinear' });
 */
export class Upsample extends Module {
  readonly mode: 'nearest' | 'bilinear';

  constructor(readonly options: UpsampleLayerOptions) {
    super();
    if ((options.size === undefined) === (options.scaleFactor === undefined))
      throw new ArgumentError('Upsample: give exactly one of size and scaleFactor');
    this.mode = options.mode ?? 'nearest';
    if (this.mode !== 'nearest' && this.mode !== 'bilinear')
      throw new ArgumentError(`Upsample: mode must be 'nearest' or 'bilinear', got '${String(this.mode)}'`);
    const f = options.scaleFactor;
    if (f !== undefined && !(typeof f === 'number' ? [f] : f).every((v) => v > 0))
      throw new ArgumentError(`Upsample: scaleFactor must be positive, got ${String(f)}`);
  }

  forward(x: Tensor): Tensor {
    const o = this.options;
    return upsample(x, {
      mode: this.mode,
      ...(o.size !== undefined ? { size: o.size } : {}),
      ...(o.scaleFactor !== undefined ? { scaleFactor: o.scaleFactor as Pair } : {}),
    });
  }

  protected override extraRepr(): string {
    const o = this.options;
    return `${o.size !== undefined ? `size=${String(o.size)}` : `scaleFactor=${String(o.scaleFactor)}`}, mode=${this.mode}`;
  }
}
