/**
 * The `--augment` recipes: what `auto` resolves to per dataset (the README's CLI section states it),
 * the error for an unknown name, and that a recipe really transforms samples (flip mirrors them) while
 * `none` adds no augmentation at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, manualSeed } from '../../src/index.js';
import { AUGMENTATIONS, augmentedDataset, resolveAugmentation } from '../../src/data/augment-recipes.js';
import type { ImageSet } from '../../src/data/mnist.js';

test('auto: shifts and rotations for digits, none for Fashion-MNIST, crops and flips otherwise', () => {
  assert.equal(resolveAugmentation('auto', 'mnist'), 'shift-rotate');
  assert.equal(resolveAugmentation('auto', 'fashion-mnist'), 'none');
  assert.equal(resolveAugmentation('auto', 'cifar10'), 'crop-flip');
  assert.equal(resolveAugmentation('auto', './my-images'), 'crop-flip');
  for (const name of AUGMENTATIONS.filter((n) => n !== 'auto')) assert.equal(resolveAugmentation(name, 'mnist'), name);
  assert.throws(
    () => resolveAugmentation('mirror', 'mnist'),
    (e: unknown) => e instanceof ArgumentError && /unknown augmentation 'mirror'.*crop-flip-jitter/.test(e.message),
  );
});

test('flip mirrors some samples and leaves the others as they are; none gives no augmented dataset', async () => {
  // One 1×2×3 image, rows [0 1 2] and [3 4 5].
  const set: ImageSet = {
    images: Uint8Array.from([0, 1, 2, 3, 4, 5]),
    labels: Uint8Array.from([0]),
    count: 1,
    channels: 1,
    height: 2,
    width: 3,
    classes: ['a'],
  };
  const norm = { mean: [0], std: [1] };
  assert.equal(augmentedDataset('none', 'mnist', set, norm), null);
  assert.equal(augmentedDataset('auto', 'fashion-mnist', set, norm), null);
  const flipped = augmentedDataset('flip', 'mnist', set, norm);
  assert.ok(flipped);
  manualSeed(3);
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const values = [...(await flipped.get(0).x.data())].map((v) => Math.round(v * 255));
    seen.add(values.join(','));
  }
  assert.deepEqual([...seen].sort(), ['0,1,2,3,4,5', '2,1,0,5,4,3']);
});
