// The training loop's bookkeeping, on models small enough that every number can be checked:
// with lr 0 the weights never move, so the epoch metrics must equal the full-data evaluation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Linear,
  NonFiniteLossError,
  SGD,
  Sequential,
  Trainer,
  TsgradError,
  clipGradNorm,
  clipGradValue,
  crossEntropy,
  evaluate,
  fit,
  tensor,
  type Callback,
  type Dataset,
  type Logs,
  type Tensor,
} from '../../src/index.js';
import { metricValue, setMetric } from '../../src/train/fit.js';

/** logits [x, −x]: predicts class 0 exactly when x > 0. */
function signClassifier(): Linear {
  const m = new Linear(1, 2, { bias: false });
  m.weight.assign(tensor([[1], [-1]]));
  return m;
}

/** n samples x = ±(i + 1)/4, labels chosen so that exactly `wrong` of them are misclassified. */
function signData(n: number, wrong: number): [Tensor, Tensor] {
  const xs = Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (i + 1) * 0.25);
  const ys = xs.map((x, i) => ((x > 0 ? 0 : 1) + (i < wrong ? 1 : 0)) % 2);
  return [tensor(xs.map((x) => [x])), tensor(ys, { dtype: 'int32' })];
}

function close(a: number, b: number, tol = 1e-6, label = ''): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${label} ${a} vs ${b}`);
}

test('epoch loss is the sample-weighted mean of the batch losses, accuracy the fraction right; keys in CSV order', async () => {
  const model = signClassifier();
  const [x, y] = signData(5, 2);
  const batches: { batch: number; logs: Logs }[] = [];
  const history = await fit(model, {
    train: [x, y],
    epochs: 2,
    batchSize: 2,
    optimizer: new SGD(model.parameters(), { lr: 0 }),
    callbacks: [{ onBatchEnd: (_t, batch, logs) => void batches.push({ batch, logs }) }],
  });
  // 5 samples in batches of 2: 2 + 2 + 1, per epoch.
  assert.deepEqual(
    batches.map((b) => b.batch),
    [0, 1, 2, 0, 1, 2],
  );
  assert.deepEqual(Object.keys(batches[0]!.logs), ['loss', 'lr']);
  const weighted = (b: typeof batches) => (b[0]!.logs.loss * 2 + b[1]!.logs.loss * 2 + b[2]!.logs.loss * 1) / 5;
  const full = evaluate(model, [x, y], crossEntropy);
  for (const [e, logs] of history.entries()) {
    assert.deepEqual(Object.keys(logs), ['epoch', 'loss', 'accuracy', 'lr']);
    assert.equal(logs.epoch, e + 1);
    close(logs.loss, weighted(batches.slice(3 * e, 3 * e + 3)), 1e-6, 'weighted batch mean');
    close(logs.loss, full.loss, 1e-6, 'full-data loss');
    assert.equal(logs.accuracy, 3 / 5);
    assert.equal(logs.lr, 0);
  }
  // Batches are of different content in a different order, yet the per-epoch means agree.
  close(history[0]!.loss, history[1]!.loss, 1e-6);
});

test('trainAccuracy: false leaves accuracy out; labels that are not class indices count no hits', async () => {
  const model = signClassifier();
  const [x, y] = signData(4, 0);
  const off = await fit(model, {
    train: [x, y],
    epochs: 1,
    batchSize: 4,
    trainAccuracy: false,
    optimizer: new SGD(model.parameters(), { lr: 0 }),
  });
  assert.deepEqual(Object.keys(off[0]!), ['epoch', 'loss', 'lr']);
  const on = await fit(model, { train: [x, y], epochs: 1, optimizer: new SGD(model.parameters(), { lr: 0 }) });
  assert.equal(on[0]!.accuracy, 1);
  // Regression targets (float labels, a Dataset of its own): accuracy has no meaning and stays 0.
  // The weights predict class 0 for every x > 0: were the float labels [0, 1] read as class indices, half would hit.
  const reg = signClassifier();
  const xs = [0.5, 1, 1.5, 2];
  const regression: Dataset = {
    length: 4,
    get: (i) => ({ x: tensor([xs[i]!]), y: tensor([0, 1]) }),
    getBatch: (idx) => ({ x: tensor(idx.map((i) => [xs[i]!])), y: tensor(idx.map(() => [0, 1])) }),
  };
  const mse = (out: Tensor, t: Tensor) => out.sub(t).square().mean();
  const r = await fit(reg, {
    train: regression,
    epochs: 1,
    loss: mse,
    optimizer: new SGD(reg.parameters(), { lr: 0 }),
  });
  assert.equal(r[0]!.accuracy, 0);
  // Outputs that are not [batch, classes] (here [batch, 2, 1]) count no hits either, even with class labels.
  class Rank3 extends Linear {
    override forward(input: Tensor): Tensor {
      return super.forward(input).reshape([input.shape[0]!, 2, 1]);
    }
  }
  const r3 = new Rank3(1, 2, { bias: false });
  r3.weight.assign(tensor([[1], [-1]]));
  const labels = tensor([0, 0, 0, 0], { dtype: 'int32' });
  const h3 = await fit(r3, {
    train: [tensor(xs.map((v) => [v])), labels],
    epochs: 1,
    loss: (out) => out.sum().mul(0),
    optimizer: new SGD(r3.parameters(), { lr: 0 }),
  });
  assert.equal(h3[0]!.accuracy, 0);
});

test('the default batch size is 32 and evaluation runs in batches of 256 unless evalBatchSize says otherwise', async () => {
  const model = signClassifier();
  const [x, y] = signData(70, 0);
  const sizes: { training: boolean; n: number }[] = [];
  class SpyLinear extends Linear {
    override forward(input: Tensor): Tensor {
      sizes.push({ training: this.training, n: input.shape[0]! });
      return super.forward(input);
    }
  }
  const spy = new SpyLinear(1, 2, { bias: false });
  spy.weight.assign(model.weight);
  const [vx, vy] = signData(300, 0);
  const trainer = new Trainer(spy, {
    train: [x, y],
    val: [vx, vy],
    epochs: 1,
    optimizer: new SGD(spy.parameters(), { lr: 0 }),
  });
  assert.equal(trainer.batchSize, 32);
  assert.equal(trainer.batchesPerEpoch, 3);
  await trainer.fit();
  assert.deepEqual(sizes, [
    { training: true, n: 32 },
    { training: true, n: 32 },
    { training: true, n: 6 },
    { training: false, n: 256 },
    { training: false, n: 44 },
  ]);
  sizes.length = 0;
  await fit(spy, {
    train: [x, y],
    val: [vx, vy],
    epochs: 1,
    batchSize: 70,
    evalBatchSize: 100,
    optimizer: new SGD(spy.parameters(), { lr: 0 }),
  });
  assert.deepEqual(
    sizes.map((s) => s.n),
    [70, 100, 100, 100],
  );
});

test('logs.lr is the first parameter group’s learning rate', async () => {
  const a = new Linear(1, 2, { bias: false });
  const b = new Linear(2, 2, { bias: false });
  const model = new Sequential(a, b);
  const [x, y] = signData(4, 0);
  const opt = new SGD(
    [
      { params: [a.weight], lr: 0.125 },
      { params: [b.weight], lr: 0.5 },
    ],
    { lr: 1 },
  );
  const h = await fit(model, { train: [x, y], epochs: 1, batchSize: 4, optimizer: opt });
  assert.equal(h[0]!.lr, 0.125);
});

test('clipGradValue clamps each entry; clipGradNorm leaves small gradients alone and skips missing ones', () => {
  const p = tensor([3, -4, 0.5], { requiresGrad: true });
  const q = tensor([1], { requiresGrad: true });
  p.mul(p).sum().mul(0.5).backward(); // grad = p
  clipGradValue([p, q], 1);
  assert.deepEqual(Array.from(p.grad!.dataSync()), [1, -1, 0.5]);
  assert.equal(q.grad, null);
  // Norm of [1, −1, 0.5] is 1.5: below the limit nothing changes, and the norm is returned.
  assert.equal(clipGradNorm([p, q], 1.5), 1.5);
  assert.deepEqual(Array.from(p.grad!.dataSync()), [1, -1, 0.5]);
  assert.equal(clipGradNorm([q], 1), 0, 'no gradients: norm 0');
  // Two tensors: the norm is global, sqrt(1 + 1 + 0.25 + 2²) = 2.5, and both are scaled by 1/2.5;
  // a parameter without a gradient is left without one.
  q.mul(2).sum().backward();
  const none = tensor([1], { requiresGrad: true });
  const norm = clipGradNorm([p, none, q], 1);
  assert.equal(none.grad, null);
  close(norm, 2.5, 1e-7);
  const scale = 1 / (2.5 + 1e-6);
  for (const [v, e] of Array.from(p.grad!.dataSync()).map((v, i) => [v, [1, -1, 0.5][i]! * scale] as const))
    close(v, e, 1e-6);
  close(q.grad!.dataSync()[0]!, 2 * scale, 1e-6);
});

test('after clipGradNorm the global norm never exceeds the maximum (float64, 1e-12)', () => {
  for (const [values, maxNorm] of [
    [[3, 4], 1],
    [[0.3, -0.4, 1.2], 0.5],
    [[1e-3, 2e-3], 1e-3],
  ] as const) {
    const w = tensor([...values], { dtype: 'float64', requiresGrad: true });
    w.mul(w).sum().mul(0.5).backward(); // grad = w
    const before = Math.hypot(...values);
    assert.ok(Math.abs(clipGradNorm([w], maxNorm) - before) <= 1e-15 * before, 'returns the norm before clipping');
    const after = Math.hypot(...Array.from(w.grad!.dataSync()));
    assert.ok(after <= maxNorm, `norm ${after} > ${maxNorm}`);
    // Scaled by maxNorm / (norm + 1e-6), as PyTorch's clip_grad_norm_ does.
    assert.ok(Math.abs(after - (maxNorm * before) / (before + 1e-6)) <= 1e-12 * maxNorm, `norm ${after}`);
  }
});

test('fit applies clipGradValue and clipGradNorm before the optimizer step', async () => {
  // loss = 1000 · w · x with x = 1: dloss/dw = 1000; SGD with lr 1 moves w by minus the clipped gradient.
  for (const [opts, expected] of [
    [{ clipGradValue: 0.5 }, -0.5],
    [{ clipGradNorm: 0.25 }, -0.25],
    [{}, -1000],
  ] as const) {
    const m = new Linear(1, 1, { bias: false });
    m.weight.assign(tensor([[0]]));
    await fit(m, {
      train: [tensor([[1]]), tensor([0], { dtype: 'int32' })],
      epochs: 1,
      loss: (out) => out.sum().mul(1000),
      optimizer: new SGD(m.parameters(), { lr: 1 }),
      trainAccuracy: false,
      ...opts,
    });
    close(m.weight.dataSync()[0]!, expected, 1e-5, JSON.stringify(opts));
  }
});

test('an infinite loss stops training too, naming the batch and step', async () => {
  const model = signClassifier();
  const [x, y] = signData(6, 0);
  let calls = 0;
  await assert.rejects(
    fit(model, {
      train: [x, y],
      epochs: 2,
      batchSize: 4,
      optimizer: new SGD(model.parameters(), { lr: 0 }),
      // The fourth batch (epoch 2, batch 2) overflows.
      loss: (out, t) => (++calls === 4 ? crossEntropy(out, t).mul(Infinity) : crossEntropy(out, t)),
    }),
    (e: unknown) =>
      e instanceof NonFiniteLossError &&
      e.message.startsWith('fit: the loss became Infinity at epoch 2, batch 2 (step 4); try a lower learning rate'),
  );
});

test('epochs must be a non-negative integer; 0 epochs runs only the train begin and end hooks', async () => {
  const model = signClassifier();
  const data = signData(4, 0);
  const optimizer = new SGD(model.parameters(), { lr: 0 });
  for (const epochs of [-1, 1.5, Number.NaN]) {
    assert.throws(
      () => new Trainer(model, { train: data, epochs, optimizer }),
      (e: unknown) =>
        e instanceof TsgradError && e.message === `fit: epochs must be a non-negative integer, got ${epochs}`,
    );
  }
  for (const [key, who] of [
    ['train', 'fit: train'],
    ['val', 'fit: val'],
  ] as const) {
    assert.throws(
      () => new Trainer(model, { train: data, epochs: 1, optimizer, [key]: 5 as unknown as Dataset }),
      (e: unknown) => e instanceof Error && e.message.startsWith(`${who}: expected a Dataset`),
    );
  }
  // No callbacks given: none in the state either.
  assert.deepEqual(new Trainer(model, { train: data, epochs: 1, optimizer }).getState().callbacks, []);
  const events: string[] = [];
  const history = await fit(model, {
    train: data,
    epochs: 0,
    optimizer,
    callbacks: [
      {
        onTrainBegin: () => void events.push('begin'),
        onEpochBegin: () => void events.push('epoch'),
        onTrainEnd: (_t, logs) => void events.push(`end ${JSON.stringify(logs)}`),
      },
    ],
  });
  assert.deepEqual(history, []);
  assert.deepEqual(events, ['begin', 'end {}']);
});

test('hooks run in callback order, after* hooks once all callbacks saw the batch or epoch, async hooks awaited', async () => {
  const model = signClassifier();
  const events: string[] = [];
  const cb = (name: string): Callback => ({
    onTrainBegin: () => void events.push(`${name}:trainBegin`),
    onEpochBegin: (_t, e) => void events.push(`${name}:epochBegin ${e}`),
    async onBatchEnd(_t, b) {
      await new Promise((r) => setTimeout(r, 1));
      events.push(`${name}:batch ${b}`);
    },
    afterBatch: (_t, b) => void events.push(`${name}:afterBatch ${b}`),
    onEpochEnd: (_t, e, logs) => void events.push(`${name}:epochEnd ${e} ${logs.epoch}`),
    afterEpoch: (_t, e) => void events.push(`${name}:afterEpoch ${e}`),
    onTrainEnd: (_t, logs) => void events.push(`${name}:trainEnd ${logs.epoch}`),
  });
  await fit(model, {
    train: signData(4, 0),
    epochs: 1,
    batchSize: 2,
    optimizer: new SGD(model.parameters(), { lr: 0 }),
    callbacks: [cb('a'), cb('b')],
  });
  assert.deepEqual(events, [
    'a:trainBegin',
    'b:trainBegin',
    'a:epochBegin 0',
    'b:epochBegin 0',
    'a:batch 0',
    'b:batch 0',
    'a:afterBatch 0',
    'b:afterBatch 0',
    'a:batch 1',
    'b:batch 1',
    'a:afterBatch 1',
    'b:afterBatch 1',
    'a:epochEnd 0 1',
    'b:epochEnd 0 1',
    'a:afterEpoch 0',
    'b:afterEpoch 0',
    'a:trainEnd 1',
    'b:trainEnd 1',
  ]);
});

test('stopTraining mid-epoch interrupts (no epoch end); at an epoch end or with stoppedEarly it finishes', async () => {
  const model = signClassifier();
  const data = signData(8, 0);
  const run = async (cb: Callback) => {
    const ends: unknown[] = [];
    const t = new Trainer(model, {
      train: data,
      epochs: 3,
      batchSize: 2,
      optimizer: new SGD(model.parameters(), { lr: 0 }),
      callbacks: [cb, { onTrainEnd: (_t, logs) => void ends.push(logs), onEpochEnd: () => void ends.push('epochEnd') }],
    });
    const history = await t.fit();
    return { t, history, ends };
  };
  const mid = await run({ onBatchEnd: (t, b) => void (b === 1 && (t.stopTraining = true)) });
  assert.equal(mid.t.interrupted, true);
  assert.deepEqual([mid.t.epoch, mid.t.batchInEpoch, mid.t.step], [0, 2, 2]);
  assert.deepEqual(mid.history, []);
  assert.deepEqual(mid.ends, [{}]);

  const early = await run({
    onBatchEnd: (t, b) => void (b === 1 && ((t.stopTraining = true), (t.stoppedEarly = true))),
  });
  // Stopped early for good: the partial epoch is closed with its metrics, as a finished run.
  assert.equal(early.t.interrupted, false);
  assert.deepEqual([early.t.epoch, early.t.batchInEpoch, early.t.step], [1, 0, 2]);
  assert.equal(early.history.length, 1);
  assert.deepEqual(early.ends, ['epochEnd', early.history[0]]);

  const atEnd = await run({ onEpochEnd: (t) => void (t.stopTraining = true) });
  assert.equal(atEnd.t.interrupted, false);
  assert.deepEqual([atEnd.t.epoch, atEnd.t.batchInEpoch, atEnd.t.step], [1, 0, 4]);
  assert.equal(atEnd.history.length, 1);
  assert.deepEqual(atEnd.ends, ['epochEnd', atEnd.history[0]]);
});

test('the loop yields to the event loop between batches, so a signal handler can stop it', async () => {
  const model = signClassifier();
  let batches = 0;
  const t = new Trainer(model, {
    train: signData(8, 0),
    epochs: 1,
    batchSize: 2,
    optimizer: new SGD(model.parameters(), { lr: 0 }),
    callbacks: [
      {
        // Synchronous hooks only: the stop can only come from a task queued outside the loop.
        onTrainBegin: (tr) => void setImmediate(() => (tr.stopTraining = true)),
        onBatchEnd: () => void batches++,
      },
    ],
  });
  await t.fit();
  assert.equal(batches, 1);
  assert.equal(t.interrupted, true);
});

test('getState is a copy; setState restores counters, running sums (regSum absent in old checkpoints) and callbacks', async () => {
  const model = signClassifier();
  const data = signData(6, 1);
  const loaded: unknown[] = [];
  const stateful: Callback = { stateDict: () => ({ seen: 7 }), loadStateDict: (s) => void loaded.push(s) };
  const stateless: Callback = { loadStateDict: (s) => void loaded.push(['stateless', s]) };
  const epochsBegun: number[] = [];
  const begins: Callback = { onEpochBegin: (_t, e) => void epochsBegun.push(e) };
  const make = () =>
    new Trainer(model, {
      train: data,
      epochs: 2,
      batchSize: 2,
      optimizer: new SGD(model.parameters(), { lr: 0 }),
      callbacks: [stateful, stateless, begins],
    });
  const a = make();
  a.callbacks.push({ onBatchEnd: (t, b) => void (t.epoch === 1 && b === 0 && (t.stopTraining = true)) });
  await a.fit();
  const s = a.getState();
  assert.deepEqual([s.epoch, s.batchInEpoch, s.step], [1, 1, 4]);
  assert.deepEqual(s.callbacks, [{ seen: 7 }, null, null, null]);
  assert.equal(s.partial.seen, 2);
  assert.equal(s.history.length, 1);
  // The state is a snapshot: changing it does not change the trainer.
  s.partial.seen = 99;
  s.history[0]!.loss = -1;
  assert.equal(a.getState().partial.seen, 2);
  assert.notEqual(a.history[0]!.loss, -1);

  const b = make();
  const old = a.getState();
  delete old.partial.regSum;
  b.setState(old);
  assert.deepEqual(loaded, [{ seen: 7 }], 'loadStateDict only for callbacks with a saved state');
  assert.deepEqual(b.getState().partial, { ...a.getState().partial, regSum: 0 });
  epochsBegun.length = 0;
  const history = await b.fit();
  assert.deepEqual(epochsBegun, [], 'a resumed epoch has begun already');
  assert.equal(history.length, 2);
  // The resumed epoch 2 has the same loss and accuracy as epoch 1: lr 0, the same samples.
  close(history[1]!.loss, history[0]!.loss, 1e-6);
  assert.equal(history[1]!.accuracy, history[0]!.accuracy);
  assert.equal(history[0]!.accuracy, 5 / 6);
});

test('a callback added after the checkpoint gets no state; trainAccuracy: false keeps no running count', async () => {
  const model = signClassifier();
  const data = signData(6, 0);
  const saved = new Trainer(model, { train: data, epochs: 1, optimizer: new SGD(model.parameters(), { lr: 0 }) });
  const loaded: unknown[] = [];
  const later = new Trainer(model, {
    train: data,
    epochs: 1,
    optimizer: new SGD(model.parameters(), { lr: 0 }),
    callbacks: [{ loadStateDict: (s) => void loaded.push(s) }],
  });
  later.setState(saved.getState());
  assert.deepEqual(loaded, []);

  const t = new Trainer(model, {
    train: data,
    epochs: 1,
    batchSize: 2,
    trainAccuracy: false,
    optimizer: new SGD(model.parameters(), { lr: 0 }),
    callbacks: [{ onBatchEnd: (tr, b) => void (b === 1 && (tr.stopTraining = true)) }],
  });
  await t.fit();
  assert.deepEqual(t.getState().partial, { lossSum: t.getState().partial.lossSum, correct: 0, seen: 4, regSum: 0 });
});

test('setMetric adds a custom metric that metricValue reads back', () => {
  const logs: Logs = { loss: 1, lr: 0.1 };
  setMetric(logs, 'test_accuracy', 0.75);
  assert.equal(metricValue(logs, 'test_accuracy'), 0.75);
  assert.equal(metricValue(logs, 'loss'), 1);
  assert.equal(metricValue(logs, 'val_top5'), undefined);
});
