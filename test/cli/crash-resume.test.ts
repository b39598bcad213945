/**
 * The CLI as a user meets it after a crash: a real `kill -9` of a training process in the middle of an
 * epoch, then `tsgrad resume`, must end with the same bytes as a run that was never interrupted.
 * And output piped to a slow reader arrives whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, digitFolder, killMidEpoch, tsgrad } from '../helpers/cli-run.js';

const RESULT_KEYS_THAT_DIFFER = ['seconds', 'run_dir'];

function sameRun(a: string, b: string): void {
  assert.ok(readFileSync(join(a, 'model.safetensors')).equals(readFileSync(join(b, 'model.safetensors'))), 'weights');
  // Every epoch's metrics, the interrupted epoch's included (its running loss/accuracy came from the checkpoint).
  assert.equal(readFileSync(join(b, 'log.jsonl'), 'utf8'), readFileSync(join(a, 'log.jsonl'), 'utf8'));
  assert.equal(readFileSync(join(b, 'log.csv'), 'utf8'), readFileSync(join(a, 'log.csv'), 'utf8'));
  const result = (dir: string): Record<string, unknown> => {
    const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Record<string, unknown>;
    for (const k of RESULT_KEYS_THAT_DIFFER) delete r[k];
    return r;
  };
  assert.deepEqual(result(b), result(a));
  const files = readdirSync(b);
  assert.equal(files.filter((f) => /^weights-\d+\.safetensors$/.test(f)).length, 1, 'one weights file kept');
  assert.equal(files.filter((f) => /^optimizer-\d+\.safetensors$/.test(f)).length, 1, 'one optimizer file kept');
  assert.deepEqual(
    files.filter((f) => f.endsWith('.tmp')),
    [],
    'no temp files left',
  );
}

test('kill -9 mid-epoch, then tsgrad resume: final weights and every logged metric identical to an uninterrupted run', async () => {
  const data = digitFolder(330, 60);
  const root = dirname(data);
  // 330 digits, 33 held out for validation, 297 in batches of 8: 38 batches per epoch, the last of 1.
  // Augmentation (random crops and flips, default for folders), Adam and a per-batch cosine schedule.
  const args = ['train', '--dataset', data, '--epochs', '4', '--batch-size', '8', '--val-split', '0.1', '--json'];

  const straight = join(root, 'straight');
  const s = tsgrad(...args, '--out', straight);
  assert.equal(s.code, 0, s.stderr);

  // Saved every 5 steps: kill -9 loses at most 4.
  const bySteps = join(root, 'by-steps');
  const killed = await killMidEpoch([...args, '--checkpoint-every', '5'], bySteps, 1);
  assert.ok(killed.state.batchInEpoch > 0, `the checkpoint resumed is from mid-epoch: ${JSON.stringify(killed.state)}`);
  assert.ok(readdirSync(bySteps).filter((f) => f.startsWith('weights-')).length <= 2, 'old checkpoints removed');
  const r = tsgrad('resume', bySteps, '--json');
  assert.equal(r.code, 0, r.stderr);
  sameRun(straight, bySteps);

  // Saved by time: 1e-6 minutes is always due, so every batch is saved.
  const byTime = join(root, 'by-time');
  const killedTime = await killMidEpoch([...args, '--checkpoint-minutes', '0.000001'], byTime, 1);
  assert.ok(killedTime.state.batchInEpoch > 0, JSON.stringify(killedTime.state));
  const rt = tsgrad('resume', byTime, '--json');
  assert.equal(rt.code, 0, rt.stderr);
  sameRun(straight, byTime);
});

/**
 * Runs the CLI with its stdout in a real pipe (a shell pipeline: Node's own child pipes are socket pairs,
 * whose larger buffers hide the problem) whose reader only starts after `wait` seconds. A process that
 * exits with writes still queued loses all but the pipe's 64 KiB; one that waits for the pipe to drain
 * is read in full.
 */
function slowPipe(args: string[], wait: number): { code: number; stdout: string } {
  const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
  const command = `${[process.execPath, CLI, ...args].map(quote).join(' ')} | { sleep ${wait}; cat; }; exit \${PIPESTATUS[0]}`;
  const r = spawnSync('bash', ['-c', command], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return { code: r.status ?? -1, stdout: r.stdout };
}

test('output piped to a slow reader arrives whole: summary of densenet169 (over 64 KiB) ends with its totals', () => {
  // The same command with stdout in a file, whose writes are synchronous, is the reference.
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-pipe-'));
  const file = join(dir, 'summary.txt');
  const fd = openSync(file, 'w');
  const ref = spawnSync(process.execPath, [CLI, 'summary', '--model', 'densenet169'], {
    stdio: ['ignore', fd, 'pipe'],
  });
  closeSync(fd);
  assert.equal(ref.status, 0, String(ref.stderr));
  const expected = readFileSync(file, 'utf8');
  assert.ok(expected.length > 65_536, `the summary is ${expected.length} bytes, more than a pipe buffer`);
  assert.match(expected, /Total params: [\d,]+\n(.*\n){0,3}$/);

  const piped = slowPipe(['summary', '--model', 'densenet169'], 5);
  assert.equal(piped.code, 0);
  assert.equal(piped.stdout.length, expected.length);
  assert.equal(piped.stdout, expected);

  // A usage error's exit code survives too (set, not forced).
  const bad = slowPipe(['summary', '--model', 'nope'], 1);
  assert.equal(bad.code, 2);
});
