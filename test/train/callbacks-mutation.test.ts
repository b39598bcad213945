// The callbacks' own rules, case by case, on sequences of metric values chosen by hand: EarlyStopping's
// patience, minDelta, mode and restored weights (epoch and step mode), ReduceLROnPlateau's patience,
// cooldown and floor (PyTorch's counting), the LR schedule callback, ProgressBar's lines and
// EvaluateEachEpoch's metrics. The callbacks are driven directly with a minimal trainer object holding only
// what each one reads, so every expected number is known exactly.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  ArrayDataset,
  EarlyStopping,
  EvaluateEachEpoch,
  LRSchedulerCallback,
  Linear,
  ProgressBar,
  ReduceLROnPlateau,
  SGD,
  StepLR,
  TsgradError,
  crossEntropy,
  evaluate,
  tensor,
  type Logs,
  type Tensor,
  type Trainer,
} from '../../src/index.js';
import { throwsExactly, values } from '../helpers/nn-fixtures.js';

/** logits [w0·x, w1·x] of a one-input, two-class linear model without bias. */
function twoClass(w0 = 1, w1 = -1): Linear {
  const m = new Linear(1, 2, { bias: false });
  m.weight.assign(tensor([[w0], [w1]]));
  return m;
}

function setWeights(m: Linear, w0: number, w1: number): void {
  m.weight.assign(tensor([[w0], [w1]]));
}

type FakeTrainer = Trainer & { stopTraining: boolean; stoppedEarly: boolean };

/** The fields of a Trainer the callbacks read; everything else is absent on purpose. */
function trainer(fields: Record<string, unknown> = {}): FakeTrainer {
  return {
    stopTraining: false,
    stoppedEarly: false,
    step: 0,
    epoch: 0,
    options: {},
    ...fields,
  } as unknown as FakeTrainer;
}

/** Feeds EarlyStopping one epoch-end value per element; returns the index at which it first set stopTraining. */
function feed(es: EarlyStopping, t: FakeTrainer, metric: string, vals: number[], firstEpoch = 0): number {
  for (const [i, v] of vals.entries()) {
    es.onEpochEnd(t, firstEpoch + i, { loss: 0, lr: 0, [metric]: v } as Logs);
    if (t.stopTraining) return firstEpoch + i;
  }
  return -1;
}

// ---------------------------------------------------------------- EarlyStopping, epoch mode

test('EarlyStopping: minDelta is a strict margin, patience counts epochs without improvement, epochs are 1-based', () => {
  const es = new EarlyStopping({ monitor: 'val_loss', patience: 2, minDelta: 0.25 });
  const t = trainer();
  assert.equal(es.best, Infinity);
  assert.deepEqual([es.bestEpoch, es.stoppedEpoch, es.bestStep, es.stoppedStep], [-1, 0, -1, 0], 'nothing seen yet');
  // 1 best; 0.75 is not below 1 − 0.25; 0.9 waits; 0.7 is the new best; then three without improvement.
  assert.equal(feed(es, t, 'val_loss', [1, 0.75, 0.9]), -1);
  assert.equal(es.stoppedEpoch, 0, 'waiting epochs are not a stop');
  const stopped = feed(es, t, 'val_loss', [0.7, 0.7, 0.5, 0.7, 0.7], 3);
  // 0.5 < 0.7 − 0.25 is false (0.45): still waiting; the third non-improving epoch stops.
  assert.equal(stopped, 6);
  assert.equal(es.best, 0.7);
  assert.equal(es.bestEpoch, 4);
  assert.equal(es.stoppedEpoch, 7);
  assert.equal(t.stoppedEarly, false, 'epoch mode leaves stoppedEarly to the loop');
  assert.deepEqual(es.stateDict(), { best: 0.7, wait: 3, bestEpoch: 4, bestStep: -1, bestWeights: null });
});

test('EarlyStopping: a value beyond best − minDelta is an improvement (min), below best + minDelta is not (max)', () => {
  const lower = new EarlyStopping({ monitor: 'val_loss', patience: 5, minDelta: 0.25 });
  const t = trainer();
  feed(lower, t, 'val_loss', [1, 0.7]);
  assert.equal(lower.best, 0.7);
  assert.equal(lower.bestEpoch, 2);
  // A rise is never an improvement in min mode, however large.
  feed(lower, t, 'val_loss', [5]);
  assert.equal(lower.best, 0.7);

  const acc = new EarlyStopping({ monitor: 'val_accuracy', patience: 5, minDelta: 0.25 });
  assert.equal(acc.best, -Infinity, "'auto' watches an accuracy for a rise");
  feed(acc, trainer(), 'val_accuracy', [0.25, 0.5, 0.55, 0.1]);
  assert.equal(acc.best, 0.55);
  assert.equal(acc.bestEpoch, 3);
});

