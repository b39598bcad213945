/**
 * Gradients at kinks and ties, against PyTorch (test/fixtures/torch-ties.json,
 * written by scripts/make-tie-fixtures.py). The op table keeps its inputs away
 * from these points on purpose (central differences are meaningless there), so
 * this file is what pins down the choice made at each one:
 *   relu'(0) = 0, leakyRelu'(0) = slope, abs'(0) = 0, clamp passes the gradient
 *   at both bounds; maximum / minimum of equal operands send half to each;
 *   max / min reductions share the gradient evenly between tied entries (as
 *   torch.amax / amin and the full torch.max() / min() do); max pooling sends a
 *   window's gradient to its first maximum in row-major order; argmax / argmin
 *   return the first index of a tie.
 * Every fixture input is a multiple of 1/4, exact in float32, and every result is
 * one correctly rounded operation away from them (a sum of weights, or its share of
 * a tie): results must match exactly (float32 ones after rounding the float64
 * fixture to float32), on every backend (cpu, wasm, and webgpu when it has an adapter).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as T from '../../src/index.js';
import { type Backend, type Tensor, getBackend, initWebGPU, listBackends, setBackend } from '../../src/index.js';
import { skipUnlessRequired } from '../helpers/require.js';

interface Fx {
  shape: number[];
  data: number[];
}
interface KinkCase {
  name: string;
  fn: 'relu' | 'leakyRelu' | 'abs' | 'clamp';
  args: { negativeSlope?: number; min?: number; max?: number };
  x: Fx;
  y: Fx;
  gy: Fx;
  gx: Fx;
}
interface BinaryCase {
  name: string;
  a: Fx;
  b: Fx;
  y: Fx;
  gy: Fx;
  ga: Fx;
  gb: Fx;
}
interface ReductionCase {
  name: string;
  op: 'max' | 'min';
  axes: number[] | null;
  keepDims: boolean;
  x: Fx;
  y: Fx;
  gy: Fx;
  gx: Fx;
}
interface ArgmaxCase {
  name: string;
  op: 'argmax' | 'argmin';
  axis: number | null;
  keepDims: boolean;
  x: Fx;
  y: Fx;
}
interface PoolCase {
  name: string;
  params: {
    kernel: [number, number];
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    ceilMode: boolean;
  };
  x: Fx;
  y: Fx;
  gy: Fx;
  gx: Fx;
}
interface Fixtures {
  kinks: KinkCase[];
  binary: BinaryCase[];
  reductions: ReductionCase[];
  argmax: ArgmaxCase[];
  maxPool2d: PoolCase[];
}

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = JSON.parse(readFileSync(`${root}test/fixtures/torch-ties.json`, 'utf8')) as Fixtures;

async function values(t: Tensor): Promise<number[]> {
  return Array.from(t.backend.name === 'webgpu' ? await t.data() : t.dataSync(), Number);
}

async function expectExact(actual: Tensor | null, expected: Fx, label: string): Promise<void> {
  const round = actual?.dtype === 'float32' ? Math.fround : (v: number) => v;
  assert.ok(actual, `${label}: no gradient`);
  assert.deepEqual([...actual.shape], expected.shape, `${label}: shape`);
  // Compare as numbers, with -0 equal to 0 (PyTorch and tsgrad may disagree on the sign of a zero gradient).
  assert.deepEqual(
    (await values(actual)).map((v) => v + 0),
    expected.data.map((v) => round(v) + 0),
    label,
  );
}

function leaf(f: Fx, dtype: 'float32' | 'float64'): Tensor {
  return T.tensor(Float64Array.from(f.data), { shape: f.shape, dtype, requiresGrad: true });
}

function kink(c: KinkCase, x: Tensor): Tensor {
  switch (c.fn) {
    case 'relu':
      return T.relu(x);
    case 'leakyRelu':
      return T.leakyRelu(x, c.args.negativeSlope);
    case 'abs':
      return x.abs();
    case 'clamp':
      return T.clamp(x, c.args.min, c.args.max);
  }
}

/** Checks y and the gradients of sum(y ⊙ gy) with respect to each input. */
async function check(
  dtype: 'float32' | 'float64',
  inputs: readonly Fx[],
  expectedGrads: readonly Fx[],
  c: { y: Fx; gy: Fx },
  forward: (xs: Tensor[]) => Tensor,
): Promise<void> {
  const xs = inputs.map((f) => leaf(f, dtype));
  const y = forward(xs);
  await expectExact(y, c.y, `${dtype} forward`);
  y.mul(T.tensor(Float64Array.from(c.gy.data), { shape: c.gy.shape, dtype }))
    .sum()
    .backward();
  for (let i = 0; i < xs.length; i++) await expectExact(xs[i]!.grad, expectedGrads[i]!, `${dtype} gradient ${i}`);
}

test('tie fixtures: every section has its cases', () => {
  assert.equal(fixtures.kinks.length, 6);
  assert.equal(fixtures.binary.length, 4);
  assert.equal(fixtures.reductions.length, 22);
  assert.equal(fixtures.argmax.length, 10);
  assert.equal(fixtures.maxPool2d.length, 6);
});

skipUnlessRequired('webgpu', !(await initWebGPU()) && `no WebGPU adapter: ${T.webgpuStatus().reason}`);

for (const backend of listBackends()) {
  // webgpu computes in float32 only; float64 there falls back to the host kernels.
  const dtypes = backend === 'webgpu' ? (['float32'] as const) : (['float32', 'float64'] as const);
  describe(`ties and kinks on the ${backend} backend`, () => {
    let previous: Backend;
    before(() => {
      previous = getBackend();
      setBackend(backend);
    });
    after(() => setBackend(previous));

    for (const dtype of dtypes) {
      for (const c of fixtures.kinks) {
        test(`${dtype} ${c.name} at its kinks`, () => check(dtype, [c.x], [c.gx], c, ([x]) => kink(c, x!)));
      }
      for (const c of fixtures.binary) {
        test(`${dtype} ${c.name} with tied operands`, () =>
          check(dtype, [c.a, c.b], [c.ga, c.gb], c, ([a, b]) =>
            c.name.startsWith('maximum') ? T.maximum(a!, b!) : T.minimum(a!, b!),
          ));
      }
      for (const c of fixtures.reductions) {
        test(`${dtype} ${c.name} with tied extremes`, () =>
          check(dtype, [c.x], [c.gx], c, ([x]) => {
            const axes = c.axes ?? undefined;
            return c.op === 'max' ? T.max(x!, axes, c.keepDims) : T.min(x!, axes, c.keepDims);
          }));
      }
      for (const c of fixtures.maxPool2d) {
        test(`${dtype} maxPool2d ${c.name} with tied windows`, () =>
          check(dtype, [c.x], [c.gx], c, ([x]) =>
            T.maxPool2d(x!, c.params.kernel, {
              stride: c.params.stride,
              padding: c.params.padding,
              dilation: c.params.dilation,
              ceilMode: c.params.ceilMode,
            }),
          ));
      }
      for (const c of fixtures.argmax) {
        test(`${dtype} ${c.name}: the first of tied indices`, async () => {
          const x = T.tensor(Float64Array.from(c.x.data), { shape: c.x.shape, dtype });
          const axis = c.axis ?? undefined;
          const y = c.op === 'argmax' ? T.argmax(x, axis, c.keepDims) : T.argmin(x, axis, c.keepDims);
          await expectExact(y, c.y, c.name);
        });
      }
    }
  });
}
