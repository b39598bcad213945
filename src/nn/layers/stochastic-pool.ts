import { ArgumentError } from '../../core/errors.js';
import { type Pair, checkOptionKeys, pair } from '../../tensor/ops.js';
import { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { StochasticPool2dPlan, stochasticPool2d } from '../functional.js';
import { Module } from '../module.js';

export interface StochasticPool2dOptions {
  /** Default: the kernel size (non-overlapping windows). */
  stride?: Pair;
  /** Source of the draws in training (default: the global default generator). */
  generator?: Generator;
}

/**
 * Stochastic pooling (Zeiler & Fergus 2013) of non-negative input (put it
 * after a ReLU). In training each window outputs one of its activations,
 * picked with probability a_i/Σa; in evaluation the probability-weighted
 * average Σa_i²/Σa_i. All-zero windows give 0.
 * @example const pool = new StochasticPool2d(2, { generator: new Generator(7) });
 */
export class StochasticPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly generator: Generator | undefined;
  /** Kernel and stride, resolved and checked once, here; used by every forward. */
  readonly plan: StochasticPool2dPlan;

  constructor(kernelSize: Pair, opts: StochasticPool2dOptions = {}, ...unexpected: never[]) {
    super();
    if (unexpected.length) throw new ArgumentError('StochasticPool2d: unexpected argument(s) after the options object');
    checkOptionKeys('StochasticPool2d', opts, ['stride', 'generator']);
    this.kernelSize = pair(kernelSize, 'kernelSize', 'StochasticPool2d');
    this.stride = pair(opts.stride ?? this.kernelSize, 'stride', 'StochasticPool2d');
    if ([...this.kernelSize, ...this.stride].some((v) => v < 1))
      throw new ArgumentError(`StochasticPool2d: kernel size and stride must be positive`);
    if (opts.generator !== undefined && !(opts.generator instanceof Generator))
      throw new ArgumentError(`StochasticPool2d: generator must be a Generator, got ${String(opts.generator)}`);
    this.generator = opts.generator;
    // Checked just above (with the layer's own messages), so the plan's checks cannot fail here.
    this.plan = new StochasticPool2dPlan(this.kernelSize, { stride: this.stride });
  }

  forward(x: Tensor): Tensor {
    return stochasticPool2d(x, this.plan, {
      training: this.training,
      ...(this.generator ? { generator: this.generator } : {}),
    });
  }

  protected override extraRepr(): string {
    return `kernel=${this.kernelSize.join('x')}, stride=${this.stride.join('x')}`;
  }
}
