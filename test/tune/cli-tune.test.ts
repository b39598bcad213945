/** `tsgrad tune` end to end on the bundled digits (a few hundred images, small and fast). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsgrad, tuneArgs } from '../helpers/tune-cli.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Journal {
  trials: {
    number: number;
    state: string;
    value: number | null;
    params: Record<string, unknown>;
    intermediate: [number, number][];
    attrs: Record<string, unknown>;
  }[];
}

test('tune refuses a bad space file before any trial, naming the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-tune-'));
  try {
    const cases: [unknown, RegExp][] = [
      [{ lr: { type: 'float', low: 0.1, high: 0.01 } }, /parameter 'lr': empty range/],
      [{ lr: { type: 'normal', low: 0.1, high: 1 } }, /parameter 'lr': unknown type "normal"/],
      [
        { 'learning-rate': { type: 'float', low: 0.001, high: 0.1 } },
        /parameter 'learning-rate': not a tunable option/,
      ],
      [
        { momentum: { type: 'float', low: 0, high: 1, when: { optimizer: ['sgd'] } } },
        /parameter 'momentum': condition on unknown parameter 'optimizer'/,
      ],
    ];
    for (const [spec, re] of cases) {
      writeFileSync(join(dir, 'space.json'), JSON.stringify(spec));
      const r = tsgrad(['tune', '--space', join(dir, 'space.json'), '--out', join(dir, 'study')]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.ok(!existsSync(join(dir, 'study')), 'nothing written');
    }
    writeFileSync(join(dir, 'space.json'), '{ not json');
    assert.match(tsgrad(['tune', '--space', join(dir, 'space.json')]).stderr, /not valid JSON/);
    writeFileSync(join(dir, 'space.json'), JSON.stringify({ lr: { type: 'float', low: 0.001, high: 0.1 } }));
    const grid = tsgrad(
      tuneArgs({ space: join(dir, 'space.json'), out: join(dir, 'study'), strategy: 'grid', objective: null }),
    );
    assert.match(grid.stderr, /grid: float parameter 'lr' needs a steps count/);
    assert.ok(!existsSync(join(dir, 'study')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tune on the digits: trials reported per epoch, a sorted table, best.json with a train command, --report, --json, --resume', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-tune-'));
  try {
    writeFileSync(
      join(dir, 'space.json'),
      JSON.stringify({
        lr: { type: 'float', low: 0.0005, high: 0.02, log: true },
        optimizer: { type: 'choice', values: ['adam', 'sgd'] },
        momentum: { type: 'float', low: 0.5, high: 0.95, when: { optimizer: ['sgd'] } },
        'batch-size': { type: 'choice', values: [32, 64] },
      }),
    );
    const out = join(dir, 'study');
    const r = tsgrad(
      tuneArgs({ space: join(dir, 'space.json'), out, strategy: 'bayesian', trials: 4, objective: null }, [
        '--startup-trials',
        '2',
        '--epochs',
        '2',
        '--train-size',
        '300',
      ]),
    );
    assert.equal(r.code, 0, r.stderr);
    // Not a terminal: one plain line per trial, no carriage returns.
    const lines = r.stdout.split('\n').filter((l) => /^trial #\d+ \(\d\/4\) /.test(l));
    assert.equal(lines.length, 4, r.stdout);
    assert.ok(!r.stdout.includes('\r') && !r.stderr.includes('\r'));
    const journal = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as Journal;
    assert.equal(journal.trials.length, 4);
    for (const t of journal.trials) {
      assert.ok(['complete', 'pruned'].includes(t.state), t.state);
      if (t.state === 'complete') {
        assert.deepEqual(
          t.intermediate.map(([s]) => s),
          [1, 2],
          'one report per epoch',
        );
        assert.equal(t.value, t.intermediate[1]![1]);
        assert.ok(
          existsSync(join(out, 'trials', String(t.number), 'model.safetensors')),
          'weights saved for ensembles',
        );
      }
      assert.equal('momentum' in t.params, t.params['optimizer'] === 'sgd');
    }
    // The table is sorted by value, best first.
    const table = r.stdout.split('\n').filter((l) => /^\d+\s+complete/.test(l));
    const values = table.map((l) => Number(l.split(/\s+/)[2]));
    assert.deepEqual(
      values,
      [...values].sort((a, b) => b - a),
    );
    const best = JSON.parse(readFileSync(join(out, 'best.json'), 'utf8')) as {
      value: number;
      params: Record<string, unknown>;
      command: string;
      trial: number;
    };
    assert.equal(best.value, Math.max(...journal.trials.filter((t) => t.state === 'complete').map((t) => t.value!)));
    assert.match(best.command, /^tsgrad train --model lenet5 --dataset mnist --epochs 2 .*--val-split 0\.1 --seed 0$/);
    assert.ok(best.command.includes(`--lr ${Number((best.params['lr'] as number).toPrecision(6))}`), best.command);
    assert.match(r.stdout, /best: trial \d+, val_accuracy 0\.\d{4}/);

    const report = tsgrad(['tune', '--report', out, '--json']);
    assert.equal(report.code, 0, report.stderr);
    const summary = JSON.parse(report.stdout.trim().split('\n').pop()!) as { trials: number; best: { number: number } };
    assert.equal(summary.trials, 4);
    assert.equal(summary.best.number, best.trial);
    const text = tsgrad(['tune', '--report', out]);
    assert.match(text.stdout, /study study: bayesian search, 4\/4 trials finished/);

    // Resuming a finished study re-runs nothing; asking for more trials runs only the new ones.
    const more = tsgrad(['tune', '--resume', out, '--trials', '5', '--json']);
    assert.equal(more.code, 0, more.stderr);
    const after = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as Journal & {
      trials: { attempts: number }[];
    };
    assert.equal(after.trials.length, 5);
    assert.deepEqual(
      after.trials.map((t) => (t as unknown as { attempts: number }).attempts),
      [1, 1, 1, 1, 1],
    );
    assert.deepEqual(
      after.trials.slice(0, 4),
      journal.trials.map((t, i) => ({ ...after.trials[i]!, ...t })),
    );
    assert.equal((JSON.parse(more.stdout.trim().split('\n').pop()!) as { trials: number }).trials, 5);
    assert.ok(
      tsgrad(['tune', '--space', join(dir, 'space.json'), '--out', out]).stderr.includes('already holds a study'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tune --workers 2 runs trials in two worker threads with no result lost or mixed up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-tune-'));
  try {
    writeFileSync(
      join(dir, 'space.json'),
      JSON.stringify({ x: { type: 'float', low: 0, high: 1 }, fail: { type: 'bool' } }),
    );
    const out = join(dir, 'study');
    const r = tsgrad(
      tuneArgs({ space: join(dir, 'space.json'), out, strategy: 'random', pruner: 'none', trials: 10 }, [
        '--workers',
        '2',
        '--json',
      ]),
      { TSGRAD_TEST_TUNE_STEP_MS: '30' },
    );
    assert.equal(r.code, 0, r.stderr);
    const journal = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as Journal;
    assert.equal(journal.trials.length, 10);
    const threads = new Set<unknown>();
    for (const t of journal.trials) {
      if (t.params['fail'] === true) {
        assert.equal(t.state, 'failed');
        continue;
      }
      assert.equal(t.state, 'complete');
      // Each value belongs to its own trial's parameters.
      assert.equal(t.value, ((t.params['x'] as number) - 0.3) ** 2);
      assert.deepEqual(
        t.intermediate.map(([s]) => s),
        [1, 2, 3, 4],
      );
      threads.add(t.attrs['thread']);
    }
    assert.equal(threads.size, 2, 'both worker threads ran trials');
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { complete: number; failed: number };
    assert.equal(summary.complete + summary.failed, 10);
    assert.ok(summary.failed > 0, 'some trials failed on purpose and the study went on');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("import 'tsgrad' does not load bullmq or ioredis", () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-tune-'));
  try {
    // A module-resolution hook logs every module URL the process loads.
    const log = join(dir, 'loaded.log');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
    );
    const loaded = (code: string): string[] => {
      writeFileSync(log, '');
      const r = spawnSync(
        process.execPath,
        ['--import', pathToFileURL(join(dir, 'register.mjs')).href, '--input-type=module', '-e', code],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(log, 'utf8').split('\n');
    };
    const heavy = (urls: string[]): string[] => urls.filter((u) => /node_modules\/(bullmq|ioredis)\//.test(u));
    const index = pathToFileURL(join(here, '../../src/index.js')).href;
    const light = loaded(
      `const t = await import(${JSON.stringify(index)}); if (typeof t.Study !== 'function') process.exit(3);`,
    );
    assert.ok(
      light.some((u) => u.endsWith('/src/tune/redis.js')),
      "the hook sees tsgrad's own modules",
    );
    assert.deepEqual(heavy(light), []);
    // The hook does see bullmq when it is loaded.
    assert.ok(heavy(loaded(`await import('bullmq');`)).length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
