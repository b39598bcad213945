import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Adam,
  ArrayDataset,
  Ensemble,
  Generator,
  Linear,
  ReLU,
  Sequential,
  SnapshotEnsemble,
  Study,
  RandomStrategy,
  crossEntropy,
  crossValidate,
  ensembleTopK,
  evaluate,
  fit,
  hp,
  kFold,
  manualSeed,
  saveSafetensors,
  stratifiedKFold,
  tensor,
  type Logs,
} from '../../src/index.js';

/** Gaussian blobs in 4-D with unbalanced classes (0: 50%, 1: 30%, 2: 20%). */
function blobs(n: number, seed: number): ArrayDataset {
  const g = new Generator(seed);
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = (i * 7919) % 10;
    const c = u < 5 ? 0 : u < 8 ? 1 : 2;
    y[i] = c;
    for (let j = 0; j < 4; j++) x[i * 4 + j] = (j === c ? 2 : 0) + g.normal() * 0.9;
  }
  return new ArrayDataset(x, y, [4]);
}

const makeModel = (seed: number): Sequential => {
  manualSeed(seed);
  return new Sequential(new Linear(4, 16), new ReLU(), new Linear(16, 3));
};

test('kFold and stratifiedKFold: disjoint folds that cover the set; stratified folds keep class shares within one sample', () => {
  const data = blobs(103, 1);
  const labels = data.targets;
  for (const k of [2, 3, 5, 10]) {
    for (const folds of [kFold(data, k, { seed: 4 }), stratifiedKFold(data, labels, k, { seed: 4 })]) {
      assert.equal(folds.length, k);
      const seen = new Array<number>(103).fill(0);
      for (const f of folds) {
        for (const i of f.valIndices) seen[i]!++;
        assert.equal(f.trainIndices.length + f.valIndices.length, 103);
        const val = new Set(f.valIndices);
        assert.ok(
          f.trainIndices.every((i) => !val.has(i)),
          'train and val of a fold are disjoint',
        );
        assert.equal(f.val.length, f.valIndices.length);
      }
      assert.ok(
        seen.every((c) => c === 1),
        'every sample is in exactly one validation fold',
      );
      const sizes = folds.map((f) => f.valIndices.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
    }
    const counts = [0, 0, 0];
    for (const l of labels) counts[l]!++;
    for (const f of stratifiedKFold(data, labels, k, { seed: 4 })) {
      for (let c = 0; c < 3; c++) {
        const inFold = f.valIndices.filter((i) => labels[i] === c).length;
        const expected = counts[c]! / k;
        assert.ok(Math.abs(inFold - expected) < 1, `k=${k} class ${c}: ${inFold} in a fold, expected ${expected}`);
      }
    }
  }
  // Plain folds are not stratified in general: with this seed some fold is off by more than one for some class.
  assert.deepEqual(
    kFold(data, 5, { shuffle: false }).map((f) => f.valIndices[0]),
    [0, 21, 42, 63, 83],
  );
  assert.throws(() => kFold(data, 1), /k must be an integer >= 2/);
  assert.throws(() => stratifiedKFold(data, labels.subarray(0, 5), 3), /5 labels for a dataset of 103/);
});

test('crossValidate trains one model per fold and returns mean ± std of the metrics', async () => {
  const data = blobs(150, 2);
  const built: number[] = [];
  const cv = await crossValidate((fold) => (built.push(fold.index), makeModel(fold.index)), data, {
    k: 3,
    labels: data.targets,
    seed: 1,
    fit: async (model, train, val) => {
      await fit(model, { train, epochs: 8, batchSize: 16, optimizer: new Adam(model.parameters(), { lr: 0.02 }) });
      return { accuracy: evaluate(model, val, crossEntropy).accuracy, size: val.length };
    },
  });
  assert.deepEqual(built, [0, 1, 2]);
  assert.equal(cv.folds.length, 3);
  const acc = cv.folds.map((f) => f['accuracy']!);
  const mean = acc.reduce((a, b) => a + b, 0) / 3;
  assert.ok(Math.abs(cv.mean['accuracy']! - mean) < 1e-12);
  assert.ok(Math.abs(cv.std['accuracy']! - Math.sqrt(acc.reduce((a, b) => a + (b - mean) ** 2, 0) / 2)) < 1e-12);
  assert.equal(cv.mean['size'], 50);
  assert.ok(cv.mean['accuracy']! > 0.7, `cv accuracy ${cv.mean['accuracy']}`);
  // A tuning objective may be the CV mean.
  const study = new Study({
    space: { lr: hp.float(0.005, 0.05, { log: true }) },
    strategy: new RandomStrategy(),
    direction: 'maximize',
  });
  await study.optimize(
    async (t) =>
      (
        await crossValidate(() => makeModel(0), data, {
          k: 3,
          fit: async (m, tr, val) => {
            await fit(m, {
              train: tr,
              epochs: 2,
              batchSize: 32,
              optimizer: new Adam(m.parameters(), { lr: t.params['lr'] as number }),
            });
            return { accuracy: evaluate(m, val, crossEntropy).accuracy };
          },
        })
      ).mean['accuracy']!,
    { trials: 2 },
  );
  assert.equal(study.trials.filter((t) => t.state === 'complete').length, 2);
});

test('Ensemble: mean, vote and fitted weights; evaluate works on it unchanged', async () => {
  const train = blobs(240, 3);
  const val = blobs(120, 4);
  const test_ = blobs(300, 5);
  const models: Sequential[] = [];
  for (let s = 0; s < 3; s++) {
    const m = makeModel(10 + s);
    await fit(m, { train, epochs: 6, batchSize: 16, optimizer: new Adam(m.parameters(), { lr: 0.02 }) });
    m.eval();
    models.push(m);
  }
  const x = tensor([
    [2, 0, 0, 0],
    [0, 0.9, 1, 0],
  ]);
  const mean = new Ensemble(models, { method: 'mean' });
  const out = mean.forward(x).dataSync();
  const probs = models.map((m) => m.forward(x).softmax(1).dataSync());
  for (let i = 0; i < 6; i++) {
    const expected = Math.log((probs[0]![i]! + probs[1]![i]! + probs[2]![i]!) / 3);
    assert.ok(Math.abs(out[i]! - expected) < 1e-5, `mean log-prob ${out[i]} vs ${expected}`);
  }
  // Votes: the class most members pick.
  const vote = new Ensemble(models, { method: 'vote' });
  const votes = vote.forward(x).argmax(1).dataSync();
  for (let r = 0; r < 2; r++) {
    const picks = probs.map((p) =>
      p[r * 3]! >= p[r * 3 + 1]! && p[r * 3]! >= p[r * 3 + 2]! ? 0 : p[r * 3 + 1]! >= p[r * 3 + 2]! ? 1 : 2,
    );
    const tally = [0, 1, 2].map((c) => picks.filter((p) => p === c).length);
    assert.equal(tally[votes[r]!], Math.max(...tally));
  }
  const single = evaluate(models[0]!, test_, crossEntropy);
  const ens = evaluate(mean, test_, crossEntropy);
  assert.equal(ens.count, 300);
  assert.ok(ens.accuracy >= single.accuracy - 0.03, `ensemble ${ens.accuracy} vs single ${single.accuracy}`);
  // Fitted weights shun a useless member.
  const useless = makeModel(99);
  const weighted = new Ensemble([models[0]!, useless]);
  const w = weighted.fitWeights(val);
  assert.equal(weighted.method, 'weighted');
  assert.ok(w[0]! > 0.8 && Math.abs(w[0]! + w[1]! - 1) < 1e-9, `weights ${w}`);
  assert.ok(
    evaluate(weighted, test_, crossEntropy).loss <
      evaluate(new Ensemble([models[0]!, useless]), test_, crossEntropy).loss,
  );
  assert.throws(() => new Ensemble([]), /at least one model/);
});

test("snapshot ensembles: a cyclic cosine schedule with a snapshot per cycle; ensembleTopK loads a study's best trials", async () => {
  const train = blobs(96, 6);
  const model = makeModel(3);
  const snaps = new SnapshotEnsemble({ cycles: 3 });
  const lrs: number[] = [];
  await fit(model, {
    train,
    epochs: 6,
    batchSize: 16,
    optimizer: new Adam(model.parameters(), { lr: 0.01 }),
    callbacks: [snaps, { onBatchEnd: (_t, _b, logs: Logs) => void lrs.push(logs['lr']!) }],
  });
  // 6 epochs × 6 batches in 3 cycles of 12 steps: the lr of steps 0, 12 and 24 is the base 0.01, and decays within a cycle.
  assert.equal(lrs.length, 36);
  for (const s of [0, 12, 24]) assert.ok(Math.abs(lrs[s]! - 0.01) < 1e-9, `step ${s} lr ${lrs[s]}`);
  for (const s of [11, 23, 35]) assert.ok(lrs[s]! < 0.0005, `end of cycle lr ${lrs[s]}`);
  assert.ok(lrs[6]! > 0.004 && lrs[6]! < 0.006, `mid-cycle lr ${lrs[6]}`);
  assert.equal(snaps.snapshots.length, 3);
  const first = snaps.snapshots[0]!['0.weight']!.dataSync();
  const last = snaps.snapshots[2]!['0.weight']!.dataSync();
  assert.ok(
    first.some((v, i) => v !== last[i]),
    'snapshots differ',
  );
  assert.deepEqual(
    Array.from(last),
    Array.from(model.stateDict()['0.weight']!.dataSync()),
    'the last snapshot is the final model',
  );
  const ens = snaps.ensemble(() => makeModel(0));
  assert.equal(ens.members.length, 3);
  assert.ok(evaluate(ens, blobs(90, 7), crossEntropy).accuracy > 0.6);

  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-topk-'));
  try {
    const study = new Study({
      space: { seed: hp.int(0, 1000) },
      strategy: new RandomStrategy(),
      direction: 'maximize',
      dir,
      seed: 2,
    });
    await study.optimize(
      async (t) => {
        const m = makeModel(t.params['seed'] as number);
        await fit(m, { train, epochs: t.number + 1, batchSize: 16, optimizer: new Adam(m.parameters(), { lr: 0.01 }) });
        saveSafetensors(join(t.dir!, 'model.safetensors'), m.stateDict());
        return evaluate(m, train, crossEntropy).accuracy;
      },
      { trials: 4 },
    );
    const top = ensembleTopK(dir, 2, () => makeModel(0));
    assert.equal(top.members.length, 2);
    const best = study.sortedTrials().slice(0, 2);
    const rebuilt = makeModel(best[0]!.params['seed'] as number);
    await fit(rebuilt, {
      train,
      epochs: best[0]!.number + 1,
      batchSize: 16,
      optimizer: new Adam(rebuilt.parameters(), { lr: 0.01 }),
    });
    assert.deepEqual(
      Array.from(top.members[0]!.stateDict()['0.weight']!.dataSync()),
      Array.from(rebuilt.stateDict()['0.weight']!.dataSync()),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
