/**
 * The training recipe of `tsgrad train` as one builder: optimizer, seeded validation
 * split, augmentation, learning-rate schedule and Trainer options from a plain
 * settings object. `tsgrad train` / `resume` and the built-in objective of `tsgrad tune`
 * both build their runs here, so a tuned trial and the `tsgrad train` command line that
 * best.json prints train exactly the same way (same seeds, split, schedule and
 * augmentation).
 */
import { type Dataset, ArrayDataset, Subset } from '../data/dataset.js';
import { augmentedDataset } from '../data/augment-recipes.js';
import type { ImageSet } from '../data/mnist.js';
import { ArgumentError } from '../core/errors.js';
import type { Module } from '../nn/module.js';
import { penalize } from '../nn/penalty.js';
import { Adam, AdamW } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { CosineAnnealingLR, StepLR } from '../optim/schedules.js';
import { SGD } from '../optim/sgd.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { LRSchedulerCallback, ReduceLROnPlateau } from './callbacks.js';
import { type Callback, Trainer } from './fit.js';

/** The settings of one training run (the `tsgrad train` options that shape the training). */
export interface TrainRecipe {
  epochs: number;
  batchSize: number;
  /** adam, adamw or sgd. */
  optimizer: string;
  /** Peak learning rate (with a schedule). */
  lr: number;
  /** SGD momentum (ignored by Adam / AdamW). */
  momentum: number;
  /** L2 weight decay, decoupled for AdamW. */
  weightDecay: number;
  /** Per-weight penalties added to the loss (reg_loss); 0 or absent: none. */
  l1?: number;
  l2?: number;
  /** none, step (÷10 every third of the run), cosine (per batch, after a linear warm-up) or plateau. */
  schedule: string;
  /** Epochs of linear warm-up before the cosine decay. */
  warmupEpochs: number;
  /** An augmentation recipe name (see AUGMENTATIONS); `auto` picks one for the dataset. */
  augment: string;
  /** Fraction of the training images held out for validation (seeded by `seed + 2`). */
  valSplit: number;
  /** Global gradient-norm clip, or null / 0 for none. */
  clipGradNorm: number | null;
  /** Seeds the split (seed + 2) and the batch order (seed + 3); the caller seeds the initialization. */
  seed: number;
}

/** The images a recipe trains on. */
export interface RecipeData {
  train: ImageSet;
  /** Dataset name, for `augment: 'auto'`. */
  dataset: string;
  /** Per-channel normalization applied after scaling pixels to [0, 1]. */
  normalization: { mean: number[]; std: number[] };
}

export interface RecipeOptions {
  /** Keep only this many training images after the split, and proportionally fewer validation images (quick studies). */
  trainSize?: number | null;
}

/** What `prepareTraining` built; `trainer(callbacks)` makes the Trainer with the caller's callback list. */
export interface PreparedTraining {
  optimizer: Optimizer<{ lr: number }>;
  trainSet: Dataset;
  /** The held-out split, or undefined when `valSplit` leaves no image. */
  valSet: Dataset | undefined;
  /** The learning-rate schedule as callbacks; put them in the list given to `trainer`. */
  schedule: Callback[];
  /** The Trainer; `net` replaces the model that runs the steps (a DataParallel wrapper of it, say). */
  trainer(callbacks: Callback[], net?: Module & { forward(x: Tensor): Tensor }): Trainer;
}

/** The images of a set, scaled to [0, 1] and normalized per channel, without augmentation. */
export function normalizedDataset(set: ImageSet, normalization: { mean: number[]; std: number[] }): ArrayDataset {
  return new ArrayDataset(set.images, set.labels, [set.channels, set.height, set.width], {
    scale: 1 / 255,
    mean: normalization.mean,
    std: normalization.std,
  });
}

