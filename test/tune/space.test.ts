import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  GridStrategy,
  SpaceError,
  gridConfigurations,
  hp,
  parseSpace,
  sampleSpace,
  validateSpace,
  type Space,
} from '../../src/index.js';

const space: Space = {
  lr: hp.float(1e-4, 1e-1, { log: true }),
  units: hp.int(16, 256, { step: 16 }),
  layers: hp.int(1, 64, { log: true }),
  optimizer: hp.choice(['adam', 'sgd']),
  momentum: hp.float(0.5, 0.99, { when: { optimizer: ['sgd'] } }),
  nesterov: hp.bool({ when: { optimizer: ['sgd'] } }),
  dropout: hp.bool(),
};

test('samples stay in range, ints on their step, conditional params only when active', () => {
  const rng = new Generator(3);
  let sgd = 0;
  const logLr: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const p = sampleSpace(space, rng);
    const lr = p['lr'] as number;
    assert.ok(lr >= 1e-4 && lr <= 1e-1, `lr ${lr}`);
    logLr.push(Math.log10(lr));
    const units = p['units'] as number;
    assert.ok(units >= 16 && units <= 256 && units % 16 === 0, `units ${units}`);
    const layers = p['layers'] as number;
    assert.ok(Number.isInteger(layers) && layers >= 1 && layers <= 64);
    assert.equal(typeof p['dropout'], 'boolean');
    if (p['optimizer'] === 'sgd') {
      sgd++;
      assert.ok((p['momentum'] as number) >= 0.5 && (p['momentum'] as number) <= 0.99);
      assert.equal(typeof p['nesterov'], 'boolean');
    } else {
      assert.ok(!('momentum' in p) && !('nesterov' in p), 'momentum/nesterov only with sgd');
    }
  }
  assert.ok(sgd > 900 && sgd < 1100, `sgd chosen ${sgd}/2000`);
  // Log scale: each decade of [1e-4, 1e-1] gets about a third of the draws.
  const firstDecade = logLr.filter((v) => v < -3).length / logLr.length;
  assert.ok(Math.abs(firstDecade - 1 / 3) < 0.05, `first decade share ${firstDecade}`);
  // The same seed gives the same sequence.
  const a = new Generator(9);
  const b = new Generator(9);
  for (let i = 0; i < 20; i++) assert.deepEqual(sampleSpace(space, a), sampleSpace(space, b));
});

test('grid: every combination once, in a stable nested-loop order; conditional params branch only where active', () => {
  const s: Space = {
    optimizer: hp.choice(['adam', 'sgd']),
    momentum: hp.float(0.5, 0.9, { steps: 2, when: { optimizer: ['sgd'] } }),
    lr: hp.float(1e-3, 1e-1, { log: true, steps: 3 }),
  };
  const grid = gridConfigurations(s);
  const show = grid.map((p) => `${p['optimizer']}/${p['momentum'] ?? '-'}/${(p['lr'] as number).toPrecision(2)}`);
  assert.deepEqual(show, [
    'adam/-/0.0010',
    'adam/-/0.010',
    'adam/-/0.10',
    'sgd/0.5/0.0010',
    'sgd/0.5/0.010',
    'sgd/0.5/0.10',
    'sgd/0.9/0.0010',
    'sgd/0.9/0.010',
    'sgd/0.9/0.10',
  ]);
  assert.deepEqual(gridConfigurations({ n: hp.int(2, 8, { step: 3 }), b: hp.bool() }), [
    { n: 2, b: false },
    { n: 2, b: true },
    { n: 5, b: false },
    { n: 5, b: true },
    { n: 8, b: false },
    { n: 8, b: true },
  ]);
  // The strategy walks the grid and then stops.
  const g = new GridStrategy();
  const taken: Record<string, string | number | boolean>[] = [];
  for (;;) {
    const next = g.suggest({ space: s, history: [], taken, rng: new Generator(0) });
    if (!next) break;
    taken.push(next);
  }
  assert.equal(taken.length, 9);
  assert.throws(() => gridConfigurations({ lr: hp.float(0, 1) }), /grid: float parameter 'lr' needs a steps count/);
});

test('bad specs are refused with the key named', () => {
  const cases: [unknown, RegExp][] = [
    [{ lr: { type: 'gaussian', low: 0, high: 1 } }, /parameter 'lr': unknown type "gaussian"/],
    [{ lr: { type: 'float', low: 1, high: 1 } }, /parameter 'lr': empty range/],
    [{ lr: { type: 'float', low: 0.1, high: 0.01 } }, /parameter 'lr': empty range/],
    [{ lr: { type: 'float', low: 0, high: 1, log: true } }, /parameter 'lr': a log scale needs low > 0/],
    [{ lr: { type: 'float', low: 'a', high: 1 } }, /parameter 'lr': bounds must be finite numbers/],
    [{ n: { type: 'int', low: 1.5, high: 4 } }, /parameter 'n': int bounds must be integers/],
    [{ n: { type: 'int', low: 1, high: 4, step: 0 } }, /parameter 'n': step must be a positive integer/],
    [{ opt: { type: 'choice', values: [] } }, /parameter 'opt': a choice needs a non-empty list/],
    [{ opt: { type: 'choice' } }, /parameter 'opt': a choice needs 'values'/],
    [{ lr: { type: 'float', low: 0, high: 1, hihg: 2 } }, /parameter 'lr': unknown field 'hihg'/],
    [
      { m: { type: 'float', low: 0, high: 1, when: { optimizer: ['sgd'] } } },
      /parameter 'm': condition on unknown parameter 'optimizer'/,
    ],
    [
      {
        optimizer: { type: 'choice', values: ['adam'] },
        m: { type: 'float', low: 0, high: 1, when: { optimizer: ['sgd'] } },
      },
      /parameter 'm': condition value "sgd" is not a value of 'optimizer'/,
    ],
    [{ lrr: { type: 'float', low: 0.1, high: 1 } }, /parameter 'lrr': not a tunable option/],
    [[], /expected an object/],
    [{}, /the space has no parameters/],
  ];
  for (const [spec, re] of cases) {
    assert.throws(
      () => parseSpace(spec, 'space.json', ['lr', 'n', 'opt', 'optimizer', 'm']),
      (e: unknown) => {
        assert.ok(e instanceof SpaceError, String(e));
        assert.match((e as Error).message, re);
        assert.match((e as Error).message, /^space\.json: /);
        return true;
      },
    );
  }
  assert.throws(() => validateSpace({ x: hp.float(2, 1) }), /parameter 'x': empty range/);
  const ok = parseSpace({
    lr: { type: 'float', low: 1e-4, high: 0.1, log: true },
    optimizer: { type: 'choice', values: ['adam', 'sgd'] },
    m: { type: 'float', low: 0.5, high: 0.9, when: { optimizer: ['sgd'] } },
    n: { type: 'int', low: 1, high: 9, step: 2 },
    opt: { type: 'bool' },
  });
  assert.deepEqual(Object.keys(ok), ['lr', 'optimizer', 'm', 'n', 'opt']);
  assert.equal(ok['n']!.kind, 'int');
});
