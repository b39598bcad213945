/**
 * Batch norm layers and the classification losses against values computed
 * by PyTorch (test/fixtures/torch-reference.json, scripts/make-fixtures.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  BatchNorm1d,
  BatchNorm2d,
  DTypeError,
  Parameter,
  ShapeError,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l1Loss,
  l1Penalty,
  l2Penalty,
  mseLoss,
  nllLoss,
  tensor,
  zeros,
  type DType,
  type Reduction,
  type Tensor,
} from '../../src/index.js';
import { assertClose, fixtureSection, fromSpec, type TensorSpec } from '../helpers/nn-fixtures.js';

/** float64 results: the fixtures' 8 significant digits (5e-9) and summation order; float32: its rounding through the op. */
const F64_RTOL = 2e-7;
const F32_RTOL = 2e-6;
const rtolFor = (dtype: DType): number => (dtype === 'float64' ? F64_RTOL : F32_RTOL);

interface BatchNormCase {
  name: string;
  kind: '1d' | '2d';
  training: boolean;
  eps: number;
  momentum: number;
  x: TensorSpec;
  weight: TensorSpec;
  bias: TensorSpec;
  runningMean: TensorSpec;
  runningVar: TensorSpec;
  y: TensorSpec;
  gy: TensorSpec;
  gx: TensorSpec;
  gweight: TensorSpec;
  gbias: TensorSpec;
  runningMeanAfter: TensorSpec;
  runningVarAfter: TensorSpec;
}

interface CrossEntropyCase {
  name: string;
  labelSmoothing: number;
  reduction: Reduction;
  logits: TensorSpec;
  labels: TensorSpec;
  loss: TensorSpec;
  glogits: TensorSpec;
}

interface NllCase {
  name: string;
  reduction: Reduction;
  logProbs: TensorSpec;
  labels: TensorSpec;
  loss: TensorSpec;
  glogProbs: TensorSpec;
}

// Layers hold float32 parameters and buffers; for the float64 runs these
// subclasses swap them for float64 ones (setBuffer is protected), after
// which loadStateDict keeps float64 (it casts to the existing dtype).
class BatchNorm1d64 extends BatchNorm1d {
  toFloat64(): this {
    toFloat64(this, (n, t) => this.setBuffer(n, t));
    return this;
  }
}
class BatchNorm2d64 extends BatchNorm2d {
  toFloat64(): this {
    toFloat64(this, (n, t) => this.setBuffer(n, t));
    return this;
  }
}

function toFloat64(bn: BatchNorm1d | BatchNorm2d, setBuffer: (name: string, t: Tensor) => void): void {
  bn.weight = new Parameter(bn.weight!.detach().double());
  bn.bias = new Parameter(bn.bias!.detach().double());
  setBuffer('running_mean', bn.buffer('running_mean').double());
  setBuffer('running_var', bn.buffer('running_var').double());
}

const bnCases = fixtureSection<BatchNormCase>('batchNorm');

test('batchNorm fixture has train and eval cases of both kinds', () => {
  const kinds = new Set(bnCases.map((c) => `${c.kind}/${c.training}`));
  assert.deepEqual([...kinds].sort(), ['1d/false', '1d/true', '2d/false', '2d/true']);
});

