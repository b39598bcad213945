import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, Linear, SGD, Sequential, lrMultiplierGroups, tensor } from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

/** A model is anything with named parameters: a fixed list keeps the names under the test's control. */
function namedModel(names: string[]): { namedParameters(): [string, Tensor][]; byName: Map<string, Tensor> } {
  const byName = new Map(names.map((n, i) => [n, tensor([i])]));
  return { namedParameters: () => [...byName], byName };
}

/** The lr each parameter ends up with, by name. */
function lrByName(model: ReturnType<typeof namedModel>, lr: number, multipliers: Record<string, number>) {
  const groups = lrMultiplierGroups(model, lr, multipliers);
  const out: Record<string, number> = {};
  for (const [name, p] of model.byName) {
    const holding = groups.filter((g) => g.params.includes(p));
    assert.equal(holding.length, 1, `${name} belongs to exactly one group`);
    out[name] = holding[0]!.lr ?? Number.NaN;
  }
  return out;
}

test('a prefix names a module (up to a dot) or a whole parameter name, never a longer sibling', () => {
  const model = namedModel(['fc.weight', 'fc.bias', 'fc2.weight', 'head.weight']);
  assert.deepEqual(lrByName(model, 1, { fc: 0.5, 'head.weight': 4 }), {
    'fc.weight': 0.5,
    'fc.bias': 0.5,
    // 'fc' is not a prefix of the module 'fc2': the default multiplier 1 applies.
    'fc2.weight': 1,
    'head.weight': 4,
  });
});

test('the longest matching prefix wins, whatever the order of the multipliers', () => {
  const model = namedModel(['a.b.weight', 'a.c.weight', 'z.weight']);
  const expected = { 'a.b.weight': 0.25, 'a.c.weight': 2, 'z.weight': 1 };
  assert.deepEqual(lrByName(model, 1, { a: 2, 'a.b': 0.25 }), expected);
  assert.deepEqual(lrByName(model, 1, { 'a.b': 0.25, a: 2 }), expected);
});

test("the empty prefix sets every parameter's default, and more specific prefixes override it", () => {
  const model = namedModel(['features.0.weight', 'features.0.bias', 'classifier.weight']);
  assert.deepEqual(lrByName(model, 0.1, { '': 0.5 }), {
    'features.0.weight': 0.05,
    'features.0.bias': 0.05,
    'classifier.weight': 0.05,
  });
  assert.deepEqual(lrByName(model, 0.1, { classifier: 10, '': 0 }), {
    'features.0.weight': 0,
    'features.0.bias': 0,
    'classifier.weight': 1,
  });
});

test('a multiplier of 0 is allowed (frozen in effect); negative and NaN multipliers are refused', () => {
  const model = namedModel(['a.weight', 'b.weight']);
  assert.deepEqual(lrByName(model, 0.1, { a: 0 }), { 'a.weight': 0, 'b.weight': 0.1 });
  for (const bad of [-0.5, Number.NaN]) {
    assert.throws(
      () => lrMultiplierGroups(model, 0.1, { a: bad }),
      (e: unknown) => e instanceof ArgumentError && e.message.includes(`multiplier for 'a' must be >= 0, got ${bad}`),
    );
  }
});

test('parameters sharing a multiplier share one group, in model order', () => {
  const model = namedModel(['a.weight', 'b.weight', 'a.bias', 'c.weight']);
  const groups = lrMultiplierGroups(model, 0.2, { a: 3, c: 3 });
  assert.equal(groups.length, 2);
  const p = (n: string) => model.byName.get(n)!;
  assert.deepEqual(groups[0]!.params, [p('a.weight'), p('a.bias'), p('c.weight')]);
  assert.ok(Math.abs((groups[0]!.lr ?? Number.NaN) - 0.6) < 1e-15);
  assert.deepEqual(groups[1]!.params, [p('b.weight')]);
  assert.equal(groups[1]!.lr, 0.2);
});

test('prefixes naming no parameter are listed, with the first three parameter names as a hint', () => {
  const model = namedModel(['conv.weight', 'conv.bias', 'fc.weight', 'fc.bias']);
  assert.throws(
    () => lrMultiplierGroups(model, 0.1, { backbone: 0.1, conv: 1, head: 2 }),
    (e: unknown) =>
      e instanceof ArgumentError &&
      e.message ===
        "lrMultiplierGroups: no parameter is named by 'backbone', 'head' (names look like conv.weight, conv.bias, fc.weight)",
  );
});

test('the groups drive a real optimizer: one SGD step moves each layer by lr × multiplier × grad', () => {
  const net = new Sequential(new Linear(1, 1, { bias: false }), new Linear(1, 1, { bias: false }));
  const groups = lrMultiplierGroups(net, 0.5, { '0': 0.1 });
  const opt = new SGD(groups, { lr: 0.5 });
  const [w0, w1] = net.parameters();
  const before = [w0!.dataSync()[0]!, w1!.dataSync()[0]!];
  for (const w of [w0!, w1!]) w.grad = tensor([[2]]);
  opt.step();
  const after = [w0!.dataSync()[0]!, w1!.dataSync()[0]!];
  assert.ok(Math.abs(before[0]! - after[0]! - 0.5 * 0.1 * 2) < 1e-6);
  assert.ok(Math.abs(before[1]! - after[1]! - 0.5 * 2) < 1e-6);
});
