import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  LeNet5,
  Linear,
  SGD,
  StepLR,
  crossEntropy,
  lrMultiplierGroups,
  manualSeed,
  randn,
  tensor,
} from '../../src/index.js';

function values(m: { parameters(): { dataSync(): ArrayLike<number> }[] }): number[] {
  return m.parameters().flatMap((p) => Array.from(p.dataSync()));
}

test('reuse a trained backbone: load by name, replace the head, freeze, fine-tune', () => {
  manualSeed(1);
  const source = new LeNet5({ numClasses: 10 });
  const target = new LeNet5({ numClasses: 3 });
  // The 10-class head does not fit the 3-class one: strict loading names the mismatch.
  assert.throws(() => target.loadStateDict(source.stateDict()), /shape mismatch for classifier\.5\.weight/);
  const sd = source.stateDict();
  delete sd['classifier.5.weight'];
  delete sd['classifier.5.bias'];
  const report = target.loadStateDict(sd, { strict: false });
  assert.deepEqual(report.missingKeys, ['classifier.5.weight', 'classifier.5.bias']);
  assert.deepEqual(report.unexpectedKeys, []);
  assert.equal(report.loadedKeys.length, 8);
  assert.deepEqual(values(target.features), values(source.features));

  const head = new Linear(84, 3);
  target.setSubmodule('classifier.5', head);
  assert.equal(target.getSubmodule('classifier.5'), head);
  assert.equal(target.classifier.at(5), head);
  target.features.freeze();
  assert.equal(target.numParameters({ trainableOnly: true }), 48120 + 10164 + 255);

  const before = values(target.features);
  const headBefore = values(head);
  const opt = new SGD(target.parameters(), { lr: 0.1 });
  const x = randn([4, 1, 28, 28]);
  const y = tensor([0, 1, 2, 1], { dtype: 'int32' });
  crossEntropy(target.forward(x), y).backward();
  opt.step();
  assert.deepEqual(values(target.features), before, 'frozen layers do not move');
  assert.notDeepEqual(values(head), headBefore, 'the new head learns');
  assert.ok(
    target.features.parameters().every((p) => p.grad === null),
    'no gradient is computed for frozen layers',
  );
  target.features.unfreeze();
  assert.equal(target.numParameters({ trainableOnly: true }), target.numParameters());
});

test('setSubmodule and getSubmodule name what exists', () => {
  const net = new LeNet5();
  assert.throws(
    () => net.getSubmodule('classifier.9'),
    (e: unknown) => e instanceof ArgumentError && /have: features, features\.0/.test(e.message),
  );
  assert.throws(() => net.setSubmodule('nope', new Linear(1, 1)), /no sub-module 'nope'/);
  net.setSubmodule('features', net.features);
  assert.equal(net.getSubmodule('features'), net.features);
});

test('lrMultiplierGroups gives each layer its lr multiplier, and schedules keep the ratio', () => {
  const net = new LeNet5();
  const groups = lrMultiplierGroups(net, 0.01, { features: 0.1, 'classifier.5': 2 });
  const byLr = new Map(groups.map((g) => [g.lr, g.params.length]));
  assert.deepEqual([...byLr.keys()].sort(), [0.001, 0.01, 0.02].sort());
  assert.equal(byLr.get(0.001), 4, 'two convolutions: weight and bias each');
  assert.equal(byLr.get(0.02), 2);
  assert.equal(byLr.get(0.01), 4);
  const opt = new SGD(groups, { lr: 0.01 });
  const sched = new StepLR(opt, { stepSize: 1, gamma: 0.5 });
  sched.step();
  const lrs = opt.paramGroups.map((g) => g.lr).sort();
  assert.deepEqual(lrs, [0.0005, 0.005, 0.01].sort());
  assert.throws(() => lrMultiplierGroups(net, 0.01, { backbone: 0.1 }), /no parameter is named by 'backbone'/);
  assert.throws(() => lrMultiplierGroups(net, 0.01, { features: -1 }), /must be >= 0/);
});
