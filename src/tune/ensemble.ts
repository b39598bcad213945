/**
 * Ensembles of classifiers: averaged probabilities, majority votes or weights fitted on
 * a validation split; built by hand, from a study's best trials, or from the snapshots
 * of one run with a cyclic cosine schedule (snapshot ensembles, Huang et al. 2017).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, ShapeError, TsgradError } from '../core/errors.js';
import { type Dataset, DataLoader } from '../data/dataset.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors-file.js';
import { Module, type StateDict } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { LRScheduler } from '../optim/schedules.js';
import { fromArray } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { softmax } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Callback, Trainer } from '../train/fit.js';
import type { Params } from './space.js';
import { Study } from './study.js';

export type Classifier = Module & { forward(x: Tensor): Tensor };
export type EnsembleMethod = 'mean' | 'vote' | 'weighted';

export interface EnsembleOptions {
  /** 'mean' averages probabilities, 'vote' counts argmax votes (ties go to the higher mean probability), 'weighted' averages with `weights`. */
  method?: EnsembleMethod;
  /** One non-negative weight per model (method 'weighted'); normalized to sum 1. */
  weights?: number[];
}

/**
 * Several classifiers as one Module. Its output is log-probabilities, so cross-entropy,
 * argmax and `evaluate` work on it as on any single model.
 * @example
 * const ens = new Ensemble([a, b, c], { method: 'mean' });
 * evaluate(ens, testSet, crossEntropy).accuracy;
 */
export class Ensemble extends Module {
  readonly members: Classifier[];
  method: EnsembleMethod;
  weights: number[];

  constructor(models: Classifier[], opts: EnsembleOptions = {}) {
    super();
    if (models.length === 0) throw new ArgumentError('Ensemble: give at least one model');
    this.members = [...models];
    this.method = opts.method ?? (opts.weights ? 'weighted' : 'mean');
    this.weights = normalizeWeights(opts.weights ?? models.map(() => 1), models.length);
  }

  protected override extraRepr(): string {
    return `${this.members.length} models, ${this.method}`;
  }

  /** Each member's probabilities for a batch, as flat [N·C] arrays. */
  memberProbabilities(x: Tensor): { probs: Float32Array[]; n: number; c: number } {
    let n = 0;
    let c = 0;
    const probs = noGrad(() =>
      this.members.map((m, i) => {
        const out = m.forward(x);
        if (out.rank !== 2)
          throw new ShapeError(`Ensemble: member ${i} returned shape [${out.shape.join(', ')}], expected [N, classes]`);
        if (i === 0) [n, c] = [out.shape[0]!, out.shape[1]!];
        else if (out.shape[1] !== c)
          throw new ShapeError(`Ensemble: member ${i} has ${out.shape[1]} classes, member 0 has ${c}`);
        return Float32Array.from(softmax(out, 1).dataSync());
      }),
    );
    return { probs, n, c };
  }

  forward(x: Tensor): Tensor {
    const { probs, n, c } = this.memberProbabilities(x);
    const w = this.method === 'weighted' ? this.weights : this.members.map(() => 1 / this.members.length);
    const mixed = new Float32Array(n * c);
    probs.forEach((p, m) => {
      for (let i = 0; i < p.length; i++) mixed[i]! += w[m]! * p[i]!;
    });
    if (this.method === 'vote') {
      const votes = new Float32Array(n * c);
      for (const p of probs) {
        for (let r = 0; r < n; r++) {
          let best = 0;
          for (let j = 1; j < c; j++) if (p[r * c + j]! > p[r * c + best]!) best = j;
          votes[r * c + best]! += 1 / probs.length;
        }
      }
      // Mostly votes, with a sliver of the mean probability: breaks ties and keeps the log finite.
      for (let i = 0; i < mixed.length; i++) mixed[i] = 0.999 * votes[i]! + 0.001 * mixed[i]!;
    }
    const out = new Float32Array(n * c);
    for (let i = 0; i < out.length; i++) out[i] = Math.log(Math.max(mixed[i]!, 1e-30));
    return fromArray(out, [n, c]);
  }

  /**
   * Fits the weights on a validation set to maximize its likelihood (EM on the mixture
   * weights, which never lowers it), switches to method 'weighted' and returns the weights.
   * @example ens.fitWeights(valSet); evaluate(ens, testSet, crossEntropy);
   */
  fitWeights(val: Dataset, opts: { iterations?: number; batchSize?: number } = {}): number[] {
    const wasTraining = this.training;
    this.train(false);
    const columns: number[][] = this.members.map(() => []);
    try {
      for (const { x, y } of new DataLoader(val, { batchSize: opts.batchSize ?? 256 })) {
        const { probs, c } = this.memberProbabilities(x);
        const labels = y.dataSync();
        probs.forEach((p, m) => {
          for (let r = 0; r < labels.length; r++) columns[m]!.push(Math.max(p[r * c + labels[r]!]!, 1e-12));
        });
      }
    } finally {
      this.train(wasTraining);
    }
    const n = columns[0]!.length;
    if (n === 0) throw new ArgumentError('Ensemble.fitWeights: the validation set is empty');
    let w = this.members.map(() => 1 / this.members.length);
    for (let it = 0; it < (opts.iterations ?? 200); it++) {
      const next = w.map(() => 0);
      for (let r = 0; r < n; r++) {
        let mix = 0;
        for (let m = 0; m < w.length; m++) mix += w[m]! * columns[m]![r]!;
        for (let m = 0; m < w.length; m++) next[m]! += (w[m]! * columns[m]![r]!) / mix / n;
      }
      w = next;
    }
    this.weights = normalizeWeights(w, this.members.length);
    this.method = 'weighted';
    return this.weights;
  }
}

