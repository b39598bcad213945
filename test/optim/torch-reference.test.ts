/**
 * SGD, Adam and AdamW against PyTorch's trajectories
 * (test/fixtures/torch-reference.json, section optim), plus param groups,
 * frozen parameters, state-dict round trips and option validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam,
  AdamW,
  ArgumentError,
  Linear,
  Parameter,
  SGD,
  type DType,
  type Optimizer,
  type Tensor,
} from '../../src/index.js';
import { assertClose, assertSameValues, fixtureSection, fromSpec, type TensorSpec } from '../helpers/nn-fixtures.js';

interface OptimCase {
  name: string;
  optimizer: 'sgd' | 'adam' | 'adamw';
  options: {
    lr: number;
    momentum?: number;
    dampening?: number;
    nesterov?: boolean;
    weightDecay: number;
    betas?: [number, number];
    eps?: number;
    amsgrad?: boolean;
  };
  param0: TensorSpec;
  grads: TensorSpec[];
  params: TensorSpec[];
}

const cases = fixtureSection<OptimCase>('optim');

type AnyOptimizer = Optimizer<{ lr: number }>;

function makeOptimizer(c: OptimCase, params: Tensor[]): AnyOptimizer {
  const o = c.options;
  switch (c.optimizer) {
    case 'sgd':
      return new SGD(params, {
        lr: o.lr,
        momentum: o.momentum ?? 0,
        dampening: o.dampening ?? 0,
        nesterov: o.nesterov ?? false,
        weightDecay: o.weightDecay,
      });
    case 'adam':
    case 'adamw': {
      const opts = {
        lr: o.lr,
        betas: o.betas ?? [0.9, 0.999],
        eps: o.eps ?? 1e-8,
        weightDecay: o.weightDecay,
        amsgrad: o.amsgrad ?? false,
      } as const;
      return c.optimizer === 'adam' ? new Adam(params, opts) : new AdamW(params, opts);
    }
  }
}

test('optim fixture covers sgd, adam and adamw', () => {
  assert.deepEqual([...new Set(cases.map((c) => c.optimizer))].sort(), ['adam', 'adamw', 'sgd']);
  for (const c of cases) assert.equal(c.grads.length, c.params.length);
});

for (const c of cases) {
  for (const dtype of ['float32', 'float64'] as DType[]) {
    test(`${c.name} (${dtype}) follows PyTorch's trajectory`, () => {
      const p = new Parameter(fromSpec(c.param0, dtype));
      const opt = makeOptimizer(c, [p]);
      c.grads.forEach((g, i) => {
        p.grad = fromSpec(g, dtype);
        opt.step();
        assert.equal(p.dtype, dtype);
        assertClose(p, c.params[i]!, 1e-4, `${c.name} step ${i + 1}`);
      });
    });
  }
}

// ------------------------------------------------------------ a plain-number reference
// PyTorch's update rules written out per element in float64, checked
// against the fixtures first, then used for options the fixtures lack
// (dampening, AMSGrad, changing lr mid-run).

interface RefOptions {
  kind: 'sgd' | 'adam' | 'adamw';
  lr: number | ((step: number) => number);
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  betas?: [number, number];
  eps?: number;
  amsgrad?: boolean;
}

function reference(p0: number[], grads: number[][], o: RefOptions): number[][] {
  const p = [...p0];
  const n = p.length;
  const buf: number[] = [];
  const m = new Array<number>(n).fill(0);
  const v = new Array<number>(n).fill(0);
  const vmax = new Array<number>(n).fill(0);
  const out: number[][] = [];
  grads.forEach((g, k) => {
    const t = k + 1;
    const lr = typeof o.lr === 'number' ? o.lr : o.lr(t);
    const wd = o.weightDecay ?? 0;
    for (let i = 0; i < n; i++) {
      let d = g[i]!;
      if (o.kind === 'sgd') {
        if (wd) d += wd * p[i]!;
        const mom = o.momentum ?? 0;
        if (mom) {
          buf[i] = k === 0 ? d : mom * buf[i]! + (1 - (o.dampening ?? 0)) * d;
          d = o.nesterov ? d + mom * buf[i]! : buf[i]!;
        }
        p[i] = p[i]! - lr * d;
      } else {
        const [b1, b2] = o.betas ?? [0.9, 0.999];
        if (wd && o.kind === 'adam') d += wd * p[i]!;
        if (wd && o.kind === 'adamw') p[i] = p[i]! * (1 - lr * wd);
        m[i] = b1 * m[i]! + (1 - b1) * d;
        v[i] = b2 * v[i]! + (1 - b2) * d * d;
        vmax[i] = Math.max(vmax[i]!, v[i]!);
        const denom = Math.sqrt(o.amsgrad ? vmax[i]! : v[i]!) / Math.sqrt(1 - b2 ** t) + (o.eps ?? 1e-8);
        p[i] = p[i]! - (lr / (1 - b1 ** t)) * (m[i]! / denom);
      }
    }
    out.push([...p]);
  });
  return out;
}

test('the plain-number reference reproduces every fixture trajectory', () => {
  for (const c of cases) {
    const traj = reference(
      c.param0.data,
      c.grads.map((g) => g.data),
      { kind: c.optimizer, ...c.options },
    );
    traj.forEach((row, i) => assertClose(row, c.params[i]!, 1e-6, `${c.name} step ${i + 1}`));
  }
});

const beyondFixture: { name: string; ref: RefOptions; make: (p: Tensor[]) => AnyOptimizer }[] = [
  {
    name: 'SGD momentum + dampening',
    ref: { kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.3 },
    make: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.3 }),
  },
  {
    name: 'SGD nesterov + weight decay',
    ref: { kind: 'sgd', lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1 },
    make: (ps) => new SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1 }),
  },
  {
    name: 'Adam amsgrad',
    ref: { kind: 'adam', lr: 0.05, betas: [0.5, 0.9], amsgrad: true },
    make: (ps) => new Adam(ps, { lr: 0.05, betas: [0.5, 0.9], amsgrad: true }),
  },
  {
    name: 'AdamW amsgrad',
    ref: { kind: 'adamw', lr: 0.05, betas: [0.5, 0.9], weightDecay: 0.2, amsgrad: true },
    make: (ps) => new AdamW(ps, { lr: 0.05, betas: [0.5, 0.9], weightDecay: 0.2, amsgrad: true }),
  },
  {
    name: 'AdamW default weight decay 0.01',
    ref: { kind: 'adamw', lr: 0.1, weightDecay: 0.01 },
    make: (ps) => new AdamW(ps, { lr: 0.1 }),
  },
];

for (const b of beyondFixture) {
  for (const dtype of ['float32', 'float64'] as DType[]) {
    test(`${b.name} (${dtype}) matches the reference update rule`, () => {
      const c = cases[0]!;
      // Gradients whose magnitude shrinks, so AMSGrad's running maximum matters.
      const grads = c.grads.map((g, k) => g.data.map((x) => x / (k + 1) ** 2));
      const p = new Parameter(fromSpec(c.param0, dtype));
      const opt = b.make([p]);
      const traj = reference(c.param0.data, grads, b.ref);
      grads.forEach((g, i) => {
        p.grad = fromSpec({ shape: c.param0.shape, data: g }, dtype);
        opt.step();
        assertClose(p, traj[i]!, dtype === 'float64' ? 1e-10 : 1e-5, `step ${i + 1}`);
      });
    });
  }
}

test("changing a group's lr between steps takes effect (learning-rate schedules)", () => {
  const c = cases.find((k) => k.name === 'adam_default')!;
  const p = new Parameter(fromSpec(c.param0, 'float64'));
  const opt = new Adam([p], { lr: 0.1 });
  const schedule = (t: number): number => 0.1 * 0.5 ** (t - 1);
  c.grads.forEach((g, i) => {
    opt.paramGroups[0]!.lr = schedule(i + 1);
    p.grad = fromSpec(g, 'float64');
    opt.step();
  });
  assert.deepEqual(opt.lrs, [schedule(5)]);
  const traj = reference(
    c.param0.data,
    c.grads.map((g) => g.data),
    { kind: 'adam', lr: schedule },
  );
  assertClose(p, traj.at(-1)!, 1e-10, 'after 5 scheduled steps');
});

/** Runs `steps` fixture steps on parameters that all use the same gradient sequence. */
function runSteps(opt: AnyOptimizer, params: Parameter[], grads: TensorSpec[], from = 0, to = grads.length): void {
  for (let i = from; i < to; i++) {
    for (const p of params) p.grad = fromSpec(grads[i]!, p.dtype);
    opt.step();
  }
}