test('EarlyStopping: patience 0 (the default) stops at the first epoch without improvement; monitor defaults to val_loss', () => {
  const es = new EarlyStopping();
  assert.equal(es.monitor, 'val_loss');
  assert.equal(es.patience, 0);
  const t = trainer();
  assert.equal(feed(es, t, 'val_loss', [3, 2, 1, 1]), 3);
  assert.equal(es.stoppedEpoch, 4);
  // minDelta defaults to 0: an equal value is no improvement, any smaller one is.
  const es2 = new EarlyStopping({ patience: 0 });
  assert.equal(feed(es2, trainer(), 'val_loss', [1, 0.999999, 0.999999]), 2);
});

test("EarlyStopping: 'auto' mode reads accuracies and top-k as higher-is-better, everything else as lower-is-better", () => {
  for (const monitor of ['accuracy', 'val_accuracy', 'test_top5', 'val_top5'])
    assert.equal(new EarlyStopping({ monitor }).best, -Infinity, monitor);
  for (const monitor of ['loss', 'val_loss', 'reg_loss'])
    assert.equal(new EarlyStopping({ monitor }).best, Infinity, monitor);
  // An explicit mode wins over the name.
  const minAcc = new EarlyStopping({ monitor: 'accuracy', mode: 'min', patience: 0 });
  assert.equal(minAcc.best, Infinity);
  assert.equal(feed(minAcc, trainer(), 'accuracy', [0.5, 0.4, 0.6]), 2);
  assert.equal(minAcc.best, 0.4);
  const maxLoss = new EarlyStopping({ monitor: 'loss', mode: 'max', patience: 0 });
  assert.equal(feed(maxLoss, trainer(), 'loss', [1, 2, 1.5]), 2);
  assert.equal(maxLoss.best, 2);
});

test('EarlyStopping: a missing metric is an error naming the callback, the metric and the logs it had', () => {
  const es = new EarlyStopping();
  throwsExactly(
    () => es.onEpochEnd(trainer(), 0, { epoch: 1, loss: 0.5, lr: 0.1 }),
    TsgradError,
    "EarlyStopping: metric 'val_loss' is not in the epoch logs (available: epoch, loss, lr); pass a val set for val_* metrics",
  );
  const plateau = new ReduceLROnPlateau({ monitor: 'val_accuracy' });
  throwsExactly(
    () => plateau.onEpochEnd(trainer(), 0, { loss: 0.5, lr: 0.1 }),
    TsgradError,
    "ReduceLROnPlateau: metric 'val_accuracy' is not in the epoch logs (available: loss, lr); pass a val set for val_* metrics",
  );
});

test('EarlyStopping: option checks with their messages', () => {
  throwsExactly(
    () => new EarlyStopping({ patience: -1 }),
    ArgumentError,
    'EarlyStopping: patience must be >= 0, got -1',
  );
  throwsExactly(
    () => new EarlyStopping({ patience: NaN }),
    ArgumentError,
    'EarlyStopping: patience must be >= 0, got NaN',
  );
  for (const [every, shown] of [
    [{ steps: 0 }, '{"steps":0}'],
    [{ steps: 2.5 }, '{"steps":2.5}'],
    ['batch', '"batch"'],
    [5, '5'],
  ] as const) {
    throwsExactly(
      () => new EarlyStopping({ every: every as never }),
      ArgumentError,
      `EarlyStopping: every must be 'epoch' or { steps: N } with N a positive integer, got ${shown}`,
    );
  }
  assert.equal(new EarlyStopping({ every: { steps: 1 } }).everySteps, 1);
  assert.equal(new EarlyStopping({ every: 'epoch' }).everySteps, null);
  assert.equal(new EarlyStopping().everySteps, null);
  for (const monitor of ['loss', 'xval_loss', 'val_loss2', 'val_top1', 'accuracy'])
    throwsExactly(
      () => new EarlyStopping({ every: { steps: 3 }, monitor }),
      ArgumentError,
      `EarlyStopping: every N steps it evaluates a validation set, so monitor must be val_loss, val_accuracy or val_top5, got '${monitor}'`,
    );
  for (const monitor of ['val_loss', 'val_accuracy', 'val_top5'])
    assert.equal(new EarlyStopping({ every: { steps: 3 }, monitor }).monitor, monitor);
});

