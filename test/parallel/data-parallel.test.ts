/**
 * DataParallel against one device: same loss curve within float32 reduction tolerance
 * (LeNet-5; a BatchNorm ResNet with synchronised statistics), bit-identical runs, a dead
 * replica failing the step by name with the checkpoint intact, and checkpoints shared with
 * single-device training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataParallel,
  type DataParallelOptions,
  ModelCheckpoint,
  ReplicaError,
  SGD,
  Trainer,
  type Callback,
  type Module,
  type Tensor,
  createModel,
  fromArray,
  manualSeed,
  randn,
  readCheckpoint,
  restoreCheckpoint,
} from '../../src/index.js';
import { tinyResNet } from './models.js';

type Net = Module & { forward(x: Tensor): Tensor };
const LENET = { zoo: 'lenet5', options: { numClasses: 10, inChannels: 1, inputSize: 28 } } as const;
const RESNET = { module: new URL('./models.js', import.meta.url).href, export: 'tinyResNet', args: [3] };

function data(n: number, shape: number[], classes: number, seed: number): [Tensor, Tensor] {
  manualSeed(seed);
  const x = randn([n, ...shape]);
  const y = fromArray(
    Int32Array.from({ length: n }, (_, i) => (i * 7 + seed) % classes),
    [n],
  );
  return [x, y];
}

/** Trains `model` (or DataParallel around it) and returns the batch losses and final weights. */
async function run(
  make: () => Net,
  parallel: DataParallelOptions | null,
  train: [Tensor, Tensor],
  opts: { epochs?: number; batchSize?: number; callbacks?: Callback[]; dir?: string } = {},
): Promise<{ losses: number[]; weights: Float32Array[]; net: Net; dp: DataParallel | null }> {
  manualSeed(42);
  const model = make();
  const dp = parallel ? new DataParallel(model, parallel) : null;
  const net = dp ?? model;
  const losses: number[] = [];
  const trainer = new Trainer(net, {
    train,
    epochs: opts.epochs ?? 1,
    batchSize: opts.batchSize ?? 16,
    optimizer: new SGD(net.parameters(), { lr: 0.05, momentum: 0.9 }),
    callbacks: [{ onBatchEnd: (_t, _b, logs) => void losses.push(logs.loss) }, ...(opts.callbacks ?? [])],
  });
  await trainer.fit();
  const weights = model.parameters().map((p) => p.dataSync() as Float32Array);
  return { losses, weights, net, dp };
}

function maxRelDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.max(1e-6, Math.abs(b[i]!))));
}

function maxWeightDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((w, i) => w.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
  return m;
}

const lenet = (): Net => createModel('lenet5', LENET.options);

test('LeNet-5: 2 and 3 replicas follow the single-device loss curve (uneven last batch included)', async () => {
  const train = data(70, [1, 28, 28], 10, 1); // 16, 16, 16, 16, 6: the last batch splits 3/3 and 2/2/2
  const single = await run(lenet, null, train, { epochs: 2 });
  for (const replicas of [2, 3]) {
    const dp = await run(lenet, { replicas, factory: LENET }, train, { epochs: 2 });
    assert.equal(dp.losses.length, 10);
    const rel = maxRelDiff(dp.losses, single.losses);
    assert.ok(rel < 1e-4, `${replicas} replicas: loss curve differs by ${rel} (relative)`);
    assert.ok(maxWeightDiff(dp.weights, single.weights) < 1e-4, `${replicas} replicas: weights differ`);
    // Training moved the weights: the comparison is not between two untouched models.
    manualSeed(42);
    const initial = lenet()
      .parameters()
      .map((p) => p.dataSync() as Float32Array);
    assert.ok(maxWeightDiff(dp.weights, initial) > 1e-3);
    await dp.dp!.close();
  }
});

