/**
 * The viz images: sizes, a filter grid whose pixels are checked by hand, a confusion
 * matrix, and saliency / Grad-CAM on a synthetic task where only one region of the image
 * carries the label (a small net is trained on it here, so the maps have something to find).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam,
  GlobalMaxPool2d,
  GlobalAvgPool2d,
  ArrayDataset,
  Conv2d,
  Flatten,
  Linear,
  ReLU,
  Sequential,
  Tanh,
  crossEntropy,
  Generator,
  LeNet5,
  evaluate,
  fit,
  fromArray,
  manualSeed,
  noGrad,
  viz,
} from '../../src/index.js';
import { confusionMatrixImage } from '../../src/viz/confusion.js';

const px = (img: viz.RgbaImage, x: number, y: number): number[] =>
  Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

test('filterGrid: one gray tile per kernel, each stretched to its own range (or the layer range)', async () => {
  const conv = new Conv2d(1, 2, 2, { bias: false });
  noGrad(() => conv.weight.assign(fromArray(new Float32Array([0, 1, 2, 3, 3, 3, 3, 3]), [2, 1, 2, 2])));
  const img = await viz.filterGrid(conv, { scale: 1 });
  // Two 2×2 tiles side by side with a one-pixel white border: 2·2 + 3 wide, 2 + 2 high.
  assert.deepEqual([img.width, img.height], [7, 4]);
  assert.equal(img.data.length, 7 * 4 * 4);
  assert.deepEqual(px(img, 0, 0), [255, 255, 255, 255], 'gap');
  assert.deepEqual(px(img, 1, 1), [0, 0, 0, 255]);
  assert.deepEqual(px(img, 2, 1), [85, 85, 85, 255]);
  assert.deepEqual(px(img, 1, 2), [170, 170, 170, 255]);
  assert.deepEqual(px(img, 2, 2), [255, 255, 255, 255]);
  assert.deepEqual(px(img, 4, 1), [128, 128, 128, 255], 'a constant kernel is mid-gray');
  const layer = await viz.filterGrid(conv, { scale: 1, normalize: 'layer' });
  assert.deepEqual(px(layer, 2, 1), [85, 85, 85, 255]);
  assert.deepEqual(px(layer, 4, 1), [255, 255, 255, 255], 'the constant kernel is the layer maximum');
  const big = await viz.filterGrid(conv, { scale: 3 });
  assert.deepEqual([big.width, big.height], [2 * 6 + 3, 6 + 2]);
});

test('filterGrid: RGB tiles for a 3-channel first layer, rows × input channels otherwise', async () => {
  const rgb = new Conv2d(3, 1, 1, { bias: false });
  noGrad(() => rgb.weight.assign(fromArray(new Float32Array([1, -1, 0]), [1, 3, 1, 1])));
  const img = await viz.filterGrid(rgb, { scale: 1 });
  assert.deepEqual([img.width, img.height], [3, 3]);
  assert.deepEqual(px(img, 1, 1), [255, 0, 128, 255]);
  const deep = await viz.filterGrid(new Conv2d(2, 3, 3), { scale: 1 });
  // 3 output rows × 2 input columns of 3×3 tiles.
  assert.deepEqual([deep.width, deep.height], [2 * 3 + 3, 3 * 3 + 4]);
  const lenet = await viz.filterGrid(new LeNet5().features.at(0) as Conv2d);
  // 6 kernels of 5×5 at 4 pixels per weight in a 3 × 2 grid.
  assert.deepEqual([lenet.width, lenet.height], [3 * 20 + 4, 2 * 20 + 3]);
  await assert.rejects(viz.filterGrid(new Conv2d(1, 2, 2), { normalize: 'bogus' as 'layer' }), /normalize must be/);
});

test('featureMapGrid: one tile per channel of the named layer; unknown layers are named', async () => {
  manualSeed(1);
  const net = new LeNet5();
  const x = fromArray(
    new Float32Array(28 * 28).map((_, i) => (i % 7) / 7),
    [1, 1, 28, 28],
  );
  assert.deepEqual(viz.convLayerNames(net), ['features.0', 'features.3']);
  assert.equal(viz.lastFeatureMapLayer(net, x), 'features.5', 'the pooled output of the last conv block');
  const first = await viz.featureMapGrid(net, x, 'features.0');
  // 6 maps of 28×28 at 2× in a 3 × 2 grid.
  assert.deepEqual([first.width, first.height], [3 * 56 + 4, 2 * 56 + 3]);
  const second = await viz.featureMapGrid(net, x, 'features.3');
  // 16 maps of 10×10 at 6× in a 4 × 4 grid.
  assert.deepEqual([second.width, second.height], [4 * 60 + 5, 4 * 60 + 5]);
  await assert.rejects(
    viz.featureMapGrid(net, x, 'features.9'),
    /unknown layer 'features\.9' \(layers: features, features\.0/,
  );
  await assert.rejects(
    viz.featureMapGrid(net, x, 'classifier.1'),
    /must return feature maps \[1, C, H, W\], got \[1, 120\]/,
  );
});

test('confusionMatrixImage: cells shaded by row share, labels around', () => {
  const m = [
    [8, 2],
    [0, 10],
  ];
  const img = confusionMatrixImage(m, ['cat', 'dog']);
  assert.equal(img.data.length, img.width * img.height * 4);
  assert.ok(img.width > 2 * 24 && img.height > 2 * 24);
  assert.equal(img.width, img.height, 'labels take the same room on the left and on top');
  // The bottom-right cell (10 of 10) is the darkest blue; bottom-left (0 of 10) is near white.
  const cell = 24;
  const x0 = img.width - 6 - 2 * cell;
  const y0 = img.height - 6 - 2 * cell;
  const corner = (r: number, c: number): number[] => px(img, x0 + c * cell + 1, y0 + r * cell + 1);
  assert.deepEqual(corner(1, 1).slice(0, 3), [8, 48, 107]);
  assert.deepEqual(corner(1, 0).slice(0, 3), [247, 251, 255]);
  assert.ok(corner(0, 0)[0]! < corner(0, 1)[0]!, '0.8 darker than 0.2');
  assert.throws(() => confusionMatrixImage(m, ['a']), /1 labels for 2 classes/);
  assert.throws(() => confusionMatrixImage([[1, 2]], ['a']), /must be 1x1/);
});

const SIZE = 16;
const REGION = 6; // the label lives in rows and columns 0..5

/** Class 0: a horizontal bar, class 1: a vertical bar, somewhere inside the top-left region; faint noise elsewhere. */
function barImages(n: number, seed: number): { x: Float32Array; y: Uint8Array } {
  const g = new Generator(seed);
  const x = new Float32Array(n * SIZE * SIZE);
  const y = new Uint8Array(n);
  for (let s = 0; s < n; s++) {
    const label = s % 2;
    y[s] = label;
    const base = s * SIZE * SIZE;
    for (let i = 0; i < SIZE * SIZE; i++) x[base + i] = (g.uniform() - 0.5) * 0.6;
    const r0 = 1 + Math.floor(g.uniform() * (REGION - 4 - 1));
    const c0 = 1 + Math.floor(g.uniform() * (REGION - 4 - 1));
    for (let k = 0; k < 4; k++) {
      const [r, c] = label === 0 ? [r0 + 1, c0 + k] : [r0 + k, c0 + 1];
      x[base + r * SIZE + c] = 1.5;
    }
  }
  return { x, y };
}

