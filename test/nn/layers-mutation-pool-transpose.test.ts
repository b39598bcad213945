/**
 * Pooling, ConvTranspose2d, StochasticPool2d, Upsample and Dropout layers, case by case, for mutation
 * testing (npm run mutate): each constructor check (the error names the layer and the bad value),
 * PyTorch's positional arguments, ConvTranspose2d's initialization bounds (fan_in from weight.shape[1],
 * as PyTorch computes it for that weight) and its forward(x, outputSize), and outputs computed by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AdaptiveAvgPool2d,
  ArgumentError,
  AvgPool2d,
  ConvTranspose2d,
  Dropout,
  Dropout2d,
  Flatten,
  Generator,
  GlobalAvgPool2d,
  GlobalMaxPool2d,
  Identity,
  MaxPool2d,
  ShapeError,
  StochasticPool2d,
  Upsample,
  convTranspose2d,
  ones,
  randn,
  tensor,
  zeros,
} from '../../src/index.js';
import { assertClose, throwsExactly, uniformWithin, values } from '../helpers/nn-fixtures.js';

/** Any arguments, to test the ones the constructors' types refuse. */
const loose = <T>(cls: unknown): new (...a: unknown[]) => T => cls as new (...a: unknown[]) => T;

// one 4×4 plane: 0..15 row by row
const plane = tensor([
  [
    [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
      [12, 13, 14, 15],
    ],
  ],
]);

test('MaxPool2d and AvgPool2d: kernel, positional stride and padding, their options and errors', () => {
  assert.deepEqual(values(new MaxPool2d(2).forward(plane)), [5, 7, 13, 15]);
  assert.deepEqual(values(new AvgPool2d(2).forward(plane)), [2.5, 4.5, 10.5, 12.5]);
  assert.deepEqual(values(new MaxPool2d(2, 1).forward(plane)), [5, 6, 7, 9, 10, 11, 13, 14, 15]);
  assert.deepEqual(values(new MaxPool2d(3, { stride: 3, ceilMode: true }).forward(plane)), [10, 11, 14, 15]);
  // padding 1, counted in the divisor by default, as in PyTorch; left out with countIncludePad false
  assert.deepEqual(values(new AvgPool2d(2, 2, 1).forward(plane)), [0, 0.75, 0.75, 3, 7.5, 4.5, 3, 6.75, 3.75]);
  assert.deepEqual(
    values(new AvgPool2d(2, 2, 1, { countIncludePad: false }).forward(plane)),
    [0, 1.5, 3, 6, 7.5, 9, 12, 13.5, 15],
  );
  throwsExactly(() => new MaxPool2d(0), ArgumentError, 'MaxPool2d: kernel size must be positive, got 0');
  throwsExactly(() => new AvgPool2d(0), ArgumentError, 'AvgPool2d: kernel size must be positive, got 0');
  throwsExactly(
    () => new MaxPool2d(2, { countIncludePad: false } as never),
    ArgumentError,
    'MaxPool2d: unknown option countIncludePad (accepted: stride, padding, dilation, ceilMode)',
  );
  throwsExactly(
    () => new (loose<AvgPool2d>(AvgPool2d))(2, 1, 1, 1),
    ArgumentError,
    'AvgPool2d: too many arguments (3 after the kernel size); pass the rest in an options object',
  );
  throwsExactly(
    () => new (loose<AvgPool2d>(AvgPool2d))(2, { stride: 1 }, 1),
    ArgumentError,
    'AvgPool2d: unexpected argument(s) after the options object',
  );
});

