import { ArgumentError } from '../core/errors.js';
import type { Optimizer } from './optimizer.js';

/**
 * Learning-rate schedules. Each sets every parameter group's lr to its
 * initial lr times a factor of the step count; call step() once per epoch
 * (or per batch, if the schedule's lengths are counted in batches).
 */
export class LRScheduler {
  /** Number of step() calls so far. */
  stepCount = 0;
  readonly baseLrs: number[];

  constructor(
    protected readonly optimizer: Optimizer<{ lr: number }>,
    /** The factor applied to each base lr after `step` steps. */
    private readonly factor: (step: number) => number,
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  private apply(): void {
    const f = this.factor(this.stepCount);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.baseLrs[i]! * f));
  }

  step(): void {
    this.stepCount++;
    this.apply();
  }

  /** Current lr of every group. */
  get lrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): { stepCount: number } {
    return { stepCount: this.stepCount };
  }

  loadStateDict(sd: { stepCount: number }): void {
    this.stepCount = sd.stepCount;
    this.apply();
  }
}

/** lr·gamma^⌊step/stepSize⌋. @example new StepLR(opt, { stepSize: 30, gamma: 0.1 }) */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, opts: { stepSize: number; gamma?: number }) {
    if (!(opts.stepSize >= 1)) throw new ArgumentError(`StepLR: stepSize must be >= 1, got ${opts.stepSize}`);
    const gamma = opts.gamma ?? 0.1;
    super(optimizer, (step) => gamma ** Math.floor(step / opts.stepSize));
  }
}

/** lr·gamma^(number of milestones passed). @example new MultiStepLR(opt, { milestones: [30, 80] }) */
export class MultiStepLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, opts: { milestones: readonly number[]; gamma?: number }) {
    const gamma = opts.gamma ?? 0.1;
    super(optimizer, (step) => gamma ** opts.milestones.filter((m) => step >= m).length);
  }
}

/** lr·gamma^step. */
export class ExponentialLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, opts: { gamma: number }) {
    super(optimizer, (step) => opts.gamma ** step);
  }
}

/**
 * Linear warm-up over `warmupSteps`, then cosine decay to minFactor·lr at
 * `totalSteps`. @example new CosineAnnealingLR(opt, { totalSteps: 10 })
 */
export class CosineAnnealingLR extends LRScheduler {
  constructor(
    optimizer: Optimizer<{ lr: number }>,
    opts: { totalSteps: number; warmupSteps?: number; minFactor?: number },
  ) {
    const warm = opts.warmupSteps ?? 0;
    const min = opts.minFactor ?? 0;
    if (!(opts.totalSteps >= 1))
      throw new ArgumentError(`CosineAnnealingLR: totalSteps must be >= 1, got ${opts.totalSteps}`);
    if (warm >= opts.totalSteps) {
      throw new ArgumentError(`CosineAnnealingLR: warmupSteps (${warm}) must be below totalSteps (${opts.totalSteps})`);
    }
    super(optimizer, (step) => {
      if (step < warm) return (step + 1) / (warm + 1);
      const t = Math.min(1, (step - warm) / (opts.totalSteps - warm));
      return min + ((1 - min) * (1 + Math.cos(Math.PI * t))) / 2;
    });
  }
}