test('two param groups with different lr equal two separate optimizers', () => {
  const c = cases.find((k) => k.optimizer === 'adam')!;
  const a1 = new Parameter(fromSpec(c.param0));
  const b1 = new Parameter(fromSpec(c.param0));
  const grouped = new Adam(
    [
      { params: [a1], lr: 0.05 },
      { params: [b1], lr: 0.001, betas: [0.8, 0.99] },
    ],
    { weightDecay: 0.01 },
  );
  assert.deepEqual(grouped.lrs, [0.05, 0.001]);
  runSteps(grouped, [a1, b1], c.grads);

  const a2 = new Parameter(fromSpec(c.param0));
  const b2 = new Parameter(fromSpec(c.param0));
  const optA = new Adam([a2], { lr: 0.05, weightDecay: 0.01 });
  const optB = new Adam([b2], { lr: 0.001, betas: [0.8, 0.99], weightDecay: 0.01 });
  runSteps(optA, [a2], c.grads);
  runSteps(optB, [b2], c.grads);

  assertSameValues(a1, a2, 'group 0');
  assertSameValues(b1, b2, 'group 1');
  // Different lr really gave different results.
  assert.notDeepEqual(Array.from(a1.dataSync()), Array.from(b1.dataSync()));
});

test('SGD param groups inherit defaults and override momentum per group', () => {
  const c = cases.find((k) => k.name === 'sgd_momentum')!;
  const a1 = new Parameter(fromSpec(c.param0));
  const b1 = new Parameter(fromSpec(c.param0));
  const grouped = new SGD([{ params: [a1] }, { params: [b1], lr: 0.01, momentum: 0 }], { lr: 0.1, momentum: 0.9 });
  runSteps(grouped, [a1, b1], c.grads);
  // Group 0 uses the defaults: exactly the fixture's momentum trajectory.
  assertClose(a1, c.params.at(-1)!, 1e-4, 'group 0 (defaults)');
  // Group 1: plain SGD with lr 0.01: p0 − 0.01·Σg, by hand.
  const expected = c.param0.data.map((v, j) => c.grads.reduce((acc, g) => acc - 0.01 * g.data[j]!, v));
  assertClose(b1, expected, 1e-5, 'group 1 (plain SGD, lr 0.01)');
});

