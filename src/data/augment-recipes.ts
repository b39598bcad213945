import { ArgumentError } from '../core/errors.js';
import type { ImageSet } from './mnist.js';
import {
  AugmentedDataset,
  type Transform,
  colorJitter,
  compose,
  randomCrop,
  randomHorizontalFlip,
  randomRotation,
  randomShift,
} from './transforms.js';

/**
 * The augmentation recipes `tsgrad train --augment` offers. `auto` picks what
 * suits the dataset: small shifts and rotations for digits (a flipped digit is
 * another digit); none for Fashion-MNIST (the README's tuning study searched
 * none / flip / shift and its best trial used none; `--augment flip` asks for
 * flips); padded crops and flips for CIFAR-10 and image folders.
 */
export const AUGMENTATIONS = [
  'auto',
  'none',
  'shift',
  'shift-rotate',
  'flip',
  'crop-flip',
  'crop-flip-jitter',
] as const;
export type AugmentationName = (typeof AUGMENTATIONS)[number];

/** Resolves `auto` for a dataset name; other names are returned as they are. */
export function resolveAugmentation(name: string, dataset: string): AugmentationName {
  if (!(AUGMENTATIONS as readonly string[]).includes(name)) {
    throw new ArgumentError(`unknown augmentation '${name}': use one of ${AUGMENTATIONS.join(', ')}`);
  }
  if (name !== 'auto') return name as AugmentationName;
  if (dataset === 'mnist') return 'shift-rotate';
  if (dataset === 'fashion-mnist') return 'none';
  return 'crop-flip';
}

function recipe(name: AugmentationName, set: ImageSet): Transform | null {
  const pad = Math.max(1, Math.round(set.height / 8));
  switch (name) {
    case 'none':
    case 'auto':
      return null;
    case 'shift':
      return randomShift(2);
    case 'shift-rotate':
      return compose([randomRotation(10), randomShift(2)]);
    case 'flip':
      return randomHorizontalFlip();
    case 'crop-flip':
      return compose([randomCrop([set.height, set.width], { padding: pad }), randomHorizontalFlip()]);
    case 'crop-flip-jitter':
      return compose([
        randomCrop([set.height, set.width], { padding: pad }),
        randomHorizontalFlip(),
        colorJitter({ brightness: 0.2, contrast: 0.2, saturation: set.channels === 3 ? 0.2 : 0, hue: 0 }),
      ]);
  }
}

/**
 * The training set with the named augmentation applied per sample, or null
 * when the recipe is `none`. Draws come from the default generator, whose
 * state checkpoints save, so a resumed run augments exactly as the
 * uninterrupted one would.
 */
export function augmentedDataset(
  name: string,
  dataset: string,
  set: ImageSet,
  normalization: { mean: number[]; std: number[] },
): AugmentedDataset | null {
  const transform = recipe(resolveAugmentation(name, dataset), set);
  return transform ? new AugmentedDataset(set, transform, normalization) : null;
}
