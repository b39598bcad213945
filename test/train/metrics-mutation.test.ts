// Classification metrics by hand: ConfusionMatrix's counts and rates, topK's order and ties, and evaluate's
// loss weighting, top-5, options, modes and ten-crop test-time augmentation on tiny models whose every output
// is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  ArrayDataset,
  ConfusionMatrix,
  Linear,
  ShapeError,
  crossEntropy,
  evaluate,
  fromArray,
  tensor,
  topK,
  type Backend,
  type Dataset,
  type Tensor,
  cpuBackend,
} from '../../src/index.js';
import { throwsExactly } from '../helpers/nn-fixtures.js';

const cpu = cpuBackend as Backend;

test('ConfusionMatrix counts (truth, prediction) pairs; accuracy is the diagonal share, per-class accuracy the recall', () => {
  const cm = new ConfusionMatrix(3);
  assert.equal(cm.numClasses, 3);
  assert.deepEqual(cm.matrix, [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ]);
  assert.equal(cm.total, 0);
  assert.equal(cm.accuracy(), 0, 'no samples: 0, not NaN');
  cm.add([0, 0, 1, 1, 1, 0], [0, 1, 1, 1, 2, 0]);
  cm.add(Int32Array.from([1]), Int32Array.from([0]));
  assert.deepEqual(cm.matrix, [
    [2, 1, 0],
    [1, 2, 1],
    [0, 0, 0],
  ]);
  assert.equal(cm.total, 7);
  assert.equal(cm.accuracy(), 4 / 7);
  const per = cm.perClassAccuracy();
  assert.equal(per[0], 2 / 3);
  assert.equal(per[1], 2 / 4);
  assert.ok(Number.isNaN(per[2]), 'a class without samples has no recall');
  assert.equal(per.length, 3);
});

test('topK: indices of the k largest scores per row, ties to the lower index; k above the class count is an error', () => {
  const scores = Float32Array.from([0.1, 0.7, 0.2, 0.7, /* row 2 */ 5, -1, 3, 4]);
  assert.deepEqual(Array.from(topK(scores, 2, 4, 2)), [1, 3, 0, 3]);
  assert.deepEqual(Array.from(topK(scores, 2, 4, 4)), [1, 3, 2, 0, 0, 3, 2, 1]);
  assert.deepEqual(Array.from(topK(scores, 2, 4, 1)), [1, 0]);
  const out = topK(scores, 2, 4, 3);
  assert.ok(out instanceof Int32Array);
  assert.equal(out.length, 6);
  // All equal: the lowest indices first.
  assert.deepEqual(Array.from(topK(new Float64Array([2, 2, 2]), 1, 3, 3)), [0, 1, 2]);
  throwsExactly(() => topK(scores, 2, 4, 5), ArgumentError, 'topK: k=5 exceeds the number of classes 4');
});

/** logits [x, −x] of a one-input linear model: class 0 exactly when x > 0. */
function signModel(): Linear {
  const m = new Linear(1, 2, { bias: false });
  m.weight.assign(tensor([[1], [-1]]));
  return m;
}

/** −log softmax([x, −x])[label]. */
const ceOf = (x: number, label: number): number => Math.log(1 + Math.exp(label === 0 ? -2 * x : 2 * x));

test('evaluate: the loss is the per-sample mean over uneven batches; accuracy, confusion, count, per-class accuracy', () => {
  const xs = [1, -0.5, 2, 0.25, -3];
  const ys = [0, 0, 0, 1, 1]; // samples 1 and 3 are wrong
  const data = new ArrayDataset(tensor(xs.map((x) => [x])), tensor(ys, { dtype: 'int32' }));
  const expected = xs.map((x, i) => ceOf(x, ys[i]!)).reduce((a, b) => a + b) / 5;
  const r = evaluate(signModel(), data, crossEntropy, { batchSize: 2 });
  assert.ok(Math.abs(r.loss - expected) < 1e-6, `${r.loss} vs ${expected}`);
  assert.equal(r.count, 5);
  assert.equal(r.accuracy, 3 / 5);
  assert.equal(r.top5, 1, 'two classes: always among the top 2');
  assert.deepEqual(r.confusion.matrix, [
    [2, 1],
    [1, 1],
  ]);
  assert.deepEqual(r.perClassAccuracy, [2 / 3, 1 / 2]);
  // The default loss is cross-entropy from logits, the default batch 256, and the options may come third.
  for (const res of [evaluate(signModel(), data), evaluate(signModel(), data, { batchSize: 3 })]) {
    assert.ok(Math.abs(res.loss - expected) < 1e-6);
    assert.equal(res.accuracy, 3 / 5);
  }
});

