/**
 * Tuning on a real task and ensembles: LeNet-5 on a Fashion-MNIST subset, 16 trials per
 * strategy (random, Bayesian without pruning, Bayesian with the median pruner), 2 epochs
 * per trial; best validation accuracy and wall time of each study. Then the Bayesian
 * study's top-5 ensemble (ensembleTopK) against its best single trial on the 10,000 test
 * images. Saves bench/results/<date>-tune-lenet.json.
 *   node dist/bench/tune-lenet.js [--train-size 1500] [--trials 16] [--name suffix]
 * Needs dataset-fashion-mnist.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArrayDataset } from '../src/data/dataset.js';
import { loadFashionMnist } from '../src/data/mnist.js';
import { writeJsonAtomic } from '../src/io/atomic.js';
import { createModel } from '../src/models/index.js';
import { crossEntropy } from '../src/nn/functional.js';
import { ensembleTopK } from '../src/tune/ensemble.js';
import { Study } from '../src/tune/study.js';
import { evaluate } from '../src/train/metrics.js';
import { channelStats } from '../src/cli/data.js';
import { option } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '../src/cli/main.js');
const SPACE = join(here, '../../examples/tune/fashion-space.json');
const trainSize = Number(option('train-size') ?? 1500);
const trials = Number(option('trials') ?? 16);
const root = mkdtempSync(join(tmpdir(), 'tsgrad-bench-tune-'));

const runs: Record<string, unknown>[] = [];
const dirs: Record<string, string> = {};
for (const [label, strategy, pruner] of [
  ['random', 'random', 'none'],
  ['bayesian', 'bayesian', 'none'],
  ['bayesian+median-pruning', 'bayesian', 'median'],
] as const) {
  const out = join(root, label);
  dirs[label] = out;
  const start = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'tune',
      '--space',
      SPACE,
      '--strategy',
      strategy,
      '--pruner',
      pruner,
      '--trials',
      String(trials),
      '--epochs',
      '2',
      '--dataset',
      'fashion-mnist',
      '--train-size',
      String(trainSize),
      '--out',
      out,
      '--json',
    ],
    { encoding: 'utf8' },
  );
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`${label}: tsgrad tune failed: ${r.stderr}`);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    best: { value: number; params: unknown };
    pruned: number;
    complete: number;
  };
  const journal = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as {
    trials: { intermediate: unknown[] }[];
  };
  const epochs = journal.trials.reduce((a, t) => a + t.intermediate.length, 0);
  runs.push({
    study: label,
    bestValAccuracy: s.best.value,
    bestParams: s.best.params,
    complete: s.complete,
    pruned: s.pruned,
    epochsTrained: epochs,
    wallSeconds: seconds,
  });
  console.log(
    `${label.padEnd(24)} best val accuracy ${(s.best.value * 100).toFixed(2)}%  ${s.complete} complete, ${s.pruned} pruned, ${epochs} epochs trained, ${seconds.toFixed(0)} s wall`,
  );
}

// Ensembles: top-5 of the Bayesian study (no pruning: every trial has final weights) against its best trial.
const train = loadFashionMnist('train');
const test = loadFashionMnist('test');
const stats = channelStats(train);
const testSet = new ArrayDataset(test.images, test.labels, [1, 28, 28], {
  scale: 1 / 255,
  mean: stats.mean,
  std: stats.std,
});
const build = (): ReturnType<typeof createModel> =>
  createModel('lenet5', { numClasses: 10, inChannels: 1, inputSize: 28 });
const study = Study.open(dirs['bayesian']!);
const single = ensembleTopK(study, 1, build);
const top5 = ensembleTopK(study, 5, build);
const singleAcc = evaluate(single.members[0]!, testSet, crossEntropy).accuracy;
const ensAcc = evaluate(top5, testSet, crossEntropy).accuracy;
const voteAcc = evaluate(ensembleTopK(study, 5, build, { method: 'vote' }), testSet, crossEntropy).accuracy;
console.log(
  `test accuracy: best single trial ${(singleAcc * 100).toFixed(2)}%, top-5 ensemble (mean) ${(ensAcc * 100).toFixed(2)}% (vote ${(voteAcc * 100).toFixed(2)}%), ratio ${(ensAcc / singleAcc).toFixed(4)}`,
);
const randomWall = runs[0]!['wallSeconds'] as number;
for (const r of runs)
  console.log(
    `  ${String(r['study']).padEnd(24)} wall ${(Number(r['wallSeconds']) / randomWall).toFixed(2)}x random's`,
  );

const date = new Date().toISOString().slice(0, 10);
const name = option('name');
mkdirSync('bench/results', { recursive: true });
const file = join('bench/results', `${date}-tune-lenet${name ? `-${name}` : ''}.json`);
writeJsonAtomic(file, {
  benchmark: 'tune-lenet',
  date,
  setup: {
    model: 'lenet5',
    dataset: 'fashion-mnist',
    trainImagesPerTrial: trainSize,
    valImagesPerTrial: Math.round(trainSize * 0.1),
    epochsPerTrial: 2,
    trials,
    testImages: test.count,
  },
  machine: 'shared 2-core machine (several other jobs running): wall times are noisy',
  studies: runs,
  ensemble: { bestSingleTestAccuracy: singleAcc, top5MeanTestAccuracy: ensAcc, top5VoteTestAccuracy: voteAcc },
});
console.log(`saved ${file}`);
