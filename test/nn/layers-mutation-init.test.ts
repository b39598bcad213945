/**
 * nn.init, case by case, for mutation testing (npm run mutate): PyTorch's gains
 * (torch.nn.init.calculate_gain), fan_in / fan_out, the bounds and standard deviations of the
 * Glorot and He initializations (checked on many draws: every value within the bound and the
 * largest near it; sample standard deviations within a few percent), seeded generators, dtypes
 * kept, and skipInit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgumentError, Generator, Linear, init, zeros, type Tensor } from '../../src/index.js';
import { throwsExactly, values } from '../helpers/nn-fixtures.js';

function within(t: Tensor, low: number, high: number): void {
  const v = values(t);
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const span = high - low;
  assert.ok(lo >= low && hi <= high, `values in [${lo}, ${hi}], expected within [${low}, ${high}]`);
  assert.ok(lo < low + 0.05 * span && hi > high - 0.05 * span, `values [${lo}, ${hi}] do not fill [${low}, ${high}]`);
}

function meanStd(t: Tensor): [number, number] {
  const v = values(t);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return [mean, Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length)];
}

function closeTo(actual: number, expected: number, rel: number, label: string): void {
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.abs(expected),
    `${label}: ${actual}, expected ${expected} ± ${rel * 100}%`,
  );
}

test("calculateGain: PyTorch's gains, leaky ReLU's slope 0.01 by default", () => {
  assert.equal(init.calculateGain('linear'), 1);
  assert.equal(init.calculateGain('conv2d'), 1);
  assert.equal(init.calculateGain('sigmoid'), 1);
  assert.equal(init.calculateGain('tanh'), 5 / 3);
  assert.equal(init.calculateGain('relu'), Math.SQRT2);
  assert.equal(init.calculateGain('selu'), 3 / 4);
  assert.equal(init.calculateGain('leakyRelu'), Math.sqrt(2 / (1 + 0.01 * 0.01)));
  assert.equal(init.calculateGain('leakyRelu', 0.5), Math.sqrt(2 / 1.25));
  assert.equal(init.calculateGain('leaky_relu', 0), Math.SQRT2);
  assert.deepEqual(init.NONLINEARITIES, ['linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'selu']);
  throwsExactly(
    () => init.calculateGain('elu' as init.Nonlinearity),
    ArgumentError,
    'init.calculateGain: unknown nonlinearity "elu"; accepted: linear, conv2d, sigmoid, tanh, relu, leakyRelu, selu',
  );
});

test('fans: [out, in] for dense weights, times the kernel area for convolutions', () => {
  assert.deepEqual(init.fans(zeros([3, 5])), { fanIn: 5, fanOut: 3 });
  assert.deepEqual(init.fans(zeros([8, 2, 3, 4])), { fanIn: 24, fanOut: 96 });
  assert.deepEqual(init.fans(zeros([8, 2, 3])), { fanIn: 6, fanOut: 24 });
  throwsExactly(
    () => init.fans(zeros([4])),
    ArgumentError,
    'init: fan in/out need a weight of rank >= 2, got shape [4]',
  );
  throwsExactly(() => init.fans(zeros([])), ArgumentError, 'init: fan in/out need a weight of rank >= 2, got shape []');
});

test('uniform_, normal_ and constant_ fill in place, keep the dtype, and follow the generator', () => {
  const t = zeros([100, 40], { dtype: 'float64' });
  const same = init.uniform_(t, -2, 3, { generator: new Generator(7) });
  assert.equal(same, t, 'in place');
  assert.equal(t.dtype, 'float64');
  within(t, -2, 3);
  const again = init.uniform_(zeros([100, 40], { dtype: 'float64' }), -2, 3, { generator: new Generator(7) });
  assert.deepEqual(values(again), values(t), 'same seed, same values');
  const other = init.uniform_(zeros([100, 40]), -2, 3);
  within(other, -2, 3);
  assert.notDeepEqual(values(init.uniform_(zeros([50]), 0, 1)), values(init.uniform_(zeros([50]), 0, 1)));
  const n = init.normal_(zeros([100, 100]), 3, 0.5, { generator: new Generator(2) });
  const [mean, std] = meanStd(n);
  closeTo(mean, 3, 0.01, 'normal mean');
  closeTo(std, 0.5, 0.03, 'normal std');
  assert.deepEqual(values(init.normal_(zeros([20]), 3, 0.5, { generator: new Generator(2) })), values(n).slice(0, 20));
  const c = init.constant_(zeros([2, 3], { dtype: 'float64' }), 0.25);
  assert.deepEqual(values(c), [0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
  assert.equal(c.dtype, 'float64');
});

test('init on a parameter is not recorded by autograd', () => {
  const fc = new Linear(3, 2);
  init.uniform_(fc.weight, -1, 1);
  init.constant_(fc.bias!, 0.5);
  assert.equal(fc.weight.node, null);
  assert.equal(fc.bias!.node, null);
  assert.ok(fc.bias!.isLeaf);
  assert.equal(fc.weight.requiresGrad, true);
});

test('Glorot (Xavier): bound gain·√(6/(fan_in + fan_out)), std gain·√(2/(fan_in + fan_out))', () => {
  // [out 200, in 100]: fans 100 + 200
  within(init.xavierUniform(zeros([200, 100])), -Math.sqrt(6 / 300), Math.sqrt(6 / 300));
  within(init.xavierUniform(zeros([200, 100]), { gain: 2 }), -2 * Math.sqrt(6 / 300), 2 * Math.sqrt(6 / 300));
  const [, std] = meanStd(init.xavierNormal(zeros([200, 100]), { generator: new Generator(4) }));
  closeTo(std, Math.sqrt(2 / 300), 0.03, 'xavier normal std');
  const [, std2] = meanStd(init.xavierNormal(zeros([200, 100]), { gain: 3, generator: new Generator(4) }));
  closeTo(std2, 3 * Math.sqrt(2 / 300), 0.03, 'xavier normal std, gain 3');
  const a = init.xavierUniform(zeros([20, 10]), { generator: new Generator(9) });
  assert.deepEqual(values(init.xavierUniform(zeros([20, 10]), { generator: new Generator(9) })), values(a));
});

test('He (Kaiming): leaky ReLU with a = 0 and fan_in by default; bound √3·gain/√fan', () => {
  // [out 400, in 50]: fan_in 50, fan_out 400
  const b = (gain: number, fan: number): number => Math.sqrt(3) * (gain / Math.sqrt(fan));
  within(init.kaimingUniform(zeros([400, 50])), -b(Math.SQRT2, 50), b(Math.SQRT2, 50));
  within(init.kaimingUniform(zeros([400, 50]), { a: Math.sqrt(5) }), -1 / Math.sqrt(50), 1 / Math.sqrt(50));
  within(init.kaimingUniform(zeros([400, 50]), { mode: 'fanOut' }), -b(Math.SQRT2, 400), b(Math.SQRT2, 400));
  within(init.kaimingUniform(zeros([400, 50]), { mode: 'fan_out' }), -b(Math.SQRT2, 400), b(Math.SQRT2, 400));
  within(init.kaimingUniform(zeros([400, 50]), { mode: 'fan_in' }), -b(Math.SQRT2, 50), b(Math.SQRT2, 50));
  within(init.kaimingUniform(zeros([400, 50]), { nonlinearity: 'tanh' }), -b(5 / 3, 50), b(5 / 3, 50));
  const [, std] = meanStd(init.kaimingNormal(zeros([400, 50]), { generator: new Generator(6) }));
  closeTo(std, Math.SQRT2 / Math.sqrt(50), 0.03, 'kaiming normal std');
  const [, stdOut] = meanStd(
    init.kaimingNormal(zeros([400, 50]), { mode: 'fanOut', a: 1, generator: new Generator(6) }),
  );
  closeTo(stdOut, 1 / Math.sqrt(400), 0.03, 'kaiming normal std, fan_out, a = 1');
  const a = init.kaimingNormal(zeros([20, 10]), { generator: new Generator(9) });
  assert.deepEqual(values(init.kaimingNormal(zeros([20, 10]), { generator: new Generator(9) })), values(a));
  throwsExactly(
    () => init.kaimingNormal(zeros([4, 4]), { mode: 'fanin' as 'fanIn' }),
    ArgumentError,
    `init.kaiming: unknown mode "fanin"; accepted: 'fanIn', 'fanOut' (or 'fan_in', 'fan_out')`,
  );
});

test('skipInit: every init is a no-op while it builds, nested or after a throw, and it returns what it built', () => {
  const built = init.skipInit(() => {
    const fc = new Linear(4, 3);
    const inner = init.skipInit(() => new Linear(2, 2));
    init.uniform_(fc.bias!, 1, 2);
    init.normal_(fc.weight, 1, 1);
    init.constant_(inner.weight, 5);
    return [fc, inner] as const;
  });
  assert.deepEqual(values(built[0].weight), new Array(12).fill(0));
  assert.deepEqual(values(built[0].bias!), [0, 0, 0]);
  assert.deepEqual(values(built[1].weight), [0, 0, 0, 0]);
  assert.throws(() =>
    init.skipInit(() => {
      throw new Error('boom');
    }),
  );
  assert.ok(
    values(new Linear(4, 3).weight).some((v) => v !== 0),
    'initialization is back after skipInit',
  );
  assert.deepEqual(values(init.constant_(zeros([2]), 1)), [1, 1]);
});