test('evaluate: batch sizes, the given loss function, no graph, eval mode during and the previous mode after', () => {
  const data = new ArrayDataset(
    tensor(Array.from({ length: 300 }, (_, i) => [i % 3 ? i : -i])),
    tensor(
      Array.from({ length: 300 }, (_, i) => (i % 3 ? 0 : 1)),
      { dtype: 'int32' },
    ),
  );
  const model = signModel();
  const seen: { n: number; grad: boolean; training: boolean }[] = [];
  const lossFn = (out: Tensor, y: Tensor): Tensor => {
    seen.push({ n: out.shape[0]!, grad: out.requiresGrad, training: model.training });
    return out.sub(out).sum().add(y.shape[0]!); // loss = batch size: the mean is (Σ n²) / N
  };
  model.train(true);
  const r = evaluate(model, data, lossFn);
  assert.deepEqual(
    seen.map((s) => s.n),
    [256, 44],
  );
  assert.ok(seen.every((s) => !s.grad && !s.training));
  assert.equal(r.loss, (256 * 256 + 44 * 44) / 300);
  assert.equal(model.training, true);
  seen.length = 0;
  model.train(false);
  evaluate(model, data, lossFn, { batchSize: 100 });
  assert.deepEqual(
    seen.map((s) => s.n),
    [100, 100, 100],
  );
  assert.equal(model.training, false);
  // An error inside still puts the mode back.
  model.train(true);
  assert.throws(
    () =>
      evaluate(model, data, () => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(model.training, true);
});

test('evaluate: top-5 counts a label among the five highest scores', () => {
  // Six classes scored 6x, 5x, ..., 1x: for x = 1 the ranking is 0, 1, 2, 3, 4, 5.
  const model = new Linear(1, 6, { bias: false });
  model.weight.assign(tensor([[6], [5], [4], [3], [2], [1]]));
  const data = new ArrayDataset(tensor([[1], [1], [1], [1]]), tensor([0, 4, 5, 2], { dtype: 'int32' }));
  const r = evaluate(model, data);
  assert.equal(r.top5, 3 / 4, 'label 5 is sixth');
  assert.equal(r.accuracy, 1 / 4);
  assert.deepEqual(r.confusion.matrix[5], [1, 0, 0, 0, 0, 0]);
  // Three classes: top-k uses k = 3.
  const three = new Linear(1, 3, { bias: false });
  three.weight.assign(tensor([[3], [2], [1]]));
  const r3 = evaluate(three, new ArrayDataset(tensor([[1], [1]]), tensor([2, 1], { dtype: 'int32' })));
  assert.equal(r3.top5, 1);
  assert.equal(r3.accuracy, 0);
});

test('evaluate: errors for an unknown tta, an empty dataset and a bad pair', () => {
  const data = new ArrayDataset(tensor([[1]]), tensor([0], { dtype: 'int32' }));
  throwsExactly(
    () => evaluate(signModel(), data, { tta: 'five-crop' as never }),
    ArgumentError,
    "evaluate: tta must be 'none' or 'ten-crop', got five-crop",
  );
  const empty: Dataset = {
    length: 0,
    get: () => {
      throw new Error('unreachable');
    },
    getBatch: () => {
      throw new Error('unreachable');
    },
  };
  throwsExactly(() => evaluate(signModel(), empty), ArgumentError, 'evaluate: the dataset is empty');
  // A dataset whose batches hold no samples is empty too (the mean would be 0/0).
  const hollow: Dataset = {
    length: 1,
    get: () => ({ x: tensor([1]), y: tensor([0], { dtype: 'int32' }) }),
    getBatch: () => ({
      x: fromArray(new Float32Array(0), [0, 1]),
      y: fromArray(new Int32Array(0), [0], { dtype: 'int32' }),
    }),
  };
  throwsExactly(() => evaluate(signModel(), hollow, () => tensor(0)), ArgumentError, 'evaluate: the dataset is empty');
  throwsExactly(
    () => evaluate(signModel(), [tensor([1]), 'y'] as never),
    ArgumentError,
    'evaluate: a pair must be [inputs, targets] tensors',
  );
  throwsExactly(
    () => evaluate(signModel(), [tensor([[1]]), tensor([0], { dtype: 'int32' })], { tta: 'ten-crop' }),
    ShapeError,
    "evaluate: tta 'ten-crop' needs image batches [N, C, H, W], got [1, 1]",
  );
});

/** A model that scores each image by its top-left pixel: logits [s·x[0,0], 0], and records its inputs. */
function cornerModel(scale: number) {
  const inputs: { shape: number[]; backend: string }[] = [];
  const model = {
    training: true,
    train(mode = true) {
      model.training = mode;
      return model;
    },
    forward(x: Tensor): Tensor {
      inputs.push({ shape: [...x.shape], backend: x.backend.name });
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const d = x.dataSync();
      const logits = new Float32Array(n * 2);
      for (let i = 0; i < n; i++) logits[i * 2] = scale * d[i * c * h * w]!;
      return fromArray(logits, [n, 2]);
    },
  };
  return { model, inputs };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

test("evaluate tta 'ten-crop': the log of the mean softmax over the corner and centre crops of the image and its mirror", () => {
  // One 4×4 image with pixel (r, c) = 4r + c in its first channel, and a second one negated; 2×2 crops.
  const px = Array.from({ length: 16 }, (_, i) => i);
  // Two channels each; the model reads the first, the second (50 + pixel) must stay out of its way.
  const second = px.map((v) => 50 + v);
  const images = fromArray(Float32Array.from([...px, ...second, ...px.map((v) => -v), ...second]), [2, 2, 4, 4]);
  const labels = tensor([0, 1], { dtype: 'int32' });
  const { model, inputs } = cornerModel(0.1);
  const r = evaluate(model, [images, labels], crossEntropy, { tta: 'ten-crop', cropSize: 2 });
  // Windows (top, left): (0,0) (0,2) (2,0) (2,2) and the centre (1,1). The top-left pixels of those crops
  // are 0, 2, 8, 10, 5; of the mirrored image's crops (pixel 4r + 3 − c) 3, 1, 11, 9, 6.
  const corners = [0, 2, 8, 10, 5, 3, 1, 11, 9, 6];
  const p0 = corners.map((v) => sigmoid(0.1 * v)).reduce((a, b) => a + b) / 10;
  const q0 = corners.map((v) => sigmoid(-0.1 * v)).reduce((a, b) => a + b) / 10;
  // crossEntropy of log p̄ is −log p̄ of the label (p̄ sums to 1); image 2 has label 1: −log(1 − q̄0).
  const expected = (-Math.log(p0) - Math.log(1 - q0)) / 2;
  assert.ok(Math.abs(r.loss - expected) < 1e-6, `${r.loss} vs ${expected}`);
  assert.equal(inputs.length, 10, 'ten forward passes of the whole batch');
  assert.ok(inputs.every((i) => JSON.stringify(i.shape) === '[2,2,2,2]'));
  // Image 1 scores class 0 above 1/2 (its label), the negated image class 1 (its label).
  assert.equal(r.accuracy, 1);
  assert.equal(r.count, 2);
});

test("evaluate tta 'ten-crop': crop size 224/256 of the shorter side by default, a number or [h, w]; crops stay on the batch's backend", () => {
  const image = (h: number, w: number) => fromArray(new Float32Array(2 * h * w), [1, 2, h, w]);
  const label = tensor([0], { dtype: 'int32' });
  const shapeOf = (x: Tensor, cropSize?: number | [number, number]): number[] => {
    const { model, inputs } = cornerModel(1);
    evaluate(model, [x, label], { tta: 'ten-crop', ...(cropSize === undefined ? {} : { cropSize }) });
    assert.equal(inputs.length, 10);
    return inputs[0]!.shape;
  };
  assert.deepEqual(shapeOf(image(8, 16)), [1, 2, 7, 7], '⌊8·224/256⌋ = 7');
  assert.deepEqual(shapeOf(image(16, 8)), [1, 2, 7, 7]);
  assert.deepEqual(shapeOf(image(8, 8), 5), [1, 2, 5, 5]);
  assert.deepEqual(shapeOf(image(8, 8), [2, 3]), [1, 2, 2, 3]);
  // A dataset whose batches live on the cpu backend (not the default one): the crops are made there too.
  const onCpu: Dataset = {
    length: 1,
    get: () => ({ x: fromArray(new Float32Array(16), [1, 4, 4], { backend: cpu }), y: tensor(0, { dtype: 'int32' }) }),
    getBatch: () => ({
      x: fromArray(new Float32Array(16), [1, 1, 4, 4], { backend: cpu }),
      y: fromArray(new Int32Array(1), [1], { dtype: 'int32' }),
    }),
  };
  const { model, inputs } = cornerModel(1);
  evaluate(model, onCpu, { tta: 'ten-crop', cropSize: 2 });
  assert.deepEqual(new Set(inputs.map((i) => i.backend)), new Set([cpu.name]));
  assert.notEqual(cpu.name, tensor([1]).backend.name, 'the default backend is another one');
});
