/**
 * `tsgrad train --l1 / --l2`: penalties on every weight, added to the loss and
 * logged as reg_loss, saved in the run's config (so `resume` keeps them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../../src/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

test('tsgrad train --l2 0.01 --l1 0.001 logs reg_loss and keeps the penalties in config.json', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsgrad-reg-'));
  for (const [cls, side] of [
    ['left', 0],
    ['right', 1],
  ] as const) {
    mkdirSync(join(root, 'data', cls), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const px = new Uint8Array(16 * 16);
      for (let y = 0; y < 16; y++)
        for (let x = 0; x < 16; x++) px[y * 16 + x] = (side === 0 ? x < 6 : x >= 10) ? 220 : 20;
      writeFileSync(join(root, 'data', cls, `${i}.png`), encodePng(16, 16, 1, px));
    }
  }
  const out = join(root, 'run');
  const args = ['train', '--dataset', join(root, 'data'), '--epochs', '1', '--batch-size', '8', '--augment', 'none'];
  const r = spawnSync(process.execPath, [CLI, ...args, '--l2', '0.01', '--l1', '0.001', '--json', '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const [header, row] = readFileSync(join(out, 'log.csv'), 'utf8').trim().split('\n');
  const cols = header!.split(',');
  assert.ok(cols.includes('reg_loss'), header);
  const reg = Number(row!.split(',')[cols.indexOf('reg_loss')]);
  assert.ok(reg > 0, `reg_loss ${reg}`);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { l1: number; l2: number };
  assert.deepEqual([cfg.l1, cfg.l2], [0.001, 0.01]);
  const bad = spawnSync(process.execPath, [CLI, ...args, '--l2', '-1'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--l2/);
});