test('EarlyStopping: restoreBestWeights keeps a copy of the best epoch and loads it at the end', () => {
  const model = twoClass(1, 2);
  const t = trainer({ model });
  const es = new EarlyStopping({ patience: 1, restoreBestWeights: true });
  es.onEpochEnd(t, 0, { loss: 0, lr: 0, val_loss: 2 });
  setWeights(model, 3, 4);
  es.onEpochEnd(t, 1, { loss: 0, lr: 0, val_loss: 1 }); // best: weights [3, 4]
  setWeights(model, 5, 6);
  es.onEpochEnd(t, 2, { loss: 0, lr: 0, val_loss: 1.5 });
  setWeights(model, 7, 8);
  es.onEpochEnd(t, 3, { loss: 0, lr: 0, val_loss: 1.5 });
  assert.equal(t.stopTraining, true);
  const saved = es.stateDict() as { bestWeights: Record<string, Tensor> };
  assert.deepEqual(Object.keys(saved.bestWeights), ['weight']);
  assert.deepEqual(values(saved.bestWeights['weight']!), [3, 4], 'a copy, not the live parameter');
  es.onTrainEnd(t);
  assert.deepEqual(values(model.weight), [3, 4]);

  // Without the option nothing is kept, and the end of training leaves the weights alone.
  const plain = new EarlyStopping({ patience: 0 });
  const m2 = twoClass(1, 2);
  const t2 = trainer({ model: m2 });
  plain.onEpochEnd(t2, 0, { loss: 0, lr: 0, val_loss: 1 });
  setWeights(m2, 9, 9);
  plain.onTrainEnd(t2);
  assert.deepEqual(values(m2.weight), [9, 9]);
  assert.equal((plain.stateDict() as { bestWeights: unknown }).bestWeights, null);
  // With the option but no epoch seen (a run stopped before its first epoch ended), there is nothing to restore.
  const early = new EarlyStopping({ restoreBestWeights: true });
  early.onTrainEnd(t2);
  assert.deepEqual(values(m2.weight), [9, 9]);
});

test('EarlyStopping: state survives JSON (±Infinity as null) and the restored counters go on counting', () => {
  const es = new EarlyStopping({ patience: 2 });
  const t = trainer();
  feed(es, t, 'val_loss', [1, 2]); // best 1, one epoch waited
  const json = JSON.parse(JSON.stringify(es.stateDict())) as unknown;
  const back = new EarlyStopping({ patience: 2 });
  back.loadStateDict(json);
  assert.equal(back.best, 1);
  assert.equal(back.bestEpoch, 1);
  assert.equal(back.bestStep, -1);
  const t2 = trainer();
  // One more epoch without improvement is the second: still waiting; the third stops.
  back.onEpochEnd(t2, 2, { loss: 0, lr: 0, val_loss: 1 });
  assert.equal(t2.stopTraining, false);
  back.onEpochEnd(t2, 3, { loss: 0, lr: 0, val_loss: 1 });
  assert.equal(t2.stopTraining, true);
  assert.equal(back.stoppedEpoch, 4);

  // A state saved before any epoch has best ±Infinity, which JSON writes as null.
  const fresh = JSON.parse(JSON.stringify(new EarlyStopping().stateDict())) as { best: unknown };
  assert.equal(fresh.best, null);
  const min = new EarlyStopping();
  min.loadStateDict({ ...fresh, best: null });
  assert.equal(min.best, Infinity);
  const max = new EarlyStopping({ monitor: 'val_accuracy' });
  max.loadStateDict({ ...fresh, best: null });
  assert.equal(max.best, -Infinity);
  // A state from before step mode existed has no bestStep (-1, none) and no bestWeights.
  const older = new EarlyStopping({ restoreBestWeights: true });
  older.loadStateDict({ best: 2, wait: 1, bestEpoch: 5 });
  assert.deepEqual(older.stateDict(), { best: 2, wait: 1, bestEpoch: 5, bestStep: -1, bestWeights: null });
  // Saved best weights come back and are what the end of training restores.
  const model = twoClass(0, 0);
  const withWeights = new EarlyStopping({ restoreBestWeights: true });
  withWeights.loadStateDict({
    best: 0.5,
    wait: 0,
    bestEpoch: 3,
    bestStep: 12,
    bestWeights: { weight: tensor([[1], [2]]) },
  });
  assert.equal(withWeights.bestStep, 12);
  withWeights.onTrainEnd(trainer({ model }));
  assert.deepEqual(values(model.weight), [1, 2]);
});

// ---------------------------------------------------------------- EarlyStopping, step mode

