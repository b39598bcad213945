/**
 * The playground's training session, free of DOM and worker code so that the page's Web
 * Worker, the Node tests and the benchmark run exactly the same loop: a model, an
 * optimizer, a seeded batch order, one step at a time. Every tensor read is asynchronous
 * (`await t.data()`), so it runs on the webgpu backend as well as wasm and cpu.
 */
import * as T from '../src/browser.js';
import { batchOf } from '../src/data/dataset.js';
import type { ImageSet } from '../src/data/mnist.js';

/** Grayscale images, one byte per pixel, with labels. */
export interface ImageBytes {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

export interface SessionConfig {
  model: 'lenet5' | 'small-cnn';
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  augment: 'none' | 'shift' | 'shift-rotate';
  seed: number;
  /** Stop after this many steps (default: all epochs). */
  maxSteps?: number;
}

export const DEFAULT_CONFIG: SessionConfig = {
  model: 'lenet5',
  epochs: 3,
  batchSize: 64,
  optimizer: 'adam',
  lr: 0.002,
  augment: 'none',
  seed: 0,
};

type Net = T.Module & { forward(x: T.Tensor): T.Tensor };

/** A two-block conv net lighter than LeNet-5's dense layers: 3×3 convs, 16 and 32 channels. */
export function smallCnn(numClasses: number): Net {
  return T.Sequential.named([
    ['conv1', new T.Conv2d(1, 16, 3, { padding: 1 })],
    ['relu1', new T.ReLU()],
    ['pool1', new T.MaxPool2d(2)],
    ['conv2', new T.Conv2d(16, 32, 3, { padding: 1 })],
    ['relu2', new T.ReLU()],
    ['pool2', new T.MaxPool2d(2)],
    ['flatten', new T.Flatten()],
    ['fc', new T.Linear(32 * 7 * 7, numClasses)],
  ]) as Net;
}

export function buildModel(name: SessionConfig['model'], numClasses: number): Net {
  if (name === 'lenet5') return new T.LeNet5({ numClasses }) as Net;
  if (name === 'small-cnn') return smallCnn(numClasses);
  throw new T.ArgumentError(`unknown model '${String(name)}' (lenet5 or small-cnn)`);
}

/** Mean and standard deviation of the pixels (scaled to 0..1), as tsgrad train computes them. */
export function pixelStats(set: ImageBytes): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  const n = set.count * set.height * set.width;
  for (let i = 0; i < n; i++) {
    const v = set.images[i]! / 255;
    s += v;
    s2 += v * v;
  }
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(s2 / n - mean * mean, 1e-12)) };
}

export interface Evaluation {
  accuracy: number;
  loss: number;
  confusion: number[][];
  /** Test images with the lowest probability for their true class, worst first. */
  worst: { index: number; label: number; predicted: number; probability: number }[];
}

export class TrainingSession {
  readonly model: Net;
  readonly optimizer: T.Optimizer<{ lr: number }>;
  readonly mean: number;
  readonly std: number;
  step = 0;
  epoch = 0;
  batchInEpoch = 0;
  private readonly trainSet: T.Dataset;
  private readonly testSet: T.Dataset;
  private readonly order: number[];
  private readonly orderGenerator: T.Generator;
  private epochLoss = 0;
  private epochSeen = 0;

