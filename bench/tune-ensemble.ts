/**
 * Ensembles of a finished `tsgrad tune` study (built-in objective, so every complete trial saved
 * its weights): each of the k best trials on the test set, then the top-k ensemble for k = 1..K
 * averaged ('mean'), voted ('vote') and with weights fitted on the study's own validation split
 * ('weighted', Ensemble.fitWeights), with the members' pairwise disagreement and the share of test
 * images at least one member gets right (what any combination could reach at most).
 * Saves bench/results/<date>-tune-ensemble[-name].json.
 *   node dist/bench/tune-ensemble.js --study runs/tune-fashion [--k 5] [--name suffix]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader, type Dataset } from '../src/data/dataset.js';
import { writeJsonAtomic } from '../src/io/atomic.js';
import { createModel } from '../src/models/index.js';
import { crossEntropy } from '../src/nn/functional.js';
import { noGrad } from '../src/tensor/dispatch.js';
import { evaluate } from '../src/train/metrics.js';
import { normalizedDataset, prepareTraining } from '../src/train/recipe.js';
import { type Classifier, Ensemble, ensembleTopK } from '../src/tune/ensemble.js';
import { Study } from '../src/tune/study.js';
import { channelStats, loadDataset } from '../src/cli/data.js';
import { type TunePayload, trialRecipe } from '../src/cli/tune-objective.js';
import { option } from './args.js';

const studyDir = option('study');
if (!studyDir) throw new Error('usage: node dist/bench/tune-ensemble.js --study DIR [--k 5] [--name suffix]');
const K = Number(option('k') ?? 5);
const study = Study.open(studyDir);
const payload = (study.meta as { payload: TunePayload }).payload;
const data = loadDataset(payload.dataset, payload.dataDir ?? undefined);
const stats = channelStats(data.train);
const testSet = normalizedDataset(data.test, stats);
const build = (): Classifier =>
  createModel(payload.model, {
    numClasses: data.train.classes.length,
    inChannels: data.train.channels,
    inputSize: data.train.height,
  });
// The validation split every trial was scored on (the recipe's seeded split; nothing is trained here).
const valSet = prepareTraining(
  build(),
  { train: data.train, dataset: payload.dataset, normalization: stats },
  trialRecipe(payload, {}),
  { trainSize: payload.trainSize },
).valSet!;

/** Argmax predictions of a model on a dataset. */
function predictions(model: Classifier, set: Dataset): Int32Array {
  const out: number[] = [];
  noGrad(() => {
    for (const { x } of new DataLoader(set, { batchSize: 500 })) {
      const y = model.forward(x);
      const [n, c] = [y.shape[0]!, y.shape[1]!];
      const v = y.dataSync();
      for (let r = 0; r < n; r++) {
        let best = 0;
        for (let j = 1; j < c; j++) if (v[r * c + j]! > v[r * c + best]!) best = j;
        out.push(best);
      }
    }
  });
  return Int32Array.from(out);
}

const top = ensembleTopK(study, K, build);
const trials = study
  .sortedTrials()
  .filter((t) => t.state === 'complete')
  .slice(0, top.members.length);
const labels = Int32Array.from(data.test.labels as ArrayLike<number>);
const preds = top.members.map((m) => predictions(m, testSet));
const members = top.members.map((m, i) => {
  const r = evaluate(m, testSet, crossEntropy);
  return {
    trial: trials[i]!.number,
    valAccuracy: trials[i]!.value,
    testAccuracy: r.accuracy,
    testLoss: r.loss,
    params: trials[i]!.params,
  };
});
for (const m of members)
  console.log(
    `trial ${String(m.trial).padStart(2)}: val ${(m.valAccuracy! * 100).toFixed(2)}%  test ${(m.testAccuracy * 100).toFixed(2)}%  test loss ${m.testLoss.toFixed(4)}`,
  );
const disagreement: number[][] = preds.map((a) =>
  preds.map((b) => a.reduce((s, v, i) => s + (v !== b[i] ? 1 : 0), 0) / a.length),
);
const ensembles: Record<string, unknown>[] = [];
for (let k = 1; k <= top.members.length; k++) {
  const chosen = top.members.slice(0, k);
  const row: Record<string, unknown> = { k };
  for (const method of ['mean', 'vote'] as const) {
    const r = evaluate(new Ensemble(chosen, { method }), testSet, crossEntropy);
    row[method] = { testAccuracy: r.accuracy, testLoss: r.loss };
  }
  const weighted = new Ensemble(chosen);
  const weights = weighted.fitWeights(valSet);
  const rw = evaluate(weighted, testSet, crossEntropy);
  row['weighted'] = { testAccuracy: rw.accuracy, testLoss: rw.loss, weights };
  let anyRight = 0;
  for (let i = 0; i < labels.length; i++) if (preds.slice(0, k).some((p) => p[i] === labels[i])) anyRight++;
  row['oracle'] = anyRight / labels.length;
  const pairs = [];
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) pairs.push(disagreement[a]![b]!);
  row['meanDisagreement'] = pairs.length ? pairs.reduce((s, v) => s + v, 0) / pairs.length : 0;
  ensembles.push(row);
  const pct = (o: unknown): string => `${((o as { testAccuracy: number }).testAccuracy * 100).toFixed(2)}%`;
  console.log(
    `top-${k}: mean ${pct(row['mean'])}  vote ${pct(row['vote'])}  weighted ${pct(row['weighted'])} (weights ${weights.map((w) => w.toFixed(2)).join(' ')})  oracle ${((row['oracle'] as number) * 100).toFixed(2)}%  disagreement ${((row['meanDisagreement'] as number) * 100).toFixed(2)}%`,
  );
}

const date = new Date().toISOString().slice(0, 10);
const name = option('name');
mkdirSync('bench/results', { recursive: true });
const file = join('bench/results', `${date}-tune-ensemble${name ? `-${name}` : ''}.json`);
writeJsonAtomic(file, {
  benchmark: 'tune-ensemble',
  date,
  study: { dir: studyDir, name: study.name, payload, valImages: valSet.length, testImages: testSet.length },
  members,
  disagreement,
  ensembles,
  machine: 'shared 2-core machine (several other jobs running)',
});
console.log(`saved ${file}`);
