/**
 * ConvTranspose2d and StochasticPool2d resolve their geometry once, when built, into a ConvTranspose2dPlan /
 * StochasticPool2dPlan (as Conv2d and the pooling layers do): bad options fail at construction naming the
 * layer and the value, forwards give what the functional ops give with the same options, bit for bit, and
 * a run of same-sized forwards hands the primitive one parameter object. Also: a null where Conv2d, the
 * pooling layers or ConvTranspose2d expect a stride, a padding or an options object is refused, naming it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdaptiveAvgPool2d,
  ArgumentError,
  AvgPool2d,
  Conv2d,
  ConvTranspose2d,
  ConvTranspose2dPlan,
  Generator,
  MaxPool2d,
  ShapeError,
  StochasticPool2d,
  StochasticPool2dPlan,
  convTranspose2d,
  noGrad,
  rand,
  randn,
  stochasticPool2d,
  type Tensor,
} from '../../src/index.js';
import { observeOps } from '../../src/tensor/dispatch.js';
import { assertSameValues, throwsExactly } from '../helpers/nn-fixtures.js';

const gen = new Generator(12);
/** Any arguments, to test the ones the constructors' types refuse. */
const loose = <T>(cls: unknown): new (...a: unknown[]) => T => cls as new (...a: unknown[]) => T;

/** The conv2dGradInput parameters of every transposed convolution run by fn. */
function gradInputParams(fn: () => unknown): unknown[] {
  const seen: unknown[] = [];
  observeOps((op, _inputs, params) => {
    if (op === 'conv2dGradInput') seen.push(params);
  }, fn);
  return seen;
}

const transposeCases = [
  { name: 'defaults', o: {} },
  { name: 'stride 2, padding 1, outputPadding 1', o: { stride: 2, padding: 1, outputPadding: 1 } },
  {
    name: 'stride [2, 3], dilation [1, 2], outputPadding [1, 0] past the padding, groups 2',
    o: { stride: [2, 3] as const, dilation: [1, 2] as const, outputPadding: [1, 0] as const, groups: 2 },
  },
];

for (const c of transposeCases) {
  test(`ConvTranspose2d (${c.name}): one parameter object per input size, same output as convTranspose2d(options)`, () => {
    const layer = new ConvTranspose2d(4, 6, 3, c.o);
    assert.ok(layer.plan instanceof ConvTranspose2dPlan);
    // x2 shares x1's batch and height: only its width tells the sizes apart
    const x1 = randn([2, 4, 5, 4], { generator: gen });
    const x2 = randn([2, 4, 5, 6], { generator: gen });
    const [a, b, d, e, f] = gradInputParams(() => noGrad(() => [x1, x1, x2, x2, x1].map((x) => layer.forward(x))));
    assert.equal(a, b, 'a second forward of the same size re-resolved the parameters');
    assert.equal(d, e);
    assert.notEqual(a, d);
    assert.notEqual(f, a, 'only the last size is kept');
    for (const [x, p] of [
      [x1, a],
      [x2, d],
    ] as const) {
      const [viaOptions] = gradInputParams(() => convTranspose2d(x, layer.weight, layer.bias, c.o));
      assert.deepEqual(p, viaOptions);
      assertSameValues(
        noGrad(() => layer.forward(x)),
        noGrad(() => convTranspose2d(x, layer.weight, layer.bias, c.o)),
        c.name,
      );
    }
  });
}

test('ConvTranspose2d forward(x, outputSize): the chosen outputPadding resolved once, as the function gives it', () => {
  const layer = new ConvTranspose2d(2, 3, 3, { stride: [2, 3], padding: 1 });
  const x = randn([1, 2, 4, 3], { generator: gen });
  // smallest output 7x7; [8, 9] takes outputPadding [1, 2]
  const [a, b, plain, c] = gradInputParams(() =>
    noGrad(() => [layer.forward(x, [8, 9]), layer.forward(x, [8, 9]), layer.forward(x), layer.forward(x, [8, 9])]),
  );
  assert.equal(a, b);
  assert.equal(c, a, 'a plain forward in between keeps the outputSize plan');
  assert.notEqual(plain, a);
  assertSameValues(
    noGrad(() => layer.forward(x, [8, 9])),
    noGrad(() => convTranspose2d(x, layer.weight, layer.bias, { stride: [2, 3], padding: 1, outputPadding: [1, 2] })),
    'outputSize [8, 9]',
  );
  assert.deepEqual(noGrad(() => layer.forward(x, [7, 8])).shape, [1, 3, 7, 8]);
  assert.deepEqual(noGrad(() => layer.forward(x)).shape, [1, 3, 7, 7]);
});