test('AdaptiveAvgPool2d, GlobalAvgPool2d and GlobalMaxPool2d: outputs, and no stray arguments', () => {
  assert.deepEqual(values(new AdaptiveAvgPool2d(2).forward(plane)), [2.5, 4.5, 10.5, 12.5]);
  assert.deepEqual(values(new AdaptiveAvgPool2d([1, 2]).forward(plane)), [6.5, 8.5]);
  assert.deepEqual(new AdaptiveAvgPool2d(1).forward(plane).shape, [1, 1, 1, 1]);
  const g = new GlobalAvgPool2d().forward(plane);
  assert.deepEqual(g.shape, [1, 1, 1, 1]);
  assert.deepEqual(values(g), [7.5]);
  assert.deepEqual(values(new GlobalMaxPool2d().forward(plane)), [15]);
  throwsExactly(
    () => new AdaptiveAvgPool2d(0),
    ArgumentError,
    'AdaptiveAvgPool2d: output size must be positive, got 0',
  );
  throwsExactly(
    () => new AdaptiveAvgPool2d([2, 0]),
    ArgumentError,
    'AdaptiveAvgPool2d: output size must be positive, got 2,0',
  );
  throwsExactly(
    () => new AdaptiveAvgPool2d([0, 2]),
    ArgumentError,
    'AdaptiveAvgPool2d: output size must be positive, got 0,2',
  );
  throwsExactly(
    () => new AdaptiveAvgPool2d([2, 1.5]),
    ArgumentError,
    'AdaptiveAvgPool2d: output size must be an integer or a pair of integers, got [2, 1.5]',
  );
  throwsExactly(
    () => new (loose<AdaptiveAvgPool2d>(AdaptiveAvgPool2d))(2, 3),
    ArgumentError,
    'AdaptiveAvgPool2d (after the output size) takes no arguments, got 1',
  );
  throwsExactly(
    () => new (loose<GlobalAvgPool2d>(GlobalAvgPool2d))(3),
    ArgumentError,
    'GlobalAvgPool2d takes no arguments, got 1',
  );
  throwsExactly(
    () => new (loose<GlobalMaxPool2d>(GlobalMaxPool2d))(3, 4),
    ArgumentError,
    'GlobalMaxPool2d takes no arguments, got 2',
  );
});

test('ConvTranspose2d constructor checks name the layer, the option and its value', () => {
  throwsExactly(
    () => new (loose<ConvTranspose2d>(ConvTranspose2d))(2, 3, 3, {}, 1),
    ArgumentError,
    'ConvTranspose2d: unexpected argument(s) after the options object; pass stride, padding, ... in it',
  );
  throwsExactly(
    () => new ConvTranspose2d(0, 3, 3),
    ArgumentError,
    'ConvTranspose2d: in channels must be a positive integer, got 0',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { bais: true } as never),
    ArgumentError,
    'ConvTranspose2d: unknown option bais (accepted: stride, padding, outputPadding, dilation, groups, bias)',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 1.5),
    ArgumentError,
    'ConvTranspose2d: kernelSize must be an integer or a pair of integers, got 1.5',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 0),
    ArgumentError,
    'ConvTranspose2d: kernel size must be positive, got 0',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, [2, 0]),
    ArgumentError,
    'ConvTranspose2d: kernel size must be positive, got 2,0',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { stride: 0 }),
    ArgumentError,
    'ConvTranspose2d: stride must be positive, got 0',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { dilation: [1, 0] }),
    ArgumentError,
    'ConvTranspose2d: dilation must be positive, got 1,0',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { padding: -1 }),
    ArgumentError,
    'ConvTranspose2d: padding must be non-negative, got -1',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { outputPadding: [0, -1] }),
    ArgumentError,
    'ConvTranspose2d: outputPadding must be non-negative, got 0,-1',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { stride: 1.5 }),
    ArgumentError,
    'ConvTranspose2d: stride must be an integer or a pair of integers, got 1.5',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { outputPadding: 1 }),
    ArgumentError,
    'ConvTranspose2d: outputPadding [1, 1] must be smaller than either stride [1, 1] or dilation [1, 1]',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { outputPadding: [1, 1], dilation: [2, 1] }),
    ArgumentError,
    'ConvTranspose2d: outputPadding [1, 1] must be smaller than either stride [1, 1] or dilation [2, 1]',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { outputPadding: [1, 2], stride: [2, 2] }),
    ArgumentError,
    'ConvTranspose2d: outputPadding [1, 2] must be smaller than either stride [2, 2] or dilation [1, 1]',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 2, 3, { groups: 0 }),
    ArgumentError,
    'ConvTranspose2d: groups must be a positive integer, got 0',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 2, 3, { groups: 1.5 }),
    ArgumentError,
    'ConvTranspose2d: groups must be a positive integer, got 1.5',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { groups: 2 }),
    ArgumentError,
    'ConvTranspose2d: in channels 2 and out channels 3 must be divisible by groups=2',
  );
  // allowed: padding 0, output padding below the stride or below the dilation, zero-size-free minimums
  assert.deepEqual(new ConvTranspose2d(1, 1, 1, { padding: 0, outputPadding: 0 }).weight.shape, [1, 1, 1, 1]);
  assert.deepEqual(
    new ConvTranspose2d(2, 2, 3, { outputPadding: [1, 1], stride: [2, 1], dilation: [1, 2] }).weight.shape,
    [2, 2, 3, 3],
  );
});