function normalizeWeights(w: number[], count: number): number[] {
  if (w.length !== count) throw new ArgumentError(`Ensemble: ${w.length} weights for ${count} models`);
  if (!w.every((v) => Number.isFinite(v) && v >= 0))
    throw new ArgumentError(`Ensemble: weights must be non-negative, got [${w.join(', ')}]`);
  const total = w.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new ArgumentError('Ensemble: the weights sum to zero');
  return w.map((v) => v / total);
}

/**
 * An ensemble of a study's k best complete trials, from the weights each trial saved as
 * `model.safetensors` in its trial directory (the CLI's objective does).
 * @example const ens = ensembleTopK(Study.open('runs/tune1'), 5, (params) => createModel('lenet5', { numClasses: 10 }));
 */
export function ensembleTopK(
  study: Study | string,
  k: number,
  build: (params: Params, trialNumber: number) => Classifier,
  opts: EnsembleOptions & { weightsFile?: string } = {},
): Ensemble {
  const s = typeof study === 'string' ? Study.open(study) : study;
  if (!s.dir) throw new TsgradError('ensembleTopK: the study has no directory to load trial weights from');
  const file = opts.weightsFile ?? 'model.safetensors';
  const top = s
    .sortedTrials()
    .filter((t) => t.state === 'complete' && t.dir && existsSync(join(s.dir!, t.dir, file)))
    .slice(0, k);
  if (top.length === 0) throw new TsgradError(`ensembleTopK: no complete trial of ${s.dir} saved ${file}`);
  const models = top.map((t) => {
    const model = build(t.params, t.number);
    model.loadStateDict(loadSafetensors(join(s.dir!, t.dir!, file)).tensors);
    model.eval();
    return model;
  });
  return new Ensemble(models, opts);
}

/**
 * Cyclic cosine annealing: the lr restarts at its base value at the start of each of
 * `cycles` equal cycles of `totalSteps` and decays to ~0 along a half cosine within it.
 * @example new CyclicCosineLR(opt, { totalSteps: epochs * batches, cycles: 5 }) // step() once per batch
 */
export class CyclicCosineLR extends LRScheduler {
  readonly cycleSteps: number;
  constructor(optimizer: Optimizer<{ lr: number }>, opts: { totalSteps: number; cycles: number }) {
    const cycleSteps = Math.ceil(opts.totalSteps / opts.cycles);
    if (!(opts.cycles >= 1 && cycleSteps >= 1))
      throw new ArgumentError(
        `CyclicCosineLR: need cycles >= 1 and totalSteps >= cycles, got ${opts.cycles} / ${opts.totalSteps}`,
      );
    super(optimizer, (step) => 0.5 * (1 + Math.cos((Math.PI * (step % cycleSteps)) / cycleSteps)));
    this.cycleSteps = cycleSteps;
  }
}

/**
 * Snapshot ensembles: drives a cyclic cosine schedule per batch and keeps a copy of the
 * weights at the end of every cycle (in memory, and in `dir` as snapshot-<i>.safetensors
 * when given). `ensemble(build)` turns the snapshots into an Ensemble.
 * @example
 * const snaps = new SnapshotEnsemble({ cycles: 5 });
 * await fit(model, { train, epochs: 10, optimizer, callbacks: [snaps] });
 * const ens = snaps.ensemble(() => createModel('lenet5', { numClasses: 10 }));
 */
export class SnapshotEnsemble implements Callback {
  readonly snapshots: StateDict[] = [];
  private schedule: CyclicCosineLR | null = null;

  constructor(readonly opts: { cycles: number; dir?: string }) {
    if (!(Number.isInteger(opts.cycles) && opts.cycles >= 1))
      throw new ArgumentError(`SnapshotEnsemble: cycles must be a positive integer, got ${opts.cycles}`);
  }

  onTrainBegin(t: Trainer): void {
    this.schedule = new CyclicCosineLR(t.optimizer, {
      totalSteps: t.options.epochs * t.batchesPerEpoch,
      cycles: this.opts.cycles,
    });
  }

  onBatchEnd(t: Trainer): void {
    const s = this.schedule!;
    s.step();
    if (t.step % s.cycleSteps === 0 || t.step === t.options.epochs * t.batchesPerEpoch) this.take(t.model);
  }

  private take(model: Module): void {
    if (this.snapshots.length >= this.opts.cycles) return;
    const sd: StateDict = {};
    for (const [k, v] of Object.entries(model.stateDict())) sd[k] = v.clone();
    this.snapshots.push(sd);
    if (this.opts.dir) {
      mkdirSync(this.opts.dir, { recursive: true });
      saveSafetensors(join(this.opts.dir, `snapshot-${this.snapshots.length}.safetensors`), sd);
    }
  }

  /** The snapshots as an ensemble of fresh models built by `build`. */
  ensemble(build: () => Classifier, opts: EnsembleOptions = {}): Ensemble {
    if (this.snapshots.length === 0) throw new TsgradError('SnapshotEnsemble: no snapshot yet (train first)');
    return new Ensemble(
      this.snapshots.map((sd) => {
        const m = build();
        m.loadStateDict(sd);
        m.eval();
        return m;
      }),
      opts,
    );
  }
}
