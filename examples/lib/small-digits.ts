/**
 * The small problem that examples 06 (regularization) and 07 (optimizers) share: 200 of the bundled MNIST
 * digits to train on, 300 others to validate on, and a fully connected network of two hidden layers of 128
 * units (118k parameters), which can memorize 200 digits and so overfits them.
 */
import {
  ArrayDataset,
  Dropout,
  Generator,
  Linear,
  type LossFn,
  type Logs,
  type Module,
  type Optimizer,
  ReLU,
  Sequential,
  Trainer,
  type Callback,
  crossEntropy,
  evaluate,
  loadMnistPackage,
  manualSeed,
} from '../../src/index.js';

export const TRAIN_SIZE = 200;
export const VAL_SIZE = 300;
const PIXELS = 28 * 28;

const { train, test } = loadMnistPackage();
const normalization = { scale: 1 / 255, mean: 0.13, std: 0.31 };
export const trainSet = new ArrayDataset(
  train.images.subarray(0, TRAIN_SIZE * PIXELS),
  train.labels.subarray(0, TRAIN_SIZE),
  [PIXELS],
  normalization,
);
export const valSet = new ArrayDataset(
  test.images.subarray(0, VAL_SIZE * PIXELS),
  test.labels.subarray(0, VAL_SIZE),
  [PIXELS],
  normalization,
);

/** 784 → 128 → 128 → 10 with ReLU; dropout after each hidden layer when `dropout` > 0. Same weights for a seed. */
export function makeNet(dropout = 0, seed = 1): Sequential {
  manualSeed(seed);
  const drop = (): Module[] => (dropout > 0 ? [new Dropout(dropout)] : []);
  return new Sequential(
    new Linear(PIXELS, 128),
    new ReLU(),
    ...drop(),
    new Linear(128, 128),
    new ReLU(),
    ...drop(),
    new Linear(128, 10),
  );
}

/** The weight matrices (not the biases): what L1 and L2 penalties usually apply to. */
export function weightMatrices(net: Sequential) {
  return net.parameters().filter((p) => p.rank === 2);
}

export interface Outcome {
  history: Logs[];
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
}

/** Trains `net` for up to `epochs` epochs in batches of 50 (the same batch order for every run) and evaluates it. */
export async function trainNet(
  net: Sequential,
  optimizer: Optimizer<{ lr: number }>,
  opts: { epochs: number; loss?: LossFn; callbacks?: Callback[] },
): Promise<Outcome> {
  const trainer = new Trainer(net, {
    train: trainSet,
    val: valSet,
    epochs: opts.epochs,
    batchSize: 50,
    optimizer,
    ...(opts.loss ? { loss: opts.loss } : {}),
    callbacks: opts.callbacks ?? [],
    generator: new Generator(3),
  });
  const history = await trainer.fit();
  const t = evaluate(net, trainSet, crossEntropy);
  const v = evaluate(net, valSet, crossEntropy);
  return { history, trainLoss: t.loss, trainAccuracy: t.accuracy, valLoss: v.loss, valAccuracy: v.accuracy };
}

export const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