  constructor(
    readonly config: SessionConfig,
    readonly train: ImageBytes,
    readonly test: ImageBytes,
    readonly numClasses: number,
  ) {
    T.manualSeed(config.seed);
    this.model = buildModel(config.model, numClasses);
    this.optimizer =
      config.optimizer === 'sgd'
        ? new T.SGD(this.model.parameters(), { lr: config.lr, momentum: 0.9 })
        : new T.Adam(this.model.parameters(), { lr: config.lr });
    ({ mean: this.mean, std: this.std } = pixelStats(train));
    const norm = { mean: this.mean, std: this.std };
    const shape = [1, train.height, train.width];
    const asSet = (b: ImageBytes): ImageSet => ({ ...b, channels: 1, classes: [] });
    if (config.augment === 'none') {
      this.trainSet = new T.ArrayDataset(train.images, train.labels, shape, { scale: 1 / 255, ...norm });
    } else {
      const steps = [T.transforms.randomShift(2)];
      if (config.augment === 'shift-rotate') steps.push(T.transforms.randomRotation(10));
      this.trainSet = new T.AugmentedDataset(asSet(train), T.transforms.compose(steps), {
        ...norm,
        generator: new T.Generator(config.seed + 2),
      });
    }
    this.testSet = new T.ArrayDataset(test.images, test.labels, shape, { scale: 1 / 255, ...norm });
    this.order = Array.from({ length: train.count }, (_, i) => i);
    this.orderGenerator = new T.Generator(config.seed + 1);
    this.orderGenerator.shuffle(this.order);
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.train.count / this.config.batchSize);
  }

  get totalSteps(): number {
    const all = this.batchesPerEpoch * this.config.epochs;
    return this.config.maxSteps ? Math.min(all, this.config.maxSteps) : all;
  }

  get done(): boolean {
    return this.step >= this.totalSteps;
  }

  /** One optimizer step; returns its loss and, at an epoch's end, the epoch's mean loss. */
  async trainStep(): Promise<{ loss: number; epochLoss?: number }> {
    const bs = this.config.batchSize;
    const idx = this.order.slice(this.batchInEpoch * bs, (this.batchInEpoch + 1) * bs);
    const batch = batchOf(this.trainSet, idx);
    this.model.train();
    const out = this.model.forward(batch.x);
    const loss = T.crossEntropy(out, batch.y);
    this.optimizer.zeroGrad();
    loss.backward();
    this.optimizer.step();
    const value = await loss.item();
    this.step++;
    this.batchInEpoch++;
    this.epochLoss += value * idx.length;
    this.epochSeen += idx.length;
    if (this.batchInEpoch < this.batchesPerEpoch) return { loss: value };
    const epochLoss = this.epochLoss / this.epochSeen;
    this.epoch++;
    this.batchInEpoch = 0;
    this.epochLoss = 0;
    this.epochSeen = 0;
    this.orderGenerator.shuffle(this.order);
    return { loss: value, epochLoss };
  }

  /** Accuracy, loss, confusion matrix and the worst-classified images of the test set. */
  async evaluate(worstCount = 8): Promise<Evaluation> {
    const n = this.test.count;
    const c = this.numClasses;
    const confusion = Array.from({ length: c }, () => new Array<number>(c).fill(0));
    const trueProb = new Float32Array(n);
    const predictedOf = new Int32Array(n);
    let lossSum = 0;
    let correct = 0;
    this.model.eval();
    for (let start = 0; start < n; start += 256) {
      const idx = Array.from({ length: Math.min(256, n - start) }, (_, i) => start + i);
      const batch = batchOf(this.testSet, idx);
      const probs = await T.noGrad(() => T.softmax(this.model.forward(batch.x), 1)).data();
      idx.forEach((sample, r) => {
        const label = this.test.labels[sample]!;
        let best = 0;
        for (let k = 1; k < c; k++) if (probs[r * c + k]! > probs[r * c + best]!) best = k;
        confusion[label]![best]!++;
        if (best === label) correct++;
        const p = probs[r * c + label]!;
        trueProb[sample] = p;
        predictedOf[sample] = best;
        lossSum -= Math.log(Math.max(p, 1e-12));
      });
    }
    const worst = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => trueProb[a]! - trueProb[b]!)
      .slice(0, worstCount)
      .map((index) => ({
        index,
        label: this.test.labels[index]!,
        predicted: predictedOf[index]!,
        probability: trueProb[index]!,
      }));
    return { accuracy: correct / n, loss: lossSum / n, confusion, worst };
  }

  /** A [1, 1, H, W] input from 0..1 pixel values, normalized as the training data. */
  input(pixels: ArrayLike<number>): T.Tensor {
    const x = new Float32Array(this.train.height * this.train.width);
    for (let i = 0; i < x.length; i++) x[i] = (pixels[i]! - this.mean) / this.std;
    return T.fromArray(x, [1, 1, this.train.height, this.train.width]);
  }

  /** A test image as a [1, 1, H, W] input. */
  testInput(index: number): T.Tensor {
    const px = this.test.height * this.test.width;
    const bytes = this.test.images.subarray(index * px, (index + 1) * px);
    return this.input(Array.from(bytes, (b) => b / 255));
  }

  /** Class probabilities for one image given as 0..1 pixel values. */
  async predict(pixels: ArrayLike<number>): Promise<Float32Array> {
    this.model.eval();
    const probs = await T.noGrad(() => T.softmax(this.model.forward(this.input(pixels)), 1)).data();
    return Float32Array.from(probs);
  }
}