test('ConvTranspose2d: changing the options object after construction changes nothing', () => {
  const options: { stride?: number; padding?: number } = { stride: 2, padding: 1 };
  const layer = new ConvTranspose2d(2, 2, 4, options);
  const x = randn([1, 2, 3, 3], { generator: gen });
  const before = noGrad(() => layer.forward(x));
  options.stride = 1;
  options.padding = 0;
  assertSameValues(
    noGrad(() => layer.forward(x)),
    before,
    'forward after the options changed',
  );
  assert.deepEqual(before.shape, [1, 2, 6, 6]);
});

test('a ConvTranspose2dPlan: its checks name the op, its pairs are frozen, sizes and output paddings', () => {
  throwsExactly(
    () => new ConvTranspose2dPlan({ stride: [1, 0] }),
    ArgumentError,
    'convTranspose2d: stride [1, 0] and dilation [1, 1] must be positive',
  );
  throwsExactly(
    () => new ConvTranspose2dPlan({ outputPadding: 1 }, 'Up'),
    ArgumentError,
    'Up: outputPadding [1, 1] must be smaller than either stride [1, 1] or dilation [1, 1]',
  );
  const plan = new ConvTranspose2dPlan({ stride: 2, padding: [1, 0], outputPadding: [1, 0], dilation: [1, 2] });
  assert.deepEqual(
    [plan.stride, plan.padding, plan.outputPadding, plan.dilation, plan.groups],
    [[2, 2], [1, 0], [1, 0], [1, 2], 1],
  );
  for (const p of [plan.stride, plan.padding, plan.outputPadding, plan.dilation]) assert.ok(Object.isFrozen(p));
  assert.throws(() => {
    (plan.stride as unknown as number[])[0] = 3;
  }, TypeError);
  // (H − 1)·s − 2p + d(k − 1) + op + 1: (4 − 1)·2 − 2 + 2 + 1 + 1 = 8; (5 − 1)·2 − 0 + 2·2 + 0 + 1 = 13
  assert.deepEqual(plan.outputSize([4, 5], [3, 3]), [8, 13]);
  assert.deepEqual(plan.outputSize([4, 5], [3, 3], [0, 1]), [7, 14]);
  const wider = plan.withOutputPadding([0, 1]);
  assert.deepEqual(
    [wider.stride, wider.padding, wider.outputPadding, wider.dilation, wider.groups],
    [[2, 2], [1, 0], [0, 1], [1, 2], 1],
  );
  assert.equal(plan.withOutputPadding([0, 1]), wider, 'the last output padding asked for is kept');
  assert.deepEqual(plan.withOutputPadding([0, 0]).outputPadding, [0, 0], 'the columns differ');
  assert.equal(plan.withOutputPadding([0, 1]).outputPadding[1], 1);
  assert.notEqual(plan.withOutputPadding([1, 1]), wider);
  assert.notEqual(plan.withOutputPadding([0, 1]), wider, 'only the last one');
  assert.deepEqual(plan.withOutputPadding(1).outputPadding, [1, 1]);
  throwsExactly(
    () => plan.withOutputPadding(1.5),
    ArgumentError,
    'convTranspose2d: outputPadding must be an integer or a pair of integers, got 1.5',
  );
  throwsExactly(
    () => plan.withOutputPadding([0, 2]),
    ArgumentError,
    'convTranspose2d: outputPadding [0, 2] must be smaller than either stride [2, 2] or dilation [1, 2]',
  );
  throwsExactly(
    () => new ConvTranspose2d(2, 2, 3, { stride: 2 }).plan.withOutputPadding(2),
    ArgumentError,
    'ConvTranspose2d: outputPadding [2, 2] must be smaller than either stride [2, 2] or dilation [1, 1]',
  );
});

