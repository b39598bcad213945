/**
 * Activation layers, PReLU / RReLU / Maxout / MaxoutLinear, Residual / Concat and LSoftmaxLinear, case
 * by case, for mutation testing (npm run mutate): PyTorch's defaults (LeakyReLU slope 0.01, ELU alpha 1,
 * PReLU 0.25, RReLU U(1/8, 1/3)), outputs computed by hand, the constructors' checks (each error
 * names the layer and the bad value), and the L-Softmax annealing schedule of the paper's code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArgumentError,
  Concat,
  Conv2d,
  ELU,
  Flatten,
  Generator,
  Identity,
  LSoftmaxLinear,
  LeakyReLU,
  Linear,
  LogSoftmax,
  Maxout,
  MaxoutLinear,
  PReLU,
  ReLU,
  RReLU,
  Residual,
  ShapeError,
  Sigmoid,
  Softmax,
  Tanh,
  crossEntropy,
  lSoftmaxLambda,
  lSoftmaxLoss,
  tensor,
  zeros,
} from '../../src/index.js';
import { assertClose, throwsExactly, uniformWithin, values } from '../helpers/nn-fixtures.js';

test('elementwise activations by hand, with PyTorch defaults', () => {
  const x = tensor([-100, -1, 0.5, 2]);
  assert.deepEqual(values(new ReLU().forward(x)), [0, 0, 0.5, 2]);
  assertClose(new LeakyReLU().forward(x), [-1, -0.01, 0.5, 2], 1e-6, 'slope 0.01');
  assertClose(new LeakyReLU(0.2).forward(x), [-20, -0.2, 0.5, 2], 1e-6, 'slope 0.2');
  assertClose(new ELU().forward(x), [-1, Math.expm1(-1), 0.5, 2], 1e-6, 'alpha 1');
  assertClose(new ELU(0.5).forward(x), [-0.5, 0.5 * Math.expm1(-1), 0.5, 2], 1e-6, 'alpha 0.5');
  assertClose(
    new Sigmoid().forward(x),
    [1 / (1 + Math.exp(100)), 1 / (1 + Math.E), 1 / (1 + Math.exp(-0.5)), 1 / (1 + Math.exp(-2))],
    1e-6,
    'sigmoid',
  );
  assertClose(new Tanh().forward(x), [-1, Math.tanh(-1), Math.tanh(0.5), Math.tanh(2)], 1e-6, 'tanh');
});

test('Softmax and LogSoftmax: along the last axis by default, or the one given', () => {
  const x = tensor([
    [0, Math.log(3)],
    [Math.log(2), Math.log(6)],
  ]);
  // last axis: rows [1, 3] / 4 and [2, 6] / 8; axis 0: columns [1, 2] / 3 and [3, 6] / 9
  assertClose(new Softmax().forward(x), [0.25, 0.75, 0.25, 0.75], 1e-6, 'softmax last axis');
  assertClose(new Softmax(0).forward(x), [1 / 3, 1 / 3, 2 / 3, 2 / 3], 1e-6, 'softmax axis 0');
  assertClose(new LogSoftmax().forward(x), [0.25, 0.75, 0.25, 0.75].map(Math.log), 1e-6, 'log-softmax last axis');
  assertClose(new LogSoftmax(0).forward(x), [1 / 3, 1 / 3, 2 / 3, 2 / 3].map(Math.log), 1e-6, 'log-softmax axis 0');
});

test('PReLU: one slope 0.25 by default, or one per channel on axis 1', () => {
  const shared = new PReLU();
  assert.deepEqual(shared.weight.shape, [1]);
  assert.deepEqual(values(shared.weight), [0.25]);
  assert.deepEqual(values(shared.forward(tensor([-2, 3]))), [-0.5, 3]);
  const perChannel = new PReLU({ numParameters: 2, init: 0.5 });
  assert.deepEqual(values(perChannel.weight), [0.5, 0.5]);
  perChannel.weight.assign(tensor([0.5, 2]));
  assert.deepEqual(values(perChannel.forward(tensor([[[-2, 4]], [[-3, 1]]]).reshape([1, 2, 2]))), [-1, 4, -6, 1]);
  throwsExactly(
    () => new PReLU({ numParameters: 0 }),
    ArgumentError,
    'PReLU: numParameters must be a positive integer, got 0',
  );
  throwsExactly(
    () => new PReLU({ numParameters: 1.5 }),
    ArgumentError,
    'PReLU: numParameters must be a positive integer, got 1.5',
  );
});

test('RReLU: slopes in U(1/8, 1/3) in training, their mean in evaluation, a repeatable generator', () => {
  const r = new RReLU();
  assert.equal(r.lower, 1 / 8);
  assert.equal(r.upper, 1 / 3);
  const x = tensor(new Array(400).fill(-1));
  r.eval();
  assertClose(r.forward(tensor([-24, 5])), [(-24 * (1 / 8 + 1 / 3)) / 2, 5], 1e-6, 'evaluation: mean slope');
  const trained = values(new RReLU({ generator: new Generator(3) }).forward(x)).map((v) => -v);
  assert.ok(
    trained.every((s) => s >= 1 / 8 && s <= 1 / 3),
    'every slope within [1/8, 1/3]',
  );
  assert.ok(Math.min(...trained) < 0.14 && Math.max(...trained) > 0.32, 'slopes spread over the whole range');
  assert.deepEqual(
    values(new RReLU({ generator: new Generator(3) }).forward(x)),
    trained.map((s) => -s),
    'the same seed draws the same slopes',
  );
  const custom = new RReLU({ lower: 0.5, upper: 0.5, generator: new Generator(1) });
  assert.deepEqual(values(custom.forward(tensor([-2, 2]))), [-1, 2], 'lower = upper: that one slope');
  assertClose(new RReLU({ lower: 0.1, upper: 0.3 }).eval().forward(tensor([-1])), [-0.2], 1e-6, 'custom bounds');
  throwsExactly(
    () => new RReLU({ lower: 0.5, upper: 0.2 }),
    ArgumentError,
    'RReLU: lower 0.5 must not exceed upper 0.2',
  );
  throwsExactly(() => new RReLU({ upper: 0.1 }), ArgumentError, 'RReLU: lower 0.125 must not exceed upper 0.1');
});

test('Maxout: the maximum over consecutive blocks of the axis, channels by default', () => {
  const m = new Maxout({ pieces: 2 });
  assert.equal(m.axis, 1);
  // out[j] = max(x[j], x[2 + j])
  assert.deepEqual(values(m.forward(tensor([[1, 7, 3, 5]]))), [3, 7]);
  assert.deepEqual(values(new Maxout({ pieces: 2, axis: -1 }).forward(tensor([[[1, 7, 3, 5]]]))), [3, 7]);
  assert.deepEqual(new Maxout({ pieces: 2 }).forward(zeros([1, 4, 3])).shape, [1, 2, 3]);
  assert.deepEqual(new Maxout({ pieces: 1 }).forward(zeros([1, 4, 3])).shape, [1, 4, 3]);
  throwsExactly(() => new Maxout({ pieces: 0 }), ArgumentError, 'Maxout: pieces must be a positive integer, got 0');
  throwsExactly(() => new Maxout({ pieces: 1.5 }), ArgumentError, 'Maxout: pieces must be a positive integer, got 1.5');
});

test('MaxoutLinear: a linear map to outFeatures·pieces values, then the maximum over the pieces', () => {
  const unit = new MaxoutLinear(2, 2, 2);
  assert.deepEqual(unit.weight.shape, [4, 2]);
  assert.deepEqual(unit.bias.shape, [4]);
  // rows k·2 + j: piece k of output j
  unit.weight.assign(
    tensor([
      [1, 0],
      [0, 1],
      [-1, 0],
      [0, -1],
    ]),
  );
  unit.bias.assign(tensor([0, 0, 1, 0]));
  assert.deepEqual(values(unit.forward(tensor([[2, -3]]))), [2, 3]);
  assert.deepEqual(values(unit.forward(tensor([[-2, 4]]))), [3, 4]);
  assert.deepEqual(unit.forward(zeros([3, 5, 2])).shape, [3, 5, 2]);
  assert.deepEqual(values(unit.forward(tensor([2, -3]))), [2, 3], 'one sample, unbatched');
  const big = new MaxoutLinear(30, 50, 4);
  uniformWithin(big.weight, 1 / Math.sqrt(30));
  uniformWithin(big.bias, 1 / Math.sqrt(30));
  for (const [args, text] of [
    [[0, 2, 2], 'inFeatures 0, outFeatures 2 and pieces 2'],
    [[2, 1.5, 2], 'inFeatures 2, outFeatures 1.5 and pieces 2'],
    [[2, 2, 0], 'inFeatures 2, outFeatures 2 and pieces 0'],
  ] as const) {
    throwsExactly(
      () => new MaxoutLinear(...(args as unknown as [number, number, number])),
      ArgumentError,
      `MaxoutLinear: ${text} must be positive integers`,
    );
  }
  assert.deepEqual(new MaxoutLinear(1, 1, 1).weight.shape, [1, 1]);
  throwsExactly(
    () => unit.forward(zeros([2, 3])),
    ShapeError,
    'MaxoutLinear(2, 2, pieces=2): expected input [..., 2], got [2, 3]',
  );
  throwsExactly(
    () => unit.forward(tensor(2)),
    ShapeError,
    'MaxoutLinear(2, 2, pieces=2): expected input [..., 2], got []',
  );
});

test('Residual: body(x) + shortcut(x), the identity by default; parameters body.* before shortcut.*', () => {
  const body = new Linear(2, 2);
  body.weight.assign(
    tensor([
      [1, 1],
      [0, 2],
    ]),
  );
  body.bias!.assign(tensor([0, 1]));
  const x = tensor([[1, 2]]);
  assert.deepEqual(values(new Residual(body).forward(x)), [3 + 1, 5 + 2]);
  assert.deepEqual(values(new Residual(body, null).forward(x)), [4, 7]);
  const sc = new Linear(2, 2, { bias: false });
  sc.weight.assign(
    tensor([
      [0, 1],
      [1, 0],
    ]),
  );
  const block = new Residual(body, sc);
  assert.deepEqual(values(block.forward(x)), [3 + 2, 5 + 1]);
  assert.deepEqual(
    block.namedParameters().map(([n]) => n),
    ['body.weight', 'body.bias', 'shortcut.weight'],
  );
  throwsExactly(
    () => new Residual(new Flatten()).forward(zeros([2, 3, 4])),
    ShapeError,
    'Residual(identity shortcut): body output [2, 12] and identity shortcut (the input) [2, 3, 4] differ in shape; give a shortcut module that matches them',
  );
  throwsExactly(
    () => new Residual(new Flatten(), new Identity()).forward(zeros([2, 3, 4])),
    ShapeError,
    'Residual(): body output [2, 12] and shortcut output [2, 3, 4] differ in shape',
  );
});

test('Concat: every branch on the same input, joined along the axis (channels by default)', () => {
  const x = tensor([[[1, 2]], [[3, 4]]]); // [2, 1, 2]
  const double = new Linear(2, 2, { bias: false });
  double.weight.assign(
    tensor([
      [2, 0],
      [0, 2],
    ]),
  );
  assert.deepEqual(values(new Concat([new Identity(), double]).forward(x)), [1, 2, 2, 4, 3, 4, 6, 8]);
  assert.deepEqual(new Concat([new Identity(), double]).forward(x).shape, [2, 2, 2]);
  assert.deepEqual(values(new Concat([new Identity(), double], -1).forward(x)), [1, 2, 2, 4, 3, 4, 6, 8]);
  assert.deepEqual(new Concat([new Identity(), double], -1).forward(x).shape, [2, 1, 4]);
  assert.deepEqual(new Concat([new Identity(), new Identity()], 0).forward(x).shape, [4, 1, 2]);
  assert.deepEqual(new Concat([new Identity(), new Identity()], -3).forward(x).shape, [4, 1, 2]);
  const convs = new Concat([new Conv2d(2, 3, 1), new Conv2d(2, 1, 3, { padding: 1 })]);
  assert.deepEqual(convs.forward(zeros([1, 2, 4, 4])).shape, [1, 4, 4, 4]);
  assert.deepEqual(
    convs.namedParameters().map(([n]) => n),
    ['branches.0.weight', 'branches.0.bias', 'branches.1.weight', 'branches.1.bias'],
  );
  throwsExactly(() => new Concat([]), ArgumentError, 'Concat: needs at least one branch');
  throwsExactly(
    () => new Concat([new Identity(), new Flatten()]).forward(zeros([2, 3, 4])),
    ShapeError,
    'Concat(axis=1): branch outputs [2, 3, 4], [2, 12] cannot be concatenated along axis 1',
  );
  throwsExactly(
    () => new Concat([new Identity(), new Flatten(0, 1)]).forward(zeros([2, 3, 4])),
    ShapeError,
    'Concat(axis=1): branch outputs [2, 3, 4], [6, 4] cannot be concatenated along axis 1',
  );
  throwsExactly(
    () => new Concat([new Identity(), new Identity()], 3).forward(zeros([2, 3, 4])),
    ShapeError,
    'Concat(axis=3): branch outputs [2, 3, 4], [2, 3, 4] cannot be concatenated along axis 3',
  );
  throwsExactly(
    () => new Concat([new Identity(), new Identity()], -4).forward(zeros([2, 3, 4])),
    ShapeError,
    'Concat(axis=-4): branch outputs [2, 3, 4], [2, 3, 4] cannot be concatenated along axis -4',
  );
  // along axis 0 the other axes must agree: [2, 3] and [2, 4] cannot
  const wide = new Linear(3, 4);
  throwsExactly(
    () => new Concat([new Identity(), wide], 0).forward(zeros([2, 3])),
    ShapeError,
    'Concat(axis=0): branch outputs [2, 3], [2, 4] cannot be concatenated along axis 0',
  );
});

test("lSoftmaxLambda: the paper code's schedule max(lambdaMin, base·(1 + gamma·i)^−power) and its defaults", () => {
  assert.equal(lSoftmaxLambda(0), 1000);
  assertClose([lSoftmaxLambda(100)], [1000 / 13], 1e-12, 'defaults base 1000, gamma 0.12, power 1');
  assertClose([lSoftmaxLambda(1e9)], [1000 / (1 + 0.12e9)], 1e-12, 'lambdaMin 0: still positive');
  assertClose([lSoftmaxLambda(2, { gamma: 0.5 })], [500], 1e-12, 'gamma');
  assertClose([lSoftmaxLambda(1, { power: 2 })], [1000 / 1.12 ** 2], 1e-12, 'power');
  assertClose([lSoftmaxLambda(1, { base: 10, gamma: 1, power: 2 })], [2.5], 1e-12, 'base');
  assert.equal(lSoftmaxLambda(1, { base: 10, gamma: 1, power: 2, lambdaMin: 5 }), 5, 'the floor');
  assert.equal(lSoftmaxLambda(0, { base: 10, lambdaMin: 5 }), 10, 'above the floor');
});

test('LSoftmaxLinear: checks, initialization, the iteration buffer and its setter', () => {
  throwsExactly(
    () => new LSoftmaxLinear(0, 2, { margin: 2 }),
    ArgumentError,
    'LSoftmaxLinear: inFeatures 0 and numClasses 2 must be positive integers',
  );
  throwsExactly(
    () => new LSoftmaxLinear(2.5, 2, { margin: 2 }),
    ArgumentError,
    'LSoftmaxLinear: inFeatures 2.5 and numClasses 2 must be positive integers',
  );
  throwsExactly(
    () => new LSoftmaxLinear(3, 0, { margin: 2 }),
    ArgumentError,
    'LSoftmaxLinear: inFeatures 3 and numClasses 0 must be positive integers',
  );
  throwsExactly(
    () => new LSoftmaxLinear(3, 1.5, { margin: 2 }),
    ArgumentError,
    'LSoftmaxLinear: inFeatures 3 and numClasses 1.5 must be positive integers',
  );
  throwsExactly(
    () => new LSoftmaxLinear(3, 2, { margin: 0 }),
    ArgumentError,
    'LSoftmaxLinear: margin must be an integer >= 1, got 0',
  );
  throwsExactly(
    () => new LSoftmaxLinear(3, 2, { margin: 2.5 }),
    ArgumentError,
    'LSoftmaxLinear: margin must be an integer >= 1, got 2.5',
  );
  assert.deepEqual(new LSoftmaxLinear(1, 1, { margin: 1 }).weight.shape, [1, 1]);
  const head = new LSoftmaxLinear(40, 300, { margin: 3 });
  assert.deepEqual(head.weight.shape, [300, 40]);
  uniformWithin(head.weight, 1 / Math.sqrt(40));
  assert.deepEqual(
    head.namedParameters().map(([n]) => n),
    ['weight'],
  );
  const it = head.buffer('iteration');
  assert.equal(it.dtype, 'int32');
  assert.deepEqual(it.shape, []);
  assert.equal(head.iteration, 0);
  head.iteration = 7;
  assert.equal(head.iteration, 7);
  assert.equal(head.buffer('iteration').dtype, 'int32');
  head.iteration = 0;
  assert.equal(head.iteration, 0);
  throwsExactly(
    () => {
      head.iteration = -1;
    },
    ArgumentError,
    'LSoftmaxLinear: iteration must be a non-negative integer, got -1',
  );
  throwsExactly(
    () => {
      head.iteration = 1.5;
    },
    ArgumentError,
    'LSoftmaxLinear: iteration must be a non-negative integer, got 1.5',
  );
  // the schedule is the layer's own copy
  const schedule = { base: 10, gamma: 1 };
  const own = new LSoftmaxLinear(2, 2, { margin: 2, lambda: schedule });
  schedule.base = 99;
  assert.equal(own.lambda, 10);
  own.iteration = 1;
  assert.equal(own.lambda, 5);
  assert.equal(new LSoftmaxLinear(2, 2, { margin: 2 }).lambda, 1000);
});

test('LSoftmaxLinear forward is x·Wᵀ; loss uses the current λ, mean by default, and advances in training only', () => {
  const head = new LSoftmaxLinear(2, 3, { margin: 2, lambda: { base: 4, gamma: 1 } });
  head.weight.assign(
    tensor([
      [1, 0],
      [0, 1],
      [1, -1],
    ]),
  );
  const x = tensor([
    [2, 1],
    [-1, 3],
  ]);
  assert.deepEqual(values(head.forward(x)), [2, 1, 1, -1, 3, -4]);
  const targets = tensor([0, 1], { dtype: 'int32' });
  const at = (lambda: number, reduction: 'mean' | 'sum' = 'mean'): number =>
    lSoftmaxLoss(x, head.weight, targets, { margin: 2, lambda, reduction }).itemSync();
  assert.notEqual(at(4), at(2), 'λ changes the loss');
  assertClose([head.loss(x, targets).itemSync()], [at(4)], 1e-6, 'iteration 0: λ = 4');
  assert.equal(head.iteration, 1);
  assertClose(
    [head.loss(x, targets, { reduction: 'sum' }).itemSync()],
    [at(2, 'sum')],
    1e-6,
    'iteration 1: λ = 2, sum',
  );
  assert.equal(head.iteration, 2);
  head.eval();
  assertClose([head.loss(x, targets).itemSync()], [at(4 / 3)], 1e-6, 'iteration 2: λ = 4/3');
  assert.equal(head.iteration, 2, 'evaluation does not advance the schedule');
  // margin 1 is the plain softmax loss
  const plain = new LSoftmaxLinear(2, 3, { margin: 1 });
  plain.weight.assign(
    tensor([
      [1, 0],
      [0, 1],
      [1, -1],
    ]),
  );
  assertClose([plain.loss(x, targets).itemSync()], [crossEntropy(plain.forward(x), targets).itemSync()], 1e-6, 'm = 1');
});
