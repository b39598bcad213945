/**
 * Defects found when the notes were tried: summary() counting non-parameter
 * tensors, calculateGain returning undefined for unknown names, and Kaiming's
 * mode going unchecked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  Generator,
  Linear,
  Module,
  Parameter,
  init,
  models,
  ones,
  summary,
  zeros,
} from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

test('summary of classic LeNet-5: C3 has 1,516 parameters and the rows add up to the 60,000 total', () => {
  const s = summary(models.lenet5({ variant: 'classic', inputSize: 32 }), [1, 1, 32, 32]);
  const c3 = s.rows.find((r) => r.name === 'c3');
  // 60 connections × 5×5 weights + 16 biases (LeCun 1998, table 1).
  assert.equal(c3?.params, 60 * 25 + 16);
  assert.equal(s.totalParams, 60_000);
  assert.equal(
    s.rows.reduce((n, r) => n + r.params, 0),
    s.totalParams,
  );
  assert.match(s.text, /c3 PartialConv2d.*\s1,516\n/);
});

class Shared extends Module {
  readonly a: Linear;
  readonly b: Linear;
  readonly scale: Parameter;
  constructor() {
    super();
    this.a = new Linear(3, 3);
    this.b = this.a; // the same layer twice: counted once
    this.scale = new Parameter(ones([1]));
  }
  forward(x: Tensor): Tensor {
    return this.b.forward(this.a.forward(x)).mul(this.scale);
  }
}

test("summary counts a shared layer once and a container's own parameters in a row of its own", () => {
  const s = summary(new Shared(), [2, 3]);
  assert.equal(s.totalParams, 12 + 1);
  assert.deepEqual(
    s.rows.map((r) => [r.name, r.params]),
    [
      ['(self)', 1],
      ['a', 12],
      ['b', 0],
    ],
  );
});

test('calculateGain throws on an unknown nonlinearity, listing the accepted names', () => {
  assert.throws(
    () => init.calculateGain('elu' as init.Nonlinearity),
    (e: unknown) => e instanceof ArgumentError && /"elu"/.test(e.message) && /relu, leakyRelu, selu/.test(e.message),
  );
  assert.throws(() => init.kaimingNormal(zeros([4, 4]), { nonlinearity: 'elu' as init.Nonlinearity }), ArgumentError);
  assert.equal(init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
});

test("Kaiming's mode is validated, and PyTorch's 'fan_in' / 'fan_out' mean what they say", () => {
  assert.throws(
    () => init.kaimingUniform(zeros([4, 4]), { mode: 'fanin' as 'fanIn' }),
    (e: unknown) => e instanceof ArgumentError && /unknown mode "fanin"/.test(e.message) && /'fanOut'/.test(e.message),
  );
  // A [out 200, in 50] weight: fan-in std √(2/50) vs fan-out √(2/200): a factor of 2 apart.
  const std = (mode: 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out'): number => {
    const w = init.kaimingNormal(zeros([200, 50]), { mode, nonlinearity: 'relu', generator: new Generator(3) });
    return Math.sqrt(w.square().mean().itemSync());
  };
  assert.ok(Math.abs(std('fan_in') - Math.sqrt(2 / 50)) < 0.01, `fan_in std ${std('fan_in')}`);
  assert.ok(Math.abs(std('fan_out') - Math.sqrt(2 / 200)) < 0.005, `fan_out std ${std('fan_out')}`);
  assert.equal(std('fan_in'), std('fanIn'));
});
