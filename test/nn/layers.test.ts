/**
 * The extra layers (normalizations, rectifiers, transposed convolution,
 * upsampling, stochastic pooling, residual/concat blocks, L-Softmax) against
 * PyTorch (test/fixtures/torch-layers.json, scripts/make-layer-fixtures.py)
 * on every registered backend, against closed-form values where PyTorch has
 * no such layer, and their error messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  Concat,
  ConvTranspose2d,
  Conv2d,
  DTypeError,
  ELU,
  Generator,
  GroupNorm,
  InstanceNorm2d,
  LSoftmaxLinear,
  LayerNorm,
  Linear,
  LocalResponseNorm,
  Maxout,
  MaxoutLinear,
  Module,
  PReLU,
  Parameter,
  RReLU,
  ReLU,
  Residual,
  Sequential,
  ShapeError,
  StochasticPool2d,
  Tanh,
  Upsample,
  convTranspose2d,
  crossEntropy,
  fromArray,
  getBackend,
  lSoftmaxLambda,
  lSoftmaxLoss,
  lSoftmaxPsi,
  listBackends,
  maxout,
  rand,
  randn,
  setBackend,
  stochasticPool2d,
  tensor,
  zeros,
  type Backend,
  type DType,
  type Tensor,
} from '../../src/index.js';
import { assertClose, fromSpec, layerFixtureSection, type TensorSpec } from '../helpers/nn-fixtures.js';

/** float64 results: the fixtures' 8 significant digits (5e-9) and summation order; float32: its rounding through the op. */
const F64_RTOL = 2e-7;
const F32_RTOL = 2e-6;
const rtolFor = (dtype: DType): number => (dtype === 'float64' ? F64_RTOL : F32_RTOL);
const DTYPES: DType[] = ['float32', 'float64'];

interface Grads {
  x: TensorSpec;
  y: TensorSpec;
  gy: TensorSpec;
  gx: TensorSpec;
}

/** A normalization case with optional affine parameters and their expected gradients. */
interface AffineCase extends Grads {
  weight: TensorSpec | null;
  bias: TensorSpec | null;
  gweight: TensorSpec | null;
  gbias: TensorSpec | null;
}

interface LayerNormCase extends AffineCase {
  name: string;
  normalizedShape: number[];
  elementwiseAffine: boolean;
  eps: number;
}

interface InstanceNormCase extends AffineCase {
  name: string;
  affine: boolean;
  trackRunningStats: boolean;
  training: boolean;
  momentum: number;
  eps: number;
  runningMean: TensorSpec | null;
  runningVar: TensorSpec | null;
  runningMeanAfter: TensorSpec | null;
  runningVarAfter: TensorSpec | null;
  numBatchesTrackedAfter: number | null;
}

interface GroupNormCase extends AffineCase {
  name: string;
  numGroups: number;
  affine: boolean;
  eps: number;
}

