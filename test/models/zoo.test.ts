/**
 * The model zoo against torchvision 0.14 (test/fixtures/torchvision-models.json, written by
 * scripts/make-model-fixtures.py): parameter counts and every state-dict key and shape of the
 * ImageNet configurations; output shapes at the default input sizes; LeNet-5 classic's
 * parameter count from the paper; a few training steps of each small-input variant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArgumentError,
  Adam,
  Generator,
  MODELS,
  type Module,
  type Tensor,
  createModel,
  gradcheck,
  crossEntropy,
  init,
  manualSeed,
  models,
  noGrad,
  oneHot,
  randn,
  tensor,
  zeros,
} from '../../src/index.js';
import { repoRoot } from '../helpers/nn-fixtures.js';

interface TorchvisionModel {
  model: string;
  options: Record<string, unknown>;
  params: number;
  keys: [string, number[]][];
}

const reference = JSON.parse(readFileSync(join(repoRoot(), 'test', 'fixtures', 'torchvision-models.json'), 'utf8')) as {
  torchvision: string;
  models: Record<string, TorchvisionModel>;
};

type Factory = (o: Record<string, unknown>) => Module & { forward(x: Tensor): Tensor };
const factory = (name: string): Factory => (models as unknown as Record<string, Factory>)[name]!;

test('the fixture is torchvision 0.14 and has the counts the issue lists', () => {
  assert.match(reference.torchvision, /^0\.14/);
  const listed: Record<string, number> = {
    alexnet: 61_100_840,
    vgg11: 132_863_336,
    vgg16: 138_357_544,
    vgg19: 143_667_240,
    vgg16_bn: 138_365_992,
    googlenet: 6_624_904,
    'googlenet+aux': 13_004_888,
    resnet18: 11_689_512,
    resnet34: 21_797_672,
    resnet50: 25_557_032,
    resnet101: 44_549_160,
    resnet152: 60_192_808,
    densenet121: 7_978_856,
    densenet169: 14_149_480,
  };
  for (const [name, count] of Object.entries(listed)) assert.equal(reference.models[name]?.params, count, name);
});

for (const [key, ref] of Object.entries(reference.models)) {
  test(`${key}: parameter count and every state-dict key and shape equal torchvision's`, () => {
    const net = init.skipInit(() => factory(ref.model)(ref.options));
    assert.equal(net.numParameters(), ref.params);
    const ours = Object.entries(net.stateDict()).map(([k, t]) => [k, [...t.shape]] as [string, number[]]);
    const theirs = new Map(ref.keys);
    const missing = [...theirs.keys()].filter((k) => !ours.some(([o]) => o === k));
    const extra = ours.filter(([k]) => !theirs.has(k)).map(([k]) => k);
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
    for (const [k, shape] of ours) assert.deepEqual(shape, theirs.get(k), k);
  });
}

test('every registered model gives [1, classes] at its default input, and small-input variants at 32x32', () => {
  for (const [name, spec] of Object.entries(MODELS)) {
    const { channels, size } = spec.defaultInput;
    const sizes = spec.accepts(32) && size !== 32 ? [size, 32] : [size];
    for (const s of sizes) {
      const net = init.skipInit(() => createModel(name, { numClasses: 7, inChannels: channels, inputSize: s }));
      net.eval();
      const y = noGrad(() => net.forward(zeros([1, channels, s, s])));
      assert.deepEqual(y.shape, [1, 7], `${name} at ${s}x${s}`);
    }
  }
});

test('createModel refuses an input size the architecture cannot take, naming the sizes', () => {
  assert.throws(
    () => createModel('vgg16', { numClasses: 10, inChannels: 3, inputSize: 16 }),
    (e: Error) => e instanceof ArgumentError && /vgg16/.test(e.message) && /at least 32/.test(e.message),
  );
  assert.throws(() => createModel('lenet5', { numClasses: 10, inChannels: 1, inputSize: 64 }), /28 or 32/);
  assert.throws(() => createModel('resnet9000', { numClasses: 10, inChannels: 1, inputSize: 64 }), /unknown model/);
});

test('LeNet-5 classic has the 60,000 trainable parameters LeCun et al. count, C3 uses its table', () => {
  const net = models.lenet5({ variant: 'classic' }) as models.LeNet5Classic;
  assert.equal(net.numParameters(), 60_000);
  assert.equal(net.c3.numParameters(), 1_516);
  // The assembled C3 kernel is zero exactly where table I has no connection.
  const w = noGrad(() => net.c3.fullWeight()).dataSync();
  for (let o = 0; o < 16; o++) {
    for (let i = 0; i < 6; i++) {
      const connected = models.LENET_C3_TABLE[o]!.includes(i);
      const kernel = Array.from(w.subarray((o * 6 + i) * 25, (o * 6 + i + 1) * 25));
      assert.equal(
        kernel.some((v) => v !== 0),
        connected,
        `C3 map ${o} input ${i}`,
      );
    }
  }
  assert.deepEqual(net.forward(zeros([2, 1, 32, 32])).shape, [2, 10]);
  const linear = models.lenet5({ variant: 'classic', output: 'linear', inputSize: 28 });
  assert.equal(linear.numParameters(), 60_000 + 84 * 10 + 10);
  assert.deepEqual(linear.forward(zeros([2, 1, 28, 28])).shape, [2, 10]);
});

/** The layer's forward as a function of its input and of the named parameters, which are swapped in per call. */
function asFunction(layer: Module & { forward(x: Tensor): Tensor }, names: string[]): (...xs: Tensor[]) => Tensor {
  const slots = layer as unknown as Record<string, Tensor>;
  return (x, ...params) => {
    names.forEach((n, i) => (slots[n] = params[i]!));
    return layer.forward(x!);
  };
}

