/**
 * ArrayDataset normalization, DataLoader batching and shuffling, Subset
 * and randomSplit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  ArrayDataset,
  DataLoader,
  Generator,
  ShapeError,
  Subset,
  randomSplit,
  tensor,
  type Batch,
  type Dataset,
} from '../../src/index.js';

/** n samples of `row` values each; sample i holds i·row .. i·row+row−1 (mod 256); label i. */
function indexed(n: number, row: number, shape: number[] = [row]): ArrayDataset {
  const inputs = Float32Array.from({ length: n * row }, (_, j) => j);
  const targets = Int32Array.from({ length: n }, (_, i) => i);
  return new ArrayDataset(inputs, targets, shape);
}

function labelsOf(batches: Iterable<Batch>): number[][] {
  return [...batches].map((b) => Array.from(b.y.dataSync()));
}

// ------------------------------------------------------------ ArrayDataset

test('Uint8 inputs with scale/mean/std give exactly normalized values', () => {
  // Values chosen so the arithmetic is exact in binary: (v·0.5 − 1)/0.25 = 2v − 4.
  const inputs = Uint8Array.from([0, 1, 2, 3, 100, 255]);
  const ds = new ArrayDataset(inputs, Uint8Array.from([7, 9]), [3], { scale: 0.5, mean: 1, std: 0.25 });
  assert.equal(ds.length, 2);
  const b = ds.getBatch([0, 1]);
  assert.deepEqual([...b.x.shape], [2, 3]);
  assert.equal(b.x.dtype, 'float32');
  assert.deepEqual(Array.from(b.x.dataSync()), [-4, -2, 0, 2, 196, 506]);
  assert.equal(b.y.dtype, 'int32');
  assert.deepEqual(Array.from(b.y.dataSync()), [7, 9]);
});

test('the usual image normalization (x/255 − mean)/std matches float32 rounding of the exact value', () => {
  const pixels = [0, 1, 64, 128, 200, 255];
  const mean = 0.1307;
  const std = 0.3081;
  const ds = new ArrayDataset(Uint8Array.from(pixels), Uint8Array.from([3]), [1, 2, 3], { scale: 1 / 255, mean, std });
  const s = ds.get(0);
  assert.deepEqual([...s.x.shape], [1, 2, 3]);
  assert.deepEqual([...s.y.shape], []);
  assert.equal(s.y.itemSync(), 3);
  const got = Array.from(s.x.dataSync());
  pixels.forEach((p, i) => {
    const exact = (p / 255 - mean) / std;
    // Within one float32 ulp of the exact value.
    assert.ok(Math.abs(got[i]! - exact) <= Math.abs(exact) * 2 ** -23 + 1e-7, `pixel ${p}: ${got[i]} vs ${exact}`);
  });
});

test('per-channel mean and std apply along the first sample axis of C×H×W samples', () => {
  // Two samples of shape [3, 2, 2]: channel c of sample s holds 10·s + c + [0, 1, 2, 3]·(c+1).
  const inputs = new Uint8Array(2 * 12);
  for (let s = 0; s < 2; s++)
    for (let c = 0; c < 3; c++) for (let j = 0; j < 4; j++) inputs[s * 12 + c * 4 + j] = 10 * s + c + j * (c + 1);
  const mean = [1, 2, 3];
  const std = [1, 2, 4];
  const ds = new ArrayDataset(inputs, Uint8Array.from([0, 1]), [3, 2, 2], { mean, std });
  const x = Array.from(ds.getBatch([1, 0]).x.dataSync());
  const expected: number[] = [];
  for (const s of [1, 0])
    for (let c = 0; c < 3; c++)
      for (let j = 0; j < 4; j++) expected.push((inputs[s * 12 + c * 4 + j]! - mean[c]!) / std[c]!);
  assert.deepEqual(x, expected);
  // Channel 2 of sample 1: (10 + 2 + 3j − 3)/4.
  assert.deepEqual(x.slice(8, 12), [9 / 4, 12 / 4, 15 / 4, 18 / 4]);
});

test('ArrayDataset rejects inconsistent sizes with a ShapeError naming the shapes', () => {
  assert.throws(
    () => new ArrayDataset(new Uint8Array(28 * 28 * 3 - 1), new Uint8Array(3), [1, 28, 28]),
    (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /\[1, 28, 28\]/);
      assert.match(e.message, /2351/);
      assert.match(e.message, /2352/);
      return true;
    },
  );
  assert.throws(() => new ArrayDataset(new Float32Array(10), new Int32Array(3), [3]), ShapeError);
  assert.throws(
    () => new ArrayDataset(new Uint8Array(24), new Uint8Array(2), [3, 2, 2], { mean: [0.5, 0.5] }),
    ArgumentError,
  );
  assert.throws(
    () => new ArrayDataset(new Uint8Array(24), new Uint8Array(2), [3, 2, 2], { std: [1, 2, 3, 4] }),
    ArgumentError,
  );
  const ds = indexed(4, 2);
  assert.throws(() => ds.get(4), ArgumentError);
  assert.throws(() => ds.getBatch([0, -1]), ArgumentError);
});

// ------------------------------------------------------------ DataLoader

