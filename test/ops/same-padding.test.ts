/**
 * TensorFlow-style SAME / VALID padding for conv2d, maxPool2d and avgPool2d at
 * any stride and dilation, against test/fixtures/same-padding.json (explicit
 * F.pad + PyTorch, see scripts/make-same-padding-fixtures.py): forward and
 * gradients on cpu and wasm (and webgpu where an adapter exists), float32, to
 * 1e-4 scaled error. Also the notes' reference sizes, central-difference
 * gradient checks in float64, and the divisor of SAME average pooling by hand.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { type TensorSpec, repoRoot } from '../helpers/nn-fixtures.js';
import { skipUnlessRequired } from '../helpers/require.js';

const TOL = 1e-4;

interface ConvCase {
  label: string;
  x: TensorSpec;
  weight: TensorSpec;
  bias: TensorSpec;
  stride: [number, number];
  dilation: [number, number];
  padding: 'same' | 'valid';
  pads: number[];
  y: TensorSpec;
  gy: TensorSpec;
  gx: TensorSpec;
  gweight: TensorSpec;
  gbias: TensorSpec;
}

interface PoolCase {
  label: string;
  x: TensorSpec;
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  padding: 'same' | 'valid';
  pads: number[];
  y: TensorSpec;
  gy: TensorSpec;
  gx: TensorSpec;
}

const fixture = JSON.parse(readFileSync(join(repoRoot(), 'test', 'fixtures', 'same-padding.json'), 'utf8')) as {
  conv2d: ConvCase[];
  maxPool2d: PoolCase[];
  avgPool2d: PoolCase[];
};

const load = (s: TensorSpec, requiresGrad = false, dtype: T.DType = 'float32'): Tensor =>
  T.fromArray(dtype === 'float64' ? Float64Array.from(s.data) : Float32Array.from(s.data), s.shape, {
    dtype,
    requiresGrad,
  });

/** |a − b| ≤ tol·max(|b|, 1) everywhere, shapes equal; reads asynchronously so webgpu works. */
async function expectClose(actual: Tensor | null, expected: TensorSpec, label: string): Promise<void> {
  assert.ok(actual, `${label}: missing`);
  assert.deepEqual([...actual.shape], expected.shape, `${label}: shape`);
  const a = await actual.data();
  for (let i = 0; i < expected.data.length; i++) {
    const b = expected.data[i]!;
    const err = Math.abs(a[i]! - b) / Math.max(Math.abs(b), 1);
    if (!(err <= TOL)) assert.fail(`${label}: index ${i}: got ${a[i]}, expected ${b} (scaled error ${err})`);
  }
}

test('the fixture has at least 50 random cases per op, SAME and VALID, strided, dilated, asymmetric', () => {
  for (const [name, cases] of Object.entries({
    conv2d: fixture.conv2d,
    maxPool2d: fixture.maxPool2d,
    avgPool2d: fixture.avgPool2d,
  })) {
    const random = cases.filter((c) => c.label.startsWith('random'));
    assert.ok(random.length >= (name === 'conv2d' ? 50 : 40), `${name}: ${random.length} random cases`);
    assert.ok(cases.some((c) => c.padding === 'valid' && c.stride.some((s) => s > 1)));
    assert.ok(cases.some((c) => c.padding === 'same' && c.stride.some((s) => s > 1) && c.dilation.some((d) => d > 1)));
    assert.ok(cases.some((c) => c.pads[0] !== c.pads[1]) && cases.some((c) => c.pads[2] !== c.pads[3]));
  }
  assert.ok(fixture.conv2d.length + fixture.maxPool2d.length + fixture.avgPool2d.length >= 150);
});

async function runConv(c: ConvCase, label: string): Promise<void> {
  const x = load(c.x, true);
  const w = load(c.weight, true);
  const b = load(c.bias, true);
  const y = T.conv2d(x, w, b, { stride: c.stride, dilation: c.dilation, padding: c.padding });
  await expectClose(y, c.y, `${label} y`);
  y.mul(load(c.gy)).sum().backward();
  await expectClose(x.grad, c.gx, `${label} gx`);
  await expectClose(w.grad, c.gweight, `${label} gweight`);
  await expectClose(b.grad, c.gbias, `${label} gbias`);
}

async function runPool(kind: 'max' | 'avg', c: PoolCase, label: string): Promise<void> {
  const x = load(c.x, true);
  const opts = { stride: c.stride, dilation: c.dilation, padding: c.padding };
  const y = kind === 'max' ? T.maxPool2d(x, c.kernel, opts) : T.avgPool2d(x, c.kernel, opts);
  await expectClose(y, c.y, `${label} y`);
  y.mul(load(c.gy)).sum().backward();
  await expectClose(x.grad, c.gx, `${label} gx`);
}

