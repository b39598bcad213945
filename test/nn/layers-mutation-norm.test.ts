/**
 * The normalization layers, case by case, for mutation testing (npm run mutate): BatchNorm1d/2d,
 * InstanceNorm2d, LayerNorm, GroupNorm and LocalResponseNorm. Outputs and running statistics are
 * computed by hand here from PyTorch's documented formulas (biased variance to normalize, unbiased
 * variance in the running average, running = (1 − momentum)·running + momentum·batch, or the plain
 * average of all batches when momentum is null), with the defaults PyTorch uses; the constructors'
 * checks must name the layer and the bad value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArgumentError,
  BatchNorm1d,
  BatchNorm2d,
  GroupNorm,
  InstanceNorm2d,
  LayerNorm,
  LocalResponseNorm,
  ShapeError,
  type Tensor,
  tensor,
  zeros,
} from '../../src/index.js';
import { assertClose, throwsExactly, values } from '../helpers/nn-fixtures.js';

const near = (t: Tensor, expected: number[], label: string, rtol = 1e-5): void => assertClose(t, expected, rtol, label);

/** x / √(v + eps), elementwise. */
const norm = (xs: number[], mean: number, v: number, eps: number): number[] =>
  xs.map((x) => (x - mean) / Math.sqrt(v + eps));

test('BatchNorm parameters and buffers: ones, zeros, running stats named as in PyTorch', () => {
  const bn = new BatchNorm2d(3);
  assert.deepEqual(values(bn.weight!), [1, 1, 1]);
  assert.deepEqual(values(bn.bias!), [0, 0, 0]);
  assert.deepEqual(
    bn.namedBuffers().map(([n, t]) => [n, t.dtype, t.shape, values(t)]),
    [
      ['running_mean', 'float32', [3], [0, 0, 0]],
      ['running_var', 'float32', [3], [1, 1, 1]],
      ['num_batches_tracked', 'int32', [], [0]],
    ],
  );
  assert.equal(bn.eps, 1e-5);
  assert.equal(bn.momentum, 0.1);
  assert.equal(new BatchNorm1d(2, { momentum: null }).momentum, null);
  assert.equal(new BatchNorm1d(2, { momentum: 0.3 }).momentum, 0.3);
  const plain = new BatchNorm1d(2, { affine: false, trackRunningStats: false });
  assert.equal(plain.weight, null);
  assert.equal(plain.bias, null);
  assert.deepEqual(plain.namedBuffers(), []);
  assert.deepEqual(plain.namedParameters(), []);
});

test('BatchNorm1d training: batch statistics, running stats with momentum 0.1 and an unbiased variance', () => {
  // channel 0: 0 and 0.002 (mean 0.001, biased var 1e-6, unbiased 2e-6); channel 1: 1 and 5 (mean 3, var 4, unbiased 8)
  const bn = new BatchNorm1d(2);
  const y = bn.forward(
    tensor([
      [0, 1],
      [0.002, 5],
    ]),
  );
  const c0 = norm([0, 0.002], 0.001, 1e-6, 1e-5);
  const c1 = norm([1, 5], 3, 4, 1e-5);
  near(y, [c0[0]!, c1[0]!, c0[1]!, c1[1]!], 'output');
  near(bn.buffer('running_mean'), [0.0001, 0.3], 'running mean');
  near(bn.buffer('running_var'), [0.9 + 0.1 * 2e-6, 0.9 + 0.8], 'running var');
  assert.equal(bn.buffer('num_batches_tracked').itemSync(), 1);
  bn.forward(
    tensor([
      [0, 1],
      [0.002, 5],
    ]),
  );
  assert.equal(bn.buffer('num_batches_tracked').itemSync(), 2);
  near(bn.buffer('running_mean'), [0.00019, 0.57], 'running mean after two steps');
  // evaluation uses the running statistics and moves nothing
  bn.eval();
  const rv = values(bn.buffer('running_var'));
  const ye = bn.forward(tensor([[1, 2]]));
  near(ye, [(1 - 0.00019) / Math.sqrt(rv[0]! + 1e-5), (2 - 0.57) / Math.sqrt(rv[1]! + 1e-5)], 'eval output');
  assert.equal(bn.buffer('num_batches_tracked').itemSync(), 2);
  near(bn.buffer('running_mean'), [0.00019, 0.57], 'running mean unchanged in eval');
});

