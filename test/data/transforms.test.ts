/**
 * Image augmentation: each primitive on small images with hand-derived
 * values, the random transforms' seeding, bounds and draw order, and
 * AugmentedDataset batches, normalization and generator handling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, Generator, ShapeError, defaultGenerator } from '../../src/index.js';
import type { ImageSet } from '../../src/data/mnist.js';
import {
  AugmentedDataset,
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  colorJitter,
  compose,
  crop,
  hflip,
  imageAt,
  normalize,
  pad,
  randomCrop,
  randomHorizontalFlip,
  randomResizedCrop,
  randomRotation,
  randomShift,
  randomVerticalFlip,
  resize,
  rotate,
  shift,
  vflip,
  type Image,
  type Transform,
} from '../../src/data/transforms.js';

function img(channels: number, height: number, width: number, values: readonly number[]): Image {
  return { data: Float32Array.from(values), channels, height, width };
}

/** 1×3×3 holding 1..9 row by row: [[1, 2, 3], [4, 5, 6], [7, 8, 9]]. */
const nine = (): Image => img(1, 3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);

/** 1×h×w holding 1..h·w. */
const counting = (h: number, w: number, channels = 1): Image =>
  img(
    channels,
    h,
    w,
    Array.from({ length: channels * h * w }, (_, i) => i + 1),
  );

const values = (im: Image): number[] => Array.from(im.data);

function assertClose(actual: readonly number[], expected: readonly number[], tol = 1e-6, what = ''): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - expected[i]!) <= tol, `${what}[${i}]: ${a} vs ${expected[i]} (tolerance ${tol})`),
  );
}

function cloneGen(g: Generator): Generator {
  const c = new Generator();
  c.setState(g.getState());
  return c;
}

function randomImage(channels: number, h: number, w: number, seed: number): Image {
  const g = new Generator(seed);
  return img(
    channels,
    h,
    w,
    Array.from({ length: channels * h * w }, () => g.uniform()),
  );
}

// ------------------------------------------------------------ geometry

