import { ArgumentError } from '../../core/errors.js';
import type { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { flatten } from '../../tensor/ops.js';
import { dropout, dropout2d } from '../functional.js';
import { Module } from '../module.js';

/** Flattens axes startAxis..endAxis (default: all but the batch axis). */
export class Flatten extends Module {
  constructor(
    readonly startAxis = 1,
    readonly endAxis = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startAxis, this.endAxis);
  }
}

/** Passes its input through unchanged (a placeholder, e.g. for a removed head). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Inverted dropout: active in training mode only. @example new Dropout(0.5) */
export class Dropout extends Module {
  constructor(
    readonly p = 0.5,
    readonly generator?: Generator,
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ArgumentError(`Dropout: probability must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }
  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Drops whole channels of NCHW maps in training mode. */
export class Dropout2d extends Dropout {
  override forward(x: Tensor): Tensor {
    return dropout2d(x, this.p, this.training, this.generator);
  }
}