test('ConvTranspose2d weight [in, out/groups, kH, kW], bias optional, init uniform in ±1/√(weight.shape[1]·kH·kW)', () => {
  const up = new ConvTranspose2d(4, 300, [3, 2], { groups: 2 });
  assert.deepEqual(up.weight.shape, [4, 150, 3, 2]);
  assert.deepEqual(up.bias!.shape, [300]);
  uniformWithin(up.weight, 1 / Math.sqrt(150 * 6));
  uniformWithin(up.bias!, 1 / Math.sqrt(150 * 6));
  const before = values(up.bias!);
  up.resetParameters();
  assert.notDeepEqual(values(up.bias!), before);
  uniformWithin(up.bias!, 1 / Math.sqrt(900));
  const noBias = new ConvTranspose2d(2, 3, 2, { bias: false });
  assert.equal(noBias.bias, null);
  noBias.resetParameters();
  assert.deepEqual(
    noBias.namedParameters().map(([n]) => n),
    ['weight'],
  );
  assert.deepEqual(new ConvTranspose2d(2, 3, 2, { bias: true }).bias!.shape, [3]);
});

test('ConvTranspose2d forward by hand, and forward(x, outputSize) choosing the output padding', () => {
  const up = new ConvTranspose2d(1, 1, 2, { stride: 2 });
  up.weight.assign(
    tensor([
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    ]),
  );
  up.bias!.assign(tensor([10]));
  // each input value stamps value·kernel + bias into its own 2×2 block
  assert.deepEqual(values(up.forward(tensor([[[[1, -1]]]]))), [11, 12, 9, 8, 13, 14, 7, 6]);
  const x = randn([1, 2, 4, 3], { generator: new Generator(5) });
  const layer = new ConvTranspose2d(2, 3, 3, { stride: [2, 3], padding: 1 });
  // smallest output: (4 − 1)·2 − 2 + 3 = 7 rows, (3 − 1)·3 − 2 + 3 = 7 columns; up to stride − 1 more
  assert.deepEqual(layer.forward(x).shape, [1, 3, 7, 7]);
  assert.deepEqual(layer.forward(x, [7, 7]).shape, [1, 3, 7, 7]);
  const big = layer.forward(x, [8, 9]);
  assert.deepEqual(big.shape, [1, 3, 8, 9]);
  assertClose(
    big,
    values(convTranspose2d(x, layer.weight, layer.bias, { stride: [2, 3], padding: 1, outputPadding: [1, 2] })),
    0,
    'outputSize [8, 9] is outputPadding [1, 2]',
  );
  throwsExactly(
    () => layer.forward(x, [9, 7]),
    ShapeError,
    'ConvTranspose2d(2, 3, kernel=3x3, stride=2,3, padding=1): outputSize [9, 7] is not reachable from input [1, 2, 4, 3]: sizes from [7, 7] to [8, 9] are',
  );
  throwsExactly(
    () => layer.forward(x, [7, 10]),
    ShapeError,
    'ConvTranspose2d(2, 3, kernel=3x3, stride=2,3, padding=1): outputSize [7, 10] is not reachable from input [1, 2, 4, 3]: sizes from [7, 7] to [8, 9] are',
  );
  throwsExactly(
    () => layer.forward(x, [6, 7]),
    ShapeError,
    'ConvTranspose2d(2, 3, kernel=3x3, stride=2,3, padding=1): outputSize [6, 7] is not reachable from input [1, 2, 4, 3]: sizes from [7, 7] to [8, 9] are',
  );
  throwsExactly(
    () => layer.forward(x, [7, 6]),
    ShapeError,
    'ConvTranspose2d(2, 3, kernel=3x3, stride=2,3, padding=1): outputSize [7, 6] is not reachable from input [1, 2, 4, 3]: sizes from [7, 7] to [8, 9] are',
  );
  // the layer's own output padding is replaced, not added to
  const padded = new ConvTranspose2d(1, 1, 3, { stride: 2, outputPadding: 1 });
  assert.deepEqual(padded.forward(zeros([1, 1, 3, 3])).shape, [1, 1, 8, 8]);
  assert.deepEqual(padded.forward(zeros([1, 1, 3, 3]), [7, 8]).shape, [1, 1, 7, 8]);
  // stride 1 by default: only the smallest size is reachable
  const plain = new ConvTranspose2d(1, 1, 3);
  assert.deepEqual(plain.forward(zeros([1, 1, 2, 2]), [4, 4]).shape, [1, 1, 4, 4]);
  throwsExactly(
    () => plain.forward(zeros([1, 1, 2, 2]), [5, 4]),
    ShapeError,
    'ConvTranspose2d(1, 1, kernel=3x3): outputSize [5, 4] is not reachable from input [1, 1, 2, 2]: sizes from [4, 4] to [4, 4] are',
  );
  throwsExactly(
    () => layer.forward(zeros([1, 3, 4, 4])),
    ShapeError,
    'ConvTranspose2d(2, 3, kernel=3x3, stride=2,3, padding=1): expected input [N, 2, H, W], got [1, 3, 4, 4]',
  );
  throwsExactly(
    () => layer.forward(zeros([1, 2, 4])),
    ShapeError,
    'ConvTranspose2d(2, 3, kernel=3x3, stride=2,3, padding=1): expected input [N, 2, H, W], got [1, 2, 4]',
  );
  throwsExactly(
    () => layer.forward(zeros([2, 4, 4])),
    ShapeError,
    'ConvTranspose2d(2, 3, kernel=3x3, stride=2,3, padding=1): expected input [N, 2, H, W], got [2, 4, 4]',
  );
});