for (const c of bnCases) {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`BatchNorm${c.kind} ${c.name} (${dtype}) matches PyTorch`, () => {
      const numFeatures = c.x.shape[1]!;
      const opts = { eps: c.eps, momentum: c.momentum };
      const layer = c.kind === '1d' ? new BatchNorm1d64(numFeatures, opts) : new BatchNorm2d64(numFeatures, opts);
      if (dtype === 'float64') layer.toFloat64();
      const loaded = layer.loadStateDict({
        weight: fromSpec(c.weight, dtype),
        bias: fromSpec(c.bias, dtype),
        running_mean: fromSpec(c.runningMean, dtype),
        running_var: fromSpec(c.runningVar, dtype),
        num_batches_tracked: fromSpec({ shape: [], data: [0] }, 'int32'),
      });
      assert.deepEqual(loaded.missingKeys, []);
      assert.deepEqual(loaded.unexpectedKeys, []);
      if (c.training) layer.train();
      else layer.eval();
      assert.equal(layer.training, c.training);

      const x = fromSpec(c.x, dtype, true);
      const y = layer.forward(x);
      assert.equal(y.dtype, dtype);
      assertClose(y, c.y, rtolFor(dtype), 'y');

      y.mul(fromSpec(c.gy, dtype)).sum().backward();
      assert.ok(x.grad, 'x.grad set');
      assert.ok(layer.weight?.grad, 'weight.grad set');
      assert.ok(layer.bias?.grad, 'bias.grad set');
      assertClose(x.grad, c.gx, rtolFor(dtype), 'grad x');
      assertClose(layer.weight.grad, c.gweight, rtolFor(dtype), 'grad weight');
      assertClose(layer.bias.grad, c.gbias, rtolFor(dtype), 'grad bias');

      // Training updates the running statistics (torch: unbiased variance); eval leaves them.
      assertClose(layer.buffer('running_mean'), c.runningMeanAfter, rtolFor(dtype), 'running_mean after');
      assertClose(layer.buffer('running_var'), c.runningVarAfter, rtolFor(dtype), 'running_var after');
      assert.equal(layer.buffer('num_batches_tracked').itemSync(), c.training ? 1 : 0, 'num_batches_tracked');
      if (!c.training) {
        // Eval must not have touched the buffers at all.
        assertClose(
          layer.buffer('running_mean'),
          fromSpec(c.runningMean, dtype).dataSync(),
          0,
          'running_mean unchanged in eval',
        );
        assertClose(
          layer.buffer('running_var'),
          fromSpec(c.runningVar, dtype).dataSync(),
          0,
          'running_var unchanged in eval',
        );
      }
    });
  }
}

const ceCases = fixtureSection<CrossEntropyCase>('crossEntropy');

test('crossEntropy fixture covers every reduction with and without label smoothing', () => {
  const seen = new Set(ceCases.map((c) => `${c.reduction}/${c.labelSmoothing}`));
  for (const r of ['mean', 'sum', 'none']) for (const ls of [0, 0.1]) assert.ok(seen.has(`${r}/${ls}`), `${r}/${ls}`);
});

for (const c of ceCases) {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`crossEntropy ${c.name} (${dtype}) matches PyTorch`, () => {
      const logits = fromSpec(c.logits, dtype, true);
      const labels = fromSpec(c.labels, 'int32');
      const loss = crossEntropy(logits, labels, { reduction: c.reduction, labelSmoothing: c.labelSmoothing });
      assert.equal(loss.dtype, dtype);
      assertClose(loss, c.loss, rtolFor(dtype), 'loss');
      loss.sum().backward();
      assert.ok(logits.grad, 'logits.grad set');
      assertClose(logits.grad, c.glogits, rtolFor(dtype), 'grad logits');
    });
  }
}

const nllCases = fixtureSection<NllCase>('nllLoss');

test('nllLoss fixture covers every reduction', () => {
  assert.deepEqual(nllCases.map((c) => c.reduction).sort(), ['mean', 'none', 'sum']);
});

for (const c of nllCases) {
  for (const dtype of ['float32', 'float64'] as DType[]) {
    test(`nllLoss ${c.name} (${dtype}) matches PyTorch`, () => {
      const logProbs = fromSpec(c.logProbs, dtype, true);
      const labels = fromSpec(c.labels, 'int32');
      const loss = nllLoss(logProbs, labels, { reduction: c.reduction });
      assertClose(loss, c.loss, rtolFor(dtype), 'loss');
      loss.sum().backward();
      assert.ok(logProbs.grad, 'logProbs.grad set');
      assertClose(logProbs.grad, c.glogProbs, rtolFor(dtype), 'grad logProbs');
    });
  }
}

// ------------------------------------------------------------ hand-computed values

