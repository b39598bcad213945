/**
 * Conv2d and Linear, case by case, for mutation testing (npm run mutate): the checks their
 * constructors make (each error names the layer and the bad value), PyTorch's positional stride
 * and padding, the initialization bounds (uniform in ±1/√fan_in for weight and bias, as
 * PyTorch's reset_parameters), the penalties handed to the parameters, and the input checks of
 * forward. Values are compared with what PyTorch's layer would hold or print, not with tsgrad's own output.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArgumentError,
  Conv2d,
  Linear,
  MaxPool2d,
  Sequential,
  ShapeError,
  conv2d,
  tensor,
  randn,
  Generator,
  zeros,
} from '../../src/index.js';
import { assertClose, throwsExactly, uniformWithin, values } from '../helpers/nn-fixtures.js';

test('Conv2d channel counts: positive integers, each named in the error', () => {
  throwsExactly(() => new Conv2d(0, 4, 3), ArgumentError, 'Conv2d: in channels must be a positive integer, got 0');
  throwsExactly(() => new Conv2d(1.5, 4, 3), ArgumentError, 'Conv2d: in channels must be a positive integer, got 1.5');
  throwsExactly(() => new Conv2d(3, 0, 3), ArgumentError, 'Conv2d: out channels must be a positive integer, got 0');
  throwsExactly(
    () => new Conv2d(3, '4' as unknown as number, 3),
    ArgumentError,
    'Conv2d: out channels must be a positive integer, got 4',
  );
  assert.deepEqual(new Conv2d(1, 1, 1).weight.shape, [1, 1, 1, 1], 'one channel each way is allowed');
});

test('Conv2d groups: a positive integer dividing both channel counts', () => {
  throwsExactly(
    () => new Conv2d(4, 4, 3, { groups: 0 }),
    ArgumentError,
    'Conv2d: groups must be a positive integer, got 0',
  );
  throwsExactly(
    () => new Conv2d(4, 4, 3, { groups: 1.5 }),
    ArgumentError,
    'Conv2d: groups must be a positive integer, got 1.5',
  );
  throwsExactly(
    () => new Conv2d(3, 4, 3, { groups: 2 }),
    ArgumentError,
    'Conv2d: in channels 3 and out channels 4 must be divisible by groups=2',
  );
  throwsExactly(
    () => new Conv2d(4, 6, 3, { groups: 4 }),
    ArgumentError,
    'Conv2d: in channels 4 and out channels 6 must be divisible by groups=4',
  );
  // groups divide the weight's input channels, as in PyTorch: [out, in / groups, kH, kW]
  assert.deepEqual(new Conv2d(4, 6, [3, 2], { groups: 2 }).weight.shape, [6, 2, 3, 2]);
  assert.deepEqual(new Conv2d(4, 6, 3, { groups: 1 }).weight.shape, [6, 4, 3, 3]);
});

test('Conv2d bias option: true, false or left out; anything else is refused', () => {
  throwsExactly(
    () => new Conv2d(3, 4, 3, { bias: 1 as unknown as boolean }),
    ArgumentError,
    'Conv2d: bias must be true or false, got 1',
  );
  assert.equal(new Conv2d(3, 4, 3, { bias: false }).bias, null);
  assert.deepEqual(new Conv2d(3, 4, 3, { bias: true }).bias?.shape, [4]);
  assert.deepEqual(new Conv2d(3, 4, 3).bias?.shape, [4]);
  assert.deepEqual(
    new Conv2d(3, 4, 3, { bias: false }).namedParameters().map(([n]) => n),
    ['weight'],
  );
});

/** Conv2d with any arguments after the kernel size, to test the ones its types refuse. */
const LooseConv2d = Conv2d as unknown as new (inC: number, outC: number, k: number, ...rest: unknown[]) => Conv2d;

