/**
 * ONNX export and import checked against real runtimes: every zoo model and a
 * catalogue-built Sequential/Residual/Concat exported by tsgrad run in
 * onnxruntime-node (CPU) with tsgrad's outputs; files exported by PyTorch
 * (test/fixtures/onnx, scripts/make-onnx-fixtures.py) import and give
 * PyTorch's outputs; tsgrad -> ONNX -> tsgrad keeps every weight bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import {
  AvgPool2d,
  BatchNorm2d,
  Concat,
  Conv2d,
  ConvTranspose2d,
  DataFileError,
  Dropout,
  ELU,
  Flatten,
  GlobalMaxPool2d,
  InstanceNorm2d,
  LeakyReLU,
  Linear,
  LocalResponseNorm,
  MaxPool2d,
  PReLU,
  ReLU,
  Residual,
  Sequential,
  Sigmoid,
  Softmax,
  StochasticPool2d,
  Tanh,
  UnsupportedError,
  createModel,
  exportOnnxBytes,
  fromArray,
  importOnnx,
  manualSeed,
  noGrad,
  randn,
  type Module,
  type Tensor,
} from '../../src/index.js';
import { repoRoot } from '../helpers/nn-fixtures.js';

type Net = Module & { forward(x: Tensor): Tensor };

function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, 'output sizes differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

async function runOrt(bytes: Uint8Array, x: Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ input: new ort.Tensor('float32', x.dataSync() as Float32Array, [...x.shape]) });
  const y = out['output']!;
  return { data: y.data as Float32Array, dims: y.dims };
}

/** Exports at batch 2 and runs ORT at batch 3, so the dynamic batch axis is exercised. */
async function checkWithOrt(net: Net, sample: readonly number[]): Promise<void> {
  net.eval();
  const bytes = await exportOnnxBytes(net, randn([2, ...sample]));
  const x = randn([3, ...sample]);
  const want = noGrad(() => net.forward(x));
  const got = await runOrt(bytes, x);
  assert.deepEqual([...got.dims], [...want.shape]);
  const err = relativeError(got.data, want.dataSync());
  assert.ok(err < 1e-4, `onnxruntime differs from tsgrad by ${err} (relative)`);
}

const ZOO: [string, number, number][] = [
  ['lenet5', 1, 28],
  ['lenet5-classic', 1, 32],
  ['alexnet', 3, 32],
  ['vgg11_bn', 3, 32],
  ['googlenet', 3, 32],
  ['resnet18', 3, 32],
  ['densenet121', 3, 32],
];

for (const [name, channels, size] of ZOO) {
  test(`${name} exports to ONNX and onnxruntime gives tsgrad's outputs`, async () => {
    manualSeed(1);
    await checkWithOrt(createModel(name, { numClasses: 10, inChannels: channels, inputSize: size }), [
      channels,
      size,
      size,
    ]);
  });
}

function catalogueNet(): Net {
  return new Sequential(
    new Conv2d(3, 8, 3, { padding: 1 }),
    new BatchNorm2d(8),
    new PReLU({ numParameters: 8 }),
    new Residual(new Sequential(new Conv2d(8, 8, 3, { padding: 1, groups: 2 }), new ELU(), new Conv2d(8, 8, 1)), null),
    new Concat([
      new Sequential(new Conv2d(8, 4, 1), new Tanh()),
      new Sequential(new Conv2d(8, 4, 3, { padding: 2, dilation: 2 }), new Sigmoid()),
      new Sequential(new MaxPool2d(3, { stride: 1, padding: 1 }), new Conv2d(8, 4, 1), new LeakyReLU(0.2)),
    ]),
    new LocalResponseNorm(3),
    new InstanceNorm2d(12, { affine: true }),
    new ConvTranspose2d(12, 6, 2, { stride: 2 }),
    new ReLU(),
    new StochasticPool2d(2),
    new AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    new GlobalMaxPool2d(),
    new Flatten(),
    new Dropout(0.5),
    new Linear(6, 5),
    new Softmax(1),
  ) as Net;
}

test('a Sequential / Residual / Concat of catalogue layers exports and runs in onnxruntime', async () => {
  manualSeed(2);
  await checkWithOrt(catalogueNet(), [3, 12, 12]);
});

test('a layer that draws random numbers is refused, naming the layer', async () => {
  const net = new Sequential(new Conv2d(1, 2, 3), new ReLU(), new StochasticPool2d(2), new Flatten());
  await assert.rejects(
    () => exportOnnxBytes(net, randn([1, 1, 8, 8]), { training: true }),
    (e: Error) => e instanceof UnsupportedError && /StochasticPool2d/.test(e.message) && /random/.test(e.message),
  );
  const withDropout = new Sequential(new Linear(4, 4), new Dropout(0.5));
  await assert.rejects(
    () => exportOnnxBytes(withDropout, randn([2, 4]), { training: true }),
    (e: Error) => e instanceof UnsupportedError && /Dropout/.test(e.message),
  );
});