test('StochasticPool2d: stride defaults to the kernel, evaluation gives Σa²/Σa, checks name the layer', () => {
  const pool = new StochasticPool2d(2);
  assert.deepEqual(pool.kernelSize, [2, 2]);
  assert.deepEqual(pool.stride, [2, 2]);
  assert.deepEqual(new StochasticPool2d([2, 3], { stride: [1, 2] }).stride, [1, 2]);
  pool.eval();
  // window {0, 1, 4, 5}: (0 + 1 + 16 + 25) / 10
  assertClose(
    pool.forward(plane),
    [42 / 10, (4 + 9 + 36 + 49) / 18, (64 + 81 + 144 + 169) / 42, (100 + 121 + 196 + 225) / 50],
    1e-6,
    'eval',
  );
  assert.deepEqual(new StochasticPool2d(2, { stride: 1 }).eval().forward(plane).shape, [1, 1, 3, 3]);
  // training: each output is one of its window's values; the generator makes it repeatable
  const draw = (seed: number): number[] =>
    values(new StochasticPool2d(2, { generator: new Generator(seed) }).forward(plane));
  const picked = draw(3);
  const windows = [
    [0, 1, 4, 5],
    [2, 3, 6, 7],
    [8, 9, 12, 13],
    [10, 11, 14, 15],
  ];
  picked.forEach((v, i) => assert.ok(windows[i]!.includes(v), `${v} is in window ${i}`));
  assert.deepEqual(draw(3), picked, 'the same generator seed draws the same values');
  const seeds = [1, 2, 4, 5, 6, 7, 8, 9].map(draw);
  assert.ok(
    seeds.some((d) => d.join() !== picked.join()),
    'other seeds draw other values',
  );
  throwsExactly(
    () => new (loose<StochasticPool2d>(StochasticPool2d))(2, {}, 1),
    ArgumentError,
    'StochasticPool2d: unexpected argument(s) after the options object',
  );
  throwsExactly(
    () => new StochasticPool2d(2, { strid: 1 } as never),
    ArgumentError,
    'StochasticPool2d: unknown option strid (accepted: stride, generator)',
  );
  throwsExactly(
    () => new StochasticPool2d(0),
    ArgumentError,
    'StochasticPool2d: kernel size and stride must be positive',
  );
  throwsExactly(
    () => new StochasticPool2d(2, { stride: [1, 0] }),
    ArgumentError,
    'StochasticPool2d: kernel size and stride must be positive',
  );
  throwsExactly(
    () => new StochasticPool2d(1.5),
    ArgumentError,
    'StochasticPool2d: kernelSize must be an integer or a pair of integers, got 1.5',
  );
  throwsExactly(
    () => new StochasticPool2d(2, { stride: 1.5 }),
    ArgumentError,
    'StochasticPool2d: stride must be an integer or a pair of integers, got 1.5',
  );
  assert.deepEqual(new StochasticPool2d(1).eval().forward(plane).shape, [1, 1, 4, 4]);
});

