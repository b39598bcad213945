/**
 * summary() (src/nn/summary.ts) case by case, for mutation testing (npm run mutate): the whole table
 * text of a small model written out by hand (column widths, the rules, thousands separators, '-' for a
 * layer forward() never called), which rows appear (leaves always, containers only with parameters of
 * their own), trainable and non-trainable counts, the model's mode restored, and what console.log
 * shows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { Linear, Module, ReLU, Sequential, summary, type Tensor } from '../../src/index.js';

class Net extends Module {
  readonly features = new Sequential(new Linear(100, 20), new ReLU());
  readonly unused = new ReLU();
  readonly head = new Linear(20, 3);
  forward(x: Tensor): Tensor {
    return this.head.forward(this.features.forward(x));
  }
}

test('summary: the table by hand, frozen parameters counted as non-trainable', () => {
  const net = new Net();
  net.head.requiresGrad(false);
  const s = summary(net, [2, 100]);
  assert.deepEqual(s.rows, [
    { name: 'features.0', layer: 'Linear(100, 20)', outputShape: [2, 20], params: 2020 },
    { name: 'features.1', layer: 'ReLU()', outputShape: [2, 20], params: 0 },
    { name: 'unused', layer: 'ReLU()', outputShape: null, params: 0 },
    { name: 'head', layer: 'Linear(20, 3)', outputShape: [2, 3], params: 63 },
  ]);
  assert.equal(s.totalParams, 2083);
  assert.equal(s.trainableParams, 2020);
  // widths: 26 ('features.0 Linear(100, 20)'), 12 ('Output shape'), 6 ('Params'); rules 26 + 12 + 6 + 4
  const rule = '-'.repeat(48);
  const expected = [
    'Net (input [2, 100])',
    rule,
    'Layer                       Output shape  Params',
    rule,
    'features.0 Linear(100, 20)  [2, 20]        2,020',
    'features.1 ReLU()           [2, 20]            0',
    'unused ReLU()               -                  0',
    'head Linear(20, 3)          [2, 3]            63',
    rule,
    'Total params: 2,083',
    'Trainable params: 2,020',
    'Non-trainable params: 63',
  ].join('\n');
  assert.equal(s.text, expected);
  assert.equal(String(s), expected);
  assert.equal(`${s}`, expected);
  assert.equal(inspect(s), expected);
});

test("summary: the model's training flag is restored, and layers run in evaluation mode meanwhile", () => {
  class Spy extends Module {
    readonly fc = new Linear(2, 2);
    modes: boolean[] = [];
    forward(x: Tensor): Tensor {
      this.modes.push(this.training, this.fc.training);
      return this.fc.forward(x);
    }
  }
  const spy = new Spy();
  summary(spy, [1, 2]);
  assert.deepEqual(spy.modes, [false, false]);
  assert.equal(spy.training, true);
  assert.equal(spy.fc.training, true);
  spy.eval();
  summary(spy, [1, 2]);
  assert.equal(spy.training, false);
  assert.equal(spy.fc.training, false);
  // restored even when forward throws
  class Broken extends Module {
    readonly fc = new Linear(2, 2);
    forward(): Tensor {
      throw new Error('broken');
    }
  }
  const b = new Broken();
  assert.throws(() => summary(b, [1, 2]), /broken/);
  assert.equal(b.training, true);
});

test('summary: a leaf layer called twice shows its first output shape; a model that is one layer has a (self) row', () => {
  const relu = new ReLU();
  class Twice extends Module {
    readonly act = relu;
    forward(x: Tensor): Tensor {
      return relu.forward(relu.forward(x).reshape([1, -1]));
    }
  }
  assert.deepEqual(summary(new Twice(), [2, 3]).rows, [
    { name: 'act', layer: 'ReLU()', outputShape: [2, 3], params: 0 },
  ]);
  const one = summary(new Linear(3, 2), [4, 3]);
  assert.deepEqual(one.rows, [{ name: '(self)', layer: 'Linear(3, 2)', outputShape: [4, 2], params: 8 }]);
  assert.match(one.text, /^\(self\) Linear\(3, 2\)  \[4, 2\]/m);
  assert.match(one.text, /\nNon-trainable params: 0$/);
  // a model that is one parameterless layer: no row of its own, only the totals
  const bare = summary(new ReLU(), [2, 3]);
  assert.deepEqual(bare.rows, []);
  assert.equal(bare.totalParams, 0);
  assert.match(bare.text, /^ReLU \(input \[2, 3\]\)\n-+\nLayer  Output shape  Params\n-+\n-+\nTotal params: 0\n/);
});
