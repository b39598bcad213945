/**
 * Search strategies: grid, random, and a Bayesian one, the Tree-structured Parzen
 * Estimator (TPE). Every strategy gets a generator seeded from the study's seed and
 * the trial's number, so the same seed and the same results give the same trials,
 * also after a resume.
 *
 * Why TPE and not a Gaussian process with expected improvement: tuning spaces here are
 * mixed (floats on log scales, ints, choices) and conditional (momentum only with SGD).
 * TPE models each parameter with one-dimensional densities over the trials where it was
 * active, so choices and conditional parameters need no encoding into a kernel, its cost
 * grows as n log n with the number of trials instead of n³, and it has no kernel
 * hyperparameters to fit on the first handful of noisy results.
 */
import { TsgradError } from '../core/errors.js';
import type { Generator } from '../tensor/random.js';
import {
  type Distribution,
  type FloatDist,
  type IntDist,
  type ParamValue,
  type Params,
  type Space,
  fromInternal,
  gridConfigurations,
  internalBounds,
  isActive,
  paramsKey,
  sampleSpace,
  toInternal,
} from './space.js';

/** What a strategy sees of a finished trial: `score` is lower-is-better (maximized values are negated). */
export interface Observation {
  number: number;
  params: Params;
  state: 'complete' | 'pruned';
  score: number;
}

export interface SuggestContext {
  space: Space;
  /** Finished trials (complete or pruned), in trial-number order; failed ones are left out. */
  history: readonly Observation[];
  /** Parameters of every trial already in the study (any state), to avoid repeats where it matters. */
  taken: readonly Params[];
  rng: Generator;
}

export interface Strategy {
  readonly name: string;
  /** The next configuration, or null when the strategy has nothing left (a finished grid). */
  suggest(ctx: SuggestContext): Params | null;
  /** Options to rebuild it with makeStrategy (saved in the study journal). */
  options(): Record<string, number>;
}

/** Every combination in a stable order (see gridConfigurations); the next one not yet in the study. */
export class GridStrategy implements Strategy {
  readonly name = 'grid';
  private configs: Params[] | null = null;

  suggest(ctx: SuggestContext): Params | null {
    this.configs ??= gridConfigurations(ctx.space);
    const taken = new Set(ctx.taken.map(paramsKey));
    return this.configs.find((c) => !taken.has(paramsKey(c))) ?? null;
  }

  options(): Record<string, number> {
    return {};
  }
}

/** Independent uniform draws (on the log scale where set). */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  suggest(ctx: SuggestContext): Params {
    return sampleSpace(ctx.space, ctx.rng);
  }
  options(): Record<string, number> {
    return {};
  }
}

export interface TPEOptions {
  /** Random trials before the model is used; default 8. */
  startupTrials?: number;
  /** Candidates drawn from the good density per parameter; default 64. */
  candidates?: number;
  /** Fraction of finished trials counted as good; default 0.25 (at most 25 trials). */
  gamma?: number;
  /** Weight of the uniform prior in each density; default 1. */
  priorWeight?: number;
}

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