test('EarlyStopping every N steps: evaluates the val set at multiples of N only, with evalBatchSize', () => {
  const model = twoClass(1, -1);
  // x > 0 is class 0 with these weights: all four right.
  const val: [Tensor, Tensor] = [tensor([[1], [-1], [2], [-2]]), tensor([0, 1, 0, 1], { dtype: 'int32' })];
  const batches: number[] = [];
  const lossFn = (out: Tensor, y: Tensor) => {
    batches.push(out.shape[0]!);
    return crossEntropy(out, y);
  };
  const es = new EarlyStopping({ every: { steps: 2 }, patience: 1, restoreBestWeights: true });
  const t = trainer({ model, lossFn, options: { val, evalBatchSize: 3 } });
  es.onTrainBegin(t);
  t.step = 1;
  es.onBatchEnd(t);
  assert.deepEqual(batches, [], 'step 1 is not a multiple of 2');
  assert.equal(es.bestStep, -1);
  t.step = 2;
  t.epoch = 1;
  es.onBatchEnd(t);
  assert.deepEqual(batches, [3, 1], 'one evaluation in batches of evalBatchSize');
  assert.equal(es.bestStep, 2);
  assert.equal(es.bestEpoch, 2);
  const expected = evaluate(model, val, crossEntropy).loss;
  assert.ok(Math.abs(es.best - expected) < 1e-7, `${es.best} vs ${expected}`);
  // Epoch ends are ignored in step mode, even without the metric in the logs.
  es.onEpochEnd(t, 1, { loss: 0, lr: 0 });
  setWeights(model, -1, 1); // all wrong: a higher loss
  t.step = 4;
  es.onBatchEnd(t);
  assert.equal(t.stopTraining, false, 'patience 1: one evaluation without improvement is waited');
  // Waiting is not stopping: no stop step or epoch yet, and the run is not marked finished (a Ctrl-C now interrupts it).
  assert.deepEqual([es.stoppedStep, es.stoppedEpoch, t.stoppedEarly], [0, 0, false]);
  t.step = 6;
  t.epoch = 2;
  es.onBatchEnd(t);
  assert.equal(t.stopTraining, true);
  assert.equal(t.stoppedEarly, true, 'a step-mode stop finishes the run');
  assert.equal(es.stoppedStep, 6);
  assert.equal(es.stoppedEpoch, 3);
  assert.equal(es.bestStep, 2);
  es.onTrainEnd(t);
  assert.deepEqual(values(model.weight), [1, -1], 'the weights of step 2');
  assert.equal((es.stateDict() as { bestStep: number }).bestStep, 2);
});

test('EarlyStopping every N steps: its own data wins over the val set, default batch 256, accuracy as monitor', () => {
  const model = twoClass(1, -1);
  const xs = Array.from({ length: 300 }, (_, i) => [i % 2 ? -(i + 1) : i + 1]);
  const ys = xs.map(([x]) => (x! > 0 ? 0 : 1));
  const data = new ArrayDataset(tensor(xs), tensor(ys, { dtype: 'int32' }));
  const batches: number[] = [];
  const lossFn = (out: Tensor, y: Tensor) => {
    batches.push(out.shape[0]!);
    return crossEntropy(out, y);
  };
  const es = new EarlyStopping({ every: { steps: 1 }, monitor: 'val_accuracy', data, patience: 0 });
  // The trainer's val set has one sample: were it used, the batches would be [1].
  const t = trainer({ model, lossFn, options: { val: [tensor([[1]]), tensor([1], { dtype: 'int32' })] } });
  t.step = 1;
  es.onBatchEnd(t);
  assert.deepEqual(batches, [256, 44]);
  assert.equal(es.best, 1, 'accuracy of the data set');
  // A lower loss at the same accuracy is no improvement of val_accuracy.
  setWeights(model, 10, -10);
  t.step = 2;
  es.onBatchEnd(t);
  assert.equal(t.stopTraining, true);
  assert.equal(es.best, 1);

  // top-5 of six classes: the label among the five highest scores.
  const six = new Linear(1, 6, { bias: false });
  six.weight.assign(tensor([[6], [5], [4], [3], [2], [1]]));
  const top = new EarlyStopping({ every: { steps: 1 }, monitor: 'val_top5' });
  // x = 1 ranks the classes 0..5: label 5 is sixth (a miss), label 4 fifth (a hit).
  const t6 = trainer({
    model: six,
    lossFn: crossEntropy,
    options: { val: [tensor([[1], [1]]), tensor([5, 4], { dtype: 'int32' })] },
  });
  t6.step = 1;
  top.onBatchEnd(t6);
  assert.equal(top.best, 0.5);
});

test('EarlyStopping every N steps needs a val set or data when training begins', () => {
  throwsExactly(
    () => new EarlyStopping({ every: { steps: 5 } }).onTrainBegin(trainer()),
    TsgradError,
    'EarlyStopping({ every: { steps } }): give fit a val set, or pass data to EarlyStopping',
  );
  const data = new ArrayDataset(tensor([[1]]), tensor([0], { dtype: 'int32' }));
  new EarlyStopping({ every: { steps: 5 }, data }).onTrainBegin(trainer());
  new EarlyStopping({ every: { steps: 5 } }).onTrainBegin(trainer({ options: { val: data } }));
  // Epoch mode reads the val metrics from the logs: no check at the start.
  new EarlyStopping().onTrainBegin(trainer());
});

// ---------------------------------------------------------------- LRSchedulerCallback