test('the exported graph names its input, output and initializers by state-dict keys', async () => {
  const net = createModel('lenet5', { numClasses: 10, inChannels: 1, inputSize: 28 });
  const model = await importOnnx(await exportOnnxBytes(net, randn([1, 1, 28, 28])));
  assert.deepEqual(model.inputNames, ['input']);
  assert.deepEqual(model.outputNames, ['output']);
  assert.deepEqual(model.info.inputs[0]!.shape, [null, 1, 28, 28]);
  assert.deepEqual(Object.keys(model.stateDict()).sort(), Object.keys(net.stateDict()).sort());
});

test('round trip tsgrad -> ONNX -> tsgrad: bit-identical weights and outputs', async () => {
  manualSeed(3);
  const net = createModel('resnet18', { numClasses: 10, inChannels: 3, inputSize: 32 });
  // Non-trivial running statistics, so that they are checked too.
  noGrad(() => {
    for (const [k, b] of net.namedBuffers()) if (k.endsWith('running_var')) b.assign(randn(b.shape).abs().add(0.5));
  });
  net.eval();
  const model = await importOnnx(await exportOnnxBytes(net, randn([1, 3, 32, 32])));
  const want = net.stateDict();
  const got = model.stateDict();
  const used = Object.keys(want).filter((k) => !k.endsWith('num_batches_tracked'));
  assert.deepEqual(Object.keys(got).sort(), used.sort());
  for (const k of used) assert.deepEqual(got[k]!.dataSync(), want[k]!.dataSync(), k);
  // BatchNormalization's statistics come back as buffers, not trainable parameters.
  assert.ok(model.namedBuffers().some(([k]) => k === 'bn1.running_mean'));
  assert.ok(!model.namedParameters().some(([k]) => k === 'bn1.running_mean'));
  model.eval();
  const x = randn([2, 3, 32, 32]);
  assert.deepEqual(noGrad(() => model.forward(x)).dataSync(), noGrad(() => net.forward(x)).dataSync());
});

const fixtureDir = join(repoRoot(), 'test', 'fixtures', 'onnx');
const fixtures = readdirSync(fixtureDir).filter((f) => f.endsWith('.onnx'));

test('the PyTorch ONNX fixtures are there', () => {
  for (const name of ['resnet', 'densenet', 'googlenet', 'vgg-bn']) {
    assert.ok(
      fixtures.some((f) => f.startsWith(name)),
      `no ${name} fixture in ${fixtures.join(', ')}`,
    );
  }
});

for (const file of fixtures) {
  test(`${file} (exported by torch.onnx) imports and gives PyTorch's outputs`, async () => {
    const io = JSON.parse(readFileSync(join(fixtureDir, file.replace(/\.onnx$/, '.json')), 'utf8')) as {
      input: { shape: number[]; data: number[] };
      output: { shape: number[]; data: number[] };
    };
    const model = await importOnnx(join(fixtureDir, file));
    model.eval();
    const y = noGrad(() => model.forward(fromArray(Float32Array.from(io.input.data), io.input.shape)));
    assert.deepEqual([...y.shape], io.output.shape);
    const err = relativeError(y.dataSync(), io.output.data);
    assert.ok(err < 1e-4, `differs from PyTorch by ${err}`);
    // Re-exported by tsgrad, onnxruntime agrees too.
    const x = fromArray(Float32Array.from(io.input.data), io.input.shape);
    const again = await runOrt(await exportOnnxBytes(model, x), x);
    assert.ok(relativeError(again.data, io.output.data) < 1e-4);
  });
}

test('a truncated or corrupt file is a DataFileError naming the file', async () => {
  const bytes = readFileSync(join(fixtureDir, 'resnet-narrow.onnx'));
  await assert.rejects(
    () => importOnnx(bytes.subarray(0, 1000), { name: 'cut.onnx' }),
    (e: Error) => e instanceof DataFileError && e.message.startsWith('cut.onnx'),
  );
  await assert.rejects(
    () => importOnnx(new Uint8Array(0), { name: 'empty.onnx' }),
    (e: Error) => e instanceof DataFileError && /empty/.test(e.message),
  );
  await assert.rejects(
    () => importOnnx('/nonexistent/model.onnx'),
    (e: Error) => e instanceof DataFileError && /model\.onnx/.test(e.message),
  );
});

test('unsupported operators are listed all at once, with their nodes', async () => {
  const { encodeModel } = await import('../../src/interop/onnx-proto.js');
  const bytes = await encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [
        { opType: 'Relu', input: ['x'], output: ['a'], name: 'r' },
        { opType: 'Erf', input: ['a'], output: ['b'], name: 'erf1' },
        { opType: 'Resize', input: ['b'], output: ['c'], name: 'up' },
      ],
      input: [{ name: 'x' }],
      output: [{ name: 'c' }],
    },
  });
  await assert.rejects(
    () => importOnnx(bytes, { name: 'm.onnx' }),
    (e: Error) =>
      e instanceof UnsupportedError && /Erf \(node 'erf1'\)/.test(e.message) && /Resize \(node 'up'\)/.test(e.message),
  );
});