function erf(x: number): number {
  // Numerical Recipes' erfc approximation (relative error < 1.2e-7), accurate enough in the tails for log densities.
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y =
    1 -
    t *
      Math.exp(
        -x * x -
          1.26551223 +
          t *
            (1.00002368 +
              t *
                (0.37409196 +
                  t *
                    (0.09678418 +
                      t *
                        (-0.18628806 +
                          t *
                            (0.27886807 +
                              t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
      );
  return x >= 0 ? y : -y;
}
const normCdf = (z: number): number => 0.5 * (1 + erf(z / SQRT2));

/** A mixture of Gaussians truncated to [lo, hi], one per observation plus a wide prior. */
class ParzenEstimator {
  readonly mus: number[];
  readonly sigmas: number[];
  readonly weights: number[];
  private readonly logNorms: number[];

  constructor(
    obs: readonly number[],
    readonly lo: number,
    readonly hi: number,
    priorWeight: number,
  ) {
    const range = hi - lo;
    const sorted = [...obs].sort((a, b) => a - b);
    const mus: number[] = [];
    const sigmas: number[] = [];
    const minSigma = range / Math.min(100, 1 + sorted.length);
    sorted.forEach((m, i) => {
      const left = m - (i > 0 ? sorted[i - 1]! : lo);
      const right = (i < sorted.length - 1 ? sorted[i + 1]! : hi) - m;
      mus.push(m);
      sigmas.push(Math.min(range, Math.max(minSigma, left, right)));
    });
    mus.push((lo + hi) / 2);
    sigmas.push(range);
    const w = [...sorted.map(() => 1), priorWeight];
    const total = w.reduce((a, b) => a + b, 0);
    this.mus = mus;
    this.sigmas = sigmas;
    this.weights = w.map((v) => v / total);
    this.logNorms = mus.map((mu, i) => {
      const s = sigmas[i]!;
      const mass = normCdf((hi - mu) / s) - normCdf((lo - mu) / s);
      return Math.log(Math.max(mass, 1e-12)) + Math.log(s) + LOG_SQRT_2PI;
    });
  }

  sample(rng: Generator): number {
    let u = rng.uniform();
    let i = 0;
    while (i < this.weights.length - 1 && u >= this.weights[i]!) u -= this.weights[i++]!;
    for (let attempt = 0; attempt < 32; attempt++) {
      const x = this.mus[i]! + this.sigmas[i]! * rng.normal();
      if (x >= this.lo && x <= this.hi) return x;
    }
    return Math.min(this.hi, Math.max(this.lo, this.mus[i]!));
  }

  logPdf(x: number): number {
    let max = -Infinity;
    const terms = this.mus.map((mu, i) => {
      const z = (x - mu) / this.sigmas[i]!;
      const t = Math.log(this.weights[i]!) - 0.5 * z * z - this.logNorms[i]!;
      if (t > max) max = t;
      return t;
    });
    return max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0));
  }
}

/**
 * Tree-structured Parzen Estimator (Bergstra et al., 2011). After `startupTrials` random
 * trials, the finished trials are split into the best `gamma` fraction ("good") and the
 * rest (pruned trials count as bad); for each parameter, in space order and only where it
 * is active, candidates are drawn from the good density l(x) and the one with the largest
 * l(x)/g(x) is kept. Log-scale parameters are modelled in log space, ints on a continuous
 * axis rounded to their step, choices with smoothed counts.
 */
export class TPEStrategy implements Strategy {
  readonly name = 'bayesian';
  readonly startupTrials: number;
  readonly candidates: number;
  readonly gamma: number;
  readonly priorWeight: number;

  constructor(opts: TPEOptions = {}) {
    this.startupTrials = opts.startupTrials ?? 8;
    this.candidates = opts.candidates ?? 64;
    this.gamma = opts.gamma ?? 0.25;
    this.priorWeight = opts.priorWeight ?? 1;
    if (!(Number.isInteger(this.startupTrials) && this.startupTrials >= 1))
      throw new TsgradError(`TPE: startupTrials must be a positive integer, got ${this.startupTrials}`);
  }

  options(): Record<string, number> {
    return {
      startupTrials: this.startupTrials,
      candidates: this.candidates,
      gamma: this.gamma,
      priorWeight: this.priorWeight,
    };
  }

  suggest(ctx: SuggestContext): Params {
    const complete = ctx.history.filter((o) => o.state === 'complete' && Number.isFinite(o.score));
    if (complete.length < this.startupTrials) return sampleSpace(ctx.space, ctx.rng);
    const ranked = [...complete].sort((a, b) => a.score - b.score || a.number - b.number);
    const all = ctx.history.filter((o) => Number.isFinite(o.score));
    const nGood = Math.max(1, Math.min(25, Math.ceil(this.gamma * all.length)));
    const good = ranked.slice(0, nGood);
    const goodSet = new Set(good.map((o) => o.number));
    const bad = all.filter((o) => !goodSet.has(o.number));
    const params: Params = {};
    for (const [key, d] of Object.entries(ctx.space)) {
      if (!isActive(ctx.space, key, params)) continue;
      const g = good.filter((o) => key in o.params).map((o) => o.params[key]!);
      const b = bad.filter((o) => key in o.params).map((o) => o.params[key]!);
      params[key] = this.suggestOne(d, g, b, ctx.rng);
    }
    return params;
  }

  private suggestOne(d: Distribution, good: ParamValue[], bad: ParamValue[], rng: Generator): ParamValue {
    if (d.kind === 'choice' || d.kind === 'bool') {
      const values: readonly ParamValue[] = d.kind === 'bool' ? [false, true] : d.values;
      const density = (obs: ParamValue[]): number[] => {
        const w = values.map((v) => obs.filter((o) => o === v).length + this.priorWeight / values.length);
        const total = w.reduce((a, c) => a + c, 0);
        return w.map((v) => v / total);
      };
      const l = density(good);
      const gd = density(bad);
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < this.candidates; c++) {
        let u = rng.uniform();
        let i = 0;
        while (i < l.length - 1 && u >= l[i]!) u -= l[i++]!;
        const s = Math.log(l[i]!) - Math.log(gd[i]!);
        if (s > bestScore) [best, bestScore] = [i, s];
      }
      return values[best]!;
    }
    const num = d as FloatDist | IntDist;
    const [lo, hi] = internalBounds(num);
    const toX = (v: ParamValue): number => toInternal(num, v as number);
    const l = new ParzenEstimator(good.map(toX), lo, hi, this.priorWeight);
    const g = new ParzenEstimator(bad.map(toX), lo, hi, this.priorWeight);
    let best = l.sample(rng);
    let bestScore = -Infinity;
    for (let c = 0; c < this.candidates; c++) {
      const x = c === 0 ? best : l.sample(rng);
      const s = l.logPdf(x) - g.logPdf(x);
      if (s > bestScore) [best, bestScore] = [x, s];
    }
    return fromInternal(num, best);
  }
}

export type StrategyName = 'grid' | 'random' | 'bayesian';

/** A strategy by name (with its options, as saved in a study journal). */
export function makeStrategy(name: string, options: Record<string, number> = {}): Strategy {
  switch (name) {
    case 'grid':
      return new GridStrategy();
    case 'random':
      return new RandomStrategy();
    case 'bayesian':
    case 'tpe':
      return new TPEStrategy(options);
  }
  throw new TsgradError(`unknown strategy '${name}': use grid, random or bayesian`);
}