test('frozen parameters and parameters without a gradient are left untouched', () => {
  const c = cases.find((k) => k.name === 'adamw_wd')!;
  const live = new Parameter(fromSpec(c.param0));
  const frozen = new Parameter(fromSpec(c.param0), false);
  const noGrad = new Parameter(fromSpec(c.param0));
  const before = Array.from(frozen.dataSync());
  // AdamW decays weights even with a zero gradient, so a skipped parameter is visible.
  const opt = new AdamW([live, frozen, noGrad], c.options);
  for (const g of c.grads) {
    live.grad = fromSpec(g);
    frozen.grad = fromSpec(g); // a stale gradient must not be applied to a frozen parameter
    noGrad.grad = null;
    opt.step();
  }
  assertClose(live, c.params.at(-1)!, 1e-4, 'live parameter');
  assert.deepEqual(Array.from(frozen.dataSync()), before, 'frozen parameter changed');
  assert.deepEqual(Array.from(noGrad.dataSync()), before, 'parameter without gradient changed');
  // Neither gets optimizer state either.
  assert.deepEqual(Object.keys(opt.stateDict().state), ['0']);
});

test('module.requiresGrad(false) freezes a layer for the optimizer', () => {
  const frozen = new Linear(3, 2).requiresGrad(false);
  const trained = new Linear(3, 2);
  const before = Array.from(frozen.weight.dataSync());
  const opt = new SGD([...frozen.parameters(), ...trained.parameters()], { lr: 0.5 });
  for (const p of [...frozen.parameters(), ...trained.parameters()])
    p.grad = fromSpec({ shape: [...p.shape], data: new Array<number>(p.numel).fill(1) });
  const trainedBefore = Array.from(trained.weight.dataSync());
  opt.step();
  assert.deepEqual(Array.from(frozen.weight.dataSync()), before);
  assertClose(
    trained.weight,
    trainedBefore.map((v) => v - 0.5),
    1e-6,
    'trained weight',
  );
});

// A state dict saved mid-run and loaded (after a JSON round trip) into a
// fresh optimizer over fresh parameters continues bit-identically.
const resumeCases: { name: string; make: (ps: Tensor[], lr?: number) => AnyOptimizer }[] = [
  { name: 'SGD momentum', make: (ps, lr = 0.1) => new SGD(ps, { lr, momentum: 0.9, weightDecay: 0.01 }) },
  { name: 'SGD nesterov', make: (ps, lr = 0.1) => new SGD(ps, { lr, momentum: 0.9, nesterov: true }) },
  { name: 'Adam', make: (ps, lr = 0.01) => new Adam(ps, { lr, weightDecay: 0.1 }) },
  { name: 'Adam amsgrad', make: (ps, lr = 0.01) => new Adam(ps, { lr, amsgrad: true }) },
  { name: 'AdamW', make: (ps, lr = 0.01) => new AdamW(ps, { lr, weightDecay: 0.1 }) },
];

