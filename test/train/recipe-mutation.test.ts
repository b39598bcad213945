// The recipe builder's choices one by one (src/train/recipe.ts): each optimizer with the recipe's options,
// each schedule with its lengths and factors, the penalties, the split sizes, the pixel normalization and the
// Trainer's options, on a tiny linear model and 2×2 images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError } from '../../src/core/errors.js';
import type { Subset } from '../../src/data/dataset.js';
import type { ImageSet } from '../../src/data/mnist.js';
import { Flatten } from '../../src/nn/layers/misc.js';
import { Linear } from '../../src/nn/layers/linear.js';
import { Sequential } from '../../src/nn/module.js';
import { Adam, AdamW } from '../../src/optim/adam.js';
import { CosineAnnealingLR, StepLR } from '../../src/optim/schedules.js';
import { SGD } from '../../src/optim/sgd.js';
import { tensor } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/random.js';
import { LRSchedulerCallback, ReduceLROnPlateau } from '../../src/train/callbacks.js';
import {
  type TrainRecipe,
  makeOptimizer,
  normalizedDataset,
  prepareTraining,
  scheduleCallbacks,
} from '../../src/train/recipe.js';
import { throwsExactly } from '../helpers/nn-fixtures.js';

const RECIPE: TrainRecipe = {
  epochs: 3,
  batchSize: 4,
  optimizer: 'sgd',
  lr: 0.1,
  momentum: 0.5,
  weightDecay: 0.25,
  schedule: 'none',
  warmupEpochs: 0,
  augment: 'none',
  valSplit: 0.25,
  clipGradNorm: null,
  seed: 1,
};

/** `count` 2×2 one-channel images with pixel values 0, 51, 102, 153 shifted per image. */
function images(count: number): ImageSet {
  const px = new Uint8Array(count * 4);
  for (let i = 0; i < px.length; i++) px[i] = ((i % 4) * 51 + Math.floor(i / 4)) % 256;
  return {
    images: px,
    labels: Uint8Array.from({ length: count }, (_, i) => i % 2),
    count,
    channels: 1,
    height: 2,
    width: 2,
    classes: ['a', 'b'],
  };
}

const model = () => new Sequential(new Flatten(), new Linear(4, 2));
const normalization = { mean: [0.5], std: [0.25] };
const prepare = (recipe: Partial<TrainRecipe>, count = 20, trainSize?: number) => {
  const m = model();
  const run = prepareTraining(
    m,
    { train: images(count), dataset: 'mnist', normalization },
    { ...RECIPE, ...recipe },
    trainSize === undefined ? {} : { trainSize },
  );
  return { m, run };
};

const params = () => [tensor([1], { requiresGrad: true })];

test('makeOptimizer: SGD with momentum and weight decay, Adam and AdamW with weight decay; others refused', () => {
  const sgd = makeOptimizer(RECIPE, params());
  assert.ok(sgd instanceof SGD);
  assert.deepEqual(
    [sgd.paramGroups[0]!.lr, (sgd as SGD).paramGroups[0]!.momentum, (sgd as SGD).paramGroups[0]!.weightDecay],
    [0.1, 0.5, 0.25],
  );
  for (const [name, cls] of [
    ['adam', Adam],
    ['adamw', AdamW],
  ] as const) {
    const opt = makeOptimizer({ ...RECIPE, optimizer: name, lr: 0.003, weightDecay: 0.125 }, params());
    assert.ok(opt instanceof cls, name);
    assert.equal(opt.constructor, cls, name);
    assert.equal(opt.paramGroups[0]!.lr, 0.003);
    assert.equal((opt as Adam).paramGroups[0]!.weightDecay, 0.125);
  }
  throwsExactly(
    () => makeOptimizer({ ...RECIPE, optimizer: 'rmsprop' }, params()),
    ArgumentError,
    "unknown optimizer 'rmsprop': use adam, adamw or sgd",
  );
});

