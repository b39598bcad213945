/**
 * The small training run that the checkpoint and resume tests share: 8×8 images of three classes,
 * a conv net, Adam and a per-batch cosine schedule over augmented data, so that every source of
 * state a resume must restore (weights, moments, schedule, augmentation and dropout generators)
 * is in play, and an epoch is 8 batches of 8.
 */
import {
  Adam,
  ArrayDataset,
  AugmentedDataset,
  Conv2d,
  CosineAnnealingLR,
  Dropout,
  Flatten,
  LRSchedulerCallback,
  Linear,
  ReLU,
  Sequential,
  Trainer,
  manualSeed,
  transforms,
  type Callback,
  type ImageSet,
} from '../../src/index.js';

/** Batch size of every fixture trainer. */
export const BATCH_SIZE = 8;

/** 8×8 one-channel images of three classes: a bright square in one of three places, plus noise. */
export function squares(n: number): ImageSet {
  const images = new Uint8Array(n * 64);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    for (let p = 0; p < 64; p++) images[i * 64 + p] = (i * 37 + p * 11) % 50;
    for (let y = 2; y < 5; y++) for (let x = 0; x < 3; x++) images[i * 64 + y * 8 + x + c * 2 + 1] = 220;
  }
  return { images, labels, count: n, channels: 1, height: 8, width: 8, classes: ['a', 'b', 'c'] };
}

/**
 * Conv(1→4, 3×3) → ReLU → Flatten → [Dropout(0.3)] → Linear(256→3), initialised from `seed`.
 * Dropout draws from the default generator on every training step: one more state a resume must restore.
 */
export function makeModel(seed: number, options: { dropout?: boolean } = {}): Sequential {
  manualSeed(seed);
  const head = options.dropout ? [new Dropout(0.3)] : [];
  return new Sequential(new Conv2d(1, 4, 3, { padding: 1 }), new ReLU(), new Flatten(), ...head, new Linear(4 * 64, 3));
}

/** Every parameter's values, flattened in order: what "the same weights" compares. */
export function weights(m: Sequential): number[] {
  return m.parameters().flatMap((p) => Array.from(p.dataSync()));
}

export interface FixtureTrainerOptions {
  epochs: number;
  /** Training samples (default 60: 8 batches, the last of 4). */
  samples?: number;
  /** Also validate on 12 images (val_loss / val_accuracy in the logs). */
  val?: boolean;
  /** Callbacks ahead of the LR schedule in the list (a checkpoint here must still save the schedule's step). */
  before?: Callback[];
  /** Callbacks after the LR schedule. */
  after?: Callback[];
}

/** A trainer over augmented `squares` with Adam (lr 0.01) and a per-batch cosine schedule with 3 warm-up steps. */
export function makeTrainer(model: Sequential, options: FixtureTrainerOptions): Trainer {
  const { epochs, samples = 60, before = [], after = [] } = options;
  const train = new AugmentedDataset(
    squares(samples),
    transforms.compose([transforms.randomShift(1), transforms.randomHorizontalFlip()]),
    { mean: 0.2, std: 0.3 },
  );
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const schedule = new LRSchedulerCallback(
    new CosineAnnealingLR(optimizer, { totalSteps: epochs * Math.ceil(samples / BATCH_SIZE), warmupSteps: 3 }),
    'batch',
  );
  const valSet = squares(12);
  const val = options.val
    ? new ArrayDataset(valSet.images, valSet.labels, [1, 8, 8], { scale: 1 / 255, mean: 0.2, std: 0.3 })
    : undefined;
  return new Trainer(model, {
    train,
    ...(val ? { val } : {}),
    epochs,
    batchSize: BATCH_SIZE,
    optimizer,
    callbacks: [...before, schedule, ...after],
  });
}
