// The Optimizer base class on its own (src/optim/optimizer.ts), through a minimal subclass whose rule and
// state are known: parameter groups and their options, the exact option errors, which parameters step()
// touches, zeroGrad, and the state dict's layout and its checks on loading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, ArgumentError, Optimizer, Parameter, SGD, TsgradError, type Tensor, tensor } from '../../src/index.js';
import type { GroupState, ParamState } from '../../src/optim/optimizer.js';
import { throwsExactly, values } from '../helpers/nn-fixtures.js';

/** p − lr·g, counting its steps and keeping the last gradient per parameter. No weightDecay option at all. */
class PlainStep extends Optimizer<{ lr: number }> {
  constructor(params: ConstructorParameters<typeof Optimizer<{ lr: number }>>[0], lr = 0.5) {
    super(params, { lr });
  }
  protected update(p: Tensor, grad: Tensor, state: ParamState, group: GroupState<{ lr: number }>): Tensor {
    state['count'] = ((state['count'] as number | undefined) ?? 0) + 1;
    state['last'] = grad.clone();
    return p.sub(grad.mul(group.lr));
  }
}

const param = (v: number[]): Parameter => new Parameter(tensor(v));

test('options: defaults under each group’s own; lrs lists them; the group’s list is a copy', () => {
  const a = param([1]);
  const b = param([2]);
  const c = param([3]);
  const list = [b, c];
  const opt = new PlainStep([{ params: [a] }, { params: list, lr: 0.25 }]);
  assert.deepEqual(opt.lrs, [0.5, 0.25]);
  assert.equal(opt.paramGroups.length, 2);
  list.pop();
  assert.equal(opt.paramGroups[1]!.params.length, 2, 'later changes to the caller’s array do not reach the optimizer');
  // A plain list is one group with the defaults.
  const single = new PlainStep([a, b], 0.1);
  assert.equal(single.paramGroups.length, 1);
  assert.deepEqual(single.paramGroups[0]!.params, [a, b]);
  assert.deepEqual(single.lrs, [0.1]);
});

test('option errors name the optimizer, the group and the value', () => {
  throwsExactly(() => new SGD([], { lr: 0.1 }), ArgumentError, 'SGD: got an empty parameter list');
  throwsExactly(() => new PlainStep([]), ArgumentError, 'PlainStep: got an empty parameter list');
  const p = param([1]);
  throwsExactly(
    () => new Adam([{ params: [param([0])] }, { params: [p] }, { params: [p] }]),
    ArgumentError,
    'Adam: a parameter appears twice (param group 2)',
  );
  throwsExactly(() => new PlainStep([p, p]), ArgumentError, 'PlainStep: a parameter appears twice (param group 0)');
  throwsExactly(() => new SGD([p], { lr: -0.1 }), ArgumentError, 'SGD: learning rate must be >= 0, got -0.1');
  throwsExactly(() => new PlainStep([p], NaN), ArgumentError, 'PlainStep: learning rate must be >= 0, got NaN');
  throwsExactly(
    () => new PlainStep([{ params: [p] }, { params: [param([2])], lr: -1 }]),
    ArgumentError,
    'PlainStep: learning rate must be >= 0, got -1',
  );
  throwsExactly(
    () => new SGD([p], { lr: 0.1, weightDecay: -0.01 }),
    ArgumentError,
    'SGD: weight decay must be >= 0, got -0.01',
  );
  throwsExactly(() => new Adam([p], { weightDecay: NaN }), ArgumentError, 'Adam: weight decay must be >= 0, got NaN');
  // From JavaScript: entries that are not tensors, and lists mixing tensors and groups, are refused up front.
  throwsExactly(
    () => new SGD([p, null] as never, { lr: 0.1 }),
    ArgumentError,
    'SGD: parameter 1 of param group 0 is not a tensor (got null)',
  );
  throwsExactly(
    () => new PlainStep([undefined] as never),
    ArgumentError,
    'PlainStep: parameter 0 of param group 0 is not a tensor (got undefined)',
  );
  throwsExactly(
    () => new PlainStep([5, p] as never),
    ArgumentError,
    'PlainStep: parameter 0 of param group 0 is not a tensor (got number)',
  );
  throwsExactly(
    () => new PlainStep([{ params: [p] }, { params: [param([1]), { weight: p }] }] as never),
    ArgumentError,
    'PlainStep: parameter 1 of param group 1 is not a tensor (got object)',
  );
  throwsExactly(
    () => new PlainStep([param([2]), { params: [p] }] as never),
    ArgumentError,
    'PlainStep: the parameter list mixes tensors and param groups; give one or the other',
  );
  throwsExactly(
    () => new PlainStep([{ params: [p] }, param([2])] as never),
    ArgumentError,
    'PlainStep: the parameter list mixes tensors and param groups; give one or the other',
  );
  // lr 0 and weight decay 0 are allowed; an optimizer without a weight-decay option is not asked for one.
  new SGD([p], { lr: 0, weightDecay: 0 });
  assert.deepEqual(new PlainStep([p], 0).lrs, [0]);
});

