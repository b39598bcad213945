/** The training recipe shared by `tsgrad train` / `resume` and tune's built-in objective (src/train/recipe.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError } from '../../src/core/errors.js';
import { Subset } from '../../src/data/dataset.js';
import { AugmentedDataset } from '../../src/data/transforms.js';
import type { ImageSet } from '../../src/data/mnist.js';
import { LeNet5 } from '../../src/models/lenet.js';
import { Adam, AdamW } from '../../src/optim/adam.js';
import { SGD } from '../../src/optim/sgd.js';
import { manualSeed } from '../../src/tensor/random.js';
import { type TrainRecipe, normalizedDataset, prepareTraining } from '../../src/train/recipe.js';

const RECIPE: TrainRecipe = {
  epochs: 2,
  batchSize: 16,
  optimizer: 'adam',
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'cosine',
  warmupEpochs: 0.5,
  augment: 'none',
  valSplit: 0.25,
  clipGradNorm: null,
  seed: 3,
};

/** 40 random 28×28 images in 10 classes. */
function images(count = 40): ImageSet {
  const px = new Uint8Array(count * 28 * 28);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919 + (i >> 5) * 31) % 256;
  return {
    images: px,
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    channels: 1,
    height: 28,
    width: 28,
    classes: Array.from({ length: 10 }, (_, i) => String(i)),
  };
}

const normalization = { mean: [0.5], std: [0.25] };
const prepare = (recipe: Partial<TrainRecipe>, trainSize?: number) => {
  manualSeed(0);
  return prepareTraining(
    new LeNet5(),
    { train: images(), dataset: 'fashion-mnist', normalization },
    { ...RECIPE, ...recipe },
    trainSize !== undefined ? { trainSize } : {},
  );
};
const indices = (d: unknown): number[] => [...(d as Subset).indices];

test('the validation split is seeded, disjoint from the training part and covers the set', () => {
  const a = prepare({});
  const train = indices(a.trainSet);
  const val = indices(a.valSet);
  assert.equal(val.length, 10);
  assert.equal(train.length, 30);
  assert.deepEqual(
    [...train, ...val].sort((x, y) => x - y),
    Array.from({ length: 40 }, (_, i) => i),
  );
  assert.deepEqual(indices(prepare({}).valSet), val, 'same seed, same split');
  assert.notDeepEqual(indices(prepare({ seed: 4 }).valSet), val, 'another seed, another split');
  assert.equal(prepare({ valSplit: 0 }).valSet, undefined);
  const small = prepare({}, 8);
  assert.deepEqual(indices(small.trainSet), train.slice(0, 8));
  assert.deepEqual(indices(small.valSet), val.slice(0, 2), 'trainSize keeps the validation share');
});

test('augmentation applies to the training part only; validation images are the plain normalized ones', () => {
  const run = prepare({ augment: 'flip' });
  assert.ok((run.trainSet as Subset).source instanceof AugmentedDataset);
  const plain = normalizedDataset(images(), normalization);
  const val = run.valSet as Subset;
  assert.ok(!(val.source instanceof AugmentedDataset));
  const i = val.indices[0]!;
  assert.deepEqual([...val.get(0).x.dataSync()], [...plain.get(i).x.dataSync()]);
  assert.ok(!((prepare({ augment: 'none' }).trainSet as Subset).source instanceof AugmentedDataset));
});

test('optimizer, schedule and clipping follow the recipe; unknown names are refused', () => {
  assert.ok(prepare({ optimizer: 'adam' }).optimizer instanceof Adam);
  assert.ok(prepare({ optimizer: 'adamw' }).optimizer instanceof AdamW);
  assert.ok(prepare({ optimizer: 'sgd' }).optimizer instanceof SGD);
  assert.throws(() => prepare({ optimizer: 'rmsprop' }), ArgumentError);
  assert.throws(() => prepare({ schedule: 'linear' }), /unknown schedule 'linear'/);
  assert.equal(prepare({ schedule: 'none' }).schedule.length, 0);
  assert.equal(prepare({ schedule: 'cosine' }).schedule.length, 1);
  const t = prepare({ clipGradNorm: 0 }).trainer([]);
  assert.equal(t.options.clipGradNorm, undefined, 'clip 0 means no clipping, not zeroed gradients');
  assert.equal(prepare({ clipGradNorm: 2 }).trainer([]).options.clipGradNorm, 2);
  assert.equal(t.options.batchSize, 16);
  assert.equal(t.options.epochs, 2);
});

test('a cosine recipe warms up linearly, peaks at lr and decays towards 0 by the last batch', async () => {
  const run = prepare({ epochs: 2, batchSize: 10, warmupEpochs: 1, lr: 0.01 });
  const lrs: number[] = [];
  const trainer = run.trainer([...run.schedule, { onBatchEnd: () => void lrs.push(run.optimizer.lrs[0]!) }]);
  await trainer.fit();
  // 30 training images / 10 per batch: 3 batches an epoch, 6 in all, 3 of warm-up.
  assert.equal(lrs.length, 6);
  assert.ok(lrs[0]! < lrs[1]! && lrs[1]! < lrs[2]!, `warm-up rises: ${lrs}`);
  assert.ok(Math.abs(Math.max(...lrs) - 0.01) < 1e-9, `peak is lr: ${lrs}`);
  assert.ok(lrs[5]! < lrs[3]! && lrs[5]! < 0.002, `decays: ${lrs}`);
});