test('Conv2d positional stride and padding, PyTorch-style, and the mistakes refused', () => {
  const x = randn([1, 2, 7, 6], { generator: new Generator(3) });
  const positional = new LooseConv2d(2, 3, 3, 2, 1);
  const named = new LooseConv2d(2, 3, 3, { stride: 2, padding: 1 });
  named.loadStateDict(positional.stateDict());
  assert.deepEqual(positional.forward(x).shape, [1, 3, 4, 3]);
  assertClose(positional.forward(x), values(named.forward(x)), 0, 'positional stride and padding');
  // a pair is positional too (an array is not an options object)
  assert.deepEqual(new LooseConv2d(2, 3, 3, [2, 1]).forward(x).shape, [1, 3, 3, 4]);
  // only stride, then stride and padding with options after them
  assert.deepEqual(new LooseConv2d(2, 3, 3, 2).forward(x).shape, [1, 3, 3, 2]);
  const withOptions = new LooseConv2d(2, 4, 3, 1, 1, { groups: 2, bias: false });
  assert.equal(withOptions.bias, null);
  assert.deepEqual(withOptions.weight.shape, [4, 1, 3, 3]);
  assert.deepEqual(withOptions.forward(x).shape, [1, 4, 7, 6]);
  // an undefined stride is the default, with padding given after it
  assert.deepEqual(new LooseConv2d(2, 3, 3, undefined, 1).forward(x).shape, [1, 3, 7, 6]);
  assert.equal(new LooseConv2d(2, 3, 3, undefined, 1).describe(), 'Conv2d(2, 3, kernel=3x3, padding=1)');
  throwsExactly(
    () => new LooseConv2d(2, 3, 3, 1, 1, 1),
    ArgumentError,
    'Conv2d: too many arguments (3 after the kernel size); pass the rest in an options object',
  );
  throwsExactly(
    () => new LooseConv2d(2, 3, 3, 1, 1, 1, {}),
    ArgumentError,
    'Conv2d: too many arguments (4 after the kernel size); pass the rest in an options object',
  );
  throwsExactly(
    () => new LooseConv2d(2, 3, 3, { stride: 1 }, 2),
    ArgumentError,
    'Conv2d: unexpected argument(s) after the options object',
  );
  throwsExactly(
    () => new LooseConv2d(2, 3, 3, 2, { stride: 1 }),
    ArgumentError,
    'Conv2d: stride given both positionally and in the options object',
  );
  throwsExactly(
    () => new LooseConv2d(2, 3, 3, 2, 1, { padding: 1 }),
    ArgumentError,
    'Conv2d: padding given both positionally and in the options object',
  );
  // an options object is taken as such only last: in the middle it is a (bad) positional padding
  throwsExactly(
    () => new LooseConv2d(2, 3, 3, 1, { bias: false }, 1),
    ArgumentError,
    'Conv2d: too many arguments (3 after the kernel size); pass the rest in an options object',
  );
  // null is neither an options object nor a stride: refused, naming the argument (undefined is the default)
  throwsExactly(
    () => new LooseConv2d(2, 3, 3, null, 1),
    ArgumentError,
    'Conv2d: stride is null; pass a value (or an options object), or undefined for the default',
  );
  // only stride is positional here, so padding in the options object is fine
  assert.deepEqual(new LooseConv2d(2, 3, 3, 2, { padding: 1 }).forward(x).shape, [1, 3, 4, 3]);
  // an options object first takes no positional arguments at all
  assert.deepEqual(new LooseConv2d(2, 3, 3, { padding: 1 }).forward(x).shape, [1, 3, 7, 6]);
  // the same helper serves the pooling layers
  assert.deepEqual(new MaxPool2d(3, 2, 1).forward(x).shape, [1, 2, 4, 3]);
  throwsExactly(
    () => new (MaxPool2d as unknown as new (...a: unknown[]) => MaxPool2d)(3, 1, 1, 1),
    ArgumentError,
    'MaxPool2d: too many arguments (3 after the kernel size); pass the rest in an options object',
  );
});

test('Conv2d initialization: weight and bias uniform in ±1/√fan_in, fan_in = in/groups·kH·kW', () => {
  // fan_in = 2·3·3 = 18 (in 4, groups 2); PyTorch: kaiming_uniform(a=√5) gives bound √(6/((1+5)·fan_in)) = 1/√fan_in
  const conv = new Conv2d(4, 400, 3, { groups: 2 });
  uniformWithin(conv.weight, 1 / Math.sqrt(18));
  uniformWithin(conv.bias!, 1 / Math.sqrt(18));
  const rect = new Conv2d(3, 300, [1, 2]);
  uniformWithin(rect.weight, 1 / Math.sqrt(6));
  uniformWithin(rect.bias!, 1 / Math.sqrt(6));
  // resetParameters draws anew
  const before = values(rect.bias!);
  rect.resetParameters();
  assert.notDeepEqual(values(rect.bias!), before);
  uniformWithin(rect.bias!, 1 / Math.sqrt(6));
});

test('Conv2d forward: the bias is added per output channel, and the input must be [N, in, H, W]', () => {
  const conv = new Conv2d(2, 3, 1, { bias: true });
  conv.weight.assign(zeros([3, 2, 1, 1]));
  conv.bias!.assign(tensor([1, -2, 0.5]));
  const y = conv.forward(randn([1, 2, 2, 2], { generator: new Generator(1) }));
  assert.deepEqual(values(y), [1, 1, 1, 1, -2, -2, -2, -2, 0.5, 0.5, 0.5, 0.5]);
  const x = randn([2, 2, 5, 4], { generator: new Generator(2) });
  const c = new Conv2d(2, 3, 3, { padding: 1, dilation: 2 });
  assertClose(
    c.forward(x),
    values(conv2d(x, c.weight, c.bias, { padding: 1, dilation: 2 })),
    0,
    'the layer runs conv2d',
  );
  throwsExactly(
    () => c.forward(zeros([2, 3, 5, 4])),
    ShapeError,
    'Conv2d(2, 3, kernel=3x3, padding=1, dilation=2): expected input [N, 2, H, W], got [2, 3, 5, 4]',
  );
  throwsExactly(
    () => c.forward(zeros([2, 5, 4])),
    ShapeError,
    'Conv2d(2, 3, kernel=3x3, padding=1, dilation=2): expected input [N, 2, H, W], got [2, 5, 4]',
  );
  throwsExactly(
    () => new Sequential(new Conv2d(2, 3, 3)).forward(zeros([1, 2, 2, 5, 4])),
    ShapeError,
    '0 (Conv2d(2, 3, kernel=3x3)): expected input [N, 2, H, W], got [1, 2, 2, 5, 4]',
  );
});