test('BatchNorm momentum, eps, affine parameters and the cumulative average (momentum null)', () => {
  const bn = new BatchNorm1d(1, { momentum: 0.5, eps: 0.5 });
  bn.weight!.assign(tensor([2]));
  bn.bias!.assign(tensor([-1]));
  const y = bn.forward(tensor([[1], [3]]));
  near(
    y,
    norm([1, 3], 2, 1, 0.5).map((v) => 2 * v - 1),
    'output with eps 0.5, weight 2, bias −1',
  );
  near(bn.buffer('running_mean'), [1], 'running mean, momentum 0.5');
  near(bn.buffer('running_var'), [1.5], 'running var, momentum 0.5');
  // momentum null: the running stats are the plain average of the batches' statistics
  const cum = new BatchNorm1d(1, { momentum: null });
  cum.forward(tensor([[1], [3]])); // mean 2, unbiased var 2
  cum.forward(tensor([[10], [20]])); // mean 15, unbiased var 50
  cum.forward(tensor([[0], [0]])); // mean 0, var 0
  near(cum.buffer('running_mean'), [17 / 3], 'cumulative mean');
  near(cum.buffer('running_var'), [52 / 3], 'cumulative var');
  assert.equal(cum.buffer('num_batches_tracked').itemSync(), 3);
  // momentum null without running stats: there is no count to read, and batch statistics are used
  const untracked = new BatchNorm1d(1, { momentum: null, trackRunningStats: false });
  near(untracked.forward(tensor([[1], [3]])), norm([1, 3], 2, 1, 1e-5), 'momentum null, untracked');
});

test('BatchNorm without running stats normalizes by the batch in evaluation too; resetRunningStats restores them', () => {
  const bn = new BatchNorm2d(1, { trackRunningStats: false }).eval();
  near(bn.forward(tensor([[[[1, 3]]]])), norm([1, 3], 2, 1, 1e-5), 'eval with batch statistics');
  assert.deepEqual(bn.namedBuffers(), []);
  bn.resetRunningStats();
  assert.deepEqual(bn.namedBuffers(), [], 'nothing to reset');
  const tracked = new BatchNorm2d(1);
  tracked.forward(tensor([[[[1, 3]]]]));
  assert.notDeepEqual(values(tracked.buffer('running_mean')), [0]);
  tracked.resetRunningStats();
  assert.deepEqual(values(tracked.buffer('running_mean')), [0]);
  assert.deepEqual(values(tracked.buffer('running_var')), [1]);
  assert.equal(tracked.buffer('num_batches_tracked').itemSync(), 0);
  assert.equal(tracked.buffer('num_batches_tracked').dtype, 'int32');
  // in evaluation with tracked stats, the (reset) running stats are used: y = x / √(1 + eps)
  tracked.eval();
  near(tracked.forward(tensor([[[[1, 3]]]])), [1 / Math.sqrt(1 + 1e-5), 3 / Math.sqrt(1 + 1e-5)], 'eval');
});

test('BatchNorm input checks name the shapes each layer accepts', () => {
  throwsExactly(
    () => new BatchNorm1d(3).forward(zeros([2, 4])),
    ShapeError,
    'BatchNorm1d(3, eps=0.00001, momentum=0.1): expected input [N, 3] or [N, 3, L], got [2, 4]',
  );
  throwsExactly(
    () => new BatchNorm1d(3).forward(zeros([2, 3, 4, 4])),
    ShapeError,
    'BatchNorm1d(3, eps=0.00001, momentum=0.1): expected input [N, 3] or [N, 3, L], got [2, 3, 4, 4]',
  );
  throwsExactly(
    () => new BatchNorm2d(3).forward(zeros([2, 3, 4])),
    ShapeError,
    'BatchNorm2d(3, eps=0.00001, momentum=0.1): expected input [N, 3, H, W], got [2, 3, 4]',
  );
  throwsExactly(
    () => new BatchNorm2d(3).forward(zeros([2, 2, 4, 4])),
    ShapeError,
    'BatchNorm2d(3, eps=0.00001, momentum=0.1): expected input [N, 3, H, W], got [2, 2, 4, 4]',
  );
  // [N, C, L] is normalized per channel over N and L
  const y = new BatchNorm1d(2).forward(
    tensor([
      [
        [1, 3],
        [0, 4],
      ],
    ]),
  );
  near(y, [...norm([1, 3], 2, 1, 1e-5), ...norm([0, 4], 2, 4, 1e-5)], '[N, C, L]');
});