/** The lr after constructing the schedule and after each of `n` steps. */
function lrTrace(recipe: TrainRecipe, batchesPerEpoch: number, n: number): { every: string; lrs: number[] } {
  const opt = makeOptimizer({ ...recipe, lr: 1 }, params());
  const [cb] = scheduleCallbacks(recipe, opt, batchesPerEpoch);
  assert.ok(cb instanceof LRSchedulerCallback);
  const lrs = [opt.lrs[0]!];
  for (let i = 0; i < n; i++) {
    cb.scheduler.step();
    lrs.push(opt.lrs[0]!);
  }
  return { every: cb.every, lrs };
}

function close(a: number[], b: number[], label: string): void {
  assert.equal(a.length, b.length, label);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-12, `${label} [${i}]: ${v} vs ${b[i]}`));
}

test('schedule step: ÷10 every third of the run (at least every epoch), stepped per epoch', () => {
  const step = (epochs: number, n: number) => lrTrace({ ...RECIPE, schedule: 'step', epochs }, 5, n);
  const nine = step(9, 7);
  assert.equal(nine.every, 'epoch');
  close(nine.lrs, [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01], '9 epochs: every 3');
  close(step(5, 4).lrs, [1, 1, 0.1, 0.1, 0.01], '5 epochs: round(5/3) = 2');
  close(step(1, 2).lrs, [1, 0.1, 0.01], '1 epoch: at least 1');
  const opt = makeOptimizer(RECIPE, params());
  const [cb] = scheduleCallbacks({ ...RECIPE, schedule: 'step' }, opt, 5) as [LRSchedulerCallback];
  assert.ok(cb.scheduler instanceof StepLR);
});

test('schedule cosine: per batch over epochs × batches, warm-up of round(warmupEpochs × batches), below the total', () => {
  const c = (t: number) => (1 + Math.cos(Math.PI * t)) / 2;
  // 2 epochs of 3 batches, warm-up 0.5 epoch = round(1.5) = 2 batches; decay over the 4 others.
  const warm = lrTrace({ ...RECIPE, schedule: 'cosine', epochs: 2, warmupEpochs: 0.5 }, 3, 6);
  assert.equal(warm.every, 'batch');
  close(warm.lrs, [1 / 3, 2 / 3, 1, c(0.25), c(0.5), c(0.75), 0], 'warm-up 2 of 6');
  // A warm-up longer than the run is cut to totalSteps − 1.
  close(
    lrTrace({ ...RECIPE, schedule: 'cosine', epochs: 1, warmupEpochs: 10 }, 3, 3).lrs,
    [1 / 3, 2 / 3, 1, 0],
    'warm-up cut to 2 of 3',
  );
  // No warm-up given (an older recipe): none.
  const old = { ...RECIPE, schedule: 'cosine', epochs: 1 } as Partial<TrainRecipe>;
  delete old.warmupEpochs;
  close(lrTrace(old as TrainRecipe, 2, 2).lrs, [1, 0.5, 0], 'no warm-up');
  const opt = makeOptimizer(RECIPE, params());
  assert.ok(
    (scheduleCallbacks({ ...RECIPE, schedule: 'cosine' }, opt, 5)[0] as LRSchedulerCallback).scheduler instanceof
      CosineAnnealingLR,
  );
});

test('schedule plateau: halve on val_loss after more than one bad epoch; none: no callback; others refused', () => {
  const opt = makeOptimizer(RECIPE, params());
  const [cb, ...rest] = scheduleCallbacks({ ...RECIPE, schedule: 'plateau' }, opt, 5);
  assert.equal(rest.length, 0);
  assert.ok(cb instanceof ReduceLROnPlateau);
  assert.deepEqual(cb.options, { monitor: 'val_loss', factor: 0.5, patience: 1 });
  assert.deepEqual(scheduleCallbacks({ ...RECIPE, schedule: 'none' }, opt, 5), []);
  throwsExactly(
    () => scheduleCallbacks({ ...RECIPE, schedule: 'linear' }, opt, 5),
    ArgumentError,
    "unknown schedule 'linear': use none, step, cosine or plateau",
  );
});