test('LRSchedulerCallback steps its schedule at epoch ends by default, at batch ends with every: batch', () => {
  const p = tensor([1], { requiresGrad: true });
  const opt = new SGD([p], { lr: 1 });
  const perEpoch = new LRSchedulerCallback(new StepLR(opt, { stepSize: 1, gamma: 0.5 }));
  assert.equal(perEpoch.every, 'epoch');
  perEpoch.onBatchEnd();
  assert.equal(opt.paramGroups[0]!.lr, 1);
  perEpoch.onEpochEnd();
  assert.equal(opt.paramGroups[0]!.lr, 0.5);
  assert.deepEqual(perEpoch.stateDict(), { stepCount: 1 });

  const opt2 = new SGD([tensor([1], { requiresGrad: true })], { lr: 1 });
  const perBatch = new LRSchedulerCallback(new StepLR(opt2, { stepSize: 1, gamma: 0.5 }), 'batch');
  perBatch.onEpochEnd();
  assert.equal(opt2.paramGroups[0]!.lr, 1);
  perBatch.onBatchEnd();
  perBatch.onBatchEnd();
  assert.equal(opt2.paramGroups[0]!.lr, 0.25);
  // Loading a state sets the step count and the lr it implies.
  perBatch.loadStateDict({ stepCount: 3 });
  assert.equal(opt2.paramGroups[0]!.lr, 0.125);
  assert.deepEqual(perBatch.stateDict(), { stepCount: 3 });
});

// ---------------------------------------------------------------- ReduceLROnPlateau

function plateauTrainer(lrs: number[]): { t: FakeTrainer; opt: SGD } {
  const opt = new SGD(
    lrs.map((lr) => ({ params: [tensor([0], { requiresGrad: true })], lr })),
    { lr: 1 },
  );
  return { t: trainer({ optimizer: opt }), opt };
}

function epochs(cb: ReduceLROnPlateau, t: FakeTrainer, metric: string, vals: number[]): void {
  for (const [i, v] of vals.entries()) cb.onEpochEnd(t, i, { loss: 0, lr: 0, [metric]: v } as Logs);
}

test('ReduceLROnPlateau defaults: val_loss, factor 0.1, after more than 10 bad epochs, minDelta 1e-4', () => {
  const { t, opt } = plateauTrainer([1, 0.5]);
  const cb = new ReduceLROnPlateau();
  assert.equal(cb.monitor, 'val_loss');
  // 1 − 5e-5 is within minDelta 1e-4 of the best: not an improvement.
  epochs(cb, t, 'val_loss', [1, ...Array<number>(10).fill(1 - 5e-5)]);
  assert.deepEqual(opt.lrs, [1, 0.5], 'ten bad epochs are within patience 10');
  epochs(cb, t, 'val_loss', [1]);
  assert.deepEqual(opt.lrs, [0.1, 0.05], 'the eleventh lowers every group by the factor');
  // A change larger than minDelta is an improvement and resets the count.
  const { t: t2, opt: opt2 } = plateauTrainer([1]);
  const cb2 = new ReduceLROnPlateau();
  epochs(cb2, t2, 'val_loss', [1, ...Array<number>(10).fill(1), 1 - 2e-4, ...Array<number>(10).fill(1)]);
  assert.deepEqual(opt2.lrs, [1]);
  assert.deepEqual(cb2.stateDict(), { best: 1 - 2e-4, wait: 10, cooldownLeft: 0 });
});

test('ReduceLROnPlateau: patience, factor, the minLr floor and the wait reset after a reduction', () => {
  const { t, opt } = plateauTrainer([1]);
  const cb = new ReduceLROnPlateau({ monitor: 'loss', patience: 1, factor: 0.5, minLr: 0.2, minDelta: 0 });
  epochs(cb, t, 'loss', [1, 1]);
  assert.deepEqual(opt.lrs, [1]);
  epochs(cb, t, 'loss', [1]);
  assert.deepEqual(opt.lrs, [0.5]);
  epochs(cb, t, 'loss', [1]);
  assert.deepEqual(opt.lrs, [0.5], 'the count starts again after a reduction');
  epochs(cb, t, 'loss', [1]);
  assert.deepEqual(opt.lrs, [0.25]);
  epochs(cb, t, 'loss', [1, 1]);
  assert.deepEqual(opt.lrs, [0.2], 'never below minLr');
  // Improvements (mode max for an accuracy) reset the count.
  const { t: t2, opt: opt2 } = plateauTrainer([1]);
  const acc = new ReduceLROnPlateau({ monitor: 'val_accuracy', patience: 1, factor: 0.5 });
  epochs(acc, t2, 'val_accuracy', [0.5, 0.4, 0.6, 0.5, 0.7]);
  assert.deepEqual(opt2.lrs, [1]);
  epochs(acc, t2, 'val_accuracy', [0.7, 0.7]);
  assert.deepEqual(opt2.lrs, [0.5]);
});

