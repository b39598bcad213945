import { ArgumentError } from '../../core/errors.js';
import { full, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type Reduction, lSoftmaxLoss, linear } from '../functional.js';
import { kaimingUniform } from '../init.js';
import { Module, Parameter } from '../module.js';

/**
 * The annealing schedule of the L-Softmax paper's code:
 * λ = max(lambdaMin, base·(1 + gamma·iteration)^(−power)). λ starts large
 * (the loss is nearly the plain softmax, which is easy to optimize) and
 * decays towards lambdaMin (the full margin).
 */
export interface LambdaSchedule {
  /** λ at iteration 0. Default 1000. */
  base?: number;
  /** Default 0.12. */
  gamma?: number;
  /** Default 1. */
  power?: number;
  /** The floor λ decays to. Default 0 (the full margin). */
  lambdaMin?: number;
}

/**
 * λ at `iteration` of the annealing schedule (defaults base 1000, gamma 0.12, power 1, lambdaMin 0).
 * @example lSoftmaxLambda(100) // 1000 / 13 ≈ 76.9
 */
export function lSoftmaxLambda(iteration: number, schedule: LambdaSchedule = {}): number {
  const base = schedule.base ?? 1000;
  const gamma = schedule.gamma ?? 0.12;
  const power = schedule.power ?? 1;
  const lambdaMin = schedule.lambdaMin ?? 0;
  return Math.max(lambdaMin, base * Math.pow(1 + gamma * iteration, -power));
}

export interface LSoftmaxLinearOptions {
  /** Integer margin m >= 1 (the paper uses 2 to 4). */
  margin: number;
  /** Annealing schedule of λ (see LambdaSchedule); { base: λ, gamma: 0 } keeps λ fixed. */
  lambda?: LambdaSchedule;
}

/**
 * The last layer of a classifier trained with the large-margin softmax loss
 * (Liu et al. 2016): holds the class weights [numClasses, inFeatures] (no
 * bias; initialized as Linear's weight). forward(x) gives the plain logits
 * x·Wᵀ for inference; loss(x, targets) gives the L-Softmax loss with the
 * current λ. In training mode each loss() call then advances the annealing
 * iteration, as the paper's code does per forward pass; the iteration is the
 * buffer `iteration`, so checkpoints resume the schedule.
 * @example const head = new LSoftmaxLinear(84, 10, { margin: 2 }); const l = head.loss(features, labels);
 */
export class LSoftmaxLinear extends Module {
  weight: Parameter;
  readonly margin: number;
  readonly schedule: LambdaSchedule;

  constructor(
    readonly inFeatures: number,
    readonly numClasses: number,
    opts: LSoftmaxLinearOptions,
  ) {
    super();
    if (!(Number.isInteger(inFeatures) && inFeatures >= 1 && Number.isInteger(numClasses) && numClasses >= 1))
      throw new ArgumentError(
        `LSoftmaxLinear: inFeatures ${inFeatures} and numClasses ${numClasses} must be positive integers`,
      );
    if (!(Number.isInteger(opts.margin) && opts.margin >= 1))
      throw new ArgumentError(`LSoftmaxLinear: margin must be an integer >= 1, got ${opts.margin}`);
    this.margin = opts.margin;
    this.schedule = { ...opts.lambda };
    this.weight = new Parameter(zeros([numClasses, inFeatures]));
    kaimingUniform(this.weight, { a: Math.sqrt(5) });
    this.registerBuffer('iteration', full([], 0, { dtype: 'int32' }));
  }

  /** Training iterations counted so far (loss() calls in training mode). */
  get iteration(): number {
    return this.buffer('iteration').itemSync();
  }

  set iteration(value: number) {
    if (!(Number.isInteger(value) && value >= 0))
      throw new ArgumentError(`LSoftmaxLinear: iteration must be a non-negative integer, got ${value}`);
    this.setBuffer('iteration', full([], value, { dtype: 'int32' }));
  }

  /** The annealing weight λ used by the next loss() call. */
  get lambda(): number {
    return lSoftmaxLambda(this.iteration, this.schedule);
  }

  /** Plain logits x·Wᵀ [N, numClasses] (the margin only shapes training). */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight);
  }

  /** The L-Softmax loss of features [N, inFeatures] and int32 targets [N] with the current λ. */
  loss(x: Tensor, targets: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
    const iteration = this.iteration;
    const out = lSoftmaxLoss(x, this.weight, targets, {
      margin: this.margin,
      lambda: lSoftmaxLambda(iteration, this.schedule),
      reduction: opts.reduction ?? 'mean',
    });
    if (this.training) this.iteration = iteration + 1;
    return out;
  }

  protected override extraRepr(): string {
    return `${this.inFeatures}, ${this.numClasses}, margin=${this.margin}`;
  }
}
