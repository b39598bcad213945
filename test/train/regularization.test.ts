/**
 * Regularization as the notes describe it: per-layer L1/L2 penalties that the
 * Trainer adds to the loss and reports as reg_loss, `penalize()`, and early
 * stopping that evaluates every N steps (with its state carried by a checkpoint).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArgumentError,
  ArrayDataset,
  Conv2d,
  EarlyStopping,
  Flatten,
  Linear,
  Module,
  ReLU,
  SGD,
  Sequential,
  Trainer,
  crossEntropy,
  manualSeed,
  penalize,
  regularizationLoss,
  restoreCheckpoint,
  saveCheckpoint,
  tensor,
  type Callback,
  type Logs,
  type Tensor,
} from '../../src/index.js';
import { assertClose, values } from '../helpers/nn-fixtures.js';

function setValues(t: Tensor, v: number[]): void {
  t.assign(tensor(v, { shape: [...t.shape] }));
}

test('regularizationLoss: l1·Σ|w| + l2·Σw² over the penalized parameters, gradient l1·sign(w) + 2·l2·w', () => {
  const fc = new Linear(2, 2, { weightPenalty: { l1: 0.1, l2: 0.01 }, biasPenalty: { l2: 0.5 } });
  setValues(fc.weight, [1, -2, 3, -4]);
  setValues(fc.bias!, [0.5, -1]);
  const reg = regularizationLoss(fc)!;
  // weight: 0.1·10 + 0.01·30 = 1.3; bias: 0.5·1.25 = 0.625
  assert.ok(Math.abs(reg.itemSync() - (1.3 + 0.625)) < 1e-6, `reg ${reg.itemSync()}`);
  reg.backward();
  assertClose(fc.weight.grad!, [0.1 + 0.02, -0.1 - 0.04, 0.1 + 0.06, -0.1 - 0.08], 1e-6, 'weight grad');
  assertClose(fc.bias!.grad!, [0.5, -1], 1e-6, 'bias grad');
  assert.equal(regularizationLoss(new Linear(2, 2)), null, 'no penalty, no term');
});

test('penalize() puts a penalty on the weights (rank >= 2) or on every parameter; bad penalties are refused', () => {
  const net = new Sequential(new Conv2d(1, 2, 3), new ReLU(), new Flatten(), new Linear(8, 2));
  penalize(net, { l2: 1e-3 });
  assert.deepEqual(
    net.namedParameters().map(([n, p]) => [n, p.penalty?.l2 ?? 0]),
    [
      ['0.weight', 1e-3],
      ['0.bias', 0],
      ['3.weight', 1e-3],
      ['3.bias', 0],
    ],
  );
  penalize(net, { l1: 2e-3 }, { which: 'all' });
  assert.ok(net.parameters().every((p) => p.penalty?.l1 === 2e-3 && p.penalty.l2 === 0));
  penalize(net, {}, { which: 'all' });
  assert.ok(net.parameters().every((p) => p.penalty === null));
  assert.throws(
    () => new Linear(2, 2, { weightPenalty: { l3: 1 } as never }),
    /Linear weightPenalty: unknown penalty l3/,
  );
  assert.throws(() => new Conv2d(1, 1, 3, { weightPenalty: { l2: -1 } }), /Conv2d weightPenalty: penalty l2 must be/);
  assert.throws(() => new Linear(2, 2, { weightPenaly: { l2: 1 } } as never), /Linear: unknown option weightPenaly/);
  assert.throws(() => penalize(net, { l2: NaN }), ArgumentError);
});

/** Two separable classes of 4-feature points. */
function points(n: number, offset = 0): ArrayDataset {
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = (i + offset) % 2;
    y[i] = c;
    for (let j = 0; j < 4; j++)
      x[i * 4 + j] = (c ? 1 : -1) * (0.5 + ((i * 7 + j * 3 + offset) % 5) / 10) + (j - 1.5) / 4;
  }
  return new ArrayDataset(x, y, [4]);
}