test('LayerNorm: normalizes the trailing axes, with eps and the affine parameters', () => {
  const ln = new LayerNorm(3);
  assert.deepEqual(ln.normalizedShape, [3]);
  assert.equal(ln.eps, 1e-5);
  assert.deepEqual(values(ln.weight!), [1, 1, 1]);
  assert.deepEqual(values(ln.bias!), [0, 0, 0]);
  // rows [0, 0.001, 0.002] (mean 0.001, var 2e-7/3: eps matters) and [1, 2, 6] (mean 3, var 14/3)
  const x = tensor([
    [0, 0.001, 0.002],
    [1, 2, 6],
  ]);
  near(ln.forward(x), [...norm([0, 0.001, 0.002], 0.001, 2e-6 / 3, 1e-5), ...norm([1, 2, 6], 3, 14 / 3, 1e-5)], 'rows');
  const affine = new LayerNorm([3], { eps: 0.25 });
  affine.weight!.assign(tensor([1, 2, 3]));
  affine.bias!.assign(tensor([0, 1, -1]));
  const n = norm([1, 2, 6], 3, 14 / 3, 0.25);
  near(affine.forward(tensor([[1, 2, 6]])), [n[0]!, 2 * n[1]! + 1, 3 * n[2]! - 1], 'eps 0.25 and affine');
  // over two trailing axes: all four values of a sample together
  const two = new LayerNorm([2, 2], { elementwiseAffine: false });
  assert.equal(two.weight, null);
  assert.equal(two.bias, null);
  near(
    two.forward(
      tensor([
        [
          [1, 3],
          [5, 7],
        ],
      ]),
    ),
    norm([1, 3, 5, 7], 4, 5, 1e-5),
    '[2, 2]',
  );
  const shape = [4, 2];
  const copy = new LayerNorm(shape);
  shape[0] = 9;
  assert.deepEqual(copy.normalizedShape, [4, 2], 'the shape is copied');
  for (const bad of [[], [2, 0], [1.5]]) {
    throwsExactly(
      () => new LayerNorm(bad),
      ArgumentError,
      `LayerNorm: normalizedShape must be positive integers, got [${bad.join(', ')}]`,
    );
  }
  throwsExactly(() => new LayerNorm(0), ArgumentError, 'LayerNorm: normalizedShape must be positive integers, got [0]');
  assert.deepEqual(new LayerNorm(1).weight!.shape, [1]);
});

