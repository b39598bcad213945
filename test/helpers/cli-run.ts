/**
 * Running the built `tsgrad` CLI from tests: the command as a child process (sync or
 * streaming), a fresh temporary directory, a two-class folder of PNGs to train on, and the
 * last JSON line of `--json` output. Shared by test/cli and test/browser.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