test('Conv2d and Linear penalties go to the parameters they name', () => {
  const conv = new Conv2d(2, 3, 3, { weightPenalty: { l2: 1e-4 }, biasPenalty: { l1: 2e-3 } });
  assert.deepEqual(conv.weight.penalty, { l1: 0, l2: 1e-4 });
  assert.deepEqual(conv.bias!.penalty, { l1: 2e-3, l2: 0 });
  const plain = new Conv2d(2, 3, 3);
  assert.equal(plain.weight.penalty, null);
  assert.equal(plain.bias!.penalty, null);
  assert.equal(new Conv2d(2, 3, 3, { bias: false, biasPenalty: { l2: 1 } }).bias, null);
  throwsExactly(
    () => new Conv2d(2, 3, 3, { weightPenalty: { l3: 1 } as never }),
    ArgumentError,
    'Conv2d weightPenalty: unknown penalty l3 (accepted: l1, l2)',
  );
  throwsExactly(
    () => new Conv2d(2, 3, 3, { biasPenalty: { l3: 1 } as never }),
    ArgumentError,
    'Conv2d biasPenalty: unknown penalty l3 (accepted: l1, l2)',
  );
  const fc = new Linear(4, 2, { weightPenalty: { l1: 1e-3 }, biasPenalty: { l2: 5e-4 } });
  assert.deepEqual(fc.weight.penalty, { l1: 1e-3, l2: 0 });
  assert.deepEqual(fc.bias!.penalty, { l1: 0, l2: 5e-4 });
  assert.equal(new Linear(4, 2).weight.penalty, null);
  assert.equal(new Linear(4, 2).bias!.penalty, null);
  throwsExactly(
    () => new Linear(4, 2, { weightPenalty: { l3: 1 } as never }),
    ArgumentError,
    'Linear weightPenalty: unknown penalty l3 (accepted: l1, l2)',
  );
  throwsExactly(
    () => new Linear(4, 2, { biasPenalty: { l3: 1 } as never }),
    ArgumentError,
    'Linear biasPenalty: unknown penalty l3 (accepted: l1, l2)',
  );
});

test('Linear: positive feature counts, known options, bias optional', () => {
  throwsExactly(() => new Linear(0, 3), ArgumentError, 'Linear: feature counts must be positive, got 0, 3');
  throwsExactly(() => new Linear(3, 0), ArgumentError, 'Linear: feature counts must be positive, got 3, 0');
  throwsExactly(() => new Linear(-1, -2), ArgumentError, 'Linear: feature counts must be positive, got -1, -2');
  throwsExactly(
    () => new Linear(3, 2, { bais: false } as never),
    ArgumentError,
    'Linear: unknown option bais (accepted: bias, weightPenalty, biasPenalty)',
  );
  assert.deepEqual(new Linear(1, 1).weight.shape, [1, 1]);
  const noBias = new Linear(3, 2, { bias: false });
  assert.equal(noBias.bias, null);
  assert.deepEqual(
    noBias.namedParameters().map(([n]) => n),
    ['weight'],
  );
  assert.deepEqual(new Linear(3, 2, { bias: true }).bias?.shape, [2]);
  assert.deepEqual(new Linear(3, 2).weight.shape, [2, 3]);
});

test('Linear initialization: weight and bias uniform in ±1/√in, drawn anew by resetParameters', () => {
  const fc = new Linear(50, 400);
  uniformWithin(fc.weight, 1 / Math.sqrt(50));
  uniformWithin(fc.bias!, 1 / Math.sqrt(50));
  const before = values(fc.bias!);
  fc.resetParameters();
  assert.notDeepEqual(values(fc.bias!), before);
  uniformWithin(fc.bias!, 1 / Math.sqrt(50));
  const noBias = new Linear(50, 400, { bias: false });
  noBias.resetParameters();
  uniformWithin(noBias.weight, 1 / Math.sqrt(50));
});

test('Linear forward: x·Wᵀ + b by hand, and without bias x·Wᵀ', () => {
  const fc = new Linear(2, 3);
  fc.weight.assign(
    tensor([
      [1, 2],
      [-1, 0],
      [0.5, 3],
    ]),
  );
  fc.bias!.assign(tensor([10, 20, 30]));
  const x = tensor([
    [1, -1],
    [2, 4],
  ]);
  // row 1: [1·1 + 2·(−1), −1·1 + 0, 0.5·1 + 3·(−1)] + b; row 2: [2 + 8, −2, 1 + 12] + b
  assert.deepEqual(values(fc.forward(x)), [9, 19, 27.5, 20, 18, 43]);
  const nb = new Linear(2, 3, { bias: false });
  nb.weight.assign(
    tensor([
      [1, 2],
      [-1, 0],
      [0.5, 3],
    ]),
  );
  assert.deepEqual(values(nb.forward(x)), [-1, -1, -2.5, 10, -2, 13]);
});
