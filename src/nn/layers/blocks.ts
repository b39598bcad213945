import { ArgumentError, ShapeError } from '../../core/errors.js';
import { fmt, sameShape } from '../../core/shape.js';
import { add, concat } from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

type TensorModule = Module & { forward(x: Tensor): Tensor };

function call(m: Module, x: Tensor): Tensor {
  return (m as TensorModule).forward(x);
}

/**
 * A residual block (He et al. 2016): body(x) + shortcut(x), the shortcut
 * being the identity unless given (e.g. a strided 1×1 convolution when the
 * body changes the shape). Parameters are named `body.*` and `shortcut.*`.
 * @example const block = new Residual(new Sequential(conv1, bn1, new ReLU(), conv2, bn2));
 */
export class Residual extends Module {
  // Declared in this order so that parameters list body.* before shortcut.*.
  readonly body: Module;
  readonly shortcut: Module | null;

  constructor(body: Module, shortcut?: Module | null) {
    super();
    this.body = body;
    this.shortcut = shortcut ?? null;
  }

  forward(x: Tensor): Tensor {
    const y = call(this.body, x);
    const s = this.shortcut ? call(this.shortcut, x) : x;
    if (!sameShape(y.shape, s.shape)) {
      throw new ShapeError(
        `body output ${fmt(y.shape)} and ${this.shortcut ? 'shortcut output' : 'identity shortcut (the input)'} ${fmt(s.shape)} differ in shape${this.shortcut ? '' : '; give a shortcut module that matches them'}`,
      );
    }
    return add(y, s);
  }

  protected override extraRepr(): string {
    return this.shortcut ? '' : 'identity shortcut';
  }
}

/**
 * Applies every branch to the same input and concatenates the results along
 * `axis` (default 1, channels), as in an Inception module. Parameters are
 * named `branches.0.*`, `branches.1.*`, ...
 * @example const block = new Concat([new Conv2d(64, 32, 1), new Conv2d(64, 32, 3, { padding: 1 })]);
 */
export class Concat extends Module {
  readonly branches: Module[];

  constructor(
    branches: readonly Module[],
    readonly axis = 1,
  ) {
    super();
    if (branches.length === 0) throw new ArgumentError('Concat: needs at least one branch');
    this.branches = [...branches];
  }

  forward(x: Tensor): Tensor {
    const ys = this.branches.map((b) => call(b, x));
    const first = ys[0]!;
    const a = this.axis < 0 ? this.axis + first.rank : this.axis;
    const fits = ys.every((y) => y.rank === first.rank && y.shape.every((d, i) => i === a || d === first.shape[i]));
    if (!fits || a < 0 || a >= first.rank) {
      throw new ShapeError(
        `branch outputs ${ys.map((y) => fmt(y.shape)).join(', ')} cannot be concatenated along axis ${this.axis}`,
      );
    }
    return concat(ys, a);
  }

  protected override extraRepr(): string {
    return `axis=${this.axis}`;
  }
}
