import { ArgumentError } from '../../core/errors.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { linear } from '../functional.js';
import { kaimingUniform, uniform_ } from '../init.js';
import { Module, Parameter } from '../module.js';
import { type Penalty, checkPenalty } from '../penalty.js';
import { type Epilogue, checkOptionKeys } from '../../tensor/ops.js';

export interface LinearOptions {
  bias?: boolean;
  /** L1 / L2 penalty on the weight, added to the loss by the Trainer (reported as reg_loss). */
  weightPenalty?: Penalty;
  /** L1 / L2 penalty on the bias. */
  biasPenalty?: Penalty;
}

/**
 * Fully connected layer y = x·Wᵀ + b, weight [out, in]. Initialized as in
 * PyTorch: weight and bias uniform in ±1/√in.
 * @example const fc = new Linear(400, 120); const reg = new Linear(400, 120, { weightPenalty: { l2: 1e-4 } });
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    if (!(inFeatures > 0 && outFeatures > 0))
      throw new ArgumentError(`Linear: feature counts must be positive, got ${inFeatures}, ${outFeatures}`);
    checkOptionKeys('Linear', opts, ['bias', 'weightPenalty', 'biasPenalty']);
    this.weight = new Parameter(zeros([outFeatures, inFeatures]));
    this.bias = opts.bias === false ? null : new Parameter(zeros([outFeatures]));
    this.weight.penalty = checkPenalty('Linear weightPenalty', opts.weightPenalty);
    if (this.bias) this.bias.penalty = checkPenalty('Linear biasPenalty', opts.biasPenalty);
    this.resetParameters();
  }

  resetParameters(): void {
    kaimingUniform(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt(this.inFeatures);
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithEpilogue(x);
  }

  /** forward() followed by an activation, applied in the product's own kernel (Sequential fuses ReLU / LeakyReLU so). */
  forwardWithEpilogue(x: Tensor, epilogue?: Epilogue): Tensor {
    return linear(x, this.weight, this.bias, epilogue);
  }

  protected override extraRepr(): string {
    return `${this.inFeatures}, ${this.outFeatures}${this.bias ? '' : ', bias=false'}`;
  }
}