test('convTranspose2d with a plan: every input and weight size gets its own parameters', () => {
  const plan = new ConvTranspose2dPlan({ stride: 2, padding: 1, groups: 2 });
  const x = randn([1, 4, 3, 3], { generator: gen });
  const cases: [Tensor, Tensor, number[]][] = [
    [x, randn([4, 1, 3, 3], { generator: gen }), [1, 2, 5, 5]],
    [x, randn([4, 1, 4, 4], { generator: gen }), [1, 2, 6, 6]], // another kernel
    [x, randn([4, 1, 4, 2], { generator: gen }), [1, 2, 6, 4]], // another kernel width
    [x, randn([4, 2, 4, 2], { generator: gen }), [1, 4, 6, 4]], // more output channels per group
    [randn([3, 4, 3, 3], { generator: gen }), randn([4, 2, 4, 2], { generator: gen }), [3, 4, 6, 4]], // batch
    [randn([3, 4, 2, 3], { generator: gen }), randn([4, 2, 4, 2], { generator: gen }), [3, 4, 4, 4]], // height
  ];
  for (const [input, w, shape] of cases) {
    const y = noGrad(() => convTranspose2d(input, w, null, plan));
    assert.deepEqual(y.shape, shape);
    assertSameValues(
      y,
      noGrad(() => convTranspose2d(input, w, null, { stride: 2, padding: 1, groups: 2 })),
      'plan',
    );
  }
  throwsExactly(
    () => convTranspose2d(randn([1, 3, 3, 3]), randn([3, 1, 2, 2]), null, plan),
    ShapeError,
    'convTranspose2d: input channels 3 (input [1, 3, 3, 3]) are not divisible by groups=2',
  );
  throwsExactly(
    () => convTranspose2d(randn([1, 4, 1, 1]), randn([4, 1, 2, 2]), null, plan),
    ShapeError,
    'convTranspose2d: input [1, 4, 1, 1] with weight [4, 1, 2, 2], stride [2, 2] and padding [1, 1] gives an empty output 0x0',
  );
});

test('ConvTranspose2d refuses a bad bias option or options object when built', () => {
  throwsExactly(
    () => new ConvTranspose2d(2, 3, 3, { bias: 'yes' as unknown as boolean }),
    ArgumentError,
    'ConvTranspose2d: bias must be true or false, got yes',
  );
  throwsExactly(
    () => new (loose<ConvTranspose2d>(ConvTranspose2d))(2, 3, 3, null),
    ArgumentError,
    'ConvTranspose2d: options must be an object, got null',
  );
  throwsExactly(
    () => new (loose<ConvTranspose2d>(ConvTranspose2d))(2, 3, 3, 2),
    ArgumentError,
    'ConvTranspose2d: options must be an object, got 2',
  );
  assert.equal(new ConvTranspose2d(2, 3, 3, { bias: false }).bias, null);
  assert.deepEqual(new (loose<ConvTranspose2d>(ConvTranspose2d))(2, 3, 3, undefined).plan.stride, [1, 1]);
});

test('StochasticPool2d: kernel and stride resolved once into a frozen plan; outputs as stochasticPool2d gives them', () => {
  const pool = new StochasticPool2d([3, 2], { stride: [2, 1], generator: new Generator(4) });
  assert.ok(pool.plan instanceof StochasticPool2dPlan);
  assert.deepEqual(
    [pool.plan.kernel, pool.plan.stride],
    [
      [3, 2],
      [2, 1],
    ],
  );
  assert.ok(Object.isFrozen(pool.plan));
  assert.ok(Object.isFrozen(pool.plan.kernel) && Object.isFrozen(pool.plan.stride));
  const x = rand([2, 3, 7, 6], { generator: gen });
  const train = pool.forward(x);
  assert.deepEqual(train.shape, [2, 3, 3, 5]);
  assertSameValues(
    train,
    stochasticPool2d(x, [3, 2], { stride: [2, 1], generator: new Generator(4) }),
    'training, same draws',
  );
  pool.eval();
  assertSameValues(pool.forward(x), stochasticPool2d(x, [3, 2], { stride: [2, 1], training: false }), 'evaluation');
  assertSameValues(pool.forward(x), stochasticPool2d(x, pool.plan, { training: false }), 'evaluation, the plan');
  // the stride defaults to the kernel
  assert.deepEqual(new StochasticPool2d(2).plan.stride, [2, 2]);
  assert.deepEqual(new StochasticPool2dPlan([2, 3]).stride, [2, 3]);
});