test('step() updates parameters that require a gradient and have one; state per parameter persists', () => {
  const live = param([1, 2]);
  const frozen = new Parameter(tensor([5]), false);
  const noGrad = param([7]);
  const second = param([10]);
  const opt = new PlainStep([{ params: [live, frozen, noGrad] }, { params: [second], lr: 1 }]);
  frozen.grad = tensor([1]);
  for (let i = 0; i < 2; i++) {
    live.grad = tensor([1, -2]);
    second.grad = tensor([3]);
    opt.step();
  }
  assert.deepEqual(values(live), [0, 4]);
  assert.deepEqual(values(frozen), [5]);
  assert.deepEqual(values(noGrad), [7]);
  assert.deepEqual(values(second), [4], 'the group’s own lr');
  const sd = opt.stateDict();
  // Parameters are numbered across the groups in order: live 0, frozen 1, noGrad 2, second 3.
  assert.deepEqual(sd, {
    state: {
      0: { count: 2, last: { shape: [2], data: [1, -2] } },
      3: { count: 2, last: { shape: [1], data: [3] } },
    },
    paramGroups: [
      { lr: 0.5, params: [0, 1, 2] },
      { lr: 1, params: [3] },
    ],
  });
  // zeroGrad clears every gradient of every group (the frozen one's too).
  opt.zeroGrad();
  assert.ok([live, frozen, noGrad, second].every((q) => q.grad === null));
});

test('loadStateDict restores options and state (as the parameter’s dtype), after checking the layout', () => {
  const make = (dtype: 'float32' | 'float64'): [PlainStep, Parameter, Parameter] => {
    const a = new Parameter(tensor([1, 2], { dtype }));
    const b = new Parameter(tensor([3], { dtype }));
    return [new PlainStep([{ params: [a] }, { params: [b], lr: 0.125 }]), a, b];
  };
  const [src, a] = make('float32');
  a.grad = tensor([0.5, 0.25]);
  src.step();
  const saved = JSON.parse(JSON.stringify(src.stateDict())) as ReturnType<PlainStep['stateDict']>;

  const [dst, a2, b2] = make('float64');
  dst.paramGroups[1]!.lr = 9;
  // A state of the destination's own, which loading replaces.
  b2.grad = tensor([1], { dtype: 'float64' });
  dst.step();
  dst.loadStateDict(saved);
  assert.deepEqual(dst.lrs, [0.5, 0.125]);
  const loaded = dst.stateDict();
  assert.deepEqual(Object.keys(loaded.state), ['0'], 'the old state of parameter 1 is gone');
  assert.deepEqual(loaded.state[0], { count: 1, last: { shape: [2], data: [0.5, 0.25] } });
  // The state continues: the next step counts 2.
  a2.grad = tensor([1, 1], { dtype: 'float64' });
  dst.step();
  assert.equal(dst.stateDict().state[0]!['count'], 2);
  // The restored tensors take the parameter's dtype: 0.1 stays 0.1 for a float64 parameter (float32 would round it).
  const [dst2] = make('float64');
  dst2.loadStateDict({ ...saved, state: { 0: { count: 1, last: { shape: [2], data: [0.1, -0.3] } } } });
  assert.deepEqual(dst2.stateDict().state[0]!['last'], { shape: [2], data: [0.1, -0.3] });

  const one = new PlainStep([param([1])]);
  throwsExactly(
    () => one.loadStateDict(saved),
    TsgradError,
    'PlainStep.loadStateDict: saved state has 2 param groups, this optimizer 1',
  );
  const wrongSize = new PlainStep([{ params: [param([1]), param([1])] }, { params: [param([1])] }]);
  throwsExactly(
    () => wrongSize.loadStateDict(saved),
    TsgradError,
    'PlainStep.loadStateDict: group 0 has 1 parameters saved, 2 here',
  );
  const [dst3] = make('float32');
  throwsExactly(
    () => dst3.loadStateDict({ ...saved, state: { 7: { count: 1 } } }),
    TsgradError,
    'PlainStep.loadStateDict: state for parameter 7, which does not exist',
  );
});