test('InstanceNorm2d: each plane on its own; running stats only when tracked, never counted', () => {
  const inorm = new InstanceNorm2d(2);
  assert.equal(inorm.weight, null);
  assert.equal(inorm.momentum, 0.1);
  assert.equal(inorm.eps, 1e-5);
  assert.equal(inorm.trackRunningStats, false);
  assert.deepEqual(inorm.namedBuffers(), []);
  // sample 0: planes [0, 0.002] and [1, 5]; sample 1: [2, 4] and [0, 0]
  const x = tensor([
    [[[0, 0.002]], [[1, 5]]],
    [[[2, 4]], [[0, 0]]],
  ]);
  const expected = [
    ...norm([0, 0.002], 0.001, 1e-6, 1e-5),
    ...norm([1, 5], 3, 4, 1e-5),
    ...norm([2, 4], 3, 1, 1e-5),
    0,
    0,
  ];
  near(inorm.forward(x), expected, 'training');
  near(inorm.eval().forward(x), expected, 'evaluation without running stats uses the input statistics');
  // unbatched [C, H, W]: the same as a batch of one, shape kept
  const one = inorm.forward(tensor([[[1, 5]], [[2, 4]]]));
  assert.deepEqual(one.shape, [2, 1, 2]);
  near(one, [...norm([1, 5], 3, 4, 1e-5), ...norm([2, 4], 3, 1, 1e-5)], 'unbatched');

  const tracked = new InstanceNorm2d(2, { trackRunningStats: true, affine: true, momentum: 0.5, eps: 0.5 });
  assert.deepEqual(values(tracked.weight!), [1, 1]);
  assert.deepEqual(values(tracked.bias!), [0, 0]);
  tracked.weight!.assign(tensor([2, 1]));
  tracked.bias!.assign(tensor([0, 1]));
  const y = tracked.forward(tensor([[[[1, 3]], [[2, 6]]]]));
  const a = norm([1, 3], 2, 1, 0.5);
  const b = norm([2, 6], 4, 4, 0.5);
  near(y, [2 * a[0]!, 2 * a[1]!, b[0]! + 1, b[1]! + 1], 'affine, eps 0.5');
  // running = 0.5·initial + 0.5·(per-instance mean / unbiased var averaged over the batch)
  near(tracked.buffer('running_mean'), [1, 2], 'running mean');
  near(tracked.buffer('running_var'), [0.5 + 1, 0.5 + 4], 'running var');
  assert.equal(tracked.buffer('num_batches_tracked').itemSync(), 0, 'PyTorch leaves the count at 0');
  // evaluation uses them: (x − 1)/√(1.5 + 0.5)·2 for channel 0
  tracked.eval();
  const ye = tracked.forward(tensor([[[[1, 3]], [[2, 6]]]]));
  near(ye, [0, (2 / Math.sqrt(2)) * 2, 1, 4 / Math.sqrt(5) + 1], 'evaluation with running stats');
  near(tracked.buffer('running_mean'), [1, 2], 'unchanged in evaluation');
  tracked.resetRunningStats();
  assert.deepEqual(values(tracked.buffer('running_var')), [1, 1]);

  throwsExactly(
    () => new InstanceNorm2d(3).forward(zeros([2, 2, 4, 4])),
    ShapeError,
    'InstanceNorm2d(3, eps=0.00001, momentum=0.1, affine=false, trackRunningStats=false): expected input [N, 3, H, W] or [3, H, W], got [2, 2, 4, 4]',
  );
  throwsExactly(
    () => new InstanceNorm2d(3).forward(zeros([2, 4, 4])),
    ShapeError,
    'InstanceNorm2d(3, eps=0.00001, momentum=0.1, affine=false, trackRunningStats=false): expected input [N, 3, H, W] or [3, H, W], got [2, 4, 4]',
  );
  throwsExactly(
    () => new InstanceNorm2d(3).forward(zeros([3, 4])),
    ShapeError,
    'InstanceNorm2d(3, eps=0.00001, momentum=0.1, affine=false, trackRunningStats=false): expected input [N, 3, H, W] or [3, H, W], got [3, 4]',
  );
  // ranks 2 and 5 are refused even where the channel count sits on axis 1
  for (const shape of [
    [2, 3],
    [1, 3, 2, 2, 2],
  ]) {
    throwsExactly(
      () => new InstanceNorm2d(3).forward(zeros(shape)),
      ShapeError,
      `InstanceNorm2d(3, eps=0.00001, momentum=0.1, affine=false, trackRunningStats=false): expected input [N, 3, H, W] or [3, H, W], got [${shape.join(', ')}]`,
    );
  }
  throwsExactly(
    () => new InstanceNorm2d(3).forward(zeros([1, 1, 3, 4, 4])),
    ShapeError,
    'InstanceNorm2d(3, eps=0.00001, momentum=0.1, affine=false, trackRunningStats=false): expected input [N, 3, H, W] or [3, H, W], got [1, 1, 3, 4, 4]',
  );
});