test('BatchNorm ResNet: synchronised batch norm follows the single-device curve; per-replica statistics do not', async () => {
  const train = data(48, [1, 8, 8], 3, 2);
  const single = await run(() => tinyResNet(3), null, train, { batchSize: 16 });
  const synced = await run(() => tinyResNet(3), { replicas: 2, factory: RESNET, syncBatchNorm: true }, train, {
    batchSize: 16,
  });
  const rel = maxRelDiff(synced.losses, single.losses);
  assert.ok(rel < 1e-4, `syncBatchNorm: loss curve differs by ${rel} (relative)`);
  const stats = (n: Net): number[] => Array.from(n.stateDict()['bn1.running_var']!.dataSync());
  assert.ok(maxRelDiff(stats(synced.net), stats(single.net)) < 1e-4, 'running statistics differ');
  assert.equal(synced.net.stateDict()['bn1.num_batches_tracked']!.itemSync(), 3);
  const perReplica = await run(() => tinyResNet(3), { replicas: 2, factory: RESNET }, train, { batchSize: 16 });
  // Half-batch statistics normalize differently: the first loss is the same (same weights), later ones are not.
  assert.ok(maxRelDiff(perReplica.losses.slice(1), single.losses.slice(1)) > 1e-4);
  await synced.dp!.close();
  await perReplica.dp!.close();
});

test('a run is bit-identical from run to run', async () => {
  const train = data(64, [1, 28, 28], 10, 3);
  const a = await run(lenet, { replicas: 2, factory: LENET }, train);
  const b = await run(lenet, { replicas: 2, factory: LENET }, train);
  assert.deepEqual(a.losses, b.losses);
  assert.equal(maxWeightDiff(a.weights, b.weights), 0);
  await a.dp!.close();
  await b.dp!.close();
});

test('a dead replica fails the step naming it; the last checkpoint stays valid and resumes exactly', async () => {
  const train = data(96, [1, 28, 28], 10, 4); // 6 batches
  const full = await run(lenet, { replicas: 2, factory: LENET }, train);
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-dp-'));
  let dp: DataParallel | null = null;
  const killer: Callback = {
    onBatchEnd: async (t, batch) => {
      dp = t.model as DataParallel;
      if (batch !== 2) return;
      dp.terminateReplica(1);
      while (!dp.replicaDead(1)) await new Promise((r) => setTimeout(r, 10));
    },
  };
  await assert.rejects(
    run(lenet, { replicas: 2, factory: LENET }, train, {
      callbacks: [killer, new ModelCheckpoint(dir, { everySteps: 1 })],
    }),
    (e: unknown) =>
      e instanceof ReplicaError && e.replica === 1 && /replica 1 of 2 .* died in the forward of step 4/.test(e.message),
  );
  assert.equal(readCheckpoint(dir).state.step, 3);
  // A fresh DataParallel resumes from it and ends where the uninterrupted run ended.
  manualSeed(42);
  const model = lenet();
  const resumed = new DataParallel(model, { replicas: 2, factory: LENET });
  const trainer = new Trainer(resumed, {
    train,
    epochs: 1,
    batchSize: 16,
    optimizer: new SGD(resumed.parameters(), { lr: 0.05, momentum: 0.9 }),
  });
  restoreCheckpoint(dir, resumed, trainer);
  await trainer.fit();
  assert.equal(
    maxWeightDiff(
      model.parameters().map((p) => p.dataSync() as Float32Array),
      full.weights,
    ),
    0,
  );
  await resumed.close();
  await full.dp!.close();
});

test('checkpoints are interchangeable with single-device ones', async () => {
  const train = data(64, [1, 28, 28], 10, 5);
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-dp-'));
  const stop: Callback = { onBatchEnd: (t, b) => void (b === 1 && (t.stopTraining = true)) };
  const half = await run(lenet, { replicas: 2, factory: LENET }, train, {
    callbacks: [stop, new ModelCheckpoint(dir, { everySteps: 1 })],
  });
  assert.deepEqual(Object.keys(half.net.stateDict()), Object.keys(lenet().stateDict()));
  // Resume the data-parallel checkpoint on one device, and compare with the data-parallel run to the end.
  manualSeed(42);
  const model = lenet();
  const trainer = new Trainer(model, {
    train,
    epochs: 1,
    batchSize: 16,
    optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
  });
  restoreCheckpoint(dir, model, trainer);
  assert.equal(trainer.step, 2);
  await trainer.fit();
  const full = await run(lenet, { replicas: 2, factory: LENET }, train);
  assert.ok(
    maxWeightDiff(
      model.parameters().map((p) => p.dataSync() as Float32Array),
      full.weights,
    ) < 1e-4,
  );
  // And a single-device checkpoint loads into a DataParallel (strict: same names).
  const dp = new DataParallel(lenet(), { replicas: 2, factory: LENET });
  dp.loadStateDict(model.stateDict());
  await dp.close();
  await half.dp!.close();
  await full.dp!.close();
});