test('shift: positive dx moves right, positive dy moves down, vacated pixels are fill', () => {
  const src = nine();
  assert.deepEqual(values(shift(src, 1, 0)), [0, 1, 2, 0, 4, 5, 0, 7, 8]);
  assert.deepEqual(values(shift(src, 0, 1)), [0, 0, 0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(values(shift(src, -1, -1, -1)), [5, 6, -1, 8, 9, -1, -1, -1, -1]);
  assert.deepEqual(values(shift(src, 0, 0)), values(src));
  assert.deepEqual(values(shift(src, 3, 0, 7)), new Array(9).fill(7));
  assert.deepEqual(values(shift(src, -5, 9)), new Array(9).fill(0));
  // Every channel moves alike, and the input is left alone.
  const two = counting(2, 2, 2);
  assert.deepEqual(values(shift(two, 1, 0)), [0, 1, 0, 3, 0, 5, 0, 7]);
  assert.deepEqual(values(two), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(values(src), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('rotate: quarter turns are exact, positive degrees turn counter-clockwise as displayed', () => {
  const src = nine();
  // Counter-clockwise: the top-right 3 goes to the top-left corner.
  assert.deepEqual(values(rotate(src, 90)), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
  assert.deepEqual(values(rotate(src, -90)), [7, 4, 1, 8, 5, 2, 9, 6, 3]);
  assert.deepEqual(values(rotate(src, 270)), values(rotate(src, -90)));
  assert.deepEqual(values(rotate(src, 180)), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.deepEqual(values(rotate(src, 0)), values(src));
  assert.deepEqual(values(rotate(src, 360)), values(src));
  assert.deepEqual(values(rotate(src, -720)), values(src));
  // A lone pixel right of centre ends up above it.
  const dot = img(1, 3, 3, [0, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual(values(rotate(dot, 90)), [0, 1, 0, 0, 0, 0, 0, 0, 0]);
});

test('rotate: bilinear sampling with fill beyond the border, by hand at 45°', () => {
  const r = Math.SQRT1_2;
  const out = values(rotate(nine(), 45));
  // Output (0, 0) is (−1, −1) from the centre; rotated back by −45° it reads
  // input (x, y) = (1, 1 − √2): rows −1 (fill 0) and 0 at column 1 (value 2),
  // weight 1 − (√2 − 1) = 2 − √2 on the row inside.
  assertClose([out[0]!], [2 * (2 - Math.SQRT2)], 1e-6, 'corner');
  // Output (1, 0) reads (1 + r, 1 − r): values 2, 3 / 5, 6 weighted 1−fx, fx / by 1−fy, fy.
  const fx = r;
  const fy = 1 - r;
  const expected = (1 - fy) * ((1 - fx) * 2 + fx * 3) + fy * ((1 - fx) * 5 + fx * 6);
  assertClose([out[1]!], [expected], 1e-6, 'top middle');
  assertClose([out[4]!], [5], 1e-6, 'centre');
  // A non-zero fill shows up in the cut corners.
  const filled = values(rotate(nine(), 45, 10));
  assertClose([filled[0]!], [2 * (2 - Math.SQRT2) + 10 * (Math.SQRT2 - 1)], 1e-5, 'filled corner');
});

test('resize: PyTorch bilinear, align_corners=False', () => {
  // Output x (and y) for 2 → 4: source (d + 0.5)·0.5 − 0.5 = −0.25 → clamped 0,
  // 0.25, 0.75, 1.25 → clamped at the last pixel. So a row [1, 2] becomes
  // [1, 1·0.75 + 2·0.25, 1·0.25 + 2·0.75, 2] = [1, 1.25, 1.75, 2], and rows
  // blend the same way with weights 0, 0.25, 0.75, 1 on the second row.
  const up = resize(img(1, 2, 2, [1, 2, 3, 4]), 4, 4);
  assert.equal(up.height, 4);
  assert.equal(up.width, 4);
  assert.deepEqual(values(up), [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
  // 4 → 2: sources 0.5 and 2.5, so each output averages a 2×2 block.
  assert.deepEqual(values(resize(counting(4, 4), 2, 2)), [3.5, 5.5, 11.5, 13.5]);
  // 2 → 3 along x: sources −1/6 → 0, 0.5, 7/6 → clamped.
  assertClose(values(resize(img(1, 1, 2, [1, 2]), 1, 3)), [1, 1.5, 2], 1e-6);
  assert.deepEqual(values(resize(counting(3, 4, 2), 3, 4)), values(counting(3, 4, 2)));
});

test('crop reads outside the image as fill; pad follows torchvision’s side order', () => {
  const src = nine();
  assert.deepEqual(values(crop(src, 1, 1, 2, 2)), [5, 6, 8, 9]);
  const off = crop(src, -1, 2, 3, 2, -1);
  assert.deepEqual([off.height, off.width], [3, 2]);
  assert.deepEqual(values(off), [-1, -1, 3, -1, 6, -1]);
  const p = pad(src, 1);
  assert.deepEqual([p.channels, p.height, p.width], [1, 5, 5]);
  assert.deepEqual(values(p), [0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 7, 8, 9, 0, 0, 0, 0, 0, 0]);
  // [left/right, top/bottom]
  assert.deepEqual(values(pad(src, [1, 0], 9)), [9, 1, 2, 3, 9, 9, 4, 5, 6, 9, 9, 7, 8, 9, 9]);
  // [left, top, right, bottom]
  const q = pad(img(1, 1, 2, [1, 2]), [1, 2, 0, 0]);
  assert.deepEqual([q.height, q.width], [3, 3]);
  assert.deepEqual(values(q), [0, 0, 0, 0, 0, 0, 0, 1, 2]);
});

test('hflip and vflip mirror every channel', () => {
  assert.deepEqual(values(hflip(nine())), [3, 2, 1, 6, 5, 4, 9, 8, 7]);
  assert.deepEqual(values(vflip(nine())), [7, 8, 9, 4, 5, 6, 1, 2, 3]);
  assert.deepEqual(values(hflip(counting(1, 2, 2))), [2, 1, 4, 3]);
  assert.deepEqual(values(vflip(counting(2, 1, 2))), [2, 1, 4, 3]);
  assert.deepEqual(values(hflip(hflip(nine()))), values(nine()));
});

// ------------------------------------------------------------ colour

/** 1×2 RGB: a pure red pixel and a mid-grey one (planar: R plane, G plane, B plane). */
const redGrey = (): Image => img(3, 1, 2, [1, 0.5, 0, 0.5, 0, 0.5]);

test('adjustBrightness multiplies and clamps to [0, 1]', () => {
  assert.deepEqual(values(adjustBrightness(redGrey(), 0.5)), [0.5, 0.25, 0, 0.25, 0, 0.25]);
  assert.deepEqual(values(adjustBrightness(redGrey(), 3)), [1, 1, 0, 1, 0, 1]);
  assert.deepEqual(values(adjustBrightness(redGrey(), 0)), [0, 0, 0, 0, 0, 0]);
});

test('adjustContrast blends with the mean grey level', () => {
  // Grey levels: red 0.299, grey 0.5; mean 0.3995.
  assertClose(values(adjustContrast(redGrey(), 0)), new Array(6).fill(0.3995));
  assert.deepEqual(values(adjustContrast(redGrey(), 1)), values(redGrey()));
  // factor 2: 2v − 0.3995, clamped.
  assertClose(values(adjustContrast(redGrey(), 2)), [1, 0.6005, 0, 0.6005, 0, 0.6005]);
  // One channel: the plain mean, (0.25 + 0.5 + 0.75 + 0.5) / 4 = 0.5.
  assert.deepEqual(values(adjustContrast(img(1, 2, 2, [0.25, 0.5, 0.75, 0.5]), 0)), [0.5, 0.5, 0.5, 0.5]);
  assert.deepEqual(values(adjustContrast(img(1, 1, 2, [0.25, 0.75]), 0.5)), [0.375, 0.625]);
});

test('adjustSaturation: 0 is per-pixel grey, 1 the input; one channel is unchanged', () => {
  assertClose(values(adjustSaturation(redGrey(), 0)), [0.299, 0.5, 0.299, 0.5, 0.299, 0.5]);
  assert.deepEqual(values(adjustSaturation(redGrey(), 1)), values(redGrey()));
  // factor 2 on red: 2·1 − 0.299 → 1, 2·0 − 0.299 → 0; grey stays grey.
  assertClose(values(adjustSaturation(redGrey(), 2)), [1, 0.5, 0, 0.5, 0, 0.5]);
  const mono = img(1, 1, 2, [0.25, 0.75]);
  assert.deepEqual(values(adjustSaturation(mono, 0)), [0.25, 0.75]);
});

test('adjustHue turns the colour wheel; greys and one-channel images stay put', () => {
  // A third of a turn: red → green → blue.
  assert.deepEqual(values(adjustHue(redGrey(), 1 / 3)), [0, 0.5, 1, 0.5, 0, 0.5]);
  assert.deepEqual(values(adjustHue(redGrey(), -1 / 3)), [0, 0.5, 0, 0.5, 1, 0.5]);
  assert.deepEqual(values(adjustHue(redGrey(), 0)), values(redGrey()));
  // Orange (1, 0.5, 0) has hue 1/12; half a turn gives hue 7/12, azure (0, 0.5, 1).
  assert.deepEqual(values(adjustHue(img(3, 1, 1, [1, 0.5, 0]), 0.5)), [0, 0.5, 1]);
  assert.deepEqual(values(adjustHue(img(3, 1, 1, [1, 0.5, 0]), -0.5)), [0, 0.5, 1]);
  assert.deepEqual(values(adjustHue(img(1, 1, 2, [0.25, 0.75]), 0.3)), [0.25, 0.75]);
  assert.throws(() => adjustHue(img(2, 1, 1, [0, 1]), 0.1), ShapeError);
  assert.throws(() => adjustHue(redGrey(), 0.6), /adjustHue: delta must be in \[-0\.5, 0\.5\], got 0\.6/);
});

test('normalize subtracts the mean and divides by the std per channel', () => {
  const two = img(2, 1, 2, [0.5, 1, 0.25, 0.75]);
  assert.deepEqual(values(normalize(two, [0.5, 0.25], [0.5, 0.25])), [0, 1, 0, 2]);
  assert.deepEqual(values(normalize(two, 0.5, 0.25)), [0, 2, -1, 1]);
  assert.throws(() => normalize(two, [1, 2, 3], 1), ArgumentError);
  assert.throws(() => normalize(two, 0, 0), /normalize: std must be positive/);
});

// ------------------------------------------------------------ random transforms

const everything = compose([
  randomCrop(8, { padding: 2 }),
  randomShift(1),
  randomRotation(20),
  randomResizedCrop([6, 7], { scale: [0.5, 1] }),
  randomHorizontalFlip(),
  randomVerticalFlip(),
  colorJitter({ brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.1 }),
]);

test('the same seed gives the same images, different seeds different ones', () => {
  const src = randomImage(3, 8, 8, 1);
  const a = everything(src, new Generator(7));
  const b = everything(src, new Generator(7));
  const c = everything(src, new Generator(8));
  assert.deepEqual([a.channels, a.height, a.width], [3, 6, 7]);
  assert.deepEqual(values(a), values(b));
  assert.notDeepEqual(values(a), values(c));
  // Successive draws from one generator differ too.
  const g = new Generator(7);
  assert.notDeepEqual(values(everything(src, g)), values(everything(src, g)));
});

test('randomShift stays within its bounds and covers both signs', () => {
  // A 9×9 image with one marked pixel at the centre: where it lands is the shift.
  const base = new Array<number>(81).fill(0);
  base[4 * 9 + 4] = 1;
  const src = img(1, 9, 9, base);
  const t = randomShift(2, 1);
  const g = new Generator(11);
  const seenX = new Set<number>();
  const seenY = new Set<number>();
  for (let k = 0; k < 200; k++) {
    const at = values(t(src, g)).indexOf(1);
    const dx = (at % 9) - 4;
    const dy = Math.floor(at / 9) - 4;
    assert.ok(Math.abs(dx) <= 2 && Math.abs(dy) <= 1, `shift (${dx}, ${dy})`);
    seenX.add(dx);
    seenY.add(dy);
  }
  assert.deepEqual(
    [...seenX].sort((a, b) => a - b),
    [-2, -1, 0, 1, 2],
  );
  assert.deepEqual(
    [...seenY].sort((a, b) => a - b),
    [-1, 0, 1],
  );
  assert.deepEqual(values(randomShift(0)(src, g)), base);
});

test('randomHorizontalFlip and randomVerticalFlip honour p = 0 and p = 1 and draw once either way', () => {
  const src = nine();
  for (const [make, flip] of [
    [randomHorizontalFlip, hflip],
    [randomVerticalFlip, vflip],
  ] as const) {
    const g0 = new Generator(3);
    const g1 = new Generator(3);
    for (let k = 0; k < 20; k++) {
      assert.deepEqual(values(make(0)(src, g0)), values(src));
      assert.deepEqual(values(make(1)(src, g1)), values(flip(src)));
    }
    assert.deepEqual(g0.getState(), g1.getState());
    const g = new Generator(4);
    const flipped = Array.from({ length: 100 }, () => make(0.5)(src, g).data[0] !== 1).filter(Boolean).length;
    assert.ok(flipped > 25 && flipped < 75, `${flipped} of 100 flipped at p = 0.5`);
  }
});

test('randomCrop with padding returns the requested size, a window of the padded image', () => {
  const src = counting(6, 6);
  const padded = pad(src, 3);
  const t = randomCrop(6, { padding: 3 });
  const g = new Generator(5);
  const offsets = new Set<string>();
  for (let k = 0; k < 30; k++) {
    const out = t(src, g);
    assert.deepEqual([out.channels, out.height, out.width], [1, 6, 6]);
    let found = '';
    for (let top = 0; top <= 6 && !found; top++)
      for (let left = 0; left <= 6 && !found; left++)
        if (values(crop(padded, top, left, 6, 6)).every((v, i) => v === out.data[i])) found = `${top},${left}`;
    assert.ok(found, 'output is a window of the padded image');
    offsets.add(found);
  }
  assert.ok(offsets.size > 5, `only ${offsets.size} distinct windows`);
  // Without padding: a [h, w] window of the image itself; too large is a ShapeError.
  const small = randomCrop([2, 3])(src, g);
  assert.deepEqual([small.height, small.width], [2, 3]);
  assert.throws(() => randomCrop(7)(src, g), /randomCrop: crop 7×7 is larger than the padded image 6×6/);
});

test('randomRotation draws its angle uniformly from [−max, max]', () => {
  const src = randomImage(1, 5, 5, 2);
  const g = new Generator(9);
  const check = cloneGen(g);
  const out = randomRotation(30)(src, g);
  const angle = 30 * (2 * check.uniform() - 1);
  assert.deepEqual(values(out), values(rotate(src, angle)));
  assert.deepEqual(values(randomRotation(0)(src, g)), values(src));
});

test('randomResizedCrop returns the requested size; full scale and ratio 1 is the identity', () => {
  const src = randomImage(2, 6, 6, 3);
  const g = new Generator(1);
  assert.deepEqual(values(randomResizedCrop(6, { scale: [1, 1], ratio: [1, 1] })(src, g)), values(src));
  for (let k = 0; k < 10; k++) {
    const out = randomResizedCrop([4, 5])(src, g);
    assert.deepEqual([out.channels, out.height, out.width], [2, 4, 5]);
  }
  // Impossible ratios fall back to the largest centred window.
  const wide = randomResizedCrop(2, { scale: [1, 1], ratio: [3, 3] })(counting(6, 6), g);
  assert.deepEqual([wide.height, wide.width], [2, 2]);
});

test('colorJitter draws the order, then each enabled factor, and applies them in that order', () => {
  const src = randomImage(3, 2, 2, 4);
  const g = new Generator(12);
  const check = cloneGen(g);
  const out = colorJitter({ brightness: 0.5, saturation: [0.2, 0.4], hue: 0.25 })(src, g);
  const order = [0, 1, 2, 3];
  check.shuffle(order);
  const draw = (lo: number, hi: number): number => lo + (hi - lo) * check.uniform();
  const b = draw(0.5, 1.5);
  const s = draw(0.2, 0.4);
  const h = draw(-0.25, 0.25);
  const ops: Record<number, (im: Image) => Image> = {
    0: (im) => adjustBrightness(im, b),
    2: (im) => adjustSaturation(im, s),
    3: (im) => adjustHue(im, h),
  };
  const expected = order.reduce((im, k) => (ops[k] ? ops[k](im) : im), src);
  assert.deepEqual(values(out), values(expected));
  assert.deepEqual(g.getState(), check.getState());
  // Nothing enabled: the input comes back.
  assert.deepEqual(values(colorJitter()(src, g)), values(src));
});

test('random transforms reject bad arguments with ArgumentErrors naming the transform and value', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => randomShift(-1), /randomShift: maxDx must be a non-negative integer, got -1/],
    [() => randomShift(1, 1.5), /randomShift: maxDy .* got 1\.5/],
    [() => randomHorizontalFlip(1.5), /randomHorizontalFlip: p must be in \[0, 1\], got 1\.5/],
    [() => randomVerticalFlip(-0.1), /randomVerticalFlip: p .* got -0\.1/],
    [() => randomRotation(-5), /randomRotation: maxDegrees .* got -5/],
    [() => randomRotation(NaN), /randomRotation: maxDegrees .* got NaN/],
    [() => randomCrop(0), /randomCrop: size must be positive integers, got 0/],
    [() => randomCrop([2, -1]), /randomCrop: size .* \[2,-1\]/],
    [() => randomCrop(4, { padding: -2 }), /randomCrop: padding .* -2/],
    [() => randomResizedCrop(4, { scale: [0, 1] }), /randomResizedCrop: scale .* \[0, 1\]/],
    [() => randomResizedCrop(4, { ratio: [2, 1] }), /randomResizedCrop: ratio .* \[2, 1\]/],
    [() => colorJitter({ hue: 0.6 }), /colorJitter: hue must be in \[0, 0\.5\], got 0\.6/],
    [() => colorJitter({ hue: [-0.7, 0] }), /colorJitter: hue range .*\[-0\.7, 0\]/],
    [() => colorJitter({ brightness: -1 }), /colorJitter: brightness must be ≥ 0, got -1/],
    [() => colorJitter({ contrast: [0.5, 0.2] }), /colorJitter: contrast range .* \[0\.5, 0\.2\]/],
    [() => shift(nine(), 0.5, 0), /shift: dx must be an integer, got 0\.5/],
    [() => crop(nine(), 0, 0, 0, 2), /crop: height must be a positive integer, got 0/],
    [() => resize(nine(), 2, -1), /resize: width must be a positive integer, got -1/],
    [() => pad(nine(), -1), /pad: padding .* -1/],
    [() => rotate(nine(), Infinity), /rotate: degrees must be a finite number, got Infinity/],
    [() => adjustBrightness(nine(), -1), /adjustBrightness: factor .* got -1/],
    [() => compose([null as unknown as Transform]), /compose/],
  ];
  for (const [fn, message] of cases)
    assert.throws(fn, (e: unknown) => e instanceof ArgumentError && message.test(e.message));
  assert.throws(() => hflip(img(1, 2, 2, [1, 2, 3])), ShapeError);
});

// ------------------------------------------------------------ AugmentedDataset

/** Three 1×2×3 images whose bytes are 10·i + j, labels 7, 8, 9. */
function byteSet(): ImageSet {
  const images = Uint8Array.from({ length: 18 }, (_, k) => 10 * Math.floor(k / 6) + (k % 6));
  return { images, labels: Uint8Array.from([7, 8, 9]), count: 3, channels: 1, height: 2, width: 3, classes: [] };
}

const identity: Transform = (im) => im;

test('AugmentedDataset batches: float32 [n, C, H, W] scaled to [0, 1] and normalized, int32 labels', () => {
  const set = byteSet();
  const ds = new AugmentedDataset(set, identity, { mean: 0.5, std: 0.25 });
  assert.equal(ds.length, 3);
  const b = ds.getBatch([2, 0]);
  assert.deepEqual([...b.x.shape], [2, 1, 2, 3]);
  assert.equal(b.x.dtype, 'float32');
  assert.equal(b.y.dtype, 'int32');
  assert.deepEqual(Array.from(b.y.dataSync()), [9, 7]);
  const expected = [2, 0].flatMap((i) =>
    [0, 1, 2, 3, 4, 5].map((j) => Math.fround((Math.fround((10 * i + j) / 255) - 0.5) / 0.25)),
  );
  assert.deepEqual(Array.from(b.x.dataSync()), expected);
  const one = ds.get(1);
  assert.deepEqual([...one.x.shape], [1, 2, 3]);
  assert.deepEqual([...one.y.shape], []);
  assert.equal(one.y.itemSync(), 8);
  assert.deepEqual(
    values(imageAt(set, 1)),
    [10, 11, 12, 13, 14, 15].map((v) => Math.fround(v / 255)),
  );
});

test('AugmentedDataset normalizes after the transform and takes the transformed shape', () => {
  const set = byteSet();
  const shifted = new AugmentedDataset(set, (im) => shift(im, 1, 0), { mean: 0.5, std: 0.25 });
  const x = Array.from(shifted.get(0).x.dataSync());
  // The vacated column is fill 0 before normalization, so (0 − 0.5) / 0.25 = −2.
  assert.equal(x[0], -2);
  assert.equal(x[3], -2);
  // Byte 1 moved from column 0 to column 1; byte 3 to row 1, column 1.
  assert.equal(x[2], Math.fround((Math.fround(1 / 255) - 0.5) / 0.25));
  assert.equal(x[4], Math.fround((Math.fround(3 / 255) - 0.5) / 0.25));
  const padded = new AugmentedDataset(set, (im) => pad(im, 1));
  const b = padded.getBatch([0, 1]);
  assert.deepEqual([...b.x.shape], [2, 1, 4, 5]);
  assert.deepEqual([...padded.getBatch([]).x.shape], [0, 1, 2, 3]);
  // Samples that disagree in size cannot share a batch.
  let calls = 0;
  const ragged = new AugmentedDataset(set, (im) => pad(im, calls++));
  assert.throws(() => ragged.getBatch([0, 1]), /AugmentedDataset: sample 1 transformed to 1×4×5/);
});

test('AugmentedDataset is reproducible from its generator state, drawing in sample order', () => {
  const set = byteSet();
  const g = new Generator(21);
  const ds = new AugmentedDataset(set, compose([randomShift(1), randomRotation(30)]), { generator: g });
  const saved = g.getState();
  const defaultBefore = defaultGenerator.getState();
  const first = Array.from(ds.getBatch([0, 1, 2]).x.dataSync());
  g.setState(saved);
  assert.deepEqual(Array.from(ds.getBatch([0, 1, 2]).x.dataSync()), first);
  assert.notDeepEqual(Array.from(ds.getBatch([0, 1, 2]).x.dataSync()), first);
  // One batch draws what the samples one by one would, in order.
  g.setState(saved);
  const oneByOne = [0, 1, 2].flatMap((i) => Array.from(ds.get(i).x.dataSync()));
  assert.deepEqual(oneByOne, first);
  assert.deepEqual(defaultGenerator.getState(), defaultBefore, 'an explicit generator leaves the default alone');
});

test('AugmentedDataset draws from defaultGenerator by default', () => {
  const set = byteSet();
  const ds = new AugmentedDataset(set, compose([randomShift(1), randomRotation(30)]));
  const saved = defaultGenerator.getState();
  try {
    const first = Array.from(ds.getBatch([0, 1, 2]).x.dataSync());
    assert.notDeepEqual(defaultGenerator.getState(), saved, 'the default generator advanced');
    defaultGenerator.setState(saved);
    assert.deepEqual(Array.from(ds.getBatch([0, 1, 2]).x.dataSync()), first);
    defaultGenerator.seed(12345);
    assert.notDeepEqual(Array.from(ds.getBatch([0, 1, 2]).x.dataSync()), first);
  } finally {
    defaultGenerator.setState(saved);
  }
});

test('AugmentedDataset rejects bad indices, statistics and sets', () => {
  const set = byteSet();
  const ds = new AugmentedDataset(set, identity);
  assert.throws(() => ds.get(3), /AugmentedDataset: index 3 out of range for 3 samples/);
  assert.throws(() => ds.getBatch([0, -1]), ArgumentError);
  assert.throws(() => new AugmentedDataset(set, identity, { mean: [0, 1] }), /mean has 2 values for 1 channels/);
  assert.throws(() => new AugmentedDataset(set, identity, { std: 0 }), /std must be positive/);
  assert.throws(() => new AugmentedDataset({ ...set, count: 4 }, identity), ShapeError);
});