function regionMeans(map: viz.AttributionMap): { inside: number; outside: number; argmax: [number, number] } {
  let inside = 0;
  let outside = 0;
  let best = -1;
  let argmax: [number, number] = [0, 0];
  for (let r = 0; r < map.height; r++) {
    for (let c = 0; c < map.width; c++) {
      const v = map.values[r * map.width + c]!;
      if (r < REGION && c < REGION) inside += v;
      else outside += v;
      if (v > best) [best, argmax] = [v, [r, c]];
    }
  }
  return { inside: inside / (REGION * REGION), outside: outside / (SIZE * SIZE - REGION * REGION), argmax };
}

/** Trains a small conv net on the bar task; `pool` ends the conv stack (global max or average). */
async function trainBarNet(
  pool: GlobalMaxPool2d | GlobalAvgPool2d,
): Promise<{ net: Sequential; test: { x: Float32Array; y: Uint8Array } }> {
  manualSeed(7);
  const net = new Sequential(
    new Conv2d(1, 8, 3, { padding: 1 }),
    new ReLU(),
    new Conv2d(8, 8, 3, { padding: 1 }),
    new ReLU(),
    pool,
    new Flatten(),
    new Linear(8, 2),
  );
  const ds = (d: { x: Float32Array; y: Uint8Array }): ArrayDataset => new ArrayDataset(d.x, d.y, [1, SIZE, SIZE]);
  const testSet = barImages(64, 2);
  await fit(net, {
    train: ds(barImages(256, 1)),
    epochs: 6,
    batchSize: 32,
    optimizer: new Adam(net.parameters(), { lr: 0.01 }),
    generator: new Generator(3),
  });
  const acc = evaluate(net, ds(testSet), (o, t) => crossEntropy(o, t)).accuracy;
  assert.ok(acc >= 0.95, `the net learned the task (test accuracy ${acc})`);
  return { net, test: testSet };
}

const sample = (d: { x: Float32Array }, s: number): ReturnType<typeof fromArray> =>
  fromArray(d.x.slice(s * SIZE * SIZE, (s + 1) * SIZE * SIZE), [1, 1, SIZE, SIZE]);