test('DataLoader batch count and sizes with and without dropLast', () => {
  const ds = indexed(10, 2);
  const keep = new DataLoader(ds, { batchSize: 3 });
  assert.equal(keep.length, 4);
  assert.deepEqual(labelsOf(keep), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
  const drop = new DataLoader(ds, { batchSize: 3, dropLast: true });
  assert.equal(drop.length, 3);
  assert.deepEqual(labelsOf(drop), [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
  ]);
  // An exact multiple has no partial batch either way.
  assert.equal(new DataLoader(ds, { batchSize: 5 }).length, 2);
  assert.equal(new DataLoader(ds, { batchSize: 5, dropLast: true }).length, 2);
  assert.equal(new DataLoader(ds, { batchSize: 20, dropLast: true }).length, 0);
  assert.deepEqual(labelsOf(new DataLoader(ds, { batchSize: 20, dropLast: true })), []);
  assert.equal(new DataLoader(ds).length, 10);
  for (const batchSize of [0, -1, 1.5, NaN])
    assert.throws(() => new DataLoader(ds, { batchSize }), ArgumentError, String(batchSize));
});

test('batches keep inputs and labels together', () => {
  const ds = indexed(9, 4, [2, 2]);
  for (const { x, y } of new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(3) })) {
    const n = y.shape[0]!;
    assert.deepEqual([...x.shape], [n, 2, 2]);
    const xs = x.dataSync();
    const ys = y.dataSync();
    for (let b = 0; b < n; b++)
      assert.deepEqual(
        Array.from(xs.slice(b * 4, b * 4 + 4)),
        [0, 1, 2, 3].map((j) => ys[b]! * 4 + j),
      );
  }
});

test('every index appears exactly once per epoch, shuffled or not', () => {
  const n = 53;
  const ds = indexed(n, 1);
  const all = Array.from({ length: n }, (_, i) => i);
  for (const shuffle of [false, true]) {
    const loader = new DataLoader(ds, { batchSize: 8, shuffle, generator: new Generator(17) });
    for (let epoch = 0; epoch < 3; epoch++) {
      const seen = labelsOf(loader).flat();
      assert.equal(seen.length, n);
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        all,
        `shuffle=${shuffle} epoch ${epoch}`,
      );
    }
  }
  // With dropLast: 6 full batches of distinct indices.
  const dropped = labelsOf(
    new DataLoader(ds, { batchSize: 8, shuffle: true, dropLast: true, generator: new Generator(2) }),
  ).flat();
  assert.equal(dropped.length, 48);
  assert.equal(new Set(dropped).size, 48);
});

test('seeded shuffle is reproducible and differs between epochs and seeds', () => {
  const ds = indexed(40, 1);
  const a = new DataLoader(ds, { batchSize: 7, shuffle: true, generator: new Generator(123) });
  const b = new DataLoader(ds, { batchSize: 7, shuffle: true, generator: new Generator(123) });
  const c = new DataLoader(ds, { batchSize: 7, shuffle: true, generator: new Generator(124) });
  const a1 = labelsOf(a).flat();
  const a2 = labelsOf(a).flat();
  assert.deepEqual(labelsOf(b).flat(), a1, 'same seed, same first epoch');
  assert.deepEqual(labelsOf(b).flat(), a2, 'same seed, same second epoch');
  assert.notDeepEqual(a2, a1, 'epochs differ');
  assert.notDeepEqual(labelsOf(c).flat(), a1, 'seeds differ');
  assert.notDeepEqual(
    a1,
    Array.from({ length: 40 }, (_, i) => i),
    'actually shuffled',
  );
});

test('DataLoader stacks samples of a dataset without getBatch', () => {
  const plain: Dataset = {
    length: 5,
    get: (i) => ({ x: tensor([i, -i]), y: tensor(i * 2, { dtype: 'int32' }) }),
  };
  const batches = [...new DataLoader(plain, { batchSize: 2 })];
  assert.equal(batches.length, 3);
  assert.deepEqual([...batches[0]!.x.shape], [2, 2]);
  assert.deepEqual(Array.from(batches[1]!.x.dataSync()), [2, -2, 3, -3]);
  assert.deepEqual(Array.from(batches[2]!.y.dataSync()), [8]);
});

// ------------------------------------------------------------ Subset / randomSplit

test('Subset maps indices onto its source', () => {
  const ds = indexed(10, 2);
  const sub = new Subset(ds, [7, 2, 5]);
  assert.equal(sub.length, 3);
  assert.equal(sub.get(0).y.itemSync(), 7);
  assert.deepEqual(Array.from(sub.get(1).x.dataSync()), [4, 5]);
  assert.deepEqual(Array.from(sub.getBatch([2, 0]).y.dataSync()), [5, 7]);
  assert.deepEqual(labelsOf(new DataLoader(sub, { batchSize: 2 })), [[7, 2], [5]]);
});

test('randomSplit gives disjoint parts that cover the dataset, reproducibly', () => {
  const ds = indexed(25, 1);
  const [train, val] = randomSplit(ds, 18, new Generator(8));
  assert.equal(train.length, 18);
  assert.equal(val.length, 7);
  const trainIdx = labelsOf(new DataLoader(train, { batchSize: 100 })).flat();
  const valIdx = labelsOf(new DataLoader(val, { batchSize: 100 })).flat();
  assert.deepEqual(
    [...trainIdx, ...valIdx].sort((a, b) => a - b),
    Array.from({ length: 25 }, (_, i) => i),
  );
  assert.equal(new Set([...trainIdx, ...valIdx]).size, 25);
  assert.deepEqual([...train.indices], trainIdx);
  // Reproducible with the same seed, different with another.
  const [again] = randomSplit(ds, 18, new Generator(8));
  assert.deepEqual([...again.indices], [...train.indices]);
  const [other] = randomSplit(ds, 18, new Generator(9));
  assert.notDeepEqual([...other.indices], [...train.indices]);
  // Edge sizes.
  assert.deepEqual(
    randomSplit(ds, 0, new Generator(1)).map((s) => s.length),
    [0, 25],
  );
  assert.deepEqual(
    randomSplit(ds, 25, new Generator(1)).map((s) => s.length),
    [25, 0],
  );
  assert.throws(() => randomSplit(ds, 26), ArgumentError);
  assert.throws(() => randomSplit(ds, -1), ArgumentError);
});