test("gradcheck (float64): LeNet-5 classic's subsampling, partial convolution and RBF output", () => {
  const f64 = { dtype: 'float64' } as const;
  const g = new Generator(5);
  const rn = (shape: number[]): Tensor => randn(shape, { ...f64, generator: g });
  const s2 = new models.Subsampling2d(2);
  gradcheck(asFunction(s2, ['weight', 'bias']), [rn([2, 2, 4, 4]), rn([2]), rn([2])]);
  const c3 = new models.PartialConv2d(3, [[0], [1, 2], [0, 2]], 2);
  assert.deepEqual(c3.weight.shape, [5, 2, 2]);
  gradcheck(asFunction(c3, ['weight', 'bias']), [rn([1, 3, 4, 4]), rn([5, 2, 2]), rn([3])]);
  const rbf = new models.RBFOutput(5, 3);
  gradcheck(asFunction(rbf, []), [rn([4, 5])]);
});

test('GoogLeNet auxiliary heads: in training only, and forward() returns the main logits', () => {
  const net = models.googlenet({ numClasses: 5, smallInput: true, auxLogits: true });
  const x = randn([2, 3, 32, 32]);
  const train = net.forwardWithAux(x);
  assert.deepEqual(train.logits.shape, [2, 5]);
  assert.deepEqual(train.aux1?.shape, [2, 5]);
  assert.deepEqual(train.aux2?.shape, [2, 5]);
  net.eval();
  const evalOut = net.forwardWithAux(x);
  assert.equal(evalOut.aux1, null);
  assert.equal(evalOut.aux2, null);
});

test('ResNet options: zeroInitResidual makes every block start as the identity map', () => {
  const net = models.resnet18({ numClasses: 3, smallInput: true, width: 4, zeroInitResidual: true });
  for (const [name, p] of net.namedParameters()) {
    if (/layer\d\.\d\.bn2\.weight/.test(name))
      assert.deepEqual([...p.dataSync()], [...new Float32Array(p.numel)], name);
  }
  assert.throws(() => new models.ResNet('basic', [2, 2, 2, 2], { groups: 2 }), /bottleneck/);
});

/** Small-input variants, narrowed where the architecture allows, fit a fixed batch: the loss falls by a quarter. */
const SMOKE: [string, () => Module & { forward(x: Tensor): Tensor }, number?][] = [
  ['lenet5 modern', () => models.lenet5({ numClasses: 4, inChannels: 3, inputSize: 32 })],
  ['lenet5 classic', () => models.lenet5({ variant: 'classic', numClasses: 4, inChannels: 3 })],
  ['alexnet', () => models.alexnet({ numClasses: 4, smallInput: true, lrn: true, hidden: 64, dropout: 0 })],
  ['vgg11_bn', () => models.vgg11_bn({ numClasses: 4, smallInput: true, hidden: 64, dropout: 0 }), 3e-3],
  ['googlenet', () => models.googlenet({ numClasses: 4, smallInput: true, dropout: 0 })],
  ['resnet18', () => models.resnet18({ numClasses: 4, smallInput: true, width: 8 })],
  ['resnet50', () => models.resnet50({ numClasses: 4, smallInput: true, width: 4 })],
  ['densenet121', () => models.densenet121({ numClasses: 4, smallInput: true, growthRate: 4, numInitFeatures: 8 })],
]; // prettier-ignore

for (const [name, build, lr = 1e-3] of SMOKE) {
  test(`training smoke test: ${name} (32x32) lowers the loss on a fixed batch`, () => {
    manualSeed(7);
    const net = build();
    const g = new Generator(11);
    const y = tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: 'int32' });
    // Class k brightens quadrant k of noise: a pattern every architecture picks up in a few steps.
    const quadrant = oneHot(y, 4).reshape([8, 1, 2, 1, 2, 1]).expand([8, 1, 2, 16, 2, 16]).contiguous();
    const x = randn([8, 3, 32, 32], { generator: g })
      .mul(0.5)
      .add(quadrant.reshape([8, 1, 32, 32]));
    const opt = new Adam(net.parameters(), { lr });
    const losses: number[] = [];
    for (let step = 0; step < 10; step++) {
      opt.zeroGrad();
      const loss = crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
      losses.push(loss.itemSync());
    }
    assert.ok(
      losses.every(Number.isFinite) && losses.at(-1)! < losses[0]! * 0.75,
      `losses ${losses.map((l) => l.toFixed(4)).join(' ')}`,
    );
  });
}