test('ReduceLROnPlateau: cooldown N leaves out the N epochs after a reduction (as PyTorch counts them)', () => {
  // patience 0: every bad epoch outside a cooldown reduces.
  const run = (cooldown: number, n: number): number[] => {
    const { t, opt } = plateauTrainer([1]);
    const cb = new ReduceLROnPlateau({ monitor: 'loss', patience: 0, factor: 0.5, cooldown });
    const lrs: number[] = [];
    for (let e = 0; e < n; e++) {
      cb.onEpochEnd(t, e, { loss: 1, lr: 0 });
      lrs.push(opt.paramGroups[0]!.lr);
    }
    return lrs;
  };
  // Epoch 0 sets the best; epoch 1 reduces; then `cooldown` epochs are not counted.
  assert.deepEqual(run(0, 5), [1, 0.5, 0.25, 0.125, 0.0625]);
  assert.deepEqual(run(1, 6), [1, 0.5, 0.5, 0.25, 0.25, 0.125]);
  assert.deepEqual(run(2, 7), [1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]);
  // An improvement during the cooldown still becomes the best.
  const { t, opt } = plateauTrainer([1]);
  const cb = new ReduceLROnPlateau({ monitor: 'loss', patience: 0, factor: 0.5, cooldown: 2, minDelta: 0 });
  epochs(cb, t, 'loss', [1, 1, 0.5]);
  assert.deepEqual(opt.lrs, [0.5]);
  assert.deepEqual(cb.stateDict(), { best: 0.5, wait: 0, cooldownLeft: 1 });
});

test('ReduceLROnPlateau: factor must lie in (0, 1); state through JSON', () => {
  for (const factor of [0, 1, 1.5, -0.5, NaN])
    throwsExactly(
      () => new ReduceLROnPlateau({ factor }),
      ArgumentError,
      `ReduceLROnPlateau: factor must be in (0, 1), got ${factor}`,
    );
  new ReduceLROnPlateau({ factor: 0.999 });
  const { t, opt } = plateauTrainer([1]);
  const cb = new ReduceLROnPlateau({ monitor: 'loss', patience: 2, factor: 0.5, cooldown: 3 });
  epochs(cb, t, 'loss', [1, 1, 1, 1, 1]);
  assert.deepEqual(opt.lrs, [0.5]);
  const saved = JSON.parse(JSON.stringify(cb.stateDict())) as unknown;
  assert.deepEqual(saved, { best: 1, wait: 0, cooldownLeft: 2 });
  const back = new ReduceLROnPlateau({ monitor: 'loss', patience: 2, factor: 0.5, cooldown: 3 });
  back.loadStateDict(saved);
  assert.deepEqual(back.stateDict(), { best: 1, wait: 0, cooldownLeft: 2 });
  // Two more cooldown epochs, then patience 2 + 1 bad epochs: the next reduction is the third after those.
  epochs(back, t, 'loss', [1, 1, 1, 1]);
  assert.deepEqual(opt.lrs, [0.5]);
  epochs(back, t, 'loss', [1]);
  assert.deepEqual(opt.lrs, [0.25]);
  // A fresh state's ±Infinity best comes back from null in the right direction.
  const min = new ReduceLROnPlateau({ monitor: 'loss' });
  min.loadStateDict({ best: null, wait: 1, cooldownLeft: 0 });
  assert.deepEqual(min.stateDict(), { best: Infinity, wait: 1, cooldownLeft: 0 });
  const max = new ReduceLROnPlateau({ monitor: 'accuracy' });
  max.loadStateDict({ best: null, wait: 0, cooldownLeft: 0 });
  assert.deepEqual(max.stateDict(), { best: -Infinity, wait: 0, cooldownLeft: 0 });
});

// ---------------------------------------------------------------- ProgressBar

/** A clock that a test moves by hand (performance.now, in ms). */
function fakeClock(start = 1000): { set(ms: number): void; restore(): void } {
  let now = start;
  const m = mock.method(performance, 'now', () => now);
  return { set: (ms) => void (now = ms), restore: () => m.mock.restore() };
}

function sink(isTTY: boolean): { out: { write(s: string): void; isTTY: boolean }; lines: string[] } {
  const lines: string[] = [];
  return { out: { write: (s: string) => void lines.push(s), isTTY }, lines };
}

