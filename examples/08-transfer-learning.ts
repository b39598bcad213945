/**
 * Transfer learning: a LeNet-5 trained on the digits 0–4 is reused for a new task with little data, the digits
 * 5–9 from only 25 examples (5 per class). Compared, from the same new head and batch order:
 * - training from scratch;
 * - reusing every layer and fine-tuning all of them;
 * - reusing and freezing the convolutional features (only the fully connected layers learn);
 * - freezing too much: every layer but the new output layer;
 * - Caffe's lr_mult: the features learn at 0.1× the rate of the rest (lrMultiplierGroups).
 * The convolutions' edge and stroke detectors carry over to new digits; the last hidden layers are specific to
 * the old classes, so freezing them as well costs accuracy.
 */
import assert from 'node:assert/strict';
import {
  Adam,
  ArrayDataset,
  Generator,
  type ImageSet,
  LeNet5,
  Linear,
  type Optimizer,
  Trainer,
  crossEntropy,
  evaluate,
  loadMnistPackage,
  lrMultiplierGroups,
  manualSeed,
} from '../src/index.js';

const { train, test } = loadMnistPackage();

/** The first `n` images of the given digits, relabelled 0.. in the order of `digits`. */
function digitsSet(set: ImageSet, digits: number[], n: number): ArrayDataset {
  const picked: number[] = [];
  for (let i = 0; i < set.count && picked.length < n; i++) if (digits.includes(set.labels[i]!)) picked.push(i);
  const images = new Uint8Array(picked.length * 784);
  const labels = new Uint8Array(picked.length);
  picked.forEach((i, j) => {
    images.set(set.images.subarray(i * 784, (i + 1) * 784), j * 784);
    labels[j] = digits.indexOf(set.labels[i]!);
  });
  return new ArrayDataset(images, labels, [1, 28, 28], { scale: 1 / 255, mean: 0.13, std: 0.31 });
}

const accuracy = (net: LeNet5, data: ArrayDataset): number => evaluate(net, data, crossEntropy).accuracy;

// ---------------------------------------------------------------- 1. the pretrained network: digits 0–4
manualSeed(1);
const pretrained = new LeNet5({ numClasses: 5 });
const oldTask = digitsSet(train, [0, 1, 2, 3, 4], 2000);
await new Trainer(pretrained, {
  train: oldTask,
  epochs: 2,
  batchSize: 32,
  optimizer: new Adam(pretrained.parameters(), { lr: 2e-3 }),
  generator: new Generator(2),
}).fit();
const oldAccuracy = accuracy(pretrained, digitsSet(test, [0, 1, 2, 3, 4], 500));
console.log(`pretrained on 2,000 digits 0–4: ${(oldAccuracy * 100).toFixed(1)}% on held-out 0–4`);
assert.ok(oldAccuracy > 0.85);

// ---------------------------------------------------------------- 2. the new task: digits 5–9, 25 examples
const newTrain = digitsSet(train, [5, 6, 7, 8, 9], 25);
const newTest = digitsSet(test, [5, 6, 7, 8, 9], 500);

/** A LeNet-5 for the new task; `prepare` reuses / freezes layers and returns the optimizer. */
async function adapt(name: string, prepare: (net: LeNet5) => Optimizer<{ lr: number }>) {
  manualSeed(5); // the same new head (and, from scratch, the same initial weights) for every variant
  const net = new LeNet5({ numClasses: 5 });
  const optimizer = prepare(net);
  const before = net.stateDict();
  const copies = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
  await new Trainer(net, { train: newTrain, epochs: 20, batchSize: 10, optimizer, generator: new Generator(4) }).fit();
  const acc = accuracy(net, newTest);
  console.log(
    `  ${name.padEnd(42)} ${String(net.numParameters({ trainableOnly: true })).padStart(6)} trainable  ${(acc * 100).toFixed(1)}%`,
  );
  /** Mean relative change of a parameter over the training. */
  const change = (key: string): number => {
    const a = copies[key]!;
    const b = net.stateDict()[key]!.dataSync();
    let d = 0;
    let s = 0;
    for (let i = 0; i < a.length; i++) {
      d += Math.abs(b[i]! - a[i]!);
      s += Math.abs(a[i]!);
    }
    return d / s;
  };
  return { net, acc, change };
}

/** Copies the pretrained weights in and puts a fresh 5-class output layer on top. */
function reuse(net: LeNet5): void {
  const report = net.loadStateDict(pretrained.stateDict(), { strict: true });
  assert.equal(report.loadedKeys.length, 10, 'every weight and bias of the 5 layers');
  net.setSubmodule('classifier.5', new Linear(84, 5)); // the old head knew 0–4: a new one for 5–9
}

console.log('digits 5–9 from 25 examples, accuracy on 500 held-out ones:');
const scratch = await adapt('from scratch', (net) => new Adam(net.parameters(), { lr: 2e-3 }));
const fineTuneAll = await adapt('reuse everything, fine-tune all', (net) => {
  reuse(net);
  return new Adam(net.parameters(), { lr: 2e-3 });
});
const frozen = await adapt('reuse, freeze the convolutions', (net) => {
  reuse(net);
  net.features.freeze(); // requiresGrad false: no gradient computed, no update
  return new Adam(
    net.parameters().filter((p) => p.requiresGrad),
    { lr: 2e-3 },
  );
});
const tooFrozen = await adapt('reuse, freeze all but the output layer', (net) => {
  reuse(net);
  net.features.freeze();
  net.getSubmodule('classifier.1').freeze();
  net.getSubmodule('classifier.3').freeze();
  return new Adam(
    net.parameters().filter((p) => p.requiresGrad),
    { lr: 2e-3 },
  );
});
let groupLrs: number[] = [];
const lrMult = await adapt('reuse, lr_mult 0.1 on the convolutions', (net) => {
  reuse(net);
  const optimizer = new Adam(lrMultiplierGroups(net, 2e-3, { features: 0.1 }), { lr: 2e-3 });
  groupLrs = optimizer.paramGroups.map((g) => g.lr);
  return optimizer;
});

// Reuse beats learning from scratch on 25 examples, by a wide margin, however the layers are adapted...
for (const r of [fineTuneAll, frozen, lrMult]) assert.ok(r.acc > scratch.acc + 0.05, `${r.acc} vs ${scratch.acc}`);
// ...except when too much is frozen: the fully connected layers must adapt to the new classes.
assert.ok(tooFrozen.acc < frozen.acc - 0.05);
// Frozen layers are left exactly as they were, and only the classifier counts as trainable.
assert.equal(frozen.change('features.0.weight'), 0);
assert.equal(frozen.change('features.3.bias'), 0);
assert.ok(frozen.change('classifier.1.weight') > 0);
assert.equal(frozen.net.numParameters({ trainableOnly: true }), 48_120 + 10_164 + 425);
// lr_mult: two groups, at 0.1× and 1× the base rate; the convolutions move less than the classifier.
assert.deepEqual(
  groupLrs.map((lr) => lr / 2e-3),
  [0.1, 1],
);
assert.ok(lrMult.change('features.3.weight') < lrMult.change('classifier.1.weight'));
