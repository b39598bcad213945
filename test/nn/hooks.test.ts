/**
 * Module hooks with PyTorch's contract: forward pre-hooks and forward hooks
 * (which may replace inputs / output), full backward hooks (gradInput and
 * gradOutput, replaceable gradInput), removable handles, featureMaps(), and
 * tensor gradient hooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  Conv2d,
  Generator,
  LeNet5,
  Linear,
  Module,
  ReLU,
  Sequential,
  featureMaps,
  noGrad,
  randn,
  summary,
  tensor,
  type Tensor,
} from '../../src/index.js';
import { assertClose, values } from '../helpers/nn-fixtures.js';

const gen = (seed = 1): Generator => new Generator(seed);

test('forward pre-hook sees the arguments and may replace them; remove() stops it', () => {
  const layer = new Linear(3, 2);
  const x = randn([4, 3], { generator: gen() });
  const seen: number[][] = [];
  const h = layer.registerForwardPreHook((m, inputs) => {
    assert.equal(m, layer);
    seen.push([...(inputs[0] as Tensor).shape]);
    return [(inputs[0] as Tensor).mul(2)];
  });
  const hooked = layer.forward(x);
  assert.deepEqual(seen, [[4, 3]]);
  h.remove();
  const plain = layer.forward(x.mul(2));
  assertClose(hooked, values(plain), 1e-6, 'pre-hook replaced the input');
  layer.forward(x);
  assert.equal(seen.length, 1, 'removed hook is not called');
  h.remove(); // harmless a second time
});

test('a forward hook sees inputs and output, and a returned value replaces the output downstream', () => {
  const first = new Linear(3, 3);
  const net = new Sequential(first, new ReLU());
  const x = randn([2, 3], { generator: gen(2) });
  const plain = values(first.forward(x));
  let seenOut: Tensor | null = null;
  const h = first.registerForwardHook((_m, inputs, out) => {
    assert.equal(inputs[0], x);
    seenOut = out as Tensor;
    return (out as Tensor).neg();
  });
  const y = net.forward(x);
  assert.ok(seenOut);
  assertClose(seenOut, plain, 1e-6, 'hook saw the layer output');
  assertClose(
    y,
    plain.map((v) => Math.max(-v, 0)),
    1e-6,
    'ReLU received the replaced output',
  );
  h.remove();
  assertClose(
    net.forward(x),
    plain.map((v) => Math.max(v, 0)),
    1e-6,
    'after remove',
  );
});

test('full backward hook: gradOutput is dL/dy and gradInput is dL/dx, as computed by hand', () => {
  const layer = new Linear(3, 2);
  const x = randn([4, 3], { generator: gen(3), requiresGrad: true });
  const target = randn([4, 2], { generator: gen(4) });
  const calls: { gIn: (Tensor | null)[]; gOut: (Tensor | null)[] }[] = [];
  layer.registerFullBackwardHook((m, gIn, gOut) => {
    assert.equal(m, layer);
    calls.push({ gIn, gOut });
  });
  const y = layer.forward(x);
  // L = sum((y − t)²) so dL/dy = 2(y − t) and dL/dx = dL/dy · W.
  y.sub(target).square().sum().backward();
  assert.equal(calls.length, 1);
  const dy = y.detach().sub(target).mul(2);
  assertClose(calls[0]!.gOut[0]!, values(dy), 1e-5, 'gradOutput');
  assertClose(calls[0]!.gIn[0]!, values(dy.matmul(layer.weight.detach())), 1e-5, 'gradInput');
  assertClose(x.grad!, values(dy.matmul(layer.weight.detach())), 1e-5, 'x.grad unchanged by a hook returning nothing');
});

test('a full backward hook may replace gradInput: earlier layers see the replacement, the layer itself does not', () => {
  const a = new Linear(3, 3);
  const b = new Linear(3, 2);
  const net = new Sequential(a, b);
  const x = randn([2, 3], { generator: gen(5) });
  const h = b.registerFullBackwardHook((_m, gIn) => [gIn[0]!.mul(0)]);
  net.forward(x).sum().backward();
  assert.ok(
    values(a.weight.grad!).every((v) => v === 0),
    'a sees zero gradient',
  );
  assert.ok(
    values(b.weight.grad!).some((v) => v !== 0),
    'b still gets its own gradient',
  );
  h.remove();
  net.zeroGrad();
  net.forward(x).sum().backward();
  assert.ok(
    values(a.weight.grad!).some((v) => v !== 0),
    'after remove the gradient flows again',
  );
});

test('full backward hook on the first layer: gradInput is [null] when the input needs no gradient', () => {
  const layer = new Linear(3, 2);
  let got: [(Tensor | null)[], (Tensor | null)[]] | null = null;
  layer.registerFullBackwardHook((_m, gIn, gOut) => {
    got = [gIn, gOut];
  });
  layer
    .forward(randn([2, 3], { generator: gen(6) }))
    .sum()
    .backward();
  assert.ok(got);
  assert.deepEqual(got![0], [null]);
  assertClose(got![1][0]!, [1, 1, 1, 1], 0, 'gradOutput of a sum is ones');
});

class Product extends Module {
  forward(a: Tensor, b: Tensor): Tensor {
    return a.mul(b);
  }
}

test('a module with two tensor arguments gets one backward-hook call with both gradients', () => {
  const m = new Product();
  const a = tensor([1, 2, 3], { requiresGrad: true });
  const b = tensor([4, 5, 6], { requiresGrad: true });
  const calls: (Tensor | null)[][] = [];
  m.registerFullBackwardHook((_m, gIn) => {
    calls.push(gIn);
    return [gIn[0]!.mul(10), null];
  });
  m.forward(a, b)
    .mul(tensor([1, -1, 2]))
    .sum()
    .backward();
  assert.equal(calls.length, 1);
  // d(sum(w·a·b))/da = w·b, /db = w·a
  assertClose(calls[0]![0]!, [4, -5, 12], 1e-6, 'grad a');
  assertClose(calls[0]![1]!, [1, -2, 6], 1e-6, 'grad b');
  assertClose(a.grad!, [40, -50, 120], 1e-6, 'replaced grad a');
  assertClose(b.grad!, [0, 0, 0], 0, 'null means no gradient');
});

test('hooks are not in state dicts and survive train() / eval()', () => {
  const net = new LeNet5();
  const before = Object.keys(net.stateDict());
  let calls = 0;
  net.getSubmodule('features.0').registerForwardHook(() => void calls++);
  net.getSubmodule('features.0').registerForwardPreHook(() => undefined);
  net.getSubmodule('features.0').registerFullBackwardHook(() => undefined);
  assert.deepEqual(Object.keys(net.stateDict()), before);
  assert.deepEqual(
    net.namedModules().map(([n]) => n),
    new LeNet5().namedModules().map(([n]) => n),
  );
  net.eval();
  noGrad(() => net.forward(randn([1, 1, 28, 28], { generator: gen(7) })));
  net.train();
  net.forward(randn([1, 1, 28, 28], { generator: gen(8) }));
  assert.equal(calls, 2);
  // summary() still sees every layer with hooks present
  assert.deepEqual(summary(net, [1, 1, 28, 28]).rows[0]!.outputShape, [1, 6, 28, 28]);
  assert.equal(calls, 3);
});

test('featureMaps returns the named layers outputs from one forward pass', () => {
  const net = new LeNet5();
  const x = randn([2, 1, 28, 28], { generator: gen(9) });
  let forwards = 0;
  net.registerForwardHook(() => void forwards++);
  const maps = featureMaps(net, x, ['features.0', 'features.3']);
  assert.equal(forwards, 1);
  const conv1 = (net.features.at(0) as Conv2d).forward(x);
  assertClose(maps['features.0'], values(conv1), 1e-6, 'features.0');
  const upTo3 = new Sequential(...net.features.layers.slice(0, 4)).forward(x);
  assertClose(maps['features.3'], values(upTo3), 1e-6, 'features.3');
  assert.deepEqual([...maps['features.3'].shape], [2, 16, 10, 10]);
});

test('featureMaps names an unknown layer and lists the valid ones', () => {
  const net = new LeNet5();
  assert.throws(
    () => featureMaps(net, randn([1, 1, 28, 28]), ['features.0', 'features.9']),
    (e: unknown) =>
      e instanceof ArgumentError &&
      /no layer named 'features\.9'/.test(e.message) &&
      /valid names: features, features\.0, features\.1/.test(e.message) &&
      /classifier\.5/.test(e.message),
  );
});

test('tensor gradient hooks see the summed gradient and may replace it', () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = x.mul(3);
  const seen: number[][] = [];
  y.registerHook((g) => {
    seen.push(values(g));
    return g.mul(2);
  });
  y.add(y).sum().backward();
  assert.deepEqual(seen, [[2, 2]]);
  assertClose(x.grad!, [12, 12], 0, 'x.grad = 3 · 2 · 2');
});