test('Upsample: size or scaleFactor, nearest or bilinear, each check naming the layer', () => {
  const x = tensor([
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ]);
  assert.deepEqual(
    values(new Upsample({ scaleFactor: 2 }).forward(x)),
    [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4],
  );
  assert.deepEqual(values(new Upsample({ size: [2, 4] }).forward(x)), [1, 1, 2, 2, 3, 3, 4, 4]);
  assert.deepEqual(new Upsample({ size: 3 }).forward(x).shape, [1, 1, 3, 3]);
  assert.deepEqual(new Upsample({ scaleFactor: [1, 3] }).forward(x).shape, [1, 1, 2, 6]);
  // bilinear, align_corners false: the first row of a 2× resize is 1, 1.25, 1.75, 2
  assertClose(
    new Upsample({ scaleFactor: 2, mode: 'bilinear' }).forward(x),
    [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4],
    1e-6,
    'bilinear',
  );
  assert.equal(new Upsample({ size: 4 }).mode, 'nearest');
  throwsExactly(() => new Upsample({}), ArgumentError, 'Upsample: give exactly one of size and scaleFactor');
  throwsExactly(
    () => new Upsample({ size: 2, scaleFactor: 2 }),
    ArgumentError,
    'Upsample: give exactly one of size and scaleFactor',
  );
  throwsExactly(
    () => new Upsample({ size: 2, mode: 'bicubic' as never }),
    ArgumentError,
    "Upsample: mode must be 'nearest' or 'bilinear', got 'bicubic'",
  );
  throwsExactly(() => new Upsample({ scaleFactor: 0 }), ArgumentError, 'Upsample: scaleFactor must be positive, got 0');
  throwsExactly(
    () => new Upsample({ scaleFactor: [2, -1] }),
    ArgumentError,
    'Upsample: scaleFactor must be positive, got 2,-1',
  );
  throwsExactly(
    () => new Upsample({ scaleFactor: [-1, 2] }),
    ArgumentError,
    'Upsample: scaleFactor must be positive, got -1,2',
  );
});

test('Dropout and Dropout2d: p in [0, 1], inverted scaling in training, identity in evaluation', () => {
  throwsExactly(() => new Dropout(1.5), ArgumentError, 'Dropout: probability must be in [0, 1], got 1.5');
  throwsExactly(() => new Dropout(-0.1), ArgumentError, 'Dropout: probability must be in [0, 1], got -0.1');
  throwsExactly(() => new Dropout(Number.NaN), ArgumentError, 'Dropout: probability must be in [0, 1], got NaN');
  assert.equal(new Dropout().p, 0.5);
  const x = ones([4, 50]);
  const kept = values(new Dropout(0.75, new Generator(1)).forward(x));
  assert.ok(
    kept.every((v) => v === 0 || v === 4),
    'kept values scaled by 1/(1 − p)',
  );
  assert.ok(kept.includes(0) && kept.includes(4));
  assert.deepEqual(values(new Dropout(0).forward(x)), values(x));
  assert.deepEqual(values(new Dropout(1).forward(x)), new Array(200).fill(0));
  assert.deepEqual(values(new Dropout(0.75).eval().forward(x)), values(x));
  // Dropout2d: whole channels of [N, C, H, W]
  const maps = ones([2, 8, 3, 3]);
  const y = values(new Dropout2d(0.5, new Generator(2)).forward(maps));
  for (let c = 0; c < 16; c++) {
    const ch = y.slice(9 * c, 9 * c + 9);
    assert.ok(ch.every((v) => v === ch[0]) && (ch[0] === 0 || ch[0] === 2), `channel ${c} dropped or kept whole`);
  }
  assert.deepEqual(values(new Dropout2d(0.5).eval().forward(maps)), values(maps));
  assert.equal(new Dropout2d(0.3).describe(), 'Dropout2d(p=0.3)');
});

test('Flatten and Identity', () => {
  const x = zeros([2, 3, 4, 5]);
  assert.deepEqual(new Flatten().forward(x).shape, [2, 60]);
  assert.deepEqual(new Flatten(0).forward(x).shape, [120]);
  assert.deepEqual(new Flatten(1, 2).forward(x).shape, [2, 12, 5]);
  assert.equal(new Identity().forward(x), x);
});