test('the Trainer adds the penalties to the loss it minimizes and reports reg_loss per batch and per epoch', async () => {
  manualSeed(3);
  const model = new Linear(4, 2, { weightPenalty: { l1: 0.01, l2: 0.1 } });
  const w0 = values(model.weight);
  const b0 = values(model.bias!);
  const data = points(8);
  // The expected step by hand: the data loss's gradient on a copy, plus the penalty's l1·sign(w) + 2·l2·w.
  const copy = new Linear(4, 2);
  setValues(copy.weight, w0);
  setValues(copy.bias!, b0);
  const batch = data.getBatch([...Array(8).keys()]);
  const dataLoss = crossEntropy(copy.forward(batch.x), batch.y);
  dataLoss.backward();
  const gw = values(copy.weight.grad!);
  const lr = 0.5;
  const expected = w0.map((w, i) => w - lr * (gw[i]! + 0.01 * Math.sign(w) + 2 * 0.1 * w));
  const reg = w0.reduce((s, w) => s + 0.01 * Math.abs(w) + 0.1 * w * w, 0);

  const batches: Logs[] = [];
  const epochs: Logs[] = [];
  const spy: Callback = {
    onBatchEnd: (_t, _b, logs) => void batches.push(logs),
    onEpochEnd: (_t, _e, logs) => void epochs.push(logs),
  };
  // One batch of all 8 points; the order does not matter for a full batch.
  const t = new Trainer(model, {
    train: data,
    epochs: 1,
    batchSize: 8,
    optimizer: new SGD(model.parameters(), { lr }),
    callbacks: [spy],
  });
  await t.fit();
  assertClose(model.weight, expected, 1e-5, 'weights after one penalized SGD step');
  assert.ok(Math.abs(batches[0]!['reg_loss']! - reg) < 1e-5, `batch reg_loss ${batches[0]!['reg_loss']} vs ${reg}`);
  assert.ok(Math.abs(batches[0]!['loss']! - (dataLoss.itemSync() + reg)) < 1e-5, 'loss = data loss + reg_loss');
  assert.ok(Math.abs(epochs[0]!['reg_loss']! - reg) < 1e-5, 'epoch reg_loss');
  // Without penalties there is no reg_loss key.
  const plain = new Linear(4, 2);
  const logs: Logs[] = [];
  await new Trainer(plain, {
    train: data,
    epochs: 1,
    batchSize: 8,
    optimizer: new SGD(plain.parameters(), { lr }),
    callbacks: [{ onEpochEnd: (_t, _e, l) => void logs.push(l) }],
  }).fit();
  assert.equal('reg_loss' in logs[0]!, false);
});

class Counting extends Module {
  readonly fc = new Linear(4, 2);
  forward(x: Tensor): Tensor {
    return this.fc.forward(x);
  }
}

test('EarlyStopping({ every: { steps: N } }) evaluates every N steps and stops mid-epoch as a finished run', async () => {
  manualSeed(5);
  const model = new Counting();
  const evals: number[] = [];
  const val = points(6, 1);
  const watched = {
    ...val,
    length: val.length,
    get: (i: number) => val.get(i),
    getBatch: (idx: readonly number[]) => (evals.push(t.step), val.getBatch(idx)),
  };
  // lr 0: the validation loss never changes, so after the first evaluation nothing improves.
  const es = new EarlyStopping({ every: { steps: 3 }, patience: 1, data: watched });
  const t: Trainer = new Trainer(model, {
    train: points(40),
    epochs: 5,
    batchSize: 4,
    optimizer: new SGD(model.parameters(), { lr: 0 }),
    callbacks: [es],
  });
  await t.fit();
  assert.deepEqual(evals, [3, 6, 9]);
  assert.equal(es.bestStep, 3);
  assert.equal(es.stoppedStep, 9);
  assert.equal(t.step, 9);
  assert.equal(t.interrupted, false, 'an early stop is not an interruption');
  assert.equal(t.stoppedEarly, true);
  assert.throws(() => new EarlyStopping({ every: { steps: 0 } }), /every/);
  assert.throws(() => new EarlyStopping({ every: { steps: 10 }, monitor: 'loss' }), /val_loss/);
  await assert.rejects(
    new Trainer(new Linear(4, 2), {
      train: points(8),
      epochs: 1,
      optimizer: new SGD(new Linear(4, 2).parameters(), { lr: 0 }),
      callbacks: [new EarlyStopping({ every: { steps: 2 } })],
    }).fit(),
    /val set/,
  );
});

test('step-based EarlyStopping survives a checkpoint: a resumed run stops at the same step with the same weights', async () => {
  const run = async (
    stopAt: number | null,
    dir: string | null,
  ): Promise<{ es: EarlyStopping; t: Trainer; w: number[] }> => {
    manualSeed(8);
    const model = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
    const es = new EarlyStopping({ every: { steps: 2 }, patience: 2, minDelta: 0.02, restoreBestWeights: true });
    const stop: Callback = {
      onBatchEnd: (tr) => void (stopAt !== null && tr.step === stopAt && (tr.stopTraining = true)),
    };
    const t = new Trainer(model, {
      train: points(24),
      val: points(10, 1),
      epochs: 40,
      batchSize: 4,
      optimizer: new SGD(model.parameters(), { lr: 0.05 }),
      callbacks: [es, stop],
    });
    if (dir && stopAt === null) restoreCheckpoint(dir, model, t);
    await t.fit();
    if (dir && stopAt !== null) saveCheckpoint(dir, model, t.getState());
    return { es, t, w: model.parameters().flatMap((p) => values(p)) };
  };
  const straight = await run(null, null);
  assert.ok(straight.es.stoppedStep > 0, 'the straight run stops early');
  assert.ok(straight.es.stoppedStep < 40 * 6, `stopped at ${straight.es.stoppedStep}`);
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-es-'));
  const cut = Math.max(3, straight.es.stoppedStep - 3); // mid-epoch, after at least one evaluation
  const first = await run(cut, dir);
  assert.equal(first.t.interrupted, true);
  const resumed = await run(null, dir);
  assert.equal(resumed.es.stoppedStep, straight.es.stoppedStep);
  assert.equal(resumed.es.bestStep, straight.es.bestStep);
  assert.deepEqual(resumed.w, straight.w);
});
