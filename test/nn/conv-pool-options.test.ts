/**
 * Convolution and pooling layers: PyTorch's positional kernel / stride / padding,
 * and options checked when the layer is built (an error naming the layer and the
 * option), so no argument is silently ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdaptiveAvgPool2d,
  ArgumentError,
  AvgPool2d,
  Conv2d,
  ConvTranspose2d,
  GlobalAvgPool2d,
  GlobalMaxPool2d,
  MaxPool2d,
  StochasticPool2d,
  avgPool2d,
  conv2d,
  maxPool2d,
  randn,
  Generator,
  type Tensor,
} from '../../src/index.js';
import { assertClose, values } from '../helpers/nn-fixtures.js';

const x = randn([2, 3, 9, 8], { generator: new Generator(4) });

test('new MaxPool2d(3, 1) and new AvgPool2d(3, 2, 1) take stride and padding positionally, as in PyTorch', () => {
  const mp = new MaxPool2d(3, 1);
  assert.deepEqual([...mp.forward(x).shape], [2, 3, 7, 6]);
  assertClose(mp.forward(x), values(maxPool2d(x, 3, { stride: 1 })), 0, 'MaxPool2d(3, 1)');
  const ap = new AvgPool2d(3, 2, 1);
  assertClose(ap.forward(x), values(avgPool2d(x, 3, { stride: 2, padding: 1 })), 0, 'AvgPool2d(3, 2, 1)');
  assert.equal(ap.describe(), 'AvgPool2d(kernel=3, stride=2, padding=1)');
  const same = new MaxPool2d(3, 2, 'same', { dilation: 1 });
  assert.deepEqual([...same.forward(x).shape], [2, 3, 5, 4]);
  const ceil = new AvgPool2d(3, 2, 0, { ceilMode: true, countIncludePad: false });
  assertClose(
    ceil.forward(x),
    values(avgPool2d(x, 3, { stride: 2, ceilMode: true, countIncludePad: false })),
    0,
    'ceil',
  );
});

test('Conv2d takes stride and padding positionally too', () => {
  const a = new Conv2d(3, 4, 3, 2, 1);
  assert.deepEqual(a.options, { stride: 2, padding: 1 });
  const y = a.forward(x);
  assertClose(y, values(conv2d(x, a.weight, a.bias, { stride: 2, padding: 1 })), 0, 'Conv2d(3, 4, 3, 2, 1)');
  const b = new Conv2d(3, 4, 3, 2, 'same', { bias: false });
  assert.equal(b.bias, null);
  assert.deepEqual([...(b.forward(x) as Tensor).shape], [2, 4, 5, 4]);
});

function refused(build: () => unknown, ...parts: RegExp[]): void {
  assert.throws(build, (e: unknown) => {
    assert.ok(e instanceof ArgumentError, `expected an ArgumentError, got ${String(e)}`);
    for (const p of parts) assert.match(e.message, p);
    return true;
  });
}

test('a bad option is refused when the layer is constructed, naming the layer and the option', () => {
  refused(() => new Conv2d(1, 6, 5, { padding: 'full' as 'same' }), /^Conv2d/, /padding/, /'full'/);
  refused(() => new Conv2d(1, 6, 5, { stride: 0 }), /^Conv2d/, /stride/, /positive/);
  refused(() => new Conv2d(1, 6, 0), /^Conv2d/, /kernel size/);
  refused(() => new Conv2d(1, 6, 5, { padding: -1 }), /^Conv2d/, /padding/);
  refused(() => new Conv2d(1, 6, 5, { dilation: [1, 2, 3] as unknown as [number, number] }), /^Conv2d/, /dilation/);
  refused(() => new Conv2d(1, 6, 5, { strides: 2 } as object), /^Conv2d/, /unknown option strides/);
  refused(() => new Conv2d(1, 6, 5, { bias: 'no' as unknown as boolean }), /^Conv2d/, /bias/);
  refused(() => new Conv2d(0, 6, 5), /^Conv2d/, /in channels/);
  refused(() => new Conv2d(4, 6, 3, { groups: 4 }), /^Conv2d/, /groups/);
  refused(() => new MaxPool2d(0), /^MaxPool2d/, /kernel size/);
  refused(() => new MaxPool2d(2, { padding: 2 }), /^MaxPool2d/, /padding/, /half the kernel/);
  refused(() => new MaxPool2d(2, { padding: 'valid', ceilMode: true }), /^MaxPool2d/, /ceilMode/);
  refused(() => new MaxPool2d(2, { countIncludePad: false } as object), /^MaxPool2d/, /unknown option countIncludePad/);
  refused(() => new AvgPool2d(2, { stride: [1, 0] }), /^AvgPool2d/, /stride/);
  refused(() => new AvgPool2d(2, { ceilMode: 1 as unknown as boolean }), /^AvgPool2d/, /ceilMode/);
  refused(() => new ConvTranspose2d(2, 2, 3, { strides: 2 } as object), /^ConvTranspose2d/, /unknown option strides/);
  refused(() => new ConvTranspose2d(2, 2, 3, { stride: 0 }), /^ConvTranspose2d/, /stride/);
  refused(() => new StochasticPool2d(2, { stide: 1 } as object), /^StochasticPool2d/, /unknown option stide/);
});

test('no pooling or convolution constructor silently ignores an argument it was given', () => {
  const extra = (cls: unknown, ...args: unknown[]): (() => unknown) => {
    const C = cls as new (...a: unknown[]) => unknown;
    return () => new C(...args);
  };
  refused(extra(MaxPool2d, 2, 1, 0, { dilation: 1 }, true), /^MaxPool2d/, /too many arguments/);
  refused(extra(MaxPool2d, 2, { stride: 1 }, 0), /^MaxPool2d/, /after the options object/);
  refused(extra(MaxPool2d, 2, 1, 0, { stride: 2 }), /^MaxPool2d/, /stride given both/);
  refused(extra(AvgPool2d, 2, 1, 0, false), /^AvgPool2d/, /too many arguments/);
  refused(extra(Conv2d, 1, 2, 3, 1, 1, 1), /^Conv2d/, /too many arguments/);
  refused(extra(Conv2d, 1, 2, 3, { stride: 1 }, true), /^Conv2d/, /after the options object/);
  refused(extra(ConvTranspose2d, 1, 2, 3, {}, 1), /^ConvTranspose2d/, /unexpected argument/);
  refused(extra(StochasticPool2d, 2, {}, 1), /^StochasticPool2d/, /unexpected argument/);
  refused(extra(AdaptiveAvgPool2d, 6, 6), /^AdaptiveAvgPool2d/);
  refused(extra(GlobalAvgPool2d, 2), /^GlobalAvgPool2d takes no arguments/);
  refused(extra(GlobalMaxPool2d, 2), /^GlobalMaxPool2d takes no arguments/);
});