interface LrnCase extends Grads {
  name: string;
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

interface PreluCase extends Grads {
  name: string;
  numParameters: number;
  weight: TensorSpec;
  gweight: TensorSpec;
}

interface RreluCase extends Grads {
  name: string;
  lower: number;
  upper: number;
}

interface EluCase extends Grads {
  name: string;
  alpha: number;
}

interface UpsampleCase extends Grads {
  name: string;
  mode: 'nearest' | 'bilinear';
  size: [number, number] | null;
  scaleFactor: number | [number, number] | null;
}

interface ConvTransposeCase extends Grads {
  name: string;
  inChannels: number;
  outChannels: number;
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  outputPadding: [number, number];
  dilation: [number, number];
  groups: number;
  bias: boolean;
  weight: TensorSpec;
  b: TensorSpec | null;
  gweight: TensorSpec;
  gbias: TensorSpec | null;
}

type TensorModule = Module & { forward(x: Tensor): Tensor };

/** Runs x through the layer, backpropagates the fixture's upstream gradient, compares y and x.grad. */
function forwardBackward(layer: TensorModule, c: Grads, dtype: DType): Tensor {
  const x = fromSpec(c.x, dtype, true);
  const y = layer.forward(x);
  assert.equal(y.dtype, dtype, 'output dtype');
  assertClose(y, c.y, rtolFor(dtype), 'y');
  y.mul(fromSpec(c.gy, dtype)).sum().backward();
  assert.ok(x.grad, 'x.grad set');
  assertClose(x.grad, c.gx, rtolFor(dtype), 'grad x');
  return x;
}

function param(spec: TensorSpec, dtype: DType): Parameter {
  return new Parameter(fromSpec(spec, dtype));
}

function checkParamGrad(p: Parameter | null, expected: TensorSpec | null, label: string, dtype: DType): void {
  if (!expected) {
    assert.equal(p, null, `${label}: no parameter expected`);
    return;
  }
  assert.ok(p?.grad, `${label}.grad set`);
  assertClose(p.grad, expected, rtolFor(dtype), `grad ${label}`);
}

/** Gives `layer` the case's affine parameters (if any), runs the case, and checks their gradients. */
function runAffine(
  layer: TensorModule & { weight: Parameter | null; bias: Parameter | null },
  c: AffineCase,
  dtype: DType,
): void {
  if (c.weight && c.bias) {
    layer.weight = param(c.weight, dtype);
    layer.bias = param(c.bias, dtype);
  }
  forwardBackward(layer, c, dtype);
  checkParamGrad(layer.weight, c.gweight, 'weight', dtype);
  checkParamGrad(layer.bias, c.gbias, 'bias', dtype);
}

const lnCases = layerFixtureSection<LayerNormCase>('layerNorm');
const inCases = layerFixtureSection<InstanceNormCase>('instanceNorm2d');
const gnCases = layerFixtureSection<GroupNormCase>('groupNorm');
const lrnCases = layerFixtureSection<LrnCase>('localResponseNorm');
const preluCases = layerFixtureSection<PreluCase>('prelu');
const rreluCases = layerFixtureSection<RreluCase>('rreluEval');
const eluCases = layerFixtureSection<EluCase>('elu');
const upCases = layerFixtureSection<UpsampleCase>('upsample');
const ctCases = layerFixtureSection<ConvTransposeCase>('convTranspose2d');

test('torch-layers fixture covers the required configurations', () => {
  const inKinds = new Set(inCases.map((c) => `${c.affine}/${c.trackRunningStats}/${c.training}`));
  for (const k of ['false/false/true', 'true/false/true', 'true/true/true', 'true/true/false', 'false/true/false'])
    assert.ok(inKinds.has(k), `instanceNorm ${k}`);
  assert.ok(lrnCases.some((c) => c.size % 2 === 0) && lrnCases.some((c) => c.size % 2 === 1), 'LRN even and odd');
  assert.ok(preluCases.some((c) => c.numParameters === 1) && preluCases.some((c) => c.numParameters > 1));
  assert.ok(upCases.some((c) => c.mode === 'bilinear' && c.size && c.size[1] % c.x.shape[3]! !== 0));
  const strides = new Set(ctCases.map((c) => c.stride[0]));
  assert.deepEqual([...strides].sort(), [1, 2, 3]);
  assert.ok(ctCases.some((c) => c.groups === 2) && ctCases.some((c) => c.groups === 1));
  assert.ok(ctCases.some((c) => c.bias) && ctCases.some((c) => !c.bias));
  assert.ok(
    ctCases.some((c) => c.dilation[0] === 2 && c.outputPadding[0] >= c.stride[0]),
    'outputPadding >= stride',
  );
  assert.ok(
    ctCases.some((c) => c.outputPadding[0] > c.padding[0]),
    'outputPadding > padding',
  );
  assert.ok(
    ctCases.some((c) => c.outputPadding[0] > 0 && c.outputPadding[0] <= c.padding[0]),
    'outputPadding <= pad',
  );
});

for (const backend of listBackends()) {
  describe(`torch-layers fixtures on the ${backend} backend`, () => {
    let previous: Backend;
    before(() => {
      previous = getBackend();
      setBackend(backend);
    });
    after(() => {
      setBackend(previous);
    });

    for (const dtype of DTYPES) {
      for (const c of lnCases) {
        test(`LayerNorm ${c.name} (${dtype})`, () => {
          runAffine(new LayerNorm(c.normalizedShape, { eps: c.eps, elementwiseAffine: c.elementwiseAffine }), c, dtype);
        });
      }

      for (const c of inCases) {
        test(`InstanceNorm2d ${c.name} (${dtype})`, () => {
          const c3 = c.x.shape[1]!;
          const layer = new InstanceNorm2d(c3, {
            eps: c.eps,
            momentum: c.momentum,
            affine: c.affine,
            trackRunningStats: c.trackRunningStats,
          });
          if (c.runningMean && c.runningVar) {
            const r = layer.loadStateDict(
              {
                running_mean: fromSpec(c.runningMean, dtype),
                running_var: fromSpec(c.runningVar, dtype),
                num_batches_tracked: fromSpec({ shape: [], data: [0] }, 'int32'),
              },
              { strict: false },
            );
            assert.deepEqual(r.unexpectedKeys, []);
          }
          layer.train(c.training);
          runAffine(layer, c, dtype);
          if (c.runningMeanAfter && c.runningVarAfter) {
            assertClose(layer.buffer('running_mean'), c.runningMeanAfter, rtolFor(dtype), 'running_mean after');
            assertClose(layer.buffer('running_var'), c.runningVarAfter, rtolFor(dtype), 'running_var after');
            assert.equal(layer.buffer('num_batches_tracked').itemSync(), c.numBatchesTrackedAfter);
          } else {
            assert.throws(() => layer.buffer('running_mean'), ArgumentError);
          }
        });
      }

      for (const c of gnCases) {
        test(`GroupNorm ${c.name} (${dtype})`, () => {
          runAffine(new GroupNorm(c.numGroups, c.x.shape[1]!, { eps: c.eps, affine: c.affine }), c, dtype);
        });
      }

      for (const c of lrnCases) {
        test(`LocalResponseNorm ${c.name} (${dtype})`, () => {
          forwardBackward(new LocalResponseNorm(c.size, { alpha: c.alpha, beta: c.beta, k: c.k }), c, dtype);
        });
      }

      for (const c of preluCases) {
        test(`PReLU ${c.name} (${dtype})`, () => {
          const layer = new PReLU({ numParameters: c.numParameters });
          layer.weight = param(c.weight, dtype);
          forwardBackward(layer, c, dtype);
          checkParamGrad(layer.weight, c.gweight, 'weight', dtype);
        });
      }

      for (const c of rreluCases) {
        test(`RReLU eval ${c.name} (${dtype})`, () => {
          forwardBackward(new RReLU({ lower: c.lower, upper: c.upper }).eval(), c, dtype);
        });
      }

      for (const c of eluCases) {
        test(`ELU ${c.name} (${dtype})`, () => {
          forwardBackward(new ELU(c.alpha), c, dtype);
        });
      }

      for (const c of upCases) {
        test(`Upsample ${c.name} (${dtype})`, () => {
          const layer = new Upsample({
            mode: c.mode,
            ...(c.size ? { size: c.size } : {}),
            ...(c.scaleFactor !== null ? { scaleFactor: c.scaleFactor } : {}),
          });
          forwardBackward(layer, c, dtype);
        });
      }

      for (const c of ctCases) {
        test(`ConvTranspose2d ${c.name} (${dtype})`, () => {
          const layer = new ConvTranspose2d(c.inChannels, c.outChannels, c.kernelSize, {
            stride: c.stride,
            padding: c.padding,
            outputPadding: c.outputPadding,
            dilation: c.dilation,
            groups: c.groups,
            bias: c.bias,
          });
          assert.deepEqual([...layer.weight.shape], c.weight.shape, 'weight shape as PyTorch');
          layer.weight = param(c.weight, dtype);
          if (c.b) layer.bias = param(c.b, dtype);
          forwardBackward(layer, c, dtype);
          checkParamGrad(layer.weight, c.gweight, 'weight', dtype);
          checkParamGrad(layer.bias, c.gbias, 'bias', dtype);
        });
      }
    }
  });
}

// ---------------------------------------------------------------- ConvTranspose2d details

test('ConvTranspose2d: initialized as PyTorch (weight and bias uniform in ±1/√fan_in, fan_in from weight.shape[1])', () => {
  const layer = new ConvTranspose2d(8, 12, [3, 5], { groups: 2 });
  assert.deepEqual([...layer.weight.shape], [8, 6, 3, 5]);
  const fanIn = 6 * 3 * 5;
  const bound = 1 / Math.sqrt(fanIn);
  const w = Array.from(layer.weight.dataSync());
  const b = Array.from(layer.bias!.dataSync());
  const wMax = Math.max(...w.map(Math.abs));
  assert.ok(wMax <= bound && wMax > 0.95 * bound, `max |w| ${wMax} vs bound ${bound}`);
  // Uniform on ±bound has variance bound²/3.
  const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
  assert.ok(Math.abs(variance / ((bound * bound) / 3) - 1) < 0.15, `variance ${variance}`);
  assert.ok(Math.max(...b.map(Math.abs)) <= bound, 'bias within bound');
  assert.deepEqual(
    layer.namedParameters().map(([n]) => n),
    ['weight', 'bias'],
  );
  assert.equal(new ConvTranspose2d(4, 2, 3, { bias: false }).bias, null);
});

test('ConvTranspose2d: output size formula, outputSize argument, and adjointness with conv2d', () => {
  const x = randn([2, 4, 5, 6], { generator: new Generator(3) });
  const layer = new ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1 });
  // (5−1)·2 − 2 + 2 + 0 + 1 = 9, (6−1)·2 − 2 + 2 + 1 = 11
  assert.deepEqual([...layer.forward(x).shape], [2, 3, 9, 11]);
  assert.deepEqual([...layer.forward(x, [10, 12]).shape], [2, 3, 10, 12]);
  assert.throws(() => layer.forward(x, [11, 12]), /outputSize \[11, 12\] is not reachable .*\[9, 11\] to \[10, 12\]/);
  // <conv2d(u, w), v> = <u, convTranspose2d(v, w)> with the same stride/padding/dilation/groups.
  const g = new Generator(11);
  const w = randn([4, 3, 3, 3], { dtype: 'float64', generator: g });
  const v = randn([2, 4, 4, 5], { dtype: 'float64', generator: g });
  const opts = { stride: 2, padding: 1, dilation: 1 };
  const t = convTranspose2d(v, w, null, { ...opts, outputPadding: [1, 0] });
  const u = randn([...t.shape], { dtype: 'float64', generator: g });
  const lhs = u.mul(t).sum().itemSync();
  const conv = new Conv2d(3, 4, 3, { ...opts, bias: false });
  conv.weight = new Parameter(w);
  const rhs = conv.forward(u).mul(v).sum().itemSync();
  assert.ok(Math.abs(lhs - rhs) < 1e-9 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`);
});

test('ConvTranspose2d errors name the shapes and the rule broken', () => {
  assert.throws(
    () => new ConvTranspose2d(4, 2, 3, { stride: 2, outputPadding: 2 }),
    (e: unknown) =>
      e instanceof ArgumentError &&
      /outputPadding \[2, 2\] must be smaller than either stride \[2, 2\] or dilation \[1, 1\]/.test(e.message),
  );
  assert.throws(() => new ConvTranspose2d(4, 3, 3, { groups: 2 }), /divisible by groups=2/);
  const layer = new ConvTranspose2d(4, 2, 3);
  assert.throws(
    () => layer.forward(zeros([2, 3, 5, 5])),
    (e: unknown) => e instanceof ShapeError && /\[N, 4, H, W\], got \[2, 3, 5, 5\]/.test(e.message),
  );
  assert.throws(
    () => convTranspose2d(zeros([1, 3, 5, 5]), zeros([4, 2, 3, 3])),
    (e: unknown) => e instanceof ShapeError && e.message.includes('[1, 3, 5, 5]') && e.message.includes('[4, 2, 3, 3]'),
  );
  assert.throws(
    () => convTranspose2d(zeros([1, 4, 5, 5]), zeros([4, 2, 3, 3], { dtype: 'float64' })),
    (e: unknown) => e instanceof DTypeError && /float32.*float64/.test(e.message),
  );
  assert.throws(
    () => convTranspose2d(zeros([1, 4, 5, 5]), zeros([4, 2, 3, 3]), zeros([3])),
    /bias \[3\] must have shape \[2\]/,
  );
  assert.throws(
    () => convTranspose2d(zeros([1, 4, 1, 1]), zeros([4, 2, 1, 1]), null, { padding: 1 }),
    (e: unknown) => e instanceof ShapeError && /empty output/.test(e.message),
  );
});

// ---------------------------------------------------------------- normalization details

test('InstanceNorm2d: buffers only when tracking, PyTorch state dict names, unbatched input', () => {
  assert.deepEqual(Object.keys(new InstanceNorm2d(3).stateDict()), []);
  assert.deepEqual(Object.keys(new InstanceNorm2d(3, { affine: true }).stateDict()).sort(), ['bias', 'weight']);
  assert.deepEqual(Object.keys(new InstanceNorm2d(3, { trackRunningStats: true }).stateDict()).sort(), [
    'num_batches_tracked',
    'running_mean',
    'running_var',
  ]);
  const layer = new InstanceNorm2d(2);
  const x = randn([2, 4, 3], { generator: new Generator(5) });
  const batched = layer.forward(x.unsqueeze(0));
  assertClose(layer.forward(x), batched.squeeze(0).dataSync(), 1e-6, 'unbatched');
  // Each plane has mean 0 and (biased) variance 1/(1 + eps/var) ≈ 1.
  const planeMeans = Array.from(batched.mean([2, 3]).dataSync());
  assertClose(planeMeans, [0, 0], 1e-5, 'plane means');
  assert.throws(
    () => layer.forward(zeros([2, 3, 4, 4])),
    (e: unknown) => e instanceof ShapeError && /\[N, 2, H, W\].*got \[2, 3, 4, 4\]/.test(e.message),
  );
  assert.throws(() => layer.forward(zeros([2, 2, 1, 1])), /more than one spatial element/);
});

test('GroupNorm and LayerNorm errors name the numbers and shapes', () => {
  assert.throws(
    () => new GroupNorm(4, 6),
    (e: unknown) => e instanceof ArgumentError && /numChannels 6 must be divisible by numGroups 4/.test(e.message),
  );
  assert.throws(
    () => new GroupNorm(2, 6).forward(zeros([2, 4, 3, 3])),
    (e: unknown) => e instanceof ShapeError && /\[N, 6, \.\.\.\], got \[2, 4, 3, 3\]/.test(e.message),
  );
  assert.throws(
    () => new LayerNorm([4, 5]).forward(zeros([2, 5, 4])),
    (e: unknown) => e instanceof ShapeError && e.message.includes('[4, 5]') && e.message.includes('[2, 5, 4]'),
  );
  assert.throws(() => new LocalResponseNorm(0), ArgumentError);
  assert.throws(() => new LocalResponseNorm(3).forward(zeros([2, 3])), /\[N, C, \.\.\.spatial\], got \[2, 3\]/);
  assert.deepEqual(
    new GroupNorm(2, 4).namedParameters().map(([n, p]) => `${n}${JSON.stringify(p.shape)}`),
    ['weight[4]', 'bias[4]'],
  );
  assert.deepEqual(new LayerNorm([3, 2], { elementwiseAffine: false }).parameters(), []);
});

// ---------------------------------------------------------------- rectifiers

test('PReLU: per-channel slope count must match the channels; default init 0.25', () => {
  const layer = new PReLU({ numParameters: 3 });
  assert.deepEqual(Array.from(layer.weight.dataSync()), [0.25, 0.25, 0.25]);
  assert.throws(
    () => layer.forward(zeros([2, 4, 2, 2])),
    (e: unknown) => e instanceof ShapeError && e.message.includes('[3]') && e.message.includes('[2, 4, 2, 2]'),
  );
  assert.deepEqual(Array.from(new PReLU({ init: 0.1 }).weight.dataSync()), [Math.fround(0.1)]);
});

test('RReLU in training: one slope per negative element in [lower, upper], reproducible from the seed', () => {
  const x = fromArray(
    Float64Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? -1 - (i % 7) : 0.5 + (i % 3))),
    [4, 100],
    { dtype: 'float64' },
  );
  const run = (seed: number): number[] =>
    Array.from(new RReLU({ lower: 0.1, upper: 0.3, generator: new Generator(seed) }).forward(x).dataSync());
  const y = run(1);
  const xs = Array.from(x.dataSync());
  const slopes = xs.map((v, i) => (v < 0 ? y[i]! / v : NaN)).filter((s) => !Number.isNaN(s));
  xs.forEach((v, i) => {
    if (v > 0) assert.equal(y[i], v, 'positive part unchanged');
  });
  assert.equal(slopes.length, 200);
  assert.ok(
    slopes.every((s) => s >= 0.1 && s < 0.3),
    'slopes in [lower, upper)',
  );
  assert.ok(new Set(slopes.map((s) => s.toFixed(9))).size > 190, 'slopes differ per element');
  const meanSlope = slopes.reduce((a, b) => a + b, 0) / slopes.length;
  assert.ok(Math.abs(meanSlope - 0.2) < 0.02, `mean slope ${meanSlope}`);
  assert.deepEqual(run(1), y, 'same seed, same slopes');
  assert.notDeepEqual(run(2), y, 'another seed, other slopes');
  // Evaluation: the fixed slope (lower + upper)/2.
  const e = new RReLU({ lower: 0.1, upper: 0.3 }).eval().forward(tensor([-2, 3]));
  assertClose(e, [-0.4, 3], 1e-6, 'eval');
  assert.throws(() => new RReLU({ lower: 0.5, upper: 0.1 }), ArgumentError);
});

test('Maxout: elementwise max over C/pieces-channel blocks, as written out by hand', () => {
  const g = new Generator(8);
  const x = randn([2, 6, 2, 3], { generator: g });
  const y = new Maxout({ pieces: 3 }).forward(x);
  assert.deepEqual([...y.shape], [2, 2, 2, 3]);
  const xs = x.dataSync();
  const expected: number[] = [];
  for (let n = 0; n < 2; n++)
    for (let j = 0; j < 2; j++)
      for (let p = 0; p < 6; p++) {
        let best = -Infinity;
        for (let k = 0; k < 3; k++) best = Math.max(best, xs[((n * 6 + k * 2 + j) * 6 + p) | 0]!);
        expected.push(best);
      }
  assertClose(y, expected, 0, 'maxout');
  // Last axis, and the linear variant's shapes.
  assert.deepEqual([...maxout(zeros([3, 8]), 4, -1).shape], [3, 2]);
  const unit = new MaxoutLinear(5, 3, 4);
  assert.deepEqual([...unit.forward(zeros([7, 5])).shape], [7, 3]);
  assert.deepEqual(
    unit.namedParameters().map(([n, p]) => `${n}${JSON.stringify(p.shape)}`),
    ['weight[12,5]', 'bias[12]'],
  );
  assert.throws(
    () => new Maxout({ pieces: 4 }).forward(zeros([2, 6, 2, 2])),
    (e: unknown) => e instanceof ShapeError && /size 6, which does not split into 4 pieces/.test(e.message),
  );
  assert.throws(() => new Maxout({ pieces: 0 }), ArgumentError);
});

// ---------------------------------------------------------------- Upsample

test('Upsample: needs exactly one of size and scaleFactor', () => {
  assert.throws(() => new Upsample({}), /exactly one of size and scaleFactor/);
  assert.throws(() => new Upsample({ size: 4, scaleFactor: 2 }), ArgumentError);
  assert.throws(() => new Upsample({ scaleFactor: -1 }), ArgumentError);
  assert.deepEqual([...new Upsample({ size: [5, 7] }).forward(zeros([1, 2, 3, 4])).shape], [1, 2, 5, 7]);
  assert.throws(() => new Upsample({ scaleFactor: 2 }).forward(zeros([2, 3])), ShapeError);
});

// ---------------------------------------------------------------- stochastic pooling

/** Windows of a [1, 1, H, W] map as arrays, in output order. */
function windows(x: Tensor, k: number, s: number): number[][] {
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  const v = x.dataSync();
  const out: number[][] = [];
  for (let i = 0; i + k <= h; i += s)
    for (let j = 0; j + k <= w; j += s) {
      const win: number[] = [];
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) win.push(v[(i + a) * w + j + b]!);
      out.push(win);
    }
  return out;
}

test('StochasticPool2d in eval: Σa²/Σa per window (0 for all-zero windows), overlapping or not', () => {
  const x = rand([1, 1, 5, 5], { dtype: 'float64', generator: new Generator(4) });
  const data = x.dataSync();
  for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) data[i * 5 + j] = 0; // two all-zero 2x2 windows
  const xz = fromArray(data, [1, 1, 5, 5], { dtype: 'float64' });
  for (const [k, s] of [
    [2, 2],
    [3, 2],
    [2, 1],
  ] as const) {
    const y = new StochasticPool2d(k, { stride: s }).eval().forward(xz);
    const expected = windows(xz, k, s).map((win) => {
      const total = win.reduce((a, b) => a + b, 0);
      return total === 0 ? 0 : win.reduce((a, b) => a + b * b, 0) / total;
    });
    assertClose(y, expected, 1e-12, `kernel ${k} stride ${s}`);
  }
});

test('StochasticPool2d in training: picks one element per window with probability a_i/Σa; gradient one-hot', () => {
  const x = tensor(
    [
      [
        [
          [1, 3, 0, 0],
          [0, 6, 0, 0],
          [2, 2, 5, 5],
          [2, 2, 5, 5],
        ],
      ],
    ],
    { dtype: 'float64' },
  );
  const wins = windows(x, 2, 2);
  const pool = new StochasticPool2d(2, { generator: new Generator(123) });
  const trials = 3000;
  const counts = wins.map((w) => new Map<number, number>(w.map((v) => [v, 0])));
  for (let t = 0; t < trials; t++) {
    const xg = fromArray(x.dataSync(), [1, 1, 4, 4], { dtype: 'float64', requiresGrad: true });
    const y = pool.forward(xg);
    const ys = Array.from(y.dataSync());
    ys.forEach((v, i) => {
      const m = counts[i]!;
      assert.ok(m.has(v), `window ${i}: output ${v} is one of ${wins[i]!.join(', ')}`);
      m.set(v, m.get(v)! + 1);
    });
    if (t < 20) {
      // The gradient of the sum goes to one picked element per window (all-zero window: none).
      y.sum().backward();
      const g = Array.from(xg.grad!.dataSync());
      assert.equal(g.filter((v) => v === 1).length, 3, 'one picked element in each non-empty window');
      assert.equal(g.filter((v) => v !== 0 && v !== 1).length, 0, 'gradient is one-hot');
      const gx = windows(xg.grad!, 2, 2);
      gx.forEach((gw, i) => {
        const picked = gw.findIndex((v) => v === 1);
        if (i === 1) assert.equal(picked, -1, 'all-zero window');
        else assert.equal(wins[i]![picked], ys[i], 'the gradient goes to the picked element');
      });
    }
  }
  // Empirical frequencies against a_i/Σa (binomial standard error at most √(1/(4·3000)) ≈ 0.009).
  counts.forEach((m, i) => {
    const w = wins[i]!;
    const total = w.reduce((a, b) => a + b, 0);
    for (const [v, n] of m) {
      if (total === 0) {
        assert.equal(v, 0);
        continue;
      }
      const p = w.filter((u) => u === v).reduce((a, b) => a + b, 0) / total;
      assert.ok(Math.abs(n / trials - p) < 0.04, `window ${i} value ${v}: ${n / trials} vs ${p}`);
    }
  });
  // Same seed, same picks.
  const a = new StochasticPool2d(2, { generator: new Generator(5) }).forward(x);
  const b = new StochasticPool2d(2, { generator: new Generator(5) }).forward(x);
  assertClose(a, b.dataSync(), 0, 'reproducible');
});

test('StochasticPool2d: rejects negative input and bad shapes', () => {
  assert.throws(
    () =>
      stochasticPool2d(
        tensor([
          [
            [
              [1, -2],
              [3, 4],
            ],
          ],
        ]),
        2,
      ),
    (e: unknown) => e instanceof ArgumentError && /non-negative.*-2/.test(e.message),
  );
  assert.throws(() => new StochasticPool2d(3).forward(zeros([1, 1, 2, 2])), /\[1, 1, 2, 2\] is smaller than the 3x3/);
  assert.throws(() => new StochasticPool2d(2).forward(zeros([2, 2])), ShapeError);
  assert.deepEqual([...new StochasticPool2d(3, { stride: 2 }).forward(zeros([2, 3, 7, 8])).shape], [2, 3, 3, 3]);
});

// ---------------------------------------------------------------- Residual and Concat

test('Residual: body(x) + x, or body(x) + shortcut(x); parameters named body.* and shortcut.*', () => {
  const body = new Sequential(new Linear(4, 4), new Tanh());
  const plain = new Residual(body);
  const x = randn([3, 4], { generator: new Generator(2) });
  assertClose(plain.forward(x), body.forward(x).add(x).dataSync(), 1e-6, 'identity shortcut');
  assert.deepEqual(
    plain.namedParameters().map(([n]) => n),
    ['body.0.weight', 'body.0.bias'],
  );
  const proj = new Linear(4, 2);
  const res = new Residual(new Linear(4, 2), proj);
  assertClose(
    res.forward(x),
    (res.body as TensorModule).forward(x).add(proj.forward(x)).dataSync(),
    1e-6,
    'projection shortcut',
  );
  assert.deepEqual(
    res.namedParameters().map(([n]) => n),
    ['body.weight', 'body.bias', 'shortcut.weight', 'shortcut.bias'],
  );
  assert.throws(
    () => new Sequential(new Residual(new Linear(4, 2))).forward(x),
    (e: unknown) =>
      e instanceof ShapeError &&
      e.message.startsWith('0 (Residual(identity shortcut)): ') &&
      e.message.includes('[3, 2]') &&
      e.message.includes('[3, 4]'),
  );
});

test('Concat: branches applied to the same input, joined along the axis; parameters branches.i.*', () => {
  const a = new Conv2d(2, 3, 1);
  const b = new Sequential(new Conv2d(2, 1, 3, { padding: 1 }), new ReLU());
  const cat = new Concat([a, b]);
  const x = randn([2, 2, 4, 4], { generator: new Generator(6) });
  const y = cat.forward(x);
  assert.deepEqual([...y.shape], [2, 4, 4, 4]);
  assertClose(y.narrow(1, 0, 3), a.forward(x).dataSync(), 1e-6, 'branch 0');
  assertClose(y.narrow(1, 3, 1), b.forward(x).dataSync(), 1e-6, 'branch 1');
  assert.deepEqual(
    cat.namedParameters().map(([n]) => n),
    ['branches.0.weight', 'branches.0.bias', 'branches.1.0.weight', 'branches.1.0.bias'],
  );
  const last = new Concat([new Linear(3, 2), new Linear(3, 5)], -1);
  assert.deepEqual([...last.forward(zeros([4, 3])).shape], [4, 7]);
  assert.throws(
    () => new Concat([new Conv2d(2, 3, 1), new Conv2d(2, 3, 3)]).forward(x),
    (e: unknown) => e instanceof ShapeError && e.message.includes('[2, 3, 4, 4], [2, 3, 2, 2]'),
  );
  assert.throws(() => new Concat([]), ArgumentError);
});

// ---------------------------------------------------------------- L-Softmax

/** ψ(θ) = (−1)^k cos(mθ) − 2k on [kπ/m, (k+1)π/m], straight from the definition. */
function psiByDefinition(theta: number, m: number): number {
  const k = Math.min(Math.floor((theta * m) / Math.PI), m - 1);
  return (k % 2 === 0 ? 1 : -1) * Math.cos(m * theta) - 2 * k;
}

test('lSoftmaxPsi equals (−1)^k·cos(mθ) − 2k at known angles, is continuous and below cos θ', () => {
  const thetas = Array.from({ length: 37 }, (_, i) => (i * Math.PI) / 36);
  const cos = tensor(
    thetas.map((t) => Math.cos(t)),
    { dtype: 'float64' },
  );
  for (const m of [1, 2, 3, 4, 5]) {
    const psi = Array.from(lSoftmaxPsi(cos, m).dataSync());
    assertClose(
      psi,
      thetas.map((t) => psiByDefinition(t, m)),
      1e-9,
      `m=${m}`,
    );
    // Decreasing in θ, never above cos θ, from 1 at θ = 0 to −(2m − 1) at θ = π.
    psi.forEach((p, i) => {
      if (i > 0) assert.ok(p < psi[i - 1]!, `m=${m}: decreasing at ${i}`);
      assert.ok(p <= Math.cos(thetas[i]!) + 1e-12, `m=${m}: ψ <= cos θ at ${i}`);
    });
    assertClose([psi[0]!, psi[36]!], [1, 1 - 2 * m], 1e-9, `m=${m} ends`);
  }
  // Hand-computed: m=2, θ=π/3: cos(2π/3) = −1/2; θ=2π/3 (k=1): −cos(4π/3) − 2 = −3/2.
  const hand = lSoftmaxPsi(tensor([0.5, -0.5], { dtype: 'float64' }), 2);
  assertClose(hand, [-0.5, -1.5], 1e-12, 'm=2 by hand');
  assert.throws(() => lSoftmaxPsi(cos, 1.5), ArgumentError);
});

test('lSoftmaxLoss with margin 1 is crossEntropy on x·Wᵀ for any λ; reductions', () => {
  const g = new Generator(21);
  const x = randn([5, 4], { dtype: 'float64', generator: g });
  const w = randn([3, 4], { dtype: 'float64', generator: g });
  const t = tensor([0, 2, 1, 1, 0], { dtype: 'int32' });
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    const ce = crossEntropy(x.matmul(w.T), t, { reduction }).dataSync();
    for (const lambda of [0, 0.5, 1000]) {
      assertClose(lSoftmaxLoss(x, w, t, { margin: 1, lambda, reduction }), ce, 1e-10, `${reduction} λ=${lambda}`);
    }
  }
});

test('lSoftmaxLoss: the margin makes the target logit smaller (m = 2, 3, 4), and λ → ∞ undoes it', () => {
  const g = new Generator(22);
  const x = randn([8, 3], { dtype: 'float64', generator: g });
  const w = randn([4, 3], { dtype: 'float64', generator: g });
  const t = tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: 'int32' });
  const plainLoss = Array.from(crossEntropy(x.matmul(w.T), t, { reduction: 'none' }).dataSync());
  const logits = x.matmul(w.T).arraySync() as number[][];
  const xs = x.arraySync() as number[][];
  const ws = w.arraySync() as number[][];
  const norm = (v: number[]): number => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  for (const m of [2, 3, 4]) {
    const loss = Array.from(lSoftmaxLoss(x, w, t, { margin: m, reduction: 'none' }).dataSync());
    labels.forEach((y, i) => {
      const nx = norm(xs[i]!);
      const nw = norm(ws[y]!);
      const f = logits[i]![y]!;
      const theta = Math.acos(Math.max(-1, Math.min(1, f / (nx * nw))));
      const target = nx * nw * psiByDefinition(theta, m);
      assert.ok(target <= f + 1e-12, `m=${m} sample ${i}: margin logit ${target} <= plain ${f}`);
      // The loss is cross-entropy with that target logit, computed here from scratch.
      const z = logits[i]!.map((v, j) => (j === y ? target : v));
      const mx = Math.max(...z);
      const lse = mx + Math.log(z.reduce((a, v) => a + Math.exp(v - mx), 0));
      assertClose([loss[i]!], [lse - target], 1e-9, `m=${m} sample ${i} loss`);
      assert.ok(loss[i]! >= plainLoss[i]! - 1e-12, 'the margin never lowers the loss');
    });
  }
  const annealed = lSoftmaxLoss(x, w, t, { margin: 4, lambda: 1e9 });
  assertClose(annealed, [plainLoss.reduce((a, b) => a + b) / 8], 1e-6, 'huge λ ≈ plain softmax');
});

test('lSoftmaxLoss errors name the shapes; targets are checked', () => {
  assert.throws(
    () => lSoftmaxLoss(zeros([4, 3]), zeros([5, 2]), tensor([0, 1, 2, 3], { dtype: 'int32' }), { margin: 2 }),
    (e: unknown) => e instanceof ShapeError && e.message.includes('[4, 3]') && e.message.includes('[5, 2]'),
  );
  assert.throws(
    () => lSoftmaxLoss(zeros([2, 3]), zeros([5, 3]), tensor([0, 5], { dtype: 'int32' }), { margin: 2 }),
    /target 5 at index 1 is out of range for 5 classes/,
  );
  assert.throws(
    () => lSoftmaxLoss(zeros([2, 3]), zeros([5, 3]), tensor([0, 1], { dtype: 'int32' }), { margin: 0 }),
    ArgumentError,
  );
  assert.throws(
    () => lSoftmaxLoss(zeros([2, 3]), zeros([5, 3]), tensor([0, 1], { dtype: 'int32' }), { margin: 2, lambda: -1 }),
    ArgumentError,
  );
});

test('LSoftmaxLinear: plain logits in forward, annealed λ in loss, iteration in the state dict', () => {
  assertClose([lSoftmaxLambda(0)], [1000], 0, 'λ at 0');
  assertClose([lSoftmaxLambda(100)], [1000 / 13], 1e-12, 'λ at 100');
  assertClose([lSoftmaxLambda(10, { base: 100, gamma: 1, power: 2, lambdaMin: 0.5 })], [100 / 121], 1e-12, 'custom');
  assertClose([lSoftmaxLambda(1e9, { lambdaMin: 5 })], [5], 0, 'floor');
  const head = new LSoftmaxLinear(3, 4, { margin: 3, lambda: { base: 10, gamma: 1 } });
  const x = randn([5, 3], { generator: new Generator(9) });
  const t = tensor([0, 1, 2, 3, 0], { dtype: 'int32' });
  assertClose(head.forward(x), x.matmul(head.weight.T).dataSync(), 1e-6, 'forward is x·Wᵀ');
  assert.deepEqual(Object.keys(head.stateDict()).sort(), ['iteration', 'weight']);
  assert.equal(head.lambda, 10);
  const l0 = head.loss(x, t);
  assertClose(l0, lSoftmaxLoss(x, head.weight, t, { margin: 3, lambda: 10 }).dataSync(), 1e-6, 'loss at λ=10');
  assert.equal(head.iteration, 1, 'training loss() advances the schedule');
  assert.equal(head.lambda, 5);
  head.eval();
  head.loss(x, t);
  assert.equal(head.iteration, 1, 'eval loss() does not');
  const copy = new LSoftmaxLinear(3, 4, { margin: 3, lambda: { base: 10, gamma: 1 } });
  copy.loadStateDict(head.stateDict());
  assert.equal(copy.iteration, 1, 'the schedule resumes from a checkpoint');
  assert.throws(() => new LSoftmaxLinear(3, 4, { margin: 2.5 }), ArgumentError);
});