test('binaryCrossEntropyWithLogits values are stable for large logits', () => {
  const z = tensor([
    [100, -100, 0, 30],
    [-30, 0.5, 2, -2],
  ]);
  const t = tensor([
    [0, 1, 1, 0],
    [1, 0, 0.5, 1],
  ]);
  // loss = softplus(z) − z·t = log(1 + eᶻ) − z·t
  const softplus = (v: number): number => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  const zs = [100, -100, 0, 30, -30, 0.5, 2, -2];
  const ts = [0, 1, 1, 0, 1, 0, 0.5, 1];
  const expected = zs.map((v, i) => softplus(v) - v * ts[i]!);
  assertClose(binaryCrossEntropyWithLogits(z, t, { reduction: 'none' }), expected, 1e-6, 'none');
  assertClose(binaryCrossEntropyWithLogits(z, t), [expected.reduce((a, b) => a + b) / 8], 1e-6, 'mean');
  assertClose(
    binaryCrossEntropyWithLogits(z, t, { reduction: 'sum' }),
    [expected.reduce((a, b) => a + b)],
    1e-6,
    'sum',
  );
});

test('binaryCrossEntropyWithLogits gradient is σ(z) − t, also at z = 0', () => {
  // Logits of exactly 0 are common: a zero-initialized output layer produces them.
  const zs = [-3, -0.5, 0, 0, 0.5, 3];
  const ts = [1, 0, 0, 1, 0.25, 0];
  const z = tensor(zs, { requiresGrad: true });
  binaryCrossEntropyWithLogits(z, tensor(ts), { reduction: 'sum' }).backward();
  assertClose(
    z.grad!,
    zs.map((v, i) => 1 / (1 + Math.exp(-v)) - ts[i]!),
    1e-6,
    'grad',
  );
});

test('mseLoss, l1Loss and the penalties by hand', () => {
  const p = tensor([1, 2, 3, -1]);
  const t = tensor([1, 0, 6, 1]);
  // differences 0, 2, −3, −2
  assertClose(mseLoss(p, t), [(0 + 4 + 9 + 4) / 4], 1e-6, 'mse mean');
  assertClose(mseLoss(p, t, { reduction: 'sum' }), [17], 1e-6, 'mse sum');
  assertClose(mseLoss(p, t, { reduction: 'none' }), [0, 4, 9, 4], 1e-6, 'mse none');
  assertClose(l1Loss(p, t), [7 / 4], 1e-6, 'l1 mean');
  assertClose(l1Loss(p, t, { reduction: 'none' }), [0, 2, 3, 2], 1e-6, 'l1 none');
  const a = tensor([1, -2]);
  const b = tensor([[3], [-0.5]]);
  assertClose(l1Penalty([a, b]), [6.5], 1e-6, 'l1Penalty');
  assertClose(l2Penalty([a, b]), [14.25], 1e-6, 'l2Penalty');
  assert.throws(() => l1Penalty([]), ArgumentError);
  assert.throws(() => l2Penalty([]), ArgumentError);
  assert.throws(() => mseLoss(zeros([2, 3]), zeros([3, 2])), ShapeError);
});

test('crossEntropy and nllLoss reject bad targets and reductions', () => {
  const logits = zeros([2, 5]);
  assert.throws(
    () => crossEntropy(logits, tensor([0, 5], { dtype: 'int32' })),
    /target 5 at index 1 is out of range for 5 classes/,
  );
  assert.throws(() => crossEntropy(logits, tensor([-1, 0], { dtype: 'int32' })), ArgumentError);
  assert.throws(() => crossEntropy(logits, tensor([0, 1])), DTypeError);
  assert.throws(() => nllLoss(logits, tensor([0, 1, 2], { dtype: 'int32' })), ShapeError);
  assert.throws(() => crossEntropy(zeros([2, 5, 1]), tensor([0, 1], { dtype: 'int32' })), ShapeError);
  assert.throws(
    () => crossEntropy(logits, tensor([0, 1], { dtype: 'int32' }), { reduction: 'avg' as Reduction }),
    ArgumentError,
  );
  assert.throws(() => crossEntropy(logits, tensor([0, 1], { dtype: 'int32' }), { labelSmoothing: 1.5 }), ArgumentError);
  // Uniform logits: loss log C whatever the labels.
  assertClose(crossEntropy(logits, tensor([3, 1], { dtype: 'int32' })), [Math.log(5)], 1e-6, 'uniform logits');
  // Huge logits stay finite: −log softmax = 2·10⁴ for the least likely class.
  assertClose(crossEntropy(tensor([[1e4, 0, -1e4]]), tensor([2], { dtype: 'int32' })), [2e4], 1e-6, 'huge logits');
});
