import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam,
  ArrayDataset,
  EarlyStopping,
  Generator,
  LRSchedulerCallback,
  Linear,
  NonFiniteLossError,
  ReduceLROnPlateau,
  SGD,
  Sequential,
  ReLU,
  StepLR,
  Trainer,
  Dropout,
  clipGradNorm,
  evaluate,
  fit,
  manualSeed,
  crossEntropy,
  tensor,
  type Callback,
  type Logs,
} from '../../src/index.js';

/** Two Gaussian blobs per class in 4-D: learnable but not trivially. */
function blobs(n: number, seed: number): ArrayDataset {
  const g = new Generator(seed);
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = c;
    for (let j = 0; j < 4; j++) x[i * 4 + j] = (j === c ? 2 : 0) + g.normal() * 0.8;
  }
  return new ArrayDataset(x, y, [4]);
}

function makeModel(seed: number): Sequential {
  manualSeed(seed);
  return new Sequential(new Linear(4, 16), new ReLU(), new Dropout(0.2), new Linear(16, 3));
}

function weights(m: Sequential): number[] {
  return m.parameters().flatMap((p) => Array.from(p.dataSync()));
}

test('fit trains, reports history with train and val metrics, and evaluate agrees', async () => {
  const model = makeModel(1);
  const train = blobs(300, 1);
  const val = blobs(120, 2);
  const history = await fit(model, {
    train,
    val,
    epochs: 5,
    batchSize: 32,
    optimizer: new Adam(model.parameters(), { lr: 0.01 }),
  });
  assert.equal(history.length, 5);
  for (const k of ['loss', 'accuracy', 'lr', 'val_loss', 'val_accuracy', 'val_top5']) assert.ok(k in history[4]!, k);
  assert.ok(history[4]!.loss < history[0]!.loss, 'loss falls');
  assert.ok(history[4]!['val_accuracy']! > 0.8, `val accuracy ${history[4]!['val_accuracy']}`);
  const r = evaluate(model, val, crossEntropy);
  assert.ok(Math.abs(r.accuracy - history[4]!['val_accuracy']!) < 1e-12);
  assert.equal(r.count, 120);
  assert.equal(r.top5, 1, 'three classes: top-5 always hits');
  assert.equal(r.confusion.total, 120);
  assert.equal(model.training, true, 'evaluate restores the mode');
});

test('resuming from a saved state gives exactly the weights of an uninterrupted run', async () => {
  const train = blobs(200, 3);
  // Uninterrupted: 4 epochs.
  const a = makeModel(7);
  const ta = new Trainer(a, {
    train,
    epochs: 4,
    batchSize: 16,
    optimizer: new Adam(a.parameters(), { lr: 0.01 }),
    generator: new Generator(5),
  });
  await ta.fit();
  // Interrupted after 2 epochs, state serialized through JSON, restored into fresh objects.
  const b = makeModel(7);
  const tb = new Trainer(b, {
    train,
    epochs: 2,
    batchSize: 16,
    optimizer: new Adam(b.parameters(), { lr: 0.01 }),
    generator: new Generator(5),
  });
  await tb.fit();
  const saved = JSON.parse(JSON.stringify(tb.getState()));
  const sd = b.stateDict();
  manualSeed(12345); // disturb the default generator: the state must restore it
  const c = makeModel(99);
  c.loadStateDict(sd);
  const tc = new Trainer(c, {
    train,
    epochs: 4,
    batchSize: 16,
    optimizer: new Adam(c.parameters(), { lr: 0.01 }),
    generator: new Generator(0),
  });
  tc.setState(saved);
  await tc.fit();
  assert.deepEqual(weights(c), weights(a));
  assert.deepEqual(
    tc.history.map((h) => h.loss),
    ta.history.map((h) => h.loss),
  );
});

