/**
 * Full backward hooks (src/nn/backward-hooks.ts) and featureMaps (src/nn/hooks.ts), case by case, for
 * mutation testing (npm run mutate): chained hooks, a null replacement meaning a zero gradient,
 * non-tensor arguments, mixed-dtype arguments joined without losing precision, modules whose inputs
 * need no gradient (the hook then fires once every output's gradient is in), every error's exact
 * message, and featureMaps' first-call rule and messages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArgumentError,
  Linear,
  Module,
  Parameter,
  ReLU,
  Sequential,
  ShapeError,
  featureMaps,
  tensor,
  zeros,
  type Tensor,
} from '../../src/index.js';
import { assertClose, throwsExactly, values } from '../helpers/nn-fixtures.js';

class Scale extends Module {
  forward(x: Tensor, factor: number): Tensor {
    return x.mul(factor);
  }
}

class Pair extends Module {
  forward(a: Tensor, b: Tensor): Tensor {
    return a.mul(2).add(b.mul(3));
  }
}

/** Two outputs from one input: [w·x, w·x²], w a parameter (2 at first). */
class Split extends Module {
  readonly w = new Parameter(tensor([2]));
  forward(x: Tensor): Tensor[] {
    return [x.mul(this.w), x.square().mul(this.w)];
  }
}

/** An output that needs a gradient (w·x, w = 5), a constant tensor that does not, and a number. */
class Mixed extends Module {
  readonly w = new Parameter(tensor([5]));
  readonly constant = zeros([2]);
  forward(x: Tensor): unknown[] {
    return [x.mul(this.w), this.constant, 7];
  }
}

test('several backward hooks run in order, each seeing the previous replacement', () => {
  const m = new Scale();
  const seen: number[][] = [];
  m.registerFullBackwardHook((_m, gIn) => {
    seen.push(values(gIn[0]!));
    assert.equal(gIn.length, 2);
    assert.equal(gIn[1], null, 'the number argument has a null gradient from the start');
    return [gIn[0]!.mul(10), null];
  });
  m.registerFullBackwardHook((_m, gIn, gOut) => {
    seen.push(values(gIn[0]!));
    assert.equal(gIn[1], null, 'the number argument has no gradient');
    assert.deepEqual(values(gOut[0]!), [1, -1]);
    return undefined;
  });
  m.registerFullBackwardHook((_m, gIn) => {
    seen.push(values(gIn[0]!));
    return [gIn[0]!.add(1), null];
  });
  const x = tensor([1, 2], { requiresGrad: true });
  m.forward(x, 3)
    .mul(tensor([1, -1]))
    .sum()
    .backward();
  assert.deepEqual(seen, [
    [3, -3],
    [30, -30],
    [30, -30],
  ]);
  assert.deepEqual(values(x.grad!), [31, -29]);
});

test('a null replacement gives the argument a zero gradient, for one argument as for several', () => {
  const m = new Scale();
  m.registerFullBackwardHook(() => [null, null]);
  const x = tensor([1, 2], { requiresGrad: true });
  m.forward(x, 3).sum().backward();
  assert.deepEqual(values(x.grad!), [0, 0]);
  const p = new Pair();
  p.registerFullBackwardHook((_m, gIn) => [null, gIn[1]!]);
  const a = tensor([1, 2], { requiresGrad: true });
  const b = tensor([3], { requiresGrad: true });
  p.forward(a, b).sum().backward();
  assert.deepEqual(values(a.grad!), [0, 0]);
  assert.deepEqual(values(b.grad!), [6]);
});

test('two arguments of different dtypes: each gradient keeps its dtype and its float64 precision', () => {
  const p = new Pair();
  let got: (Tensor | null)[] = [];
  p.registerFullBackwardHook((_m, gIn) => {
    got = gIn;
  });
  const a = tensor([1, 2], { requiresGrad: true });
  const b = tensor([0.5], { dtype: 'float64', requiresGrad: true });
  p.forward(a, b)
    .mul(tensor([1 / 3, 1 / 7], { dtype: 'float64' }))
    .sum()
    .backward();
  assert.equal(got[0]!.dtype, 'float32');
  assert.equal(got[1]!.dtype, 'float64');
  assert.deepEqual(got[1]!.shape, [1]);
  // 3·(1/3 + 1/7) in float64 (not rounded to float32 on the way through the joint node)
  assert.equal(values(got[1]!)[0], 3 * (1 / 3 + 1 / 7));
  assert.equal(values(b.grad!)[0], 3 * (1 / 3 + 1 / 7));
  assertClose(a.grad!, [2 / 3, 2 / 7], 1e-7, 'float32 argument');
  // the same with both float64: exact values
  const c = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
  const d = tensor([0.5, 0.25], { dtype: 'float64', requiresGrad: true });
  p.forward(c, d)
    .mul(tensor([1 / 3, 1 / 7], { dtype: 'float64' }))
    .sum()
    .backward();
  assert.deepEqual(values(c.grad!), [2 / 3, 2 / 7]);
  assert.deepEqual(values(d.grad!), [3 / 3, 3 / 7]);
  assert.equal(got[0]!.dtype, 'float64');
});