test('ProgressBar without a terminal: a line every lineEvery seconds with running loss and ETA, and one per epoch', () => {
  const clock = fakeClock(1000);
  try {
    const { out, lines } = sink(false);
    const bar = new ProgressBar(out); // lineEvery 30 s
    const t = trainer({ batchesPerEpoch: 10, options: { epochs: 3 }, epoch: 1 });
    bar.onEpochBegin();
    clock.set(1000 + 29_999);
    bar.onBatchEnd(t, 0, { loss: 1, lr: 0 });
    assert.deepEqual(lines, [], 'not yet 30 s');
    clock.set(1000 + 30_000);
    bar.onBatchEnd(t, 1, { loss: 0.5, lr: 0 });
    // 30 s for 2 batches: 8 left take 120 s.
    assert.deepEqual(lines, ['epoch 2/3 batch 2/10  loss 0.7500  ETA 2:00\n']);
    clock.set(1000 + 59_999);
    bar.onBatchEnd(t, 2, { loss: 0, lr: 0 });
    assert.equal(lines.length, 1, '30 s counted from the last line');
    clock.set(1000 + 60_000);
    bar.onBatchEnd(t, 3, { loss: 0.5, lr: 0 });
    assert.equal(lines[1], 'epoch 2/3 batch 4/10  loss 0.5000  ETA 1:30\n');
    clock.set(1000 + 65_400);
    bar.onEpochEnd(t, 1, {
      epoch: 2,
      loss: 0.123456,
      accuracy: 0.5,
      lr: 0.001,
      val_loss: 0.25,
      val_accuracy: 0.755,
      val_top5: 1,
    });
    assert.equal(
      lines[2],
      'epoch 2/3  loss 0.1235  accuracy 50.00%  lr 1.00e-3  val_loss 0.2500  val_accuracy 75.50%  val_top5 100.00%  1:05\n',
    );
    clock.set(1000 + 65_400 + 10_000);
    const fast = new ProgressBar(out, 10);
    fast.onEpochBegin();
    clock.set(1000 + 65_400 + 20_000);
    fast.onBatchEnd(t, 0, { loss: 2, lr: 0 });
    assert.equal(lines[3], 'epoch 2/3 batch 1/10  loss 2.0000  ETA 1:30\n', 'lineEvery 10: a line after 10 s');
  } finally {
    clock.restore();
  }
});

test('ProgressBar on a terminal: a redrawn bar at most every 100 ms, always on the last batch; the epoch line clears it', () => {
  const clock = fakeClock(5000);
  try {
    const { out, lines } = sink(true);
    const bar = new ProgressBar(out);
    const t = trainer({ batchesPerEpoch: 4, options: { epochs: 1 }, epoch: 0 });
    bar.onEpochBegin();
    clock.set(5050);
    bar.onBatchEnd(t, 0, { loss: 0.5, lr: 0 });
    assert.deepEqual(lines, [], 'within 100 ms of the start');
    clock.set(5100);
    bar.onBatchEnd(t, 1, { loss: 1.5, lr: 0 });
    // 0.1 s for 2 batches: 2 left, 0.1 s, ETA rounds to 0:00.
    assert.deepEqual(lines, ['\repoch 1/1 [============            ] 2/4  loss 1.0000  ETA 0:00 ']);
    clock.set(5150);
    bar.onBatchEnd(t, 2, { loss: 1, lr: 0 });
    assert.equal(lines.length, 1);
    clock.set(5160);
    bar.onBatchEnd(t, 3, { loss: 1, lr: 0 });
    assert.equal(
      lines[1],
      '\repoch 1/1 [========================] 4/4  loss 1.0000  ETA 0:00 ',
      'the last batch always draws',
    );
    bar.onEpochEnd(t, 0, { epoch: 1, loss: 1, lr: 0.5 });
    assert.equal(lines[2], '\r\x1b[Kepoch 1/1  loss 1.0000  lr 5.00e-1  0:00\n');
    // One batch in six: the bar rounds 24/6 = 4 cells.
    const six = trainer({ batchesPerEpoch: 6, options: { epochs: 2 }, epoch: 1 });
    const bar6 = new ProgressBar(out);
    bar6.onEpochBegin();
    clock.set(5160 + 3000);
    bar6.onBatchEnd(six, 0, { loss: 0.25, lr: 0 });
    assert.equal(lines[3], '\repoch 2/2 [====                    ] 1/6  loss 0.2500  ETA 0:15 ');
  } finally {
    clock.restore();
  }
});

test('ProgressBar times: m:ss under an hour, XhYYm from an hour, --:-- without a total; a resumed epoch starts its clock', () => {
  const clock = fakeClock(1000);
  try {
    const { out, lines } = sink(false);
    const t = trainer({ batchesPerEpoch: 2, options: { epochs: 1 }, epoch: 0 });
    const at = (seconds: number): string => {
      const bar = new ProgressBar(out);
      clock.set(1000);
      bar.onEpochBegin();
      clock.set(1000 + seconds * 1000);
      bar.onEpochEnd(t, 0, { loss: 0, lr: 1 });
      return lines[lines.length - 1]!.replace(/^.*lr 1\.00e\+0 {2}/, '').trimEnd();
    };
    assert.equal(at(59.4), '0:59');
    assert.equal(at(59.5), '1:00');
    assert.equal(at(65), '1:05');
    assert.equal(at(3599.4), '59:59');
    assert.equal(at(3600), '1h00m');
    assert.equal(at(7385), '2h03m');
    assert.equal(at(36000 + 60 * 7 + 20), '10h07m');
    // An endless epoch (no known total) has no ETA.
    const endless = trainer({ batchesPerEpoch: Infinity, options: { epochs: 1 }, epoch: 0 });
    const bar = new ProgressBar(out, 0);
    clock.set(1000);
    bar.onEpochBegin();
    clock.set(2000);
    bar.onBatchEnd(endless, 0, { loss: 1, lr: 0 });
    assert.equal(lines[lines.length - 1], 'epoch 1/1 batch 1/Infinity  loss 1.0000  ETA --:--\n');
    // Resumed mid-epoch: the first batch end starts the epoch's clock and running loss (no onEpochBegin).
    const resumed = new ProgressBar(out, 0);
    clock.set(10_000);
    resumed.onBatchEnd(trainer({ batchesPerEpoch: 3, options: { epochs: 1 }, epoch: 0 }), 1, { loss: 0.5, lr: 0 });
    assert.equal(lines[lines.length - 1], 'epoch 1/1 batch 2/3  loss 0.5000  ETA 0:00\n');
    clock.set(16_000);
    resumed.onEpochEnd(t, 0, { loss: 0, lr: 1 });
    assert.match(lines[lines.length - 1]!, / 0:06\n$/, 'six seconds since the resumed batch');
  } finally {
    clock.restore();
  }
});