test('prepareTraining: penalties on the weights from l1 / l2, none without them', () => {
  const linear = (m: Sequential) => m.layers[1] as Linear;
  assert.equal(linear(prepare({}).m).weight.penalty, null);
  assert.equal(linear(prepare({ l1: 0, l2: 0 }).m).weight.penalty, null);
  assert.deepEqual(linear(prepare({ l1: 0.01 }).m).weight.penalty, { l1: 0.01, l2: 0 });
  assert.deepEqual(linear(prepare({ l2: 0.02 }).m).weight.penalty, { l1: 0, l2: 0.02 });
  assert.deepEqual(linear(prepare({ l1: 0.5, l2: 0.25 }).m).weight.penalty, { l1: 0.5, l2: 0.25 });
  assert.equal(linear(prepare({ l2: 0.02 }).m).bias!.penalty, null, 'weights only, as penalize does');
  // The optimizer is over the model's parameters.
  const { m, run } = prepare({});
  assert.deepEqual(run.optimizer.paramGroups[0]!.params, m.parameters());
});

test('prepareTraining: split sizes, trainSize, pixels scaled to [0, 1] then normalized, the Trainer’s options', () => {
  const { run } = prepare({ valSplit: 0.25 }, 20);
  assert.equal(run.trainSet.length, 15);
  assert.equal(run.valSet!.length, 5);
  // The split is the image order shuffled by Generator(seed + 2): its first images are the validation part.
  const order = Array.from({ length: 20 }, (_, i) => i);
  new Generator(RECIPE.seed + 2).shuffle(order);
  assert.deepEqual([...(run.valSet as Subset).indices], order.slice(0, 5));
  assert.deepEqual([...(run.trainSet as Subset).indices], order.slice(5));
  // round(0.3 × 10) = 3 validation images.
  assert.equal(prepare({ valSplit: 0.3 }, 10).run.valSet!.length, 3);
  // trainSize 6 keeps 6 training images and round(6 × 0.25) = 2 (at least 1) validation images.
  const small = prepare({ valSplit: 0.25 }, 20, 6).run;
  assert.equal(small.trainSet.length, 6);
  assert.equal(small.valSet!.length, 2);
  assert.equal(prepare({ valSplit: 0.05 }, 40, 6).run.valSet!.length, 1, 'round(0.3) = 0, but at least 1');
  // Validation images: (pixel / 255 − mean) / std.
  const val = run.valSet as Subset;
  const i = val.indices[0]!;
  const expected = Array.from(images(20).images.subarray(i * 4, i * 4 + 4), (v) => (v / 255 - 0.5) / 0.25);
  const got = Array.from(val.get(0).x.dataSync());
  got.forEach((v, k) => assert.ok(Math.abs(v - expected[k]!) < 1e-6, `${v} vs ${expected[k]}`));
  const plain = normalizedDataset(images(20), { mean: [0], std: [1] });
  assert.deepEqual([...plain.get(1).x.shape], [1, 2, 2]);
  assert.ok(Math.abs(plain.get(1).x.dataSync()[1]! - 52 / 255) < 1e-6);
  assert.equal(plain.get(3).y.dataSync()[0], 1);

  // The Trainer: the recipe's epochs and batch size, the val set, the clip only when positive, its own generator.
  const t = run.trainer([]);
  assert.equal(t.options.epochs, 3);
  assert.equal(t.options.batchSize, 4);
  assert.equal(t.options.val, run.valSet);
  assert.equal(t.options.train, run.trainSet);
  assert.equal(t.options.optimizer, run.optimizer);
  assert.equal(t.options.clipGradNorm, undefined);
  assert.equal(prepare({ clipGradNorm: 1.5 }).run.trainer([]).options.clipGradNorm, 1.5);
  assert.equal(prepare({ clipGradNorm: -1 }).run.trainer([]).options.clipGradNorm, undefined);
  assert.ok(!('val' in prepare({ valSplit: 0 }).run.trainer([]).options), 'no val option without a split');
  assert.equal(prepare({ valSplit: 0 }).run.valSet, undefined);
  // Batch order seeded by seed + 3: two trainers of one recipe draw the same, another seed another.
  const draw = (seed: number) => prepare({ seed }).run.trainer([]).generator.uniform();
  assert.equal(draw(1), draw(1));
  assert.notEqual(draw(1), draw(2));
  assert.equal(draw(1), new Generator(4).uniform());
  // Another module can run the steps (a wrapper); by default the model itself.
  const other = model();
  assert.equal(run.trainer([], other).model, other);
  assert.notEqual(run.trainer([]).model, other);
});