test('StochasticPool2d and its plan: bad options fail when built, naming the layer (or op) and the value', () => {
  throwsExactly(
    () => new StochasticPool2d(2, { generator: 5 as unknown as Generator }),
    ArgumentError,
    'StochasticPool2d: generator must be a Generator, got 5',
  );
  throwsExactly(
    () => new StochasticPool2d(2, { generator: null as unknown as Generator }),
    ArgumentError,
    'StochasticPool2d: generator must be a Generator, got null',
  );
  throwsExactly(
    () => new (loose<StochasticPool2d>(StochasticPool2d))(2, null),
    ArgumentError,
    'StochasticPool2d: options must be an object, got null',
  );
  throwsExactly(
    () => new StochasticPool2dPlan([2, 0]),
    ArgumentError,
    'stochasticPool2d: kernel [2, 0] and stride [2, 0] must be positive',
  );
  throwsExactly(
    () => new StochasticPool2dPlan(2, { stride: [1, 0] }, 'Pool'),
    ArgumentError,
    'Pool: kernel [2, 2] and stride [1, 0] must be positive',
  );
  throwsExactly(
    () => new StochasticPool2dPlan(2, { stride: 0.5 }, 'Pool'),
    ArgumentError,
    'Pool: stride must be an integer or a pair of integers, got 0.5',
  );
  throwsExactly(
    () => stochasticPool2d(rand([1, 1, 4, 4]), new StochasticPool2dPlan(2), { stride: 1 }),
    ArgumentError,
    'stochasticPool2d: the stride comes with the StochasticPool2dPlan; pass a plan or a stride, not both',
  );
  assert.deepEqual(new StochasticPool2d(2, { generator: undefined }).generator, undefined);
});

test('a null stride, padding or options object is refused, naming the layer and the argument', () => {
  const cases: [() => unknown, string][] = [
    [
      () => new (loose<Conv2d>(Conv2d))(3, 8, 3, null),
      'Conv2d: stride is null; pass a value (or an options object), or undefined for the default',
    ],
    [
      () => new (loose<Conv2d>(Conv2d))(3, 8, 3, 1, null),
      'Conv2d: padding is null; pass a value (or an options object), or undefined for the default',
    ],
    [() => new (loose<Conv2d>(Conv2d))(3, 8, 3, 1, 0, null), 'Conv2d: options must be an object, got null'],
    [
      () => new (loose<MaxPool2d>(MaxPool2d))(2, null),
      'MaxPool2d: stride is null; pass a value (or an options object), or undefined for the default',
    ],
    [
      () => new (loose<AvgPool2d>(AvgPool2d))(2, 2, null),
      'AvgPool2d: padding is null; pass a value (or an options object), or undefined for the default',
    ],
    [() => new (loose<MaxPool2d>(MaxPool2d))(2, 2, 0, null), 'MaxPool2d: options must be an object, got null'],
    [
      () => new (loose<AdaptiveAvgPool2d>(AdaptiveAvgPool2d))(2, null),
      'AdaptiveAvgPool2d (after the output size) takes no arguments, got 1',
    ],
  ];
  for (const [build, message] of cases) throwsExactly(build, ArgumentError, message);
  // undefined still stands for a left-out argument
  const x = randn([1, 3, 6, 6], { generator: gen });
  assert.deepEqual(new (loose<Conv2d>(Conv2d))(3, 8, 3, undefined, 1).forward(x).shape, [1, 8, 6, 6]);
  assert.deepEqual(new (loose<MaxPool2d>(MaxPool2d))(2, undefined, undefined).forward(x).shape, [1, 3, 3, 3]);
  assert.deepEqual(new (loose<AvgPool2d>(AvgPool2d))(3, 1, undefined, {}).forward(x).shape, [1, 3, 4, 4]);
});
