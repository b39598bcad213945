/**
 * Module's tree API, case by case: Sequential's names, add and at, toString, buffers and which of them a
 * state dict holds, loadStateDict's messages, getSubmodule / setSubmodule / apply, and how errors are named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  BatchNorm2d,
  Linear,
  Module,
  ReLU,
  Sequential,
  Tanh,
  TsgradError,
  ones,
  tensor,
  zeros,
  type Tensor,
} from '../../src/index.js';

const argError = (message: string) => (e: unknown) => e instanceof ArgumentError && e.message === message;

test('Sequential.named refuses empty, dotted and repeated names, naming the first bad one', () => {
  const named = Sequential.named([
    ['fc', new Linear(2, 3)],
    ['act', new ReLU()],
    ['out', new Linear(3, 1)],
  ]);
  assert.deepEqual(
    named.namedParameters().map(([n]) => n),
    ['fc.weight', 'fc.bias', 'out.weight', 'out.bias'],
  );
  for (const [names, bad] of [
    [['a', ''], ''],
    [['a', 'b.c'], 'b.c'],
    [['a', 'b', 'a'], 'a'],
  ] as const) {
    assert.throws(
      () => Sequential.named(names.map((n) => [n, new ReLU()] as const)),
      argError(`Sequential.named: names must be unique and dot-free, got '${bad}'`),
    );
  }
});

test('Sequential.add numbers or names the new child, and refuses a clash', () => {
  const numbered = new Sequential(new Linear(2, 2));
  numbered.add(new ReLU()).add(new Linear(2, 1), '2');
  assert.equal(numbered.length, 3);
  assert.deepEqual(
    numbered.namedChildren().map(([n]) => n),
    ['0', '1', '2'],
  );
  assert.throws(
    () => numbered.add(new ReLU(), 'head'),
    argError('Sequential.add: this Sequential numbers its children; build it with Sequential.named() to use names'),
  );
  assert.equal(numbered.length, 3, 'a refused layer is not added');

  const named = Sequential.named([['fc', new Linear(2, 2)]]);
  named.add(new Tanh(), 'act').add(new Linear(2, 1));
  assert.deepEqual(
    named.namedChildren().map(([n]) => n),
    ['fc', 'act', '2'],
  );
  assert.throws(() => named.add(new ReLU(), 'act'), argError("Sequential.add: a child is already named 'act'"));
  // Without a name a child of a named Sequential is called by its index, which may already be taken.
  const clash = Sequential.named([['1', new ReLU()]]);
  assert.throws(() => clash.add(new ReLU()), argError("Sequential.add: a child is already named '1'"));
});

test('Sequential.at: by index (negative from the end), by name, or a clear error', () => {
  const a = new Linear(2, 2);
  const b = new ReLU();
  const numbered = new Sequential(a, b);
  assert.equal(numbered.at(0), a);
  assert.equal(numbered.at(-1), b);
  assert.equal(numbered.at('1'), b, "a numbered Sequential's names are its indices");
  assert.throws(() => numbered.at(2), argError('Sequential.at: index 2 out of range for 2 layers'));
  assert.throws(() => numbered.at('x'), argError("Sequential.at: no layer named 'x'"));
  const named = Sequential.named([
    ['fc', a],
    ['act', b],
  ]);
  assert.equal(named.at('act'), b);
  assert.equal(named.at(0), a);
  assert.throws(() => named.at('fc2'), argError("Sequential.at: no layer named 'fc2'"));
});

class Pair extends Module {
  readonly left = new Linear(2, 2);
  readonly items: Module[] = [new ReLU(), new Tanh()];
  readonly notModules: unknown[] = [new ReLU(), 3]; // not every element is a module: not children
  readonly empty: Module[] = [];
  forward(x: Tensor): Tensor {
    return this.left.forward(x);
  }
}

test('toString prints the tree of sub-modules like PyTorch; a leaf prints its description', () => {
  const net = new Sequential(new Linear(4, 2), new Sequential(new ReLU(), new Pair()));
  assert.equal(
    net.toString(),
    [
      'Sequential(',
      '  (0): Linear(4, 2)',
      '  (1): Sequential(',
      '    (0): ReLU()',
      '    (1): Pair(',
      '      (left): Linear(2, 2)',
      '      (items.0): ReLU()',
      '      (items.1): Tanh()',
      '    )',
      '  )',
      ')',
    ].join('\n'),
  );
  assert.equal(new ReLU().toString(), 'ReLU()');
  assert.equal(new Pair().describe(), 'Pair()', 'a module without extraRepr shows no arguments');
  assert.ok(!Object.keys(new Pair()).includes('forward'), 'the naming wrapper of forward is not an own enumerable key');
});

class WithBuffers extends Module {
  readonly fc = new Linear(1, 1);
  constructor() {
    super();
    this.registerBuffer('kept', zeros([2]));
    this.registerBuffer('scratch', ones([2]), false);
  }
  replace(name: string, t: Tensor): void {
    this.setBuffer(name, t);
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

test('buffers: looked up by name, persistent ones in the state dict, non-persistent ones never', () => {
  const m = new WithBuffers();
  assert.throws(() => m.buffer('nope'), argError("WithBuffers(): no buffer named 'nope'"));
  assert.throws(() => m.replace('nope', zeros([1])), argError("WithBuffers(): no buffer named 'nope'"));
  m.replace('kept', tensor([5, 6]));
  assert.deepEqual(Array.from(m.buffer('kept').dataSync()), [5, 6]);
  assert.deepEqual(
    m.namedBuffers().map(([n]) => n),
    ['kept', 'scratch'],
  );
  assert.deepEqual(
    m.namedBuffers({ persistentOnly: true }).map(([n]) => n),
    ['kept'],
  );
  assert.deepEqual(Object.keys(m.stateDict()).sort(), ['fc.bias', 'fc.weight', 'kept']);
  // A non-persistent buffer is not a load target: in a state dict it is an unexpected key.
  const sd = { ...m.stateDict(), scratch: zeros([2]) };
  assert.throws(() => new WithBuffers().loadStateDict(sd), /unexpected keys: scratch/);
  const r = new WithBuffers().loadStateDict(sd, { strict: false });
  assert.deepEqual(r.unexpectedKeys, ['scratch']);
});

test("a loaded buffer takes the module's dtype, and is a copy", () => {
  const bn = new BatchNorm2d(2);
  const sd = bn.stateDict();
  const source = tensor([3, 4], { dtype: 'float64' });
  bn.loadStateDict({ ...sd, running_mean: source, num_batches_tracked: tensor(7, { dtype: 'float64' }) });
  assert.equal(bn.buffer('running_mean').dtype, 'float32');
  assert.deepEqual(Array.from(bn.buffer('running_mean').dataSync()), [3, 4]);
  assert.equal(bn.buffer('num_batches_tracked').dtype, sd['num_batches_tracked']!.dtype);
  assert.notEqual(bn.buffer('running_mean'), source);
});

test('strict loadStateDict lists only the kinds of mismatch there are', () => {
  const m = new Linear(2, 1);
  const { weight } = m.stateDict();
  assert.throws(
    () => m.loadStateDict({ weight: weight! }),
    (e: unknown) =>
      e instanceof TsgradError &&
      e.message ===
        'loadStateDict(Linear(2, 1)): missing keys: bias (pass { strict: false } to load the keys that match)',
  );
  assert.throws(
    () => m.loadStateDict({ ...m.stateDict(), extra: zeros([1]), more: zeros([1]) }),
    (e: unknown) =>
      e instanceof TsgradError &&
      e.message ===
        'loadStateDict(Linear(2, 1)): unexpected keys: extra, more (pass { strict: false } to load the keys that match)',
  );
});

test('zeroGrad clears every gradient; requiresGrad() with no argument unfreezes', () => {
  const net = new Sequential(new Linear(2, 2), new Linear(2, 1));
  net
    .forward(ones([1, 2]))
    .sum()
    .backward();
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
  net.freeze();
  assert.ok(net.parameters().every((p) => !p.requiresGrad));
  net.requiresGrad();
  assert.ok(net.parameters().every((p) => p.requiresGrad));
});

test('getSubmodule, setSubmodule (array children too) and apply walk the dotted names', () => {
  const net = new Sequential(new Linear(2, 2), new Pair());
  assert.equal(net.getSubmodule(''), net);
  assert.ok(net.getSubmodule('1.items.1') instanceof Tanh);
  assert.throws(
    () => net.getSubmodule('1.items.2'),
    argError("Sequential(): no sub-module '1.items.2' (have: 0, 1, 1.left, 1.items.0, 1.items.1)"),
  );
  const replacement = new Linear(2, 2);
  net.setSubmodule('1.items.1', replacement);
  assert.equal(net.getSubmodule('1.items.1'), replacement);
  assert.ok(net.getSubmodule('1.items.0') instanceof ReLU, 'its sibling is untouched');
  const left = new Linear(2, 2);
  net.setSubmodule('1.left', left);
  assert.equal(net.getSubmodule('1.left'), left);
  assert.deepEqual(
    net.namedParameters().map(([n]) => n),
    ['0.weight', '0.bias', '1.left.weight', '1.left.bias', '1.items.1.weight', '1.items.1.bias'],
  );
  assert.throws(() => net.setSubmodule('', new ReLU()), argError('Sequential(): cannot replace the module itself'));
  assert.throws(() => net.setSubmodule('9', new ReLU()), /no sub-module '9'/);
  const named = Sequential.named([
    ['a', new ReLU()],
    ['b', new ReLU()],
  ]);
  named.setSubmodule('b', new Tanh());
  assert.ok(named.at('b') instanceof Tanh && named.at('a') instanceof ReLU);
  const visited: string[] = [];
  assert.equal(
    net.apply((m, name) => visited.push(`${name}:${m.constructor.name}`)),
    net,
  );
  assert.deepEqual(visited, [
    ':Sequential',
    '0:Linear',
    '1:Pair',
    '1.left:Linear',
    '1.items.0:ReLU',
    '1.items.1:Linear',
  ]);
});

test("an error in a nested layer is prefixed once with the layer's path and description", () => {
  const net = new Sequential(new Linear(2, 2), new Sequential(new Linear(3, 1)));
  assert.throws(
    () => net.forward(ones([1, 2])),
    (e: unknown) =>
      e instanceof TsgradError &&
      e.layer === '1.0' &&
      e.message.startsWith('1.0 (Linear(3, 1)): ') &&
      !e.message.slice(1).includes('1.0 (Linear'),
  );
  // Called on its own, the layer names itself by its description.
  assert.throws(
    () => new Linear(3, 1).forward(ones([1, 2])),
    (e: unknown) => e instanceof TsgradError && e.layer === 'Linear' && e.message.startsWith('Linear(3, 1): '),
  );
});

test('loadStateDict messages join several keys and both kinds of mismatch', () => {
  const m = new Linear(2, 1);
  assert.throws(
    () => m.loadStateDict({ extra: zeros([1]) }),
    (e: unknown) =>
      e instanceof TsgradError &&
      e.message ===
        'loadStateDict(Linear(2, 1)): missing keys: weight, bias; unexpected keys: extra (pass { strict: false } to load the keys that match)',
  );
  assert.throws(
    () => m.loadStateDict({ weight: zeros([3, 3]), bias: zeros([2]) }),
    (e: unknown) =>
      e instanceof TsgradError &&
      e.message ===
        'loadStateDict(Linear(2, 1)): shape mismatch for weight: checkpoint [3, 3] vs model [1, 2]; bias: checkpoint [2] vs model [1]',
  );
});

test('hooks must be functions; a pre-hook may return one input instead of an array', () => {
  const relu = new ReLU();
  for (const [register, name] of [
    [(f: never) => relu.registerForwardPreHook(f), 'registerForwardPreHook'],
    [(f: never) => relu.registerForwardHook(f), 'registerForwardHook'],
    [(f: never) => relu.registerFullBackwardHook(f), 'registerFullBackwardHook'],
  ] as const) {
    assert.throws(() => register(3 as never), argError(`ReLU().${name}: expected a function, got number`));
  }
  const h = relu.registerForwardPreHook(() => tensor([-1, 2]));
  assert.deepEqual(Array.from((relu.forward(tensor([5, -5])) as Tensor).dataSync()), [0, 2]);
  h.remove();
  assert.deepEqual(Array.from((relu.forward(tensor([5, -5])) as Tensor).dataSync()), [5, 0]);
});

test('an error in a module that is not a child (built inside forward) is named by its description', () => {
  class Inline extends Module {
    forward(x: Tensor): Tensor {
      return new Linear(3, 1).forward(x);
    }
  }
  assert.throws(
    () => new Sequential(new Inline()).forward(ones([1, 2])),
    (e: unknown) => e instanceof TsgradError && e.layer === 'Linear' && e.message.startsWith('Linear(3, 1): '),
  );
});