test('saliency is highest where the label is, after training on a one-region task', async () => {
  // Global max pooling: each channel reports its strongest response, so the class score
  // depends on the pixels around the bar and its gradient flows back only there.
  const { net, test: testSet } = await trainBarNet(new GlobalMaxPool2d());
  net.train();
  const gradsBefore = net.parameters().map((p) => p.grad);
  for (const s of [0, 1, 2, 3, 4, 5]) {
    const sal = regionMeans(await viz.saliencyMap(net, sample(testSet, s), testSet.y[s]!));
    assert.ok(sal.inside > 5 * sal.outside, `sample ${s}: inside ${sal.inside} vs outside ${sal.outside}`);
    assert.ok(sal.argmax[0] < REGION && sal.argmax[1] < REGION, `sample ${s}: peak at ${sal.argmax.join(',')}`);
  }
  const img = await viz.saliency(net, sample(testSet, 0), testSet.y[0]!, { scale: 2 });
  assert.deepEqual([img.width, img.height, img.data.length], [32, 32, 32 * 32 * 4]);
  assert.equal(net.training, true, 'the mode is restored');
  assert.deepEqual(
    net.parameters().map((p) => p.grad),
    gradsBefore,
    'parameter gradients are left as they were',
  );
  await assert.rejects(viz.saliencyMap(net, sample(testSet, 0), 2), /class index 2 out of range for 2 classes/);
});

test('Grad-CAM is highest where the label is, after training on a one-region task', async () => {
  // Global average pooling, the architecture class activation maps were made for.
  const { net, test: testSet } = await trainBarNet(new GlobalAvgPool2d());
  for (const s of [0, 1, 2, 3, 4, 5]) {
    const cam = regionMeans(await viz.gradCamMap(net, sample(testSet, s), testSet.y[s]!, '2'));
    assert.ok(cam.inside > 5 * cam.outside, `sample ${s}: inside ${cam.inside} vs outside ${cam.outside}`);
    assert.ok(cam.argmax[0] < REGION && cam.argmax[1] < REGION, `sample ${s}: peak at ${cam.argmax.join(',')}`);
  }
  const overlay = await viz.gradCam(net, sample(testSet, 0), testSet.y[0]!, '2');
  assert.deepEqual([overlay.width, overlay.height], [112, 112]);
  await assert.rejects(viz.gradCamMap(net, sample(testSet, 0), 0, 'head'), /unknown layer 'head'/);
});

test('saliency is the input gradient of the class score (central differences through a smooth net)', async () => {
  manualSeed(2);
  const net = new Sequential(new Conv2d(1, 2, 3), new Tanh(), new Flatten(), new Linear(2 * 3 * 3, 3));
  const x = fromArray(
    new Float32Array(25).map((_, i) => Math.sin(i)),
    [1, 1, 5, 5],
  );
  const map = await viz.saliencyMap(net, x, 1);
  const score = (v: Float32Array): number => noGrad(() => net.forward(fromArray(v, [1, 1, 5, 5]))).dataSync()[1]!;
  const base = x.dataSync() as Float32Array;
  for (const i of [0, 6, 12, 18, 24]) {
    const h = 1e-2;
    const up = base.slice();
    const down = base.slice();
    up[i] = up[i]! + h;
    down[i] = down[i]! - h;
    const numeric = Math.abs((score(up) - score(down)) / (2 * h));
    assert.ok(Math.abs(map.values[i]! - numeric) < 2e-3, `pixel ${i}: ${map.values[i]} vs ${numeric}`);
  }
});

test('Grad-CAM by hand: channel weights are the mean gradients, the sum is clipped at zero', async () => {
  const conv = new Conv2d(1, 2, 1);
  const head = new Linear(2, 2);
  noGrad(() => {
    conv.weight.assign(fromArray(new Float32Array([1, -1]), [2, 1, 1, 1]));
    conv.bias!.assign(fromArray(new Float32Array([0, 0]), [2]));
    head.weight.assign(fromArray(new Float32Array([2, 1, -1, 3]), [2, 2]));
  });
  const net = new Sequential(conv, new GlobalAvgPool2d(), new Flatten(), head);
  const x = fromArray(new Float32Array([1, -2, 3, 0]), [1, 1, 2, 2]);
  // Class 0: A0 = x, A1 = -x; mean gradients 2/4 and 1/4: cam = relu(0.5x - 0.25x) = relu(0.25x).
  const map = await viz.gradCamMap(net, x, 0, '0');
  assert.deepEqual(Array.from(map.values), [0.25, 0, 0.75, 0]);
  // Class 1: weights -1/4 and 3/4: cam = relu(-0.25x - 0.75x) = relu(-x).
  assert.deepEqual(Array.from((await viz.gradCamMap(net, x, 1, '0')).values), [0, 2, 0, 0]);
});