test('an input that needs no gradient: the hook fires once, after every output gradient is in', () => {
  const m = new Split();
  const calls: { gIn: (Tensor | null)[]; gOut: (Tensor | null)[] }[] = [];
  m.registerFullBackwardHook((_m, gIn, gOut) => {
    calls.push({ gIn, gOut });
  });
  const w = new Linear(2, 2);
  const x = tensor([1, 2]);
  const [y1, y2] = m.forward(x) as Tensor[];
  // the outputs reach a parameter, so backward runs through them
  y1!
    .mul(tensor([1, 2]))
    .add(y2!.mul(tensor([3, 4])))
    .add(w.forward(x).sum())
    .sum()
    .backward();
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.gIn, [null]);
  assert.deepEqual(values(calls[0]!.gOut[0]!), [1, 2]);
  assert.deepEqual(values(calls[0]!.gOut[1]!), [3, 4]);
  // one output used: the hook waits for the gradients that can come, here only the first
  const single: (Tensor | null)[][] = [];
  const one = new Split();
  one.registerFullBackwardHook((_m, _gIn, gOut) => {
    single.push(gOut);
  });
  const x2 = tensor([1, 2], { requiresGrad: true });
  const [z1] = one.forward(x2) as Tensor[];
  z1!.sum().backward();
  assert.equal(single.length, 1);
  assert.deepEqual(values(single[0]![0]!), [1, 1]);
  assert.deepEqual(values(x2.grad!), [2, 2]);
  assert.equal(single[0]![1], null);
});

test('outputs that need no gradient pass through unwrapped, and count as null gradients', () => {
  const m = new Mixed();
  const calls: (Tensor | null)[][] = [];
  m.registerFullBackwardHook((_m, gIn, gOut) => {
    calls.push([...gIn, ...gOut]);
  });
  const x = tensor([1, 2], { requiresGrad: true });
  const out = m.forward(x) as unknown[];
  assert.equal(out[2], 7);
  assert.equal(out[1], m.constant, 'the very tensor forward returned');
  (out[0] as Tensor).sum().backward();
  assert.equal(calls.length, 1);
  assert.deepEqual(values(calls[0]![0]!), [5, 5]);
  assert.deepEqual(values(calls[0]![1]!), [1, 1]);
  assert.equal(calls[0]![2], null);
  assert.equal(calls[0]![3], null);
  // with no input needing a gradient, one output needing it is enough to fire
  const n = new Mixed();
  let fired = 0;
  n.registerFullBackwardHook(() => void fired++);
  const w = tensor([1, 1], { requiresGrad: true });
  (n.forward(tensor([1, 2])) as Tensor[])[0]!.mul(w).sum().backward();
  assert.equal(fired, 1);
});

test('a backward hook must return undefined or one gradient per argument of the right shape', () => {
  const run = (hook: () => unknown): void => {
    const m = new Linear(3, 2);
    m.registerFullBackwardHook(hook as never);
    m.forward(zeros([4, 3], { requiresGrad: true }))
      .sum()
      .backward();
  };
  throwsExactly(
    () => run(() => 5),
    ArgumentError,
    'Linear(3, 2): a full backward hook must return undefined or an array of 1 gradient(s) (one per argument), got number',
  );
  throwsExactly(
    () => run(() => [null, null]),
    ArgumentError,
    'Linear(3, 2): a full backward hook must return undefined or an array of 1 gradient(s) (one per argument), got 2 entries',
  );
  throwsExactly(
    () => run(() => []),
    ArgumentError,
    'Linear(3, 2): a full backward hook must return undefined or an array of 1 gradient(s) (one per argument), got 0 entries',
  );
  throwsExactly(
    () => run(() => [zeros([3, 4])]),
    ShapeError,
    'Linear(3, 2): full backward hook returned a gradient of shape [3, 4] for argument 0 of shape [4, 3]',
  );
  const p = new Pair();
  p.registerFullBackwardHook(() => [zeros([2]), zeros([2])]);
  throwsExactly(
    () =>
      p
        .forward(zeros([2], { requiresGrad: true }), zeros([1], { requiresGrad: true }))
        .sum()
        .backward(),
    ShapeError,
    'Pair(): full backward hook returned a gradient of shape [2] for argument 1 of shape [1]',
  );
  // a gradient for a number argument is not shape-checked against anything
  const s = new Scale();
  s.registerFullBackwardHook((_m, gIn) => [gIn[0]!, zeros([9])]);
  const x = tensor([1, 2], { requiresGrad: true });
  s.forward(x, 2).sum().backward();
  assert.deepEqual(values(x.grad!), [2, 2]);
});

test('featureMaps: the first output of a layer called twice, and exact messages for bad names', () => {
  const relu = new ReLU();
  const fc = new Linear(2, 2);
  const net = new Sequential(fc, relu);
  // a model that calls its ReLU twice
  class Twice extends Module {
    readonly body = net;
    forward(x: Tensor): Tensor {
      return relu.forward(this.body.forward(x).sub(1));
    }
  }
  const model = new Twice();
  const x = tensor([[1, -2]]);
  const maps = featureMaps(model, x, ['body.1', 'body.0']);
  const first = values(fc.forward(x)).map((v) => Math.max(v, 0));
  assertClose(maps['body.1'], first, 1e-6, 'first call of the ReLU');
  assert.deepEqual(Object.keys(maps), ['body.1', 'body.0']);
  throwsExactly(
    () => featureMaps(model, x, ['body.7', 'body.0', 'head']),
    ArgumentError,
    "featureMaps(Twice()): no layer named 'body.7', 'head'; valid names: body, body.0, body.1",
  );
  class Skips extends Module {
    readonly used = new ReLU();
    readonly unused = new ReLU();
    forward(v: Tensor): Tensor {
      return this.used.forward(v);
    }
  }
  throwsExactly(
    () => featureMaps(new Skips(), x, ['used', 'unused']),
    ArgumentError,
    "featureMaps(Skips()): layer 'unused' was not called by forward()",
  );
  assert.deepEqual(Object.keys(featureMaps(new Skips(), x, [])), []);
});
