/**
 * The paper's AlexNet (alexnet({ variant: 'paper' })): layer shapes, groups, LRN,
 * pooling and dropout as published, its parameter count computed here by hand from
 * the layer shapes, `tsgrad summary --model alexnet-paper`, and local response
 * normalization in both conventions against hand-computed values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArgumentError,
  Conv2d,
  Dropout,
  Linear,
  LocalResponseNorm,
  MaxPool2d,
  functional as F,
  init,
  models,
  noGrad,
  randn,
  tensor,
  type Tensor,
} from '../../src/index.js';
import { assertClose } from '../helpers/nn-fixtures.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

test("alexnet({ variant: 'paper' }): the published layers, and a parameter count computed from their shapes", () => {
  const net = init.skipInit(() => models.alexnet({ variant: 'paper' }));
  const convs = net.features.layers.filter((m): m is Conv2d => m instanceof Conv2d);
  assert.deepEqual(
    convs.map((c) => [c.inChannels, c.outChannels, ...c.kernelSize, c.options.groups ?? 1]),
    [
      [3, 96, 11, 11, 1],
      [96, 256, 5, 5, 2],
      [256, 384, 3, 3, 1],
      [384, 384, 3, 3, 2],
      [384, 256, 3, 3, 2],
    ],
  );
  assert.equal(convs[0]!.options.stride, 4);
  // Weights: out · (in / groups) · k² plus one bias per output; dense: in · out + out.
  const conv = (cin: number, cout: number, k: number, groups: number): number => cout * (cin / groups) * k * k + cout;
  const dense = (nIn: number, nOut: number): number => nIn * nOut + nOut;
  const byHand =
    conv(3, 96, 11, 1) +
    conv(96, 256, 5, 2) +
    conv(256, 384, 3, 1) +
    conv(384, 384, 3, 2) +
    conv(384, 256, 3, 2) +
    dense(256 * 6 * 6, 4096) +
    dense(4096, 4096) +
    dense(4096, 1000);
  assert.equal(net.numParameters(), byHand);
  assert.equal(byHand, 60_965_224); // Caffe's bvlc_alexnet has the same count
  // LRN (paper's constants) right after the first two ReLUs, overlapping 3/2 pooling, dropout in both 4096 layers.
  const kinds = net.features.layers.map((m) => m.constructor.name);
  assert.deepEqual(kinds.slice(0, 8), [
    'Conv2d',
    'ReLU',
    'LocalResponseNorm',
    'MaxPool2d',
    'Conv2d',
    'ReLU',
    'LocalResponseNorm',
    'MaxPool2d',
  ]);
  for (const lrn of net.features.layers.filter((m): m is LocalResponseNorm => m instanceof LocalResponseNorm)) {
    assert.deepEqual([lrn.size, lrn.k, lrn.alpha, lrn.beta, lrn.convention], [5, 2, 1e-4, 0.75, 'paper']);
  }
  const pools = net.features.layers.filter((m): m is MaxPool2d => m instanceof MaxPool2d);
  assert.deepEqual(
    pools.map((p) => [p.kernelSize, p.options.stride]),
    [
      [3, 2],
      [3, 2],
      [3, 2],
    ],
  );
  const cls = net.classifier.layers;
  assert.deepEqual(
    cls.map((m) => m.constructor.name),
    ['Linear', 'ReLU', 'Dropout', 'Linear', 'ReLU', 'Dropout', 'Linear'],
  );
  assert.deepEqual(
    cls.filter((m): m is Dropout => m instanceof Dropout).map((d) => d.p),
    [0.5, 0.5],
  );
  assert.deepEqual([(cls[0] as Linear).inFeatures, (cls[6] as Linear).outFeatures], [9216, 1000]);
});

test('the paper AlexNet runs on 227x227 input and refuses other sizes', () => {
  const net = models.alexnet({ variant: 'paper', numClasses: 10 }).eval();
  const y = noGrad(() => net.forward(randn([1, 3, 227, 227])));
  assert.deepEqual([...y.shape], [1, 10]);
  assert.ok(Array.from(y.dataSync()).every(Number.isFinite));
  assert.throws(() => net.forward(randn([1, 3, 224, 224])), /227/);
  assert.throws(() => models.alexnet({ variant: 'paper', smallInput: true } as never), ArgumentError);
  assert.throws(() => models.alexnet({ variant: 'tower' } as never), /variant/);
});

test('tsgrad summary --model alexnet-paper prints 60,965,224 parameters; lenet5-classic rows add up to its total', () => {
  const r = spawnSync(process.execPath, [CLI, 'summary', '--model', 'alexnet-paper'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /features\.4 Conv2d\(96, 256, kernel=5x5, padding=2, groups=2\)\s+\[1, 256, 27, 27\]\s+307,456/,
  );
  assert.match(r.stdout, /Total params: 60,965,224\n/);
  for (const model of ['alexnet-paper', 'lenet5-classic']) {
    const out = spawnSync(process.execPath, [CLI, 'summary', '--model', model], { encoding: 'utf8' }).stdout;
    const rows = out.split('\n').filter((l) => /\]\s+[\d,]+$/.test(l));
    const sum = rows.reduce((n, l) => n + Number(l.match(/([\d,]+)$/)![1]!.replace(/,/g, '')), 0);
    const total = Number(out.match(/Total params: ([\d,]+)/)![1]!.replace(/,/g, ''));
    assert.ok(rows.length > 5, `${model}: ${rows.length} rows`);
    assert.equal(sum, total, `${model}: rows add up to ${sum}, total says ${total}`);
  }
});

// Six channels of one pixel: 10, 20, ..., 60. Squares 100, 400, 900, 1600, 2500, 3600.
// n = 5 windows (2 before, 2 after, clipped): channel 0 sums {0,1,2} = 1400, channel 3 sums {1..5} = 9000.
const x6 = (): Tensor => tensor([10, 20, 30, 40, 50, 60], { shape: [1, 6, 1, 1] });

test("LocalResponseNorm, the paper's convention: b = a / (k + α·Σa²)^β with n 5, k 2, α 1e-4, β 0.75", () => {
  const lrn = new LocalResponseNorm(5, { convention: 'paper' });
  assert.equal(lrn.k, 2, "the paper's k is the default with this convention");
  const y = lrn.forward(x6()).dataSync();
  assertClose([y[0]!, y[3]!], [10 / (2 + 1e-4 * 1400) ** 0.75, 40 / (2 + 1e-4 * 9000) ** 0.75], 1e-6, 'paper');
  assertClose(F.localResponseNorm(x6(), 5, 1e-4, 0.75, 2, 'paper'), Array.from(y), 1e-7, 'functional');
});

test("LocalResponseNorm, PyTorch's convention (the default): α divided by n", () => {
  const lrn = new LocalResponseNorm(5, { k: 2 });
  assert.equal(lrn.convention, 'pytorch');
  const y = lrn.forward(x6()).dataSync();
  assertClose([y[0]!, y[3]!], [10 / (2 + (1e-4 / 5) * 1400) ** 0.75, 40 / (2 + (1e-4 / 5) * 9000) ** 0.75], 1e-6, 'pt');
  assert.equal(new LocalResponseNorm(5).k, 1, "PyTorch's default k");
  assert.throws(() => new LocalResponseNorm(5, { convention: 'caffe' as 'paper' }), /convention/);
  assert.throws(() => new LocalResponseNorm(5, { kappa: 2 } as object), /unknown option kappa/);
});

test("alexnet({ lrn: true }) (torchvision's layout) uses the paper's LRN, in the paper's convention", () => {
  const net = init.skipInit(() => models.alexnet({ numClasses: 10, smallInput: true, lrn: true, hidden: 16 }));
  const lrns = net
    .namedModules()
    .map(([, m]) => m)
    .filter((m): m is LocalResponseNorm => m instanceof LocalResponseNorm);
  assert.equal(lrns.length, 2);
  for (const lrn of lrns) {
    assert.deepEqual([lrn.size, lrn.k, lrn.alpha, lrn.beta, lrn.convention], [5, 2, 1e-4, 0.75, 'paper']);
  }
  // Without lrn, no LRN at all (torchvision's weights were trained without it).
  const plain = init.skipInit(() => models.alexnet({ numClasses: 10, smallInput: true, hidden: 16 }));
  assert.equal(plain.namedModules().filter(([, m]) => m instanceof LocalResponseNorm).length, 0);
});
