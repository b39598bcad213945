/** tsgrad train --replicas: data-parallel training from the command line, with the choice printed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../../src/data/png.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function tsgrad(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** 16×16 grayscale PNGs of two classes: a bright bar on the left or on the right. */
function makeFolder(perClass: number): string {
  const root = mkdtempSync(join(tmpdir(), 'tsgrad-replicas-'));
  for (const [cls, side] of [
    ['left', 0],
    ['right', 1],
  ] as const) {
    mkdirSync(join(root, 'data', cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = new Uint8Array(16 * 16);
      for (let y = 0; y < 16; y++)
        for (let x = 0; x < 16; x++)
          px[y * 16 + x] = (side === 0 ? x < 6 : x >= 10) ? 200 + (i % 50) : (i * 7 + x * 3 + y) % 40;
      writeFileSync(join(root, 'data', cls, `${String(i).padStart(3, '0')}.png`), encodePng(16, 16, 1, px));
    }
  }
  return root;
}

test('train --replicas 2 trains on two replicas, prints the choice and reports it', () => {
  const root = makeFolder(32);
  const args = ['train', '--dataset', join(root, 'data'), '--epochs', '2', '--batch-size', '16', '--lr', '0.01'];
  const shown = tsgrad(...args, '--augment', 'none', '--replicas', '2', '--out', join(root, 'shown'));
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /parallelism: 2 data-parallel replicas × \d+ thread\(s\) each \(--replicas given\)/);
  const json = tsgrad(...args, '--augment', 'none', '--replicas', '2', '--json', '--out', join(root, 'json'));
  assert.equal(json.code, 0, json.stderr);
  const result = JSON.parse(json.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal((result['parallelism'] as { replicas: number }).replicas, 2);
  assert.ok((result['test_accuracy'] as number) >= 0.9, `accuracy ${result['test_accuracy']}`);
});

test('train --replicas refuses what is not a positive integer or auto', () => {
  const r = tsgrad('train', '--replicas', '0');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--replicas must be a positive integer or 'auto', got '0'/);
});
