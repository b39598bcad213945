/**
 * The notes' test-time preprocessing: resizeShorter, centerCrop, tenCrop (and
 * evaluate's ten-crop averaging), and per-pixel mean-image subtraction, each on
 * small images whose pixels are worked out by hand here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  ArrayDataset,
  Module,
  concat,
  crossEntropy,
  evaluate,
  meanImage,
  subtractMean,
  tensor,
  transforms,
  Generator,
  type Image,
  type Tensor,
} from '../../src/index.js';

const img = (h: number, w: number, values: number[], channels = 1): Image => ({
  data: Float32Array.from(values),
  channels,
  height: h,
  width: w,
});
const px = (i: Image): number[] => Array.from(i.data);
const g = new Generator(1);

test('resizeShorter keeps the aspect ratio: the shorter side becomes size, the longer floor(size·long/short)', () => {
  // 2×4 halved: each output pixel samples the middle of a 2×2 block (bilinear, align_corners false).
  const wide = transforms.resizeShorter(1)(img(2, 4, [1, 2, 3, 4, 5, 6, 7, 8]), g);
  assert.deepEqual([wide.height, wide.width], [1, 2]);
  assert.deepEqual(px(wide), [(1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4]);
  const tall = transforms.resizeShorter(1)(img(4, 2, [1, 2, 3, 4, 5, 6, 7, 8]), g);
  assert.deepEqual([tall.height, tall.width], [2, 1]);
  assert.deepEqual(px(tall), [(1 + 2 + 3 + 4) / 4, (5 + 6 + 7 + 8) / 4]);
  const odd = transforms.resizeShorter(4)(img(6, 9, new Array<number>(54).fill(0.5)), g);
  assert.deepEqual([odd.height, odd.width], [4, 6]); // floor(4·9/6) = 6
  const same = img(3, 5, new Array<number>(15).fill(0.25));
  assert.equal(transforms.resizeShorter(3)(same, g), same, 'already the right size: unchanged');
  assert.throws(() => transforms.resizeShorter(0), ArgumentError);
});

test("centerCrop cuts the centred window with torchvision's offsets (round half to even)", () => {
  // 4×5, pixel = 5·row + col. Crop 2: top round(1) = 1, left round(1.5) = 2.
  const grid = img(
    4,
    5,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(px(transforms.centerCrop(2)(grid, g)), [7, 8, 12, 13]);
  // 3×3 crop 2: offsets round(0.5) = 0, as Python rounds.
  const nine = img(3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(px(transforms.centerCrop(2)(nine, g)), [1, 2, 4, 5]);
  // [h, w] and two channels.
  const two = img(2, 3, [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60], 2);
  assert.deepEqual(px(transforms.centerCrop([2, 1])(two, g)), [2, 5, 20, 50]);
  // Larger than the image: zero padding around it.
  assert.deepEqual(px(transforms.centerCrop(3)(img(1, 1, [7]), g)), [0, 0, 0, 0, 7, 0, 0, 0, 0]);
});

test('tenCrop: four corners and the centre, then the same of the mirror image', () => {
  const nine = img(3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const crops = transforms.tenCrop(nine, 2).map(px);
  assert.deepEqual(crops, [
    [1, 2, 4, 5], // top-left
    [2, 3, 5, 6], // top-right
    [4, 5, 7, 8], // bottom-left
    [5, 6, 8, 9], // bottom-right
    [1, 2, 4, 5], // centre (offsets round(0.5) = 0)
    // mirror image [[3, 2, 1], [6, 5, 4], [9, 8, 7]]:
    [3, 2, 6, 5],
    [2, 1, 5, 4],
    [6, 5, 9, 8],
    [5, 4, 8, 7],
    [3, 2, 6, 5],
  ]);
  assert.throws(() => transforms.tenCrop(nine, 4), /larger than the image/);
});

/** Logits [s, 0] where s is the sum of the crop's pixels, and it records the crop shapes. */
class SumModel extends Module {
  shapes: number[][] = [];
  forward(x: Tensor): Tensor {
    this.shapes.push([...x.shape]);
    const s = x.sum([1, 2, 3], true).reshape([x.shape[0]!, 1]);
    return concat([s, s.mul(0)], 1);
  }
}

test("evaluate({ tta: 'ten-crop' }) averages the ten crops' softmax outputs", () => {
  const values = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((v) => v / 10);
  const ds = new ArrayDataset(Float32Array.from(values), Int32Array.from([0]), [1, 3, 3]);
  const model = new SumModel();
  const r = evaluate(model, ds, crossEntropy, { tta: 'ten-crop', cropSize: 2 });
  assert.equal(model.shapes.length, 10);
  assert.ok(model.shapes.every((s) => s.join() === '1,1,2,2'));
  // The crop sums (see the tenCrop test) over 10: p(class 0) = sigmoid(s) for logits [s, 0].
  const sums = [12, 16, 24, 28, 12, 16, 12, 28, 24, 16].map((v) => v / 10);
  const mean = sums.reduce((a, s) => a + 1 / (1 + Math.exp(-s)), 0) / 10;
  assert.ok(Math.abs(r.loss - -Math.log(mean)) < 1e-6, `loss ${r.loss}, expected ${-Math.log(mean)}`);
  assert.equal(r.accuracy, 1);
  // Default crop: 224/256 of the shorter side (8 -> 7).
  const big = new ArrayDataset(new Float32Array(64), Int32Array.from([1]), [1, 8, 8]);
  const m2 = new SumModel();
  evaluate(m2, big, crossEntropy, { tta: 'ten-crop' });
  assert.deepEqual(m2.shapes[0], [1, 1, 7, 7]);
  assert.throws(() => evaluate(m2, big, crossEntropy, { tta: 'five' as 'ten-crop' }), /tta/);
});

test('meanImage is the per-pixel mean over the dataset; subtractMean removes it from every sample', () => {
  // Three 1×2×2 samples.
  const inputs = Float32Array.from([1, 2, 3, 4, 3, 2, 1, 0, 5, 5, 5, 5]);
  const ds = new ArrayDataset(inputs, Int32Array.from([0, 1, 2]), [1, 2, 2]);
  const mean = meanImage(ds, { batchSize: 2 });
  assert.deepEqual([...mean.shape], [1, 2, 2]);
  assert.deepEqual(Array.from(mean.dataSync()), [3, 3, 3, 3]);
  const uneven = new ArrayDataset(Float32Array.from([0, 1, 2, 3, 6, 1, 2, 0]), Int32Array.from([0, 0]), [1, 2, 2]);
  assert.deepEqual(Array.from(meanImage(uneven).dataSync()), [3, 1, 2, 1.5]);
  const centred = subtractMean(ds, mean);
  assert.deepEqual(Array.from(centred.get(0).x.dataSync()), [-2, -1, 0, 1]);
  assert.deepEqual(Array.from(centred.getBatch!([1, 2]).x.dataSync()), [0, -1, -2, -3, 2, 2, 2, 2]);
  assert.deepEqual(Array.from(centred.get(2).y.dataSync()), [2]);
  assert.throws(() => subtractMean(ds, tensor([1, 2, 3])).get(0), /subtractMean/);
});