test('ProgressBar writes to stderr by default, and to console.log lines where there is no process', () => {
  const written: string[] = [];
  const w = mock.method(process.stderr, 'write', (s: string) => (written.push(s), true));
  try {
    new ProgressBar().onEpochEnd(trainer({ options: { epochs: 1 } }), 0, { loss: 0.5, lr: 1 });
  } finally {
    w.mock.restore();
  }
  assert.equal(written.length, 1);
  assert.match(written[0]!, /^(\r\x1b\[K)?epoch 1\/1 {2}loss 0\.5000 {2}lr 1\.00e\+0 {2}\d+:\d\d\n$/);

  const logged: unknown[] = [];
  const g = globalThis as { process?: unknown };
  const saved = g.process;
  let bar: ProgressBar;
  g.process = undefined;
  try {
    bar = new ProgressBar();
  } finally {
    g.process = saved;
  }
  const log = mock.method(console, 'log', (s: unknown) => void logged.push(s));
  try {
    bar.onEpochEnd(trainer({ options: { epochs: 2 } }), 1, { loss: 0.5, lr: 1 });
  } finally {
    log.mock.restore();
  }
  assert.equal(logged.length, 1);
  assert.match(
    String(logged[0]),
    /^epoch 2\/2 {2}loss 0\.5000 {2}lr 1\.00e\+0 {2}\d+:\d\d$/,
    'no newline, no escape codes',
  );
  // Only the line's final newline is dropped (a metric name may hold one of its own).
  const log2 = mock.method(console, 'log', (s: unknown) => void logged.push(s));
  try {
    bar.onEpochEnd(trainer({ options: { epochs: 2 } }), 1, { loss: 0.5, lr: 1, 'a\nb': 0.25 } as Logs);
  } finally {
    log2.mock.restore();
  }
  assert.equal(logged.length, 2);
  assert.match(String(logged[1]), /lr 1\.00e\+0 {2}a\nb 0\.2500 {2}\d+:\d\d$/);
});

// ---------------------------------------------------------------- EvaluateEachEpoch

test('EvaluateEachEpoch adds <prefix>_loss, _accuracy and _top5 of the model on its data, in batches of batchSize', () => {
  const model = twoClass(1, -1);
  const xs = Array.from({ length: 300 }, (_, i) => [(i % 2 ? -1 : 1) * (i + 1) * 0.01]);
  // The first 30 labels are flipped: accuracy 0.9.
  const ys = xs.map(([x], i) => ((x! > 0 ? 0 : 1) + (i < 30 ? 1 : 0)) % 2);
  const data = new ArrayDataset(tensor(xs), tensor(ys, { dtype: 'int32' }));
  const batches: number[] = [];
  const lossFn = (out: Tensor, y: Tensor) => {
    batches.push(out.shape[0]!);
    return crossEntropy(out, y);
  };
  const expected = evaluate(model, data, crossEntropy);
  const logs: Logs = { epoch: 1, loss: 0, lr: 0 };
  const cb = new EvaluateEachEpoch(data);
  cb.onEpochEnd(trainer({ model, lossFn }), 0, logs);
  assert.deepEqual(batches, [256, 44]);
  const l = logs as Logs<string>;
  assert.deepEqual(Object.keys(l), ['epoch', 'loss', 'lr', 'test_loss', 'test_accuracy', 'test_top5']);
  assert.ok(Math.abs(l['test_loss']! - expected.loss) < 1e-6);
  assert.equal(l['test_accuracy'], 0.9);
  assert.equal(l['test_top5'], 1);

  batches.length = 0;
  const own = new EvaluateEachEpoch(data, 'holdout', 100);
  const logs2: Logs = { loss: 0, lr: 0 };
  own.onEpochEnd(trainer({ model, lossFn }), 0, logs2);
  assert.deepEqual(batches, [100, 100, 100]);
  assert.deepEqual(Object.keys(logs2), ['loss', 'lr', 'holdout_loss', 'holdout_accuracy', 'holdout_top5']);
});
