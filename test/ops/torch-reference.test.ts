/**
 * Compares tsgrad with PyTorch on the fixtures of test/fixtures/torch-reference.json
 * (written by scripts/make-fixtures.py): conv2d, maxPool2d, avgPool2d,
 * adaptiveAvgPool2d, upsample and activations. (batchNorm, crossEntropy,
 * nllLoss and optim are tested elsewhere.)
 *
 * Each case runs in float32 and in float64: the forward result is compared
 * with the fixture's y, then backward of sum(y ⊙ gy) gives the gradients,
 * compared with the fixture's gx (and gw, gb). The tolerance is
 *   |actual − expected| ≤ tol · max(|expected|, 1)
 * with tol 2e-7 in float64 (the fixtures hold 8 significant digits: up to
 * 5e-8 of such a scaled error is the fixture's own rounding) and 4e-6 in
 * float32 (the worst seen is 1.6e-6, convolution gradients summing ~100 products).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertClose, assertShape } from '../helpers/assert.js';

interface Fx {
  shape: number[];
  data: number[];
}

interface ConvCase {
  name: string;
  params: {
    stride: [number, number];
    padding: [number, number] | 'same' | 'valid';
    dilation: [number, number];
    groups: number;
  };
  x: Fx;
  w: Fx;
  b: Fx | null;
  y: Fx;
  gy: Fx;
  gx: Fx;
  gw: Fx;
  gb: Fx | null;
}

interface PoolCaseBase {
  name: string;
  x: Fx;
  y: Fx;
  gy: Fx;
  gx: Fx;
}

interface MaxPoolCase extends PoolCaseBase {
  params: {
    kernel: [number, number];
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    ceilMode: boolean;
  };
}

interface AvgPoolCase extends PoolCaseBase {
  params: {
    kernel: [number, number];
    stride: [number, number];
    padding: [number, number];
    ceilMode: boolean;
    countIncludePad: boolean;
  };
}

interface AdaptiveCase extends PoolCaseBase {
  outputSize: [number, number];
}

interface UpsampleCase extends PoolCaseBase {
  mode: 'nearest' | 'bilinear';
  size: [number, number] | null;
  scaleFactor: [number, number] | null;
}

interface ActivationCase extends PoolCaseBase {
  fn: 'relu' | 'leakyRelu' | 'elu' | 'sigmoid' | 'tanh' | 'softmax' | 'logSoftmax';
  args: { negativeSlope?: number; alpha?: number; dim?: number };
}

interface Fixtures {
  conv2d: ConvCase[];
  maxPool2d: MaxPoolCase[];
  avgPool2d: AvgPoolCase[];
  adaptiveAvgPool2d: AdaptiveCase[];
  upsample: UpsampleCase[];
  activations: ActivationCase[];
}

// The compiled test lives in dist/test/ops/: the repository root is three levels up.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = JSON.parse(readFileSync(`${root}test/fixtures/torch-reference.json`, 'utf8')) as Fixtures;

const DTYPES = ['float32', 'float64'] as const;
type FloatDType = (typeof DTYPES)[number];
/** float64: the fixtures' 8 significant digits (up to 5e-8 scaled) with a margin; float32: its rounding through the op. */
const TOL: Record<FloatDType, number> = { float64: 2e-7, float32: 4e-6 };

function leaf(f: Fx, dtype: FloatDType): Tensor {
  return T.tensor(Float64Array.from(f.data), { shape: f.shape, dtype, requiresGrad: true });
}

function constant(f: Fx, dtype: FloatDType): Tensor {
  return T.tensor(Float64Array.from(f.data), { shape: f.shape, dtype });
}

function expectClose(actual: Tensor | null, expected: Fx, label: string, dtype: FloatDType): void {
  assert.ok(actual, `${label} (${dtype}): missing`);
  assert.equal(actual.dtype, dtype, `${label}: dtype`);
  assertShape(actual.shape, expected.shape, `${label} (${dtype}) shape`);
  assertClose(actual.dataSync(), expected.data, TOL[dtype], `${label} (${dtype})`);
}

