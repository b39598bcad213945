/**
 * Resume means everything: a CLI training run with a plateau schedule (ReduceLROnPlateau), early
 * stopping that restores its best weights, and a best-model checkpoint, killed with SIGKILL in the
 * middle of an epoch after a checkpoint was written, then `tsgrad resume`d, must end exactly as the
 * run that was never interrupted: the final and the best weights (model.safetensors,
 * best.safetensors), every logged metric of every epoch (the interrupted one included), result.json,
 * and the callbacks' own states in the final checkpoint (EarlyStopping's counters, best epoch and
 * best weights, ReduceLROnPlateau's best and wait and current lr, ModelCheckpoint's best value).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { digitFolder, killMidEpoch, readRunCheckpoint, tsgrad } from '../helpers/cli-run.js';

const lines = (dir: string): string[] => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');
const bytes = (dir: string, file: string): Buffer => readFileSync(join(dir, file));

function result(dir: string): Record<string, unknown> {
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Record<string, unknown>;
  // Wall time and the directory differ between two runs by nature.
  delete r['seconds'];
  delete r['run_dir'];
  return r;
}

/** The tensors a checkpoint stores for its callbacks (EarlyStopping's best weights) live in its weight files. */
function checkpointTensors(dir: string): Buffer[] {
  return readdirSync(dir)
    .filter((f) => /^(weights|optimizer)-\d+\.safetensors$/.test(f))
    .sort()
    .map((f) => bytes(dir, f));
}

test('SIGKILL mid-epoch with plateau lr, early stopping and a best checkpoint: resume ends exactly as the straight run', async () => {
  const data = digitFolder(150, 20);
  const root = dirname(data);
  // 150 digits, 15 held out: 135 in batches of 8, 17 batches an epoch. So few digits overfit within
  // a few epochs: the validation loss stops improving, so the plateau schedule and the early-stopping
  // counter act.
  const args = [
    'train',
    '--dataset',
    data,
    '--epochs',
    '10',
    '--batch-size',
    '8',
    '--val-split',
    '0.1',
    '--lr',
    '0.005',
    '--schedule',
    'plateau',
    '--early-stopping',
    '2',
    '--json',
  ];
  const straight = join(root, 'straight');
  const s = tsgrad(...args, '--out', straight);
  assert.equal(s.code, 0, s.stderr);

  const resumed = join(root, 'resumed');
  const killed = await killMidEpoch([...args, '--checkpoint-every', '4'], resumed, 2);
  assert.ok(killed.state.epoch >= 2 && killed.state.batchInEpoch > 0, JSON.stringify(killed.state.step));
  // The checkpoint resumed from holds counters in flight: a bad epoch already counted by both callbacks.
  const waits = (killed.state.callbacks as { wait?: number }[]).map((c) => c?.wait ?? 0);
  assert.ok(waits.filter((w) => w > 0).length >= 2, `waits at the kill: ${JSON.stringify(waits)}`);
  const r = tsgrad('resume', resumed, '--json');
  assert.equal(r.code, 0, r.stderr);

  assert.ok(bytes(resumed, 'model.safetensors').equals(bytes(straight, 'model.safetensors')), 'final weights');
  assert.ok(bytes(resumed, 'best.safetensors').equals(bytes(straight, 'best.safetensors')), 'best.safetensors');
  assert.equal(readFileSync(join(resumed, 'log.jsonl'), 'utf8'), readFileSync(join(straight, 'log.jsonl'), 'utf8'));
  assert.equal(readFileSync(join(resumed, 'log.csv'), 'utf8'), readFileSync(join(straight, 'log.csv'), 'utf8'));
  assert.deepEqual(result(resumed), result(straight));
  const [a, b] = [readRunCheckpoint(straight)!, readRunCheckpoint(resumed)!];
  assert.deepEqual(b.state.callbacks, a.state.callbacks, "the callbacks' states");
  assert.deepEqual(b.state.history, a.state.history);
  assert.deepEqual(
    checkpointTensors(resumed),
    checkpointTensors(straight),
    'the last checkpoint holds the same tensors',
  );
  // The run exercised what it claims to: the lr changed across epochs (plateau), and early stopping
  // ended it before its last epoch (so its counter carried across the kill decided the end).
  assert.ok(lines(straight).length < 10, `stopped early: ${lines(straight).length} epochs`);
  const lrs = lines(straight).map((l) => (JSON.parse(l) as { lr?: number }).lr);
  assert.ok(
    lrs.every((v) => typeof v === 'number'),
    `lr logged every epoch: ${JSON.stringify(lrs)}`,
  );
  assert.ok(new Set(lrs).size > 1, `ReduceLROnPlateau lowered the lr: ${JSON.stringify(lrs)}`);
});
