import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MedianPruner,
  RandomStrategy,
  Study,
  SuccessiveHalvingPruner,
  TPEStrategy,
  TrialPruned,
  hp,
  readStudyFile,
  type Space,
  type Trial,
} from '../../src/index.js';

const quad: Space = {
  x: hp.float(-5, 5),
  y: hp.float(1e-3, 10, { log: true }),
  kind: hp.choice(['a', 'b', 'c']),
  n: hp.int(1, 20),
};
/** Minimum 0 at x = 1.5, y = 0.1, kind 'b', n = 7. */
function f(p: Trial['params']): number {
  const x = p['x'] as number;
  const y = Math.log10(p['y'] as number);
  return (x - 1.5) ** 2 + (y + 1) ** 2 + (p['kind'] === 'b' ? 0 : 1) + ((p['n'] as number) - 7) ** 2 / 40;
}

test('TPE beats random search on a known function (median over seeds) and is seeded', async () => {
  const best = async (make: () => RandomStrategy | TPEStrategy, seed: number): Promise<number> => {
    const s = new Study({ space: quad, strategy: make(), seed });
    await s.optimize((t) => f(t.params), { trials: 40 });
    return s.best!.value!;
  };
  const tpe: number[] = [];
  const rnd: number[] = [];
  for (let seed = 0; seed < 9; seed++) {
    tpe.push(await best(() => new TPEStrategy(), seed));
    rnd.push(await best(() => new RandomStrategy(), seed));
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  assert.ok(median(tpe) < median(rnd), `TPE median ${median(tpe)} vs random ${median(rnd)}`);
  // Same seed, same trials.
  const a = new Study({ space: quad, strategy: new TPEStrategy(), seed: 5 });
  const b = new Study({ space: quad, strategy: new TPEStrategy(), seed: 5 });
  await a.optimize((t) => f(t.params), { trials: 15 });
  await b.optimize((t) => f(t.params), { trials: 15 });
  assert.deepEqual(
    a.trials.map((t) => t.params),
    b.trials.map((t) => t.params),
  );
  const c = new Study({ space: quad, strategy: new TPEStrategy(), seed: 6 });
  await c.optimize((t) => f(t.params), { trials: 3 });
  assert.notDeepEqual(c.trials[0]!.params, a.trials[0]!.params);
});

test('journal: every trial with params, intermediate values, state, error and timing; failed trials do not stop the study', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-study-'));
  try {
    const study = new Study({ space: { x: hp.float(0, 1) }, strategy: new RandomStrategy(), seed: 1, dir, name: 's1' });
    study.enqueue({ x: 0.25 });
    await study.optimize(
      async (t) => {
        await t.report(1, t.number);
        if (t.number === 1) throw new Error('boom in trial 1');
        if (t.number === 2) return NaN;
        t.setAttr('double', 2 * (t.params['x'] as number));
        return t.params['x'] as number;
      },
      { trials: 5 },
    );
    const file = readStudyFile(dir);
    assert.equal(file.trials.length, 5);
    assert.deepEqual(file.trials[0]!.params, { x: 0.25 }, 'the enqueued configuration runs first');
    assert.deepEqual(
      file.trials.map((t) => t.state),
      ['complete', 'failed', 'failed', 'complete', 'complete'],
    );
    assert.equal(file.trials[1]!.error, 'boom in trial 1');
    assert.match(file.trials[2]!.error!, /returned NaN/);
    for (const t of file.trials) {
      assert.deepEqual(t.intermediate, [[1, t.number]]);
      assert.ok(t.seconds !== null && t.seconds >= 0 && t.startedAt && t.finishedAt);
      assert.equal(t.attempts, 1);
    }
    assert.equal(file.trials[0]!.attrs['double'], 0.5);
    assert.equal(
      study.best!.number,
      file.trials.filter((t) => t.state === 'complete').sort((a, b) => a.value! - b.value!)[0]!.number,
    );
    // No temp files left next to the journal.
    assert.ok(!readFileSync(join(dir, 'study.json'), 'utf8').includes('"running"'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume after a crash re-runs only unfinished trials and reaches the same best configuration', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-study-'));
  try {
    const make = (d: string): Study =>
      new Study({
        space: quad,
        strategy: new TPEStrategy({ startupTrials: 4 }),
        pruner: new MedianPruner({ startupTrials: 3 }),
        seed: 11,
        dir: d,
      });
    const objective = async (t: Trial): Promise<number> => {
      for (let step = 1; step <= 3; step++) {
        await t.report(step, f(t.params) + 1 / step);
        if (t.shouldPrune()) throw new TrialPruned();
      }
      return f(t.params);
    };
    const straight = make(join(dir, 'straight'));
    await straight.optimize(objective, { trials: 16 });
    assert.ok(
      straight.trials.some((t) => t.state === 'pruned'),
      'the median pruner stopped some trials',
    );

    // The journal as a crash in the middle of trial 9 leaves it: trial 9 running, 10.. not started.
    const crashDir = join(dir, 'crashed');
    mkdirSync(crashDir);
    const first = make(join(dir, 'first'));
    await first.optimize(
      async (t) => {
        if (t.number === 9) {
          await t.report(1, 999);
          copyFileSync(join(dir, 'first', 'study.json'), join(crashDir, 'study.json'));
        }
        return objective(t);
      },
      { trials: 16 },
    );
    const resumed = Study.open(crashDir);
    assert.equal(resumed.trials.length, 10);
    assert.equal(resumed.trials[9]!.state, 'waiting');
    const rerun: number[] = [];
    await resumed.optimize(
      async (t) => {
        rerun.push(t.number);
        return objective(t);
      },
      { trials: 16 },
    );
    assert.deepEqual(rerun, [9, 10, 11, 12, 13, 14, 15], 'only the unfinished and new trials run');
    assert.equal(resumed.trials[9]!.attempts, 2);
    assert.deepEqual(
      resumed.trials[9]!.intermediate.map(([s]) => s).sort(),
      [...new Set(resumed.trials[9]!.intermediate.map(([s]) => s))].sort(),
    );
    assert.deepEqual(
      resumed.trials.map((t) => [t.params, t.state, t.value]),
      straight.trials.map((t) => [t.params, t.state, t.value]),
    );
    assert.deepEqual(resumed.best!.params, straight.best!.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('median pruner and successive halving decide from the values reported at the same step', () => {
  const t = (number: number, state: 'complete' | 'pruned' | 'running', values: number[]) => ({
    number,
    state,
    intermediate: values.map((v, i) => [i + 1, v] as const),
  });
  const done = [t(0, 'complete', [5, 4]), t(1, 'complete', [3, 2]), t(2, 'complete', [1, 0.5])];
  const median = new MedianPruner({ startupTrials: 3 });
  assert.equal(median.shouldPrune(t(3, 'running', [3.5]), 1, done), true, 'worse than the median 3 at step 1');
  assert.equal(median.shouldPrune(t(3, 'running', [2.5]), 1, done), false);
  assert.equal(
    new MedianPruner({ startupTrials: 4 }).shouldPrune(t(3, 'running', [9]), 1, done),
    false,
    'too few trials',
  );
  assert.equal(
    new MedianPruner({ startupTrials: 1, warmupSteps: 1 }).shouldPrune(t(3, 'running', [9]), 1, done),
    false,
    'warm-up',
  );
  const asha = new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 3 });
  // Rung steps are 1, 3, 9: step 2 is never pruned.
  assert.equal(asha.shouldPrune(t(3, 'running', [9, 9]), 2, done), false);
  assert.equal(asha.shouldPrune(t(3, 'running', [0.1]), 1, done), false, 'best of its rung goes on');
  assert.equal(asha.shouldPrune(t(3, 'running', [2]), 1, done), true, 'only the top 1/3 of 4 (one) goes on');
  assert.equal(asha.shouldPrune(t(0, 'running', [7]), 1, []), false, 'the first at a rung goes on');
});