/** Runs forward + backward of sum(y ⊙ gy) in both dtypes and compares y and the input gradients. */
function checkCase(
  c: { y: Fx; gy: Fx },
  inputs: Record<string, Fx | null>,
  expectedGrads: Record<string, Fx | null>,
  forward: (xs: Record<string, Tensor | null>) => Tensor,
): void {
  for (const dtype of DTYPES) {
    const xs: Record<string, Tensor | null> = {};
    for (const [k, v] of Object.entries(inputs)) xs[k] = v ? leaf(v, dtype) : null;
    const y = forward(xs);
    expectClose(y, c.y, 'y', dtype);
    y.mul(constant(c.gy, dtype)).sum().backward();
    for (const [k, g] of Object.entries(expectedGrads)) {
      if (g === null) continue;
      expectClose(xs[k]!.grad, g, `grad of ${k}`, dtype);
    }
  }
}

test('fixtures: every section used here has its cases', () => {
  assert.equal(fixtures.conv2d.length, 32);
  assert.equal(fixtures.maxPool2d.length, 10);
  assert.equal(fixtures.avgPool2d.length, 9);
  assert.equal(fixtures.adaptiveAvgPool2d.length, 6);
  assert.equal(fixtures.upsample.length, 8);
  assert.equal(fixtures.activations.length, 9);
});

for (const c of fixtures.conv2d) {
  test(`torch conv2d ${c.name}`, () => {
    checkCase(c, { x: c.x, w: c.w, b: c.b }, { x: c.gx, w: c.gw, b: c.gb }, ({ x, w, b }) =>
      T.conv2d(x!, w!, b, {
        stride: c.params.stride,
        padding: c.params.padding,
        dilation: c.params.dilation,
        groups: c.params.groups,
      }),
    );
  });
}

for (const c of fixtures.maxPool2d) {
  test(`torch maxPool2d ${c.name}`, () => {
    const p = c.params;
    checkCase(c, { x: c.x }, { x: c.gx }, ({ x }) =>
      T.maxPool2d(x!, p.kernel, { stride: p.stride, padding: p.padding, dilation: p.dilation, ceilMode: p.ceilMode }),
    );
  });
}

for (const c of fixtures.avgPool2d) {
  test(`torch avgPool2d ${c.name}`, () => {
    const p = c.params;
    checkCase(c, { x: c.x }, { x: c.gx }, ({ x }) =>
      T.avgPool2d(x!, p.kernel, {
        stride: p.stride,
        padding: p.padding,
        ceilMode: p.ceilMode,
        countIncludePad: p.countIncludePad,
      }),
    );
  });
}

for (const c of fixtures.adaptiveAvgPool2d) {
  test(`torch adaptiveAvgPool2d ${c.name}`, () => {
    checkCase(c, { x: c.x }, { x: c.gx }, ({ x }) => T.adaptiveAvgPool2d(x!, c.outputSize));
  });
}

for (const c of fixtures.upsample) {
  test(`torch upsample ${c.name}`, () => {
    checkCase(c, { x: c.x }, { x: c.gx }, ({ x }) =>
      T.upsample(x!, {
        mode: c.mode,
        ...(c.size ? { size: c.size } : {}),
        ...(c.scaleFactor ? { scaleFactor: c.scaleFactor } : {}),
      }),
    );
  });
}

function activation(c: ActivationCase, x: Tensor): Tensor {
  switch (c.fn) {
    case 'relu':
      return x.relu();
    case 'leakyRelu':
      return x.leakyRelu(c.args.negativeSlope);
    case 'elu':
      return x.elu(c.args.alpha);
    case 'sigmoid':
      return x.sigmoid();
    case 'tanh':
      return x.tanh();
    case 'softmax':
      return x.softmax(c.args.dim);
    case 'logSoftmax':
      return x.logSoftmax(c.args.dim);
    default:
      throw new Error(`unknown activation ${String((c as { fn: string }).fn)}`);
  }
}

for (const c of fixtures.activations) {
  test(`torch activation ${c.name}`, () => {
    checkCase(c, { x: c.x }, { x: c.gx }, ({ x }) => activation(c, x!));
  });
}
