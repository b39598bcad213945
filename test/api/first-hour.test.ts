/**
 * What a PyTorch user does in the first hour, at run time: typed reads, tensors straight into
 * ArrayDataset / fit / evaluate, batches as {x, y} or [x, y], evaluate's default loss, tensors
 * and summaries that print readably, and setBackend('webgpu') before initWebGPU().
 * (The compile-time side is test/api/types.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/index.js';

test('dataSync() / data() give the typed array of the dtype', async () => {
  assert.ok(T.tensor([1, 2]).dataSync() instanceof Float32Array);
  assert.ok(T.tensor([1, 2], { dtype: 'int32' }).dataSync() instanceof Int32Array);
  assert.ok(T.tensor([1, 2], { dtype: 'float64' }).dataSync() instanceof Float64Array);
  assert.ok(T.tensor([true]).dataSync() instanceof Uint8Array);
  assert.ok((await T.randn([3]).argmax().data()) instanceof Int32Array);
});

test('ArrayDataset takes tensors: sample shape from the inputs, targets as class indices', () => {
  const x = T.arange(24, undefined, 1, { dtype: 'float32' }).reshape(6, 2, 2);
  const ds = new T.ArrayDataset(x, T.tensor([0, 1, 2, 0, 1, 2], { dtype: 'int32' }));
  assert.deepEqual(ds.sampleShape, [2, 2]);
  assert.equal(ds.length, 6);
  const b = ds.getBatch([4, 1]);
  assert.deepEqual(Array.from(b.x.dataSync()), [16, 17, 18, 19, 4, 5, 6, 7]);
  assert.deepEqual(Array.from(b.y.dataSync()), [1, 1]);
  // float labels holding integers are fine; fractions, or a shape that does not match, are not
  assert.equal(new T.ArrayDataset(x, T.tensor([0, 1, 2, 0, 1, 2])).getBatch([2]).y.itemSync(), 2);
  assert.throws(() => new T.ArrayDataset(x, T.tensor([0.5, 1, 2, 0, 1, 2])), /integer class indices/);
  assert.throws(() => new T.ArrayDataset(x, T.tensor([0, 1])), /do not make 2 samples/);
  // number arrays as targets, typed arrays as before
  assert.equal(new T.ArrayDataset(new Float32Array(4), [0, 1], [2]).length, 2);
  // plain JavaScript can call it without the shape: a clear error, not a guess
  assert.throws(() => new T.ArrayDataset(new Float32Array(4) as never, [0, 1]), /give the sample shape/);
});

test('a DataLoader batch reads as { x, y } and as [x, y]', () => {
  const ds = new T.ArrayDataset(T.randn([10, 3]), T.randint(0, 2, [10]));
  const loader = new T.DataLoader(ds, { batchSize: 4 });
  const sizes: number[] = [];
  for (const [x, y] of loader) {
    assert.equal(x.shape[0], y.shape[0]);
    sizes.push(x.shape[0]!);
  }
  assert.deepEqual(sizes, [4, 4, 2]);
  for (const batch of loader) {
    const { x, y } = batch;
    const [x2, y2] = batch;
    assert.equal(x, x2);
    assert.equal(y, y2);
    assert.equal(batch.length, 2);
  }
});

test('fit and evaluate take [x, y] and { x, y } tensors; evaluate defaults to cross-entropy', async () => {
  T.manualSeed(0);
  // Two Gaussian blobs: class = sign of the first feature.
  const x = T.randn([128, 2]);
  const y = x.select(1, 0).gt(0).int();
  const model = new T.Sequential(new T.Linear(2, 8), new T.ReLU(), new T.Linear(8, 2));
  const before = T.evaluate(model, [x, y]);
  const history = await T.fit(model, {
    train: [x, y],
    val: { x, y },
    epochs: 8,
    batchSize: 16,
    optimizer: new T.Adam(model.parameters(), { lr: 0.05 }),
  });
  assert.ok(history.at(-1)!.loss < history[0]!.loss, 'loss falls');
  const after = T.evaluate(model, { x, y });
  assert.ok(
    after.accuracy > 0.9 && after.accuracy > before.accuracy,
    `accuracy ${before.accuracy} -> ${after.accuracy}`,
  );
  // The default loss is cross-entropy: the same as passing it, with or without options.
  const explicit = T.evaluate(model, new T.ArrayDataset(x, y), T.crossEntropy);
  assert.equal(after.loss, explicit.loss);
  assert.equal(T.evaluate(model, [x, y], { batchSize: 7 }).loss.toFixed(5), explicit.loss.toFixed(5));
  assert.equal(history.at(-1)!.val_accuracy, after.accuracy);
  assert.throws(() => T.evaluate(model, { x } as never), /expected a Dataset, \[inputs, targets\] tensors/);
});

test('console.log(tensor) prints values, shape, dtype, backend and autograd state, never the storage', () => {
  const backend = T.getBackend().name;
  const x = T.tensor(
    [
      [1, -2.5],
      [3, 4],
    ],
    { requiresGrad: true },
  );
  assert.equal(
    inspect(x),
    `tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]], shape=[2, 2], dtype=float32, backend=${backend}, requiresGrad=true)`,
  );
  assert.equal(String(x), inspect(x));
  assert.equal(inspect(x.mul(2)).split('gradFn=')[1], '<MulBackward>)');
  assert.equal(
    inspect(T.tensor([1, 2, 3], { dtype: 'int32' })),
    `tensor([1, 2, 3], shape=[3], dtype=int32, backend=${backend})`,
  );
  assert.equal(inspect(T.tensor(3)), `tensor(3., shape=[], dtype=float32, backend=${backend})`);
  assert.match(inspect(T.tensor([true, false])), /^tensor\(\[ true, false\], shape=\[2\], dtype=bool/);
  // Large tensors: the first and last 3 along each axis, as PyTorch shows them.
  const big = T.arange(0, 100 * 50, 1, { dtype: 'float32' }).reshape(100, 50);
  const text = inspect(big);
  const lines = text.split('\n');
  assert.equal(lines.length, 7, text);
  assert.match(lines[0]!, /^tensor\(\[\[   0\.,    1\.,    2\., \.\.\.,   47\.,   48\.,   49\.\],$/);
  assert.match(lines[3]!, /^ +\.\.\.,$/);
  assert.match(lines[6]!, /4997\., 4998\., 4999\.\]\], shape=\[100, 50\], dtype=float32/);
  for (const internal of ['storage', 'strides', 'kernels', 'offset']) assert.ok(!text.includes(internal), internal);
  // A parameter says so, as in PyTorch; nested in objects it prints the same way.
  const layer = new T.Linear(2, 1);
  assert.match(inspect(layer.bias), /^Parameter containing:\ntensor\(\[-?\d\.\d{4}\], shape=\[1\]/);
  assert.match(inspect({ t: T.tensor([1]) }), /\{ t: tensor\(\[1\.\], shape=\[1\]/);
});

test('console.log(summary(model, shape)) prints the table', () => {
  const s = T.summary(new T.LeNet5(), [1, 1, 28, 28]);
  assert.equal(inspect(s), s.text);
  assert.equal(`${s}`, s.text);
  assert.match(inspect(s), /Total params: 61,706/);
});

test('the print hook comes from Symbol.for, not node:util, so the browser build has no Node import', () => {
  assert.equal(T.inspectSymbol, inspect.custom);
  const dist = join(dirname(fileURLToPath(import.meta.url)), '../../src');
  for (const f of ['core/inspect.js', 'tensor/format.js', 'tensor/tensor.js', 'nn/summary.js'])
    assert.doesNotMatch(readFileSync(join(dist, f), 'utf8'), /from 'node:/, f);
});

test("setBackend('webgpu') before initWebGPU() says to call it first", () => {
  assert.throws(
    () => T.setBackend('webgpu'),
    (e: unknown) => e instanceof T.ArgumentError && /call `await initWebGPU\(\)` first/.test(e.message),
  );
});
