import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CSVLogger,
  EarlyStopping,
  DataFileError,
  JSONLinesLogger,
  ModelCheckpoint,
  loadSafetensors,
  manualSeed,
  readCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  type Callback,
} from '../../src/index.js';
import { makeModel, makeTrainer, weights } from '../helpers/checkpoint-fixture.js';

test('N steps straight equal N/2 steps, a checkpoint on disk, a fresh process state and N/2 more', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-'));
  const straight = makeModel(4);
  manualSeed(21);
  await makeTrainer(straight, { epochs: 4 }).fit();

  const first = makeModel(4);
  manualSeed(21);
  const stopMidway: Callback = {
    onBatchEnd(t, batch) {
      if (t.epoch === 1 && batch === 4) t.stopTraining = true;
    },
  };
  const t1 = makeTrainer(first, { epochs: 4, after: [stopMidway] });
  await t1.fit();
  assert.equal(t1.interrupted, true);
  saveCheckpoint(dir, first, t1.getState());

  manualSeed(999); // a fresh process would start from other generator states
  const resumed = makeModel(123);
  const t2 = makeTrainer(resumed, { epochs: 4 });
  const state = restoreCheckpoint(dir, resumed, t2);
  assert.equal(state.epoch, 1);
  await t2.fit();
  assert.deepEqual(weights(resumed), weights(straight));
});

test("EarlyStopping's best weights survive a checkpoint: a resumed run restores the same weights as a straight one", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-'));
  // The 'best' epoch by the highest training loss is the first: it never improves after the checkpoint, so only
  // weights kept through the checkpoint can be restored at the end.
  const stopper = (): EarlyStopping =>
    new EarlyStopping({ monitor: 'loss', mode: 'max', patience: 10, restoreBestWeights: true });
  const straight = makeModel(6);
  manualSeed(31);
  const es = stopper();
  await makeTrainer(straight, { epochs: 6, after: [es] }).fit();

  const first = makeModel(6);
  manualSeed(31);
  const stopAfterTwo: Callback = {
    onEpochEnd(t, epoch) {
      if (epoch === 1) t.stopTraining = true;
    },
  };
  const es1 = stopper();
  const t1 = makeTrainer(first, { epochs: 6, after: [es1, stopAfterTwo] });
  await t1.fit();
  saveCheckpoint(dir, first, t1.getState());

  manualSeed(999);
  const resumed = makeModel(123);
  const es2 = stopper();
  const t2 = makeTrainer(resumed, { epochs: 6, after: [es2, { onEpochEnd() {} }] });
  restoreCheckpoint(dir, resumed, t2);
  assert.equal(es2.bestEpoch, es1.bestEpoch);
  await t2.fit();
  assert.equal(es.bestEpoch, 1);
  assert.equal(es2.bestEpoch, 1);
  assert.deepEqual(weights(resumed), weights(straight));
  // The best weights are tensors in the checkpoint's tensor file, not numbers in its JSON.
  assert.ok(readFileSync(join(dir, 'checkpoint.json'), 'utf8').length < 20_000);
});

test('ModelCheckpoint keeps one weights file per checkpoint, best weights and a loadable state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-'));
  const model = makeModel(1);
  const t = makeTrainer(model, { epochs: 3, after: [new ModelCheckpoint(dir, { monitor: 'accuracy' })] });
  await t.fit();
  const files = readdirSync(dir).sort();
  assert.deepEqual(
    files.filter((f) => f.startsWith('weights-')),
    ['weights-00000024.safetensors'],
    'older weights files are removed',
  );
  assert.deepEqual(
    files.filter((f) => f.startsWith('optimizer-')),
    ['optimizer-00000024.safetensors'],
  );
  assert.ok(files.includes('best.safetensors') && files.includes('checkpoint.json'));
  assert.ok(
    readFileSync(join(dir, 'checkpoint.json')).length < 20_000,
    'optimizer moments are not stored as JSON text',
  );
  assert.equal(files.filter((f) => f.endsWith('.tmp')).length, 0);
  const { state, weightsPath } = readCheckpoint(dir);
  assert.equal(state.epoch, 3);
  const saved = loadSafetensors(weightsPath);
  assert.deepEqual(Object.keys(saved.tensors).sort(), Object.keys(model.stateDict()).sort());
  assert.deepEqual(
    Array.from(saved.tensors['3.bias']!.dataSync()),
    Array.from(model.stateDict()['3.bias']!.dataSync()),
  );
  const best = loadSafetensors(join(dir, 'best.safetensors'));
  const bestEpoch = Number(best.metadata['epoch']);
  const accs = t.history.map((h) => h['accuracy']!);
  assert.equal(bestEpoch, accs.indexOf(Math.max(...accs)) + 1);
});

test('corrupt or missing checkpoints give errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-'));
  assert.throws(
    () => readCheckpoint(dir),
    (e: unknown) => e instanceof DataFileError && /checkpoint\.json is missing/.test(e.message),
  );
  writeFileSync(join(dir, 'checkpoint.json'), '{"format": "tsgrad-checkpoint"');
  assert.throws(() => readCheckpoint(dir), /checkpoint\.json: not valid JSON/);
  writeFileSync(join(dir, 'checkpoint.json'), '{"format": "other"}');
  assert.throws(() => readCheckpoint(dir), /not a tsgrad checkpoint/);
  writeFileSync(
    join(dir, 'checkpoint.json'),
    '{"format": "tsgrad-checkpoint", "weights": "w.safetensors", "state": {}}',
  );
  assert.throws(
    () => readCheckpoint(dir),
    (e: unknown) => e instanceof DataFileError && e.file === join(dir, 'w.safetensors'),
  );
  writeFileSync(join(dir, 'w.safetensors'), new Uint8Array([1, 2, 3]));
  const model = makeModel(0);
  assert.throws(
    () => restoreCheckpoint(dir, model, makeTrainer(model, { epochs: 1 })),
    (e: unknown) => e instanceof DataFileError && e.file.endsWith('w.safetensors'),
  );
});

test('CSV and JSON-lines loggers write one row per epoch, atomically, and continue after a resume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-log-'));
  const csv = join(dir, 'log.csv');
  const jsonl = join(dir, 'log.jsonl');
  const model = makeModel(2);
  const t = makeTrainer(model, { epochs: 2, after: [new CSVLogger(csv), new JSONLinesLogger(jsonl)] });
  await t.fit();
  const rows = readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(rows[0], 'epoch,loss,accuracy,lr');
  assert.equal(rows.length, 3);
  assert.equal(Number(rows[2]!.split(',')[0]), 2);
  const lines = readFileSync(jsonl, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.deepEqual(
    lines.map((l) => l['loss']),
    t.history.map((h) => h.loss),
  );
  assert.ok(!existsSync(join(dir, '.log.csv.tmp')));
});