test('GroupNorm: groups of channels per sample, eps and affine; its checks name both counts', () => {
  const gn = new GroupNorm(2, 4);
  assert.equal(gn.eps, 1e-5);
  assert.deepEqual(values(gn.weight!), [1, 1, 1, 1]);
  assert.deepEqual(values(gn.bias!), [0, 0, 0, 0]);
  // groups {0, 0.002} and {1, 5}
  near(
    gn.forward(tensor([[0, 0.002, 1, 5]])),
    [...norm([0, 0.002], 0.001, 1e-6, 1e-5), ...norm([1, 5], 3, 4, 1e-5)],
    '2 groups',
  );
  const affine = new GroupNorm(1, 2, { eps: 0.5 });
  affine.weight!.assign(tensor([3, 1]));
  affine.bias!.assign(tensor([0, -2]));
  // [N, C, L]: one group over both channels and L: values 1, 3, 5, 7 (mean 4, var 5)
  const n = norm([1, 3, 5, 7], 4, 5, 0.5);
  near(
    affine.forward(
      tensor([
        [
          [1, 3],
          [5, 7],
        ],
      ]),
    ),
    [3 * n[0]!, 3 * n[1]!, n[2]! - 2, n[3]! - 2],
    'eps 0.5 and affine',
  );
  const plain = new GroupNorm(2, 2, { affine: false });
  assert.equal(plain.weight, null);
  assert.equal(plain.bias, null);
  throwsExactly(
    () => new GroupNorm(0, 4),
    ArgumentError,
    'GroupNorm: numGroups 0 and numChannels 4 must be positive integers',
  );
  throwsExactly(
    () => new GroupNorm(1.5, 3),
    ArgumentError,
    'GroupNorm: numGroups 1.5 and numChannels 3 must be positive integers',
  );
  throwsExactly(
    () => new GroupNorm(2, 0),
    ArgumentError,
    'GroupNorm: numGroups 2 and numChannels 0 must be positive integers',
  );
  throwsExactly(
    () => new GroupNorm(1, 2.5),
    ArgumentError,
    'GroupNorm: numGroups 1 and numChannels 2.5 must be positive integers',
  );
  throwsExactly(() => new GroupNorm(3, 4), ArgumentError, 'GroupNorm: numChannels 4 must be divisible by numGroups 3');
  assert.deepEqual(new GroupNorm(1, 1).weight!.shape, [1]);
  throwsExactly(
    () => gn.forward(zeros([2, 3])),
    ShapeError,
    'GroupNorm(2, 4, eps=0.00001): expected input [N, 4, ...], got [2, 3]',
  );
  throwsExactly(
    () => gn.forward(zeros([4])),
    ShapeError,
    'GroupNorm(2, 4, eps=0.00001): expected input [N, 4, ...], got [4]',
  );
});

/** b_c = a_c / (k + scale · Σ_{|c'−c| ≤ half window} a_{c'}²)^β over the channels of [N, C] input, zero-padded. */
function lrnByHand(x: number[][], size: number, scale: number, beta: number, k: number): number[] {
  return x.flatMap((row) =>
    row.map((a, c) => {
      let sum = 0;
      for (let j = c - Math.floor(size / 2); j <= c + Math.floor((size - 1) / 2); j++) sum += (row[j] ?? 0) ** 2;
      return a / (k + scale * sum) ** beta;
    }),
  );
}

test("LocalResponseNorm: PyTorch's defaults, the paper's convention, and its checks", () => {
  // activations large enough that alpha, beta and k all change the output
  const rows = [
    [30, -60, 90, 20],
    [5, 100, -40, 70],
  ];
  const x = tensor(rows).reshape([2, 4, 1, 1]);
  const lrn = new LocalResponseNorm(3);
  assert.deepEqual([lrn.alpha, lrn.beta, lrn.k, lrn.convention], [1e-4, 0.75, 1, 'pytorch']);
  near(lrn.forward(x), lrnByHand(rows, 3, 1e-4 / 3, 0.75, 1), 'pytorch defaults: alpha / n');
  const paper = new LocalResponseNorm(3, { convention: 'paper' });
  assert.equal(paper.k, 2);
  near(paper.forward(x), lrnByHand(rows, 3, 1e-4, 0.75, 2), 'paper: alpha times the plain sum, k 2');
  const custom = new LocalResponseNorm(2, { alpha: 1e-3, beta: 0.5, k: 3 });
  near(custom.forward(x), lrnByHand(rows, 2, 1e-3 / 2, 0.5, 3), 'custom constants, even size');
  assert.equal(new LocalResponseNorm(3, { convention: 'paper', k: 1 }).k, 1, 'k given wins over the default');
  throwsExactly(
    () => new LocalResponseNorm(0),
    ArgumentError,
    'LocalResponseNorm: size must be a positive integer, got 0',
  );
  throwsExactly(
    () => new LocalResponseNorm(2.5),
    ArgumentError,
    'LocalResponseNorm: size must be a positive integer, got 2.5',
  );
  throwsExactly(
    () => new LocalResponseNorm(3, { convention: 'caffe' as never }),
    ArgumentError,
    "LocalResponseNorm: convention must be 'pytorch' or 'paper', got caffe",
  );
  throwsExactly(
    () => new LocalResponseNorm(3, { n: 5 } as never),
    ArgumentError,
    'LocalResponseNorm: unknown option n (accepted: alpha, beta, k, convention)',
  );
  assert.equal(new LocalResponseNorm(1).size, 1);
});