for (const r of resumeCases) {
  test(`${r.name}: stateDict/loadStateDict through JSON resumes identically`, () => {
    const c = cases[0]!;
    // Two parameters of different shapes, so parameter indices matter.
    const spec2: TensorSpec = { shape: [4, 3], data: c.param0.data.map((v) => -0.5 * v) };
    const grads2 = c.grads.map((g) => ({ shape: [4, 3], data: g.data.map((v, j) => v * (j % 3) - 0.1) }));
    const fresh = (): [Parameter, Parameter] => [new Parameter(fromSpec(c.param0)), new Parameter(fromSpec(spec2))];
    const stepAll = (opt: AnyOptimizer, ps: Parameter[], from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        ps[0]!.grad = fromSpec(c.grads[i]!);
        ps[1]!.grad = fromSpec(grads2[i]!);
        opt.step();
      }
    };

    const ref = fresh();
    stepAll(r.make(ref), ref, 0, 5);

    const first = fresh();
    const opt1 = r.make(first);
    stepAll(opt1, first, 0, 2);
    const saved = JSON.parse(JSON.stringify(opt1.stateDict())) as ReturnType<AnyOptimizer['stateDict']>;
    assert.equal(Object.keys(saved.state).length, 2);

    // Fresh parameters holding the values after step 2, and an optimizer
    // built with a different lr: loadStateDict restores the saved one.
    const second: [Parameter, Parameter] = [
      new Parameter(first[0].detach().clone()),
      new Parameter(first[1].detach().clone()),
    ];
    const opt2 = r.make(second, 123);
    opt2.loadStateDict(saved);
    assert.deepEqual(opt2.lrs, opt1.lrs);
    stepAll(opt2, second, 2, 5);

    assertSameValues(second[0], ref[0], 'param 0');
    assertSameValues(second[1], ref[1], 'param 1');

    // And without loading the state the run differs (the test can tell).
    const third: [Parameter, Parameter] = [
      new Parameter(first[0].detach().clone()),
      new Parameter(first[1].detach().clone()),
    ];
    stepAll(r.make(third), third, 2, 5);
    assert.notDeepEqual(Array.from(third[0].dataSync()), Array.from(ref[0].dataSync()));
  });
}

test('loadStateDict rejects a state dict for a different set of parameters', () => {
  const p = new Parameter(fromSpec(cases[0]!.param0));
  const q = new Parameter(fromSpec(cases[0]!.param0));
  const opt = new Adam([p, q]);
  const sd = JSON.parse(JSON.stringify(opt.stateDict())) as ReturnType<AnyOptimizer['stateDict']>;
  assert.throws(() => new Adam([p]).loadStateDict(sd), /1 here|2 parameters/);
  assert.throws(() => new Adam([{ params: [p] }, { params: [q] }]).loadStateDict(sd), /param groups/);
});

function param(): Parameter {
  return new Parameter(fromSpec(cases[0]!.param0));
}

test('invalid options throw ArgumentError', () => {
  const bad: [string, () => unknown][] = [
    ['SGD negative lr', () => new SGD([param()], { lr: -0.1 })],
    ['SGD NaN lr', () => new SGD([param()], { lr: NaN })],
    ['SGD nesterov without momentum', () => new SGD([param()], { lr: 0.1, nesterov: true })],
    [
      'SGD nesterov with dampening',
      () => new SGD([param()], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
    ],
    ['SGD negative momentum', () => new SGD([param()], { lr: 0.1, momentum: -0.5 })],
    ['Adam negative lr', () => new Adam([param()], { lr: -1e-3 })],
    ['Adam beta1 = 1', () => new Adam([param()], { betas: [1, 0.999] })],
    ['Adam beta2 > 1', () => new Adam([param()], { betas: [0.9, 1.5] })],
    ['Adam negative beta', () => new Adam([param()], { betas: [-0.1, 0.999] })],
    ['Adam negative eps', () => new Adam([param()], { eps: -1 })],
    ['AdamW bad betas', () => new AdamW([param()], { betas: [0.9, 1] })],
    ['group with negative lr', () => new Adam([{ params: [param()] }, { params: [param()], lr: -1 }])],
    ['empty parameter list', () => new SGD([], { lr: 0.1 })],
    [
      'parameter listed twice',
      () => {
        const p = param();
        return new Adam([{ params: [p] }, { params: [p] }]);
      },
    ],
  ];
  for (const [name, fn] of bad) assert.throws(fn, ArgumentError, name);
  // Valid edge values are accepted.
  new SGD([param()], { lr: 0 });
  new Adam([param()], { betas: [0, 0], eps: 0 });
});

test('negative weight decay is rejected (as PyTorch does)', () => {
  assert.throws(() => new SGD([param()], { lr: 0.1, weightDecay: -0.01 }), ArgumentError, 'SGD');
  assert.throws(() => new Adam([param()], { weightDecay: -0.01 }), ArgumentError, 'Adam');
  assert.throws(() => new AdamW([param()], { weightDecay: -0.01 }), ArgumentError, 'AdamW');
});