function backendSuite(name: 'cpu' | 'wasm' | 'webgpu', skip: string | false): void {
  describe(`SAME / VALID fixture on ${name}`, { skip }, () => {
    const previous = T.getBackend();
    after(() => T.setBackend(previous));
    test('conv2d forward and gradients', async () => {
      T.setBackend(name);
      for (const c of fixture.conv2d) await runConv(c, `${name} conv2d ${c.label}`);
    });
    test('maxPool2d forward and gradients', async () => {
      T.setBackend(name);
      for (const c of fixture.maxPool2d) await runPool('max', c, `${name} maxPool2d ${c.label}`);
    });
    test('avgPool2d forward and gradients (SAME leaves padded cells out of the divisor)', async () => {
      T.setBackend(name);
      for (const c of fixture.avgPool2d) await runPool('avg', c, `${name} avgPool2d ${c.label}`);
    });
  });
}

backendSuite('cpu', false);
backendSuite('wasm', T.listBackends().includes('wasm') ? false : 'no wasm backend on this engine');
const gpu = await T.initWebGPU();
backendSuite('webgpu', skipUnlessRequired('webgpu', !gpu && `no WebGPU adapter: ${T.webgpuStatus().reason}`));

test("the notes' reference sizes: 13x13 k6 s5 gives 3 (SAME) and 2 (VALID); 227 k11 s4 gives 57 and 55", () => {
  T.setBackend('cpu');
  const out = (n: number, k: number, s: number, padding: 'same' | 'valid'): number[] => [
    T.conv2d(T.zeros([1, 1, n, n]), T.zeros([1, 1, k, k]), null, { stride: s, padding }).shape[2]!,
    T.maxPool2d(T.zeros([1, 1, n, n]), k, { stride: s, padding }).shape[2]!,
    T.avgPool2d(T.zeros([1, 1, n, n]), k, { stride: s, padding }).shape[2]!,
    (new T.Conv2d(1, 1, k, { stride: s, padding }).forward(T.zeros([1, 1, n, n])) as Tensor).shape[2]!,
    (new T.MaxPool2d(k, s, padding).forward(T.zeros([1, 1, n, n])) as Tensor).shape[2]!,
  ];
  assert.deepEqual(out(13, 6, 5, 'same'), [3, 3, 3, 3, 3]);
  assert.deepEqual(out(13, 6, 5, 'valid'), [2, 2, 2, 2, 2]);
  assert.deepEqual(out(227, 11, 4, 'same'), [57, 57, 57, 57, 57]);
  assert.deepEqual(out(227, 11, 4, 'valid'), [55, 55, 55, 55, 55]);
});

test('SAME average pooling by hand: a 3x3 map, kernel 2, stride 2, divides the edge windows by the cells inside', () => {
  T.setBackend('cpu');
  // out = ceil(3/2) = 2, total padding (2−1)·2 + 2 − 3 = 1, all of it after: windows rows {0,1} and {2}.
  const x = T.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], { shape: [1, 1, 3, 3] });
  const y = T.avgPool2d(x, 2, { padding: 'same' });
  assert.deepEqual(Array.from(y.dataSync()), [(1 + 2 + 4 + 5) / 4, (3 + 6) / 2, (7 + 8) / 2, 9]);
  // countIncludePad: true divides by the whole window, padding included (PyTorch's convention).
  const incl = T.avgPool2d(x, 2, { padding: 'same', countIncludePad: true });
  assert.deepEqual(Array.from(incl.dataSync()), [3, 9 / 4, 15 / 4, 9 / 4]);
  // Max pooling pads with −∞: negative inputs still win at the edges.
  assert.deepEqual(Array.from(T.maxPool2d(x.neg(), 2, { padding: 'same' }).dataSync()), [-1, -3, -7, -9]);
});

test('SAME / VALID gradients against central differences (float64)', () => {
  T.setBackend('cpu');
  const g = new T.Generator(5);
  const x = T.randn([1, 2, 7, 6], { dtype: 'float64', generator: g });
  const w = T.randn([3, 2, 4, 3], { dtype: 'float64', generator: g });
  T.gradcheck((a, b) => T.conv2d(a, b, null, { stride: [3, 2], dilation: [1, 2], padding: 'same' }), [x, w]);
  T.gradcheck((a, b) => T.conv2d(a, b, null, { stride: 2, padding: 'valid' }), [x, w]);
  T.gradcheck((a) => T.avgPool2d(a, [4, 3], { stride: [3, 2], dilation: [1, 2], padding: 'same' }), [x]);
  T.gradcheck((a) => T.avgPool2d(a, 3, { stride: 2, padding: 'same' }), [x]);
  // Distinct values keep max pooling differentiable at every input.
  const distinct = T.fromArray(
    Float64Array.from({ length: 84 }, (_, i) => ((i * 37) % 84) / 8),
    [1, 2, 7, 6],
    {
      dtype: 'float64',
    },
  );
  T.gradcheck((a) => T.maxPool2d(a, [4, 3], { stride: [3, 2], padding: 'same' }), [distinct]);
});