test('an interruption mid-epoch resumes at the same batch with the same order', async () => {
  const train = blobs(160, 4);
  const a = makeModel(3);
  const ta = new Trainer(a, {
    train,
    epochs: 2,
    batchSize: 16,
    optimizer: new SGD(a.parameters(), { lr: 0.05, momentum: 0.9 }),
  });
  await ta.fit();
  const b = makeModel(3);
  const stopAt: Callback = {
    onBatchEnd(t, batch) {
      if (t.epoch === 1 && batch === 3) t.stopTraining = true;
    },
  };
  const tb = new Trainer(b, {
    train,
    epochs: 2,
    batchSize: 16,
    optimizer: new SGD(b.parameters(), { lr: 0.05, momentum: 0.9 }),
    callbacks: [stopAt],
  });
  await tb.fit();
  assert.equal(tb.interrupted, true);
  assert.equal(tb.batchInEpoch, 4);
  const state = JSON.parse(JSON.stringify(tb.getState()));
  const c = makeModel(50);
  c.loadStateDict(b.stateDict());
  const tc = new Trainer(c, {
    train,
    epochs: 2,
    batchSize: 16,
    optimizer: new SGD(c.parameters(), { lr: 0.05, momentum: 0.9 }),
  });
  tc.setState(state);
  await tc.fit();
  assert.deepEqual(weights(c), weights(a));
});

test('a NaN loss stops training with a message naming the epoch and batch', async () => {
  const model = makeModel(1);
  const train = blobs(64, 1);
  const nanLoss = (out: ReturnType<Sequential['forward']>) => out.sum().mul(NaN);
  await assert.rejects(
    fit(model, { train, epochs: 1, batchSize: 32, optimizer: new SGD(model.parameters(), { lr: 0.1 }), loss: nanLoss }),
    (e: unknown) => e instanceof NonFiniteLossError && /NaN at epoch 1, batch 1 \(step 1\)/.test(e.message),
  );
});

test('EarlyStopping stops after patience epochs without improvement and restores the best weights', async () => {
  const model = makeModel(2);
  const train = blobs(100, 5);
  const val = blobs(60, 6);
  const seen: { epoch: number; valLoss: number; weights: number[] }[] = [];
  // Huge lr makes the validation loss worse after the first epochs.
  const recorder: Callback = {
    onEpochEnd(t, epoch, logs) {
      seen.push({ epoch, valLoss: logs['val_loss']!, weights: weights(t.model as Sequential) });
    },
  };
  const es = new EarlyStopping({ monitor: 'val_loss', patience: 1, restoreBestWeights: true });
  await fit(model, {
    train,
    val,
    epochs: 30,
    batchSize: 10,
    optimizer: new SGD(model.parameters(), { lr: 3 }),
    callbacks: [recorder, es],
  });
  const best = seen.reduce((b, s) => (s.valLoss < b.valLoss ? s : b));
  assert.ok(seen.length < 30, `stopped early after ${seen.length} epochs`);
  assert.equal(es.bestEpoch, best.epoch + 1);
  // Stopped exactly patience + 1 epochs after the best one.
  assert.equal(seen.length, best.epoch + 1 + 2);
  assert.deepEqual(weights(model), best.weights, 'restored weights are those of the best epoch');
});

test('learning-rate callbacks: StepLR per epoch and ReduceLROnPlateau', async () => {
  const model = makeModel(1);
  const train = blobs(64, 1);
  const opt = new SGD(model.parameters(), { lr: 0.1 });
  const lrs: number[] = [];
  const rec: Callback = { onEpochEnd: (_t, _e, logs: Logs) => void lrs.push(logs['lr']!) };
  await fit(model, {
    train,
    epochs: 4,
    batchSize: 64,
    optimizer: opt,
    callbacks: [rec, new LRSchedulerCallback(new StepLR(opt, { stepSize: 2, gamma: 0.5 }))],
  });
  assert.deepEqual(
    lrs.map((v) => +v.toFixed(10)),
    [0.1, 0.1, 0.05, 0.05],
  );

  const opt2 = new SGD(model.parameters(), { lr: 1 });
  const plateau = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 0, minDelta: 1e9 });
  // minDelta so large that no epoch counts as an improvement after the first.
  await fit(model, { train, epochs: 3, batchSize: 64, optimizer: opt2, callbacks: [plateau] });
  assert.equal(opt2.paramGroups[0]!.lr, 0.25);
});

test('clipGradNorm rescales to the maximum norm and returns the norm before', () => {
  const p = tensor([3, 4], { requiresGrad: true });
  p.mul(p).sum().mul(0.5).backward(); // grad = p = [3, 4], norm 5
  const norm = clipGradNorm([p], 1);
  assert.equal(norm, 5);
  const g = Array.from(p.grad!.dataSync());
  assert.ok(Math.abs(g[0]! - 0.6) < 1e-6 && Math.abs(g[1]! - 0.8) < 1e-6, String(g));
});