/** The recipe's optimizer over `params`. */
export function makeOptimizer(recipe: TrainRecipe, params: Tensor[]): Optimizer<{ lr: number }> {
  const { lr, weightDecay } = recipe;
  switch (recipe.optimizer) {
    case 'sgd':
      return new SGD(params, { lr, momentum: recipe.momentum, weightDecay });
    case 'adamw':
      return new AdamW(params, { lr, weightDecay });
    case 'adam':
      return new Adam(params, { lr, weightDecay });
  }
  throw new ArgumentError(`unknown optimizer '${recipe.optimizer}': use adam, adamw or sgd`);
}

/** The learning-rate schedule of the recipe as callbacks, for `batchesPerEpoch` steps per epoch. */
export function scheduleCallbacks(
  recipe: TrainRecipe,
  optimizer: Optimizer<{ lr: number }>,
  batchesPerEpoch: number,
): Callback[] {
  const totalSteps = recipe.epochs * batchesPerEpoch;
  switch (recipe.schedule) {
    case 'cosine':
      return [
        new LRSchedulerCallback(
          new CosineAnnealingLR(optimizer, {
            totalSteps,
            warmupSteps: Math.min(Math.round((recipe.warmupEpochs ?? 0) * batchesPerEpoch), totalSteps - 1),
          }),
          'batch',
        ),
      ];
    case 'step':
      return [
        new LRSchedulerCallback(
          new StepLR(optimizer, { stepSize: Math.max(1, Math.round(recipe.epochs / 3)), gamma: 0.1 }),
        ),
      ];
    case 'plateau':
      return [new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.5, patience: 1 })];
    case 'none':
      return [];
  }
  throw new ArgumentError(`unknown schedule '${recipe.schedule}': use none, step, cosine or plateau`);
}

/**
 * Builds everything a run of `recipe` needs for `model` (already created and seeded by the
 * caller): penalties, optimizer, the seeded train / validation split with augmentation on
 * the training part only, the schedule, and a Trainer factory with the recipe's batch
 * size, epochs, batch-order generator and gradient clipping.
 * @example
 * const run = prepareTraining(model, { train: images, dataset: 'mnist', normalization }, recipe);
 * const trainer = run.trainer([...run.schedule, new ProgressBar()]);
 * await trainer.fit();
 */
export function prepareTraining(
  model: Module & { forward(x: Tensor): Tensor },
  data: RecipeData,
  recipe: TrainRecipe,
  opts: RecipeOptions = {},
): PreparedTraining {
  if (recipe.l1 || recipe.l2) penalize(model, { l1: recipe.l1 ?? 0, l2: recipe.l2 ?? 0 });
  const optimizer = makeOptimizer(recipe, model.parameters());
  const plain = normalizedDataset(data.train, data.normalization);
  const augmented = augmentedDataset(recipe.augment, data.dataset, data.train, data.normalization);
  const order = Array.from({ length: data.train.count }, (_, i) => i);
  new Generator(recipe.seed + 2).shuffle(order);
  const nVal = Math.round(recipe.valSplit * data.train.count);
  let trainIdx = order.slice(nVal);
  let valIdx = order.slice(0, nVal);
  const trainSize = opts.trainSize ?? null;
  if (trainSize !== null) {
    trainIdx = trainIdx.slice(0, trainSize);
    valIdx = valIdx.slice(0, Math.max(1, Math.round(trainSize * recipe.valSplit)));
  }
  const trainSet: Dataset = new Subset(augmented ?? plain, trainIdx);
  const valSet = valIdx.length > 0 ? new Subset(plain, valIdx) : undefined;
  const schedule = scheduleCallbacks(recipe, optimizer, Math.ceil(trainSet.length / recipe.batchSize));
  const clip = recipe.clipGradNorm;
  return {
    optimizer,
    trainSet,
    valSet,
    schedule,
    trainer: (callbacks, net = model) =>
      new Trainer(net, {
        train: trainSet,
        ...(valSet ? { val: valSet } : {}),
        epochs: recipe.epochs,
        batchSize: recipe.batchSize,
        optimizer,
        callbacks,
        generator: new Generator(recipe.seed + 3),
        ...(clip !== null && clip > 0 ? { clipGradNorm: clip } : {}),
      }),
  };
}
