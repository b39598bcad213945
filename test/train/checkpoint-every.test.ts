import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArgumentError,
  ModelCheckpoint,
  Sequential,
  Trainer,
  manualSeed,
  restoreCheckpoint,
  type Callback,
} from '../../src/index.js';
import {
  makeModel as makeFixtureModel,
  makeTrainer as makeFixtureTrainer,
  weights,
} from '../helpers/checkpoint-fixture.js';

const EPOCHS = 3;
// 62 samples in batches of 8: 8 batches per epoch, the last of 6.
const BATCHES = 8;

/**
 * Augmented data, dropout, Adam, a per-batch cosine schedule and a validation set. `before` callbacks come
 * ahead of the schedule in the list, so a checkpoint among them saves before the schedule has seen the batch
 * unless it waits for afterBatch.
 */
const makeModel = (seed: number): Sequential => makeFixtureModel(seed, { dropout: true });
const makeTrainer = (model: Sequential, before: Callback[] = [], after: Callback[] = []): Trainer =>
  makeFixtureTrainer(model, { epochs: EPOCHS, samples: 62, val: true, before, after });

class Crash extends Error {}

test('a crash mid-epoch loses at most everySteps steps, and the resumed run is bit-identical, metrics included', async () => {
  const straight = makeModel(4);
  manualSeed(21);
  const tStraight = makeTrainer(straight);
  await tStraight.fit();

  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-every-'));
  const crashAt = BATCHES + 5; // epoch 2, batch 5: two steps after the checkpoint of step 11
  const first = makeModel(4);
  manualSeed(21);
  const crash: Callback = {
    onBatchEnd(t) {
      if (t.step === crashAt) throw new Crash('simulated crash');
    },
  };
  // ModelCheckpoint first in the list, ahead of the schedule: it must still save the schedule's step.
  await assert.rejects(makeTrainer(first, [new ModelCheckpoint(dir, { everySteps: 3 })], [crash]).fit(), Crash);
  const saved = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as {
    state: { step: number; epoch: number; batchInEpoch: number; partial: { seen: number } };
  };
  assert.equal(saved.state.step, 12, 'the last checkpoint is the one of step 12 (a multiple of 3)');
  assert.ok(crashAt - saved.state.step < 3, 'at most everySteps steps lost');
  assert.deepEqual([saved.state.epoch, saved.state.batchInEpoch, saved.state.partial.seen], [1, 4, 32]);
  // Only the latest checkpoint's files are kept.
  assert.deepEqual(
    readdirSync(dir)
      .filter((f) => /^(weights|optimizer)-/.test(f))
      .sort(),
    ['optimizer-00000012.safetensors', 'weights-00000012.safetensors'],
  );

  manualSeed(999); // a fresh process starts from other generator states
  const resumed = makeModel(123);
  const tResumed = makeTrainer(resumed, [new ModelCheckpoint(dir, { everySteps: 3 })]);
  restoreCheckpoint(dir, resumed, tResumed);
  await tResumed.fit();
  assert.deepEqual(weights(resumed), weights(straight));
  // Every epoch's metrics, the interrupted epoch's running loss and accuracy included, are the straight run's.
  assert.deepEqual(tResumed.history, tStraight.history);
});

test('everyMinutes saves mid-epoch once the time has passed; everySteps only at its multiples', async () => {
  const seen: { step: number; saved: number }[] = [];
  const recordIn = (dir: string): Callback => ({
    afterBatch(t) {
      const file = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { state: { step: number } };
      seen.push({ step: t.step, saved: file.state.step });
    },
  });

  // A tiny interval is always due: every batch is saved (the epoch's last by the epoch-end save).
  const dirTime = mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-min-'));
  writeFileSync(join(dirTime, 'checkpoint.json'), '{"state": {"step": 0}}');
  await makeTrainer(makeModel(1), [], [new ModelCheckpoint(dirTime, { everyMinutes: 1e-9 }), recordIn(dirTime)]).fit();
  assert.equal(seen.length, EPOCHS * BATCHES);
  for (const s of seen) {
    if (s.step % BATCHES !== 0) assert.equal(s.saved, s.step, `step ${s.step}`);
  }

  // An hour never passes here: only the epoch ends are saved.
  seen.length = 0;
  const dirHour = mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-hour-'));
  writeFileSync(join(dirHour, 'checkpoint.json'), '{"state": {"step": 0}}');
  await makeTrainer(makeModel(1), [], [new ModelCheckpoint(dirHour, { everyMinutes: 60 }), recordIn(dirHour)]).fit();
  assert.deepEqual(
    seen.map((s) => s.saved),
    seen.map((s) => Math.floor((s.step - 1) / BATCHES) * BATCHES),
    'each batch sees the checkpoint of the previous epoch end',
  );

  seen.length = 0;
  const dirSteps = mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-steps-'));
  writeFileSync(join(dirSteps, 'checkpoint.json'), '{"state": {"step": 0}}');
  await makeTrainer(makeModel(1), [], [new ModelCheckpoint(dirSteps, { everySteps: 5 }), recordIn(dirSteps)]).fit();
  // Saved: multiples of 5 inside an epoch (visible at once), and epoch ends (visible from the next batch on).
  const isEpochEnd = (s: number): boolean => s % BATCHES === 0;
  const expected = (s: number): number => {
    let last = 0;
    for (let x = 1; x < s; x++) if (isEpochEnd(x) || x % 5 === 0) last = x;
    return s % 5 === 0 && !isEpochEnd(s) ? s : last;
  };
  assert.deepEqual(
    seen.map((s) => s.saved),
    seen.map((s) => expected(s.step)),
  );
});

test('ModelCheckpoint refuses a bad interval when constructed', () => {
  assert.throws(() => new ModelCheckpoint('x', { everySteps: 0 }), ArgumentError);
  assert.throws(() => new ModelCheckpoint('x', { everySteps: 2.5 }), /everySteps must be a positive integer, got 2.5/);
  assert.throws(() => new ModelCheckpoint('x', { everyMinutes: -1 }), /everyMinutes must be a positive number/);
});
