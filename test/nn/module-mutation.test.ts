/**
 * Module's call wrapper, case by case (the cases nn/module.ts's mutation run showed untested): forward
 * interceptors and observers (ONNX export and summary() run on them) are removed again when their scope ends,
 * backward hooks stay out of noGrad calls, an error is named once however many calls it crosses, and loaded
 * buffers are copied into the module's own buffers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  BatchNorm1d,
  Linear,
  Module,
  ReLU,
  Sequential,
  TsgradError,
  getBackend,
  listBackends,
  noGrad,
  ones,
  setBackend,
  tensor,
  type Tensor,
} from '../../src/index.js';
import { interceptForward, observeForward } from '../../src/nn/module.js';
import { throwsExactly, values } from '../helpers/nn-fixtures.js';

test('interceptForward wraps every module call while fn runs, and only then', () => {
  const net = new Sequential(new Linear(2, 2), new ReLU());
  const seen: string[] = [];
  const out = interceptForward(
    (m, args, call) => {
      seen.push(`${m.describe()}:${(args[0] as Tensor).shape.join('x')}`);
      const y = call() as Tensor;
      // The interceptor's return value is the call's output.
      return m instanceof ReLU ? y.mul(0).add(7) : y;
    },
    () => net.forward(ones([3, 2])),
  );
  assert.deepEqual(seen, ['Sequential():3x2', 'Linear(2, 2):3x2', 'ReLU():3x2']);
  assert.deepEqual(values(out as Tensor), [7, 7, 7, 7, 7, 7]);
  assert.equal(
    interceptForward(
      () => 'replaced',
      () => 'fn result',
    ),
    'fn result',
  );
  // Outside the scope, calls are not intercepted any more.
  seen.length = 0;
  const plain = net.forward(ones([1, 2]));
  assert.deepEqual(seen, []);
  assert.ok(values(plain).every((v) => v >= 0) && values(plain).some((v) => v !== 7));
});

test('interceptForward restores the previous interceptor, also when fn throws', () => {
  const relu = new ReLU();
  const outer: string[] = [];
  interceptForward(
    (m, _args, call) => {
      outer.push(m.describe());
      return call();
    },
    () => {
      assert.throws(
        () =>
          interceptForward(
            (_m, _args, call) => call(),
            () => {
              throw new Error('inner failure');
            },
          ),
        /inner failure/,
      );
      // Back in the outer scope: the outer interceptor sees this call.
      relu.forward(tensor([1]));
    },
  );
  assert.deepEqual(outer, ['ReLU()']);
  relu.forward(tensor([1]));
  assert.deepEqual(outer, ['ReLU()'], 'no interceptor after the outer scope');
});

test('observeForward sees outputs only while fn runs; a nested observer hands back to the outer one', () => {
  const fc = new Linear(2, 1);
  const outer: number[][] = [];
  const inner: number[][] = [];
  observeForward(
    (_m, out) => outer.push([...(out as Tensor).shape]),
    () => {
      observeForward(
        (_m, out) => inner.push([...(out as Tensor).shape]),
        () => fc.forward(ones([4, 2])),
      );
      fc.forward(ones([5, 2]));
    },
  );
  fc.forward(ones([6, 2]));
  assert.deepEqual(inner, [[4, 1]]);
  assert.deepEqual(outer, [[5, 1]]);
});

test('a full backward hook is not wired into a call made under noGrad', () => {
  const fc = new Linear(2, 1);
  let calls = 0;
  fc.registerFullBackwardHook(() => void calls++);
  const x = tensor([[1, 2]], { requiresGrad: true });
  const y = noGrad(() => fc.forward(x));
  assert.equal(y.requiresGrad, false);
  assert.deepEqual(values(y), values(noGrad(() => x.matmul(fc.weight.transpose(0, 1)).add(fc.bias!))));
  // With grad on, the hook runs once per backward.
  fc.forward(x).sum().backward();
  assert.equal(calls, 1);
});

test("forward and its hooks get the caller's own tensors when no backward hook is wired", () => {
  // Only a full backward hook, with grad on, passes the arguments through identity views (as PyTorch does):
  // otherwise a hook that keys results by its input tensor (a feature cache) finds the caller's tensor.
  const fc = new Linear(2, 1);
  const seen: unknown[] = [];
  fc.registerForwardHook((_m, inputs) => void seen.push(inputs[0]));
  const x = tensor([[1, 2]], { requiresGrad: true });
  fc.forward(x);
  assert.equal(seen[0], x, 'a forward hook alone: no wiring');
  fc.registerFullBackwardHook(() => undefined);
  noGrad(() => fc.forward(x));
  assert.equal(seen[1], x, 'a backward hook under noGrad: no wiring');
  fc.forward(x);
  assert.notEqual(seen[2], x, 'a backward hook with grad on sees this call through an identity view');
});

test('an error that crosses a second top-level call keeps the one name it got', () => {
  // A model that remembers a failure and rethrows it on the next call (as a cache of results would).
  class Remembers extends Module {
    fc = new Linear(3, 1);
    failure: unknown = null;
    forward(x: Tensor): Tensor {
      if (this.failure) throw this.failure;
      try {
        return this.fc.forward(x);
      } catch (e) {
        this.failure = e;
        throw e;
      }
    }
  }
  const m = new Remembers();
  const first = (() => {
    try {
      m.forward(ones([1, 2]));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(first instanceof TsgradError);
  assert.equal(first.layer, 'fc');
  assert.match(first.message, /^fc \(Linear\(3, 1\)\): /);
  const message = first.message;
  assert.throws(
    () => m.forward(ones([1, 2])),
    (e: unknown) => e === first && first.layer === 'fc' && first.message === message,
  );
});

test('loadStateDict copies into the existing buffers, so a reference taken before sees the loaded values', () => {
  const bn = new BatchNorm1d(2);
  const runningMean = bn.buffer('running_mean');
  bn.loadStateDict({ ...bn.stateDict(), running_mean: tensor([3, -4]) });
  assert.equal(bn.buffer('running_mean'), runningMean);
  assert.deepEqual(values(runningMean), [3, -4]);
});

test('loadStateDict refuses a buffer from another backend, as it does a parameter', () => {
  const others = listBackends().filter((b) => b !== 'cpu');
  assert.ok(others.length > 0, 'a second backend (wasm) is registered');
  const previous = getBackend();
  try {
    setBackend('cpu');
    const bn = new BatchNorm1d(2, { affine: false });
    const fc = new Linear(2, 1);
    setBackend(others[0]!);
    const fromOther = {
      running_mean: tensor([1, 2]),
      running_var: tensor([3, 4]),
      num_batches_tracked: tensor(5, { dtype: 'int32' }),
    };
    const weights = { weight: tensor([[1, 2]]), bias: tensor([3]) };
    setBackend('cpu');
    throwsExactly(
      () => bn.loadStateDict(fromOther),
      ArgumentError,
      `loadStateDict(BatchNorm1d(2, eps=0.00001, momentum=0.1)): running_mean is on backend '${others[0]}', the module's tensor on 'cpu'`,
    );
    throwsExactly(
      () => fc.loadStateDict(weights),
      ArgumentError,
      `loadStateDict(Linear(2, 1)): weight is on backend '${others[0]}', the module's tensor on 'cpu'`,
    );
    // Nothing was loaded: the module still works on its own backend.
    assert.deepEqual(values(bn.buffer('running_mean')), [0, 0]);
    bn.eval();
    assert.deepEqual(values(bn.forward(tensor([[1, 1]]))).length, 2);
  } finally {
    setBackend(previous);
  }
});
