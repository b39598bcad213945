/**
 * Module machinery: parameter naming, counting, state dicts, modes,
 * dropout / batch norm behaviour, freezing, error naming, and weight init.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Dropout2d,
  ArgumentError,
  functional as F,
  Generator,
  LeNet5,
  Linear,
  Module,
  Parameter,
  ReLU,
  Sequential,
  ShapeError,
  Tanh,
  TsgradError,
  fromArray,
  init,
  ones,
  randn,
  tensor,
  zeros,
  type Tensor,
} from '../../src/index.js';
import { assertClose, values } from '../helpers/nn-fixtures.js';

class Block extends Module {
  readonly body: Sequential;
  readonly skip: Linear;
  constructor() {
    super();
    this.body = new Sequential(new Linear(4, 4), new Tanh(), new Linear(4, 4, { bias: false }));
    this.skip = new Linear(4, 4);
  }
  forward(x: Tensor): Tensor {
    return (this.body.forward(x) as Tensor).add(this.skip.forward(x));
  }
}

class Net extends Module {
  readonly stem: Linear;
  readonly blocks: Block[];
  readonly head: Sequential;
  readonly scale: Parameter;
  constructor() {
    super();
    this.stem = new Linear(3, 4);
    this.blocks = [new Block(), new Block()];
    this.head = new Sequential(new ReLU(), new Linear(4, 2));
    this.scale = new Parameter(ones([1]));
  }
  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.head.forward(h).mul(this.scale);
  }
}

function names(m: Module): string[] {
  return m.namedParameters().map(([n]) => n);
}

// ------------------------------------------------------------ naming

test('Sequential children are named 0, 1, ... and skip parameterless layers', () => {
  const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2, { bias: false }));
  assert.deepEqual(names(net), ['0.weight', '0.bias', '2.weight']);
  assert.deepEqual(
    net.namedParameters().map(([, p]) => [...p.shape]),
    [[8, 4], [8], [2, 8]],
  );
  assert.deepEqual(
    net.namedModules().map(([n, m]) => `${n}:${m.constructor.name}`),
    [':Sequential', '0:Linear', '1:ReLU', '2:Linear'],
  );
});

test('nested modules and arrays of modules give dotted names', () => {
  const net = new Net();
  // The module's own parameters come first, then children depth first (PyTorch's order).
  const expected = [
    'scale',
    'stem.weight',
    'stem.bias',
    'blocks.0.body.0.weight',
    'blocks.0.body.0.bias',
    'blocks.0.body.2.weight',
    'blocks.0.skip.weight',
    'blocks.0.skip.bias',
    'blocks.1.body.0.weight',
    'blocks.1.body.0.bias',
    'blocks.1.body.2.weight',
    'blocks.1.skip.weight',
    'blocks.1.skip.bias',
    'head.1.weight',
    'head.1.bias',
  ];
  assert.deepEqual(names(net), expected);
  // 3·4+4 + 2·((16+4) + 16 + (16+4)) + 4·2+2 + 1
  assert.equal(net.numParameters(), 16 + 2 * 56 + 10 + 1);
  assert.deepEqual(net.forward(randn([5, 3])).shape, [5, 2]);
});

test('a parameter shared by two layers is listed once', () => {
  const a = new Linear(4, 4);
  const b = new Linear(4, 4);
  b.weight = a.weight;
  const net = new Sequential(a, b);
  assert.deepEqual(names(net), ['0.weight', '0.bias', '1.bias']);
  assert.equal(net.numParameters(), 16 + 4 + 4);
});

test('LeNet5 parameter names and shapes', () => {
  const net = new LeNet5();
  const shapes = Object.fromEntries(net.namedParameters().map(([n, p]) => [n, [...p.shape]]));
  assert.deepEqual(shapes, {
    'features.0.weight': [6, 1, 5, 5],
    'features.0.bias': [6],
    'features.3.weight': [16, 6, 5, 5],
    'features.3.bias': [16],
    'classifier.1.weight': [120, 400],
    'classifier.1.bias': [120],
    'classifier.3.weight': [84, 120],
    'classifier.3.bias': [84],
    'classifier.5.weight': [10, 84],
    'classifier.5.bias': [10],
  });
});

test('LeNet5 has 61,706 parameters (28×28 input, padding 2)', () => {
  // By hand:
  //   conv1  6·1·5·5 + 6    =    156
  //   conv2 16·6·5·5 + 16   =  2,416
  //   fc1   400·120 + 120   = 48,120   (16 channels · 5·5 after two 2×2 pools: 28→28→14→10→5)
  //   fc2   120·84 + 84     = 10,164
  //   fc3    84·10 + 10     =    850
  //   total                 = 61,706
  const net = new LeNet5();
  assert.equal(net.numParameters(), 61706);
  assert.deepEqual(net.forward(zeros([2, 1, 28, 28])).shape, [2, 10]);
  net.features.requiresGrad(false);
  assert.equal(net.numParameters({ trainableOnly: true }), 61706 - 156 - 2416);
  assert.equal(
    new LeNet5({ numClasses: 3, inChannels: 3, inputSize: 32 }).numParameters(),
    6 * 3 * 25 + 6 + 2416 + 48120 + 10164 + 84 * 3 + 3,
  );
});

// ------------------------------------------------------------ state dicts

function convBn(): Sequential {
  return new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new Linear(2, 2));
}

test('stateDict holds parameters and batch-norm buffers by dotted name', () => {
  const sd = convBn().stateDict();
  assert.deepEqual(Object.keys(sd).sort(), [
    '0.bias',
    '0.weight',
    '1.bias',
    '1.num_batches_tracked',
    '1.running_mean',
    '1.running_var',
    '1.weight',
    '3.bias',
    '3.weight',
  ]);
  assert.deepEqual(values(sd['1.running_mean']!), [0, 0, 0, 0]);
  assert.deepEqual(values(sd['1.running_var']!), [1, 1, 1, 1]);
  assert.equal(sd['1.num_batches_tracked']!.itemSync(), 0);
  for (const t of Object.values(sd)) assert.equal(t.requiresGrad, false);
});

test('loadStateDict copies every value into another model', () => {
  const a = convBn();
  a.forward(randn([3, 1, 4, 4], { generator: new Generator(1) })); // moves a's running stats
  const b = convBn();
  const r = b.loadStateDict(a.stateDict());
  assert.deepEqual(r.missingKeys, []);
  assert.deepEqual(r.unexpectedKeys, []);
  assert.equal(r.loadedKeys.length, 9);
  const sa = a.stateDict();
  const sb = b.stateDict();
  for (const k of Object.keys(sa)) assert.deepEqual(values(sb[k]!), values(sa[k]!), k);
  assert.equal(sb['1.num_batches_tracked']!.itemSync(), 1);
  // The copy is independent: changing a afterwards does not change b.
  a.forward(randn([3, 1, 4, 4], { generator: new Generator(2) }));
  assert.notDeepEqual(values(a.stateDict()['1.running_mean']!), values(b.stateDict()['1.running_mean']!));
});

test('strict loadStateDict names missing and unexpected keys', () => {
  const sd = convBn().stateDict();
  delete sd['0.bias'];
  delete sd['1.running_var'];
  sd['9.weight'] = zeros([2]);
  const target = convBn();
  const before = values(target.stateDict()['0.weight']!);
  let err: unknown;
  try {
    target.loadStateDict(sd);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TsgradError, 'throws a TsgradError');
  assert.match(err.message, /missing keys: .*0\.bias/);
  assert.match(err.message, /missing keys: .*1\.running_var/);
  assert.match(err.message, /unexpected keys: .*9\.weight/);
  // Nothing was loaded.
  assert.deepEqual(values(target.stateDict()['0.weight']!), before);
});

test('non-strict loadStateDict loads the matching keys and reports the rest', () => {
  const src = convBn();
  const sd = src.stateDict();
  delete sd['0.bias'];
  sd['extra.thing'] = ones([3]);
  const target = convBn();
  const r = target.loadStateDict(sd, { strict: false });
  assert.deepEqual(r.missingKeys, ['0.bias']);
  assert.deepEqual(r.unexpectedKeys, ['extra.thing']);
  assert.ok(r.loadedKeys.includes('0.weight'));
  assert.ok(!r.loadedKeys.includes('extra.thing'));
  assert.deepEqual(values(target.stateDict()['0.weight']!), values(src.stateDict()['0.weight']!));
});

test('shape mismatch names the key and both shapes', () => {
  const sd = convBn().stateDict();
  sd['0.weight'] = zeros([4, 2, 3, 3]);
  const target = convBn();
  assert.throws(
    () => target.loadStateDict(sd, { strict: false }),
    (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /0\.weight/);
      assert.match(e.message, /\[4, 2, 3, 3\]/);
      assert.match(e.message, /\[4, 1, 3, 3\]/);
      return true;
    },
  );
});

// ------------------------------------------------------------ modes

test('train() and eval() reach every sub-module', () => {
  const net = new Net();
  net.eval();
  assert.ok(net.namedModules().every(([, m]) => m.training === false));
  net.train();
  assert.ok(net.namedModules().every(([, m]) => m.training === true));
  net.train(false);
  assert.ok(net.namedModules().every(([, m]) => m.training === false));
  assert.equal(net.blocks[1]!.body.at(1).training, false);
});

test('Dropout is the identity in eval mode', () => {
  const d = new Dropout(0.5, new Generator(3)).eval();
  const x = randn([50, 40], { generator: new Generator(4) });
  assert.deepEqual(values(d.forward(x)), values(x));
  assert.deepEqual(values(new Dropout(0).forward(x)), values(x));
  assert.ok(values(new Dropout(1).forward(x)).every((v) => v === 0));
});

test('Dropout in training zeroes about p of the elements and scales survivors by 1/(1−p)', () => {
  for (const p of [0.2, 0.5, 0.8]) {
    const d = new Dropout(p, new Generator(11));
    const n = 100_000;
    const x = fromArray(
      Float32Array.from({ length: n }, (_, i) => 1 + (i % 7)),
      [n],
    );
    const y = d.forward(x).dataSync();
    const xs = x.dataSync();
    let zeros_ = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) zeros_++;
      else assertClose([y[i]!], [xs[i]! / (1 - p)], 1e-6, `survivor ${i} (p=${p})`);
    }
    // Binomial std of the fraction is √(p(1−p)/n) ≤ 0.0016; allow 5σ.
    assert.ok(Math.abs(zeros_ / n - p) < 0.008, `p=${p}: zeroed fraction ${zeros_ / n}`);
    // A new call draws a new mask.
    const y2 = d.forward(x).dataSync();
    assert.notDeepEqual(Array.from(y2), Array.from(y));
  }
});

test('Dropout2d zeroes whole channels in training and is the identity in eval', () => {
  const p = 0.4;
  const d = new Dropout2d(p, new Generator(12));
  const x = fromArray(
    Float32Array.from({ length: 8 * 50 * 9 }, (_, i) => 1 + (i % 5)),
    [8, 50, 3, 3],
  );
  const y = d.forward(x).dataSync();
  const xs = x.dataSync();
  let dropped = 0;
  for (let ch = 0; ch < 8 * 50; ch++) {
    const plane = Array.from(y.slice(ch * 9, ch * 9 + 9));
    if (plane.every((v) => v === 0)) {
      dropped++;
      continue;
    }
    plane.forEach((v, j) => assertClose([v], [xs[ch * 9 + j]! / (1 - p)], 1e-6, `channel ${ch}`));
  }
  // 400 channels: binomial std of the fraction ≈ 0.024; allow 5σ.
  assert.ok(Math.abs(dropped / 400 - p) < 0.12, `dropped fraction ${dropped / 400}`);
  d.eval();
  assert.deepEqual(values(d.forward(x)), values(x));
});

test('Dropout2d with p = 1 gives zeros, and functional dropout2d validates p like dropout', () => {
  const x = ones([2, 3, 2, 2]);
  // dropout(x, 1) is special-cased to zeros; dropout2d must agree (not 0/0 = NaN).
  assert.ok(
    values(F.dropout(x, 1)).every((v) => v === 0),
    'dropout p=1',
  );
  assert.deepEqual(values(new Dropout2d(1).forward(x)), new Array<number>(24).fill(0), 'Dropout2d p=1');
  assert.throws(() => F.dropout(x, 1.5), ArgumentError, 'dropout p=1.5');
  assert.throws(() => F.dropout2d(x, 1.5), ArgumentError, 'dropout2d p=1.5');
  assert.throws(() => F.dropout2d(x, -0.1), ArgumentError, 'dropout2d p=-0.1');
});

test('BatchNorm in eval mode normalizes with the running statistics', () => {
  const bn = new BatchNorm1d(3, { eps: 1e-5 });
  bn.loadStateDict({
    weight: tensor([2, 1, 0.5]),
    bias: tensor([0, 1, -1]),
    running_mean: tensor([1, -2, 0.5]),
    running_var: tensor([4, 0.25, 1]),
    num_batches_tracked: tensor(7, { dtype: 'int32' }),
  });
  bn.eval();
  const rows = [
    [1, 0, 0],
    [3, -2, 2.5],
  ];
  const y = bn.forward(tensor(rows));
  const w = [2, 1, 0.5];
  const b = [0, 1, -1];
  const m = [1, -2, 0.5];
  const v = [4, 0.25, 1];
  const expected = rows.flatMap((r) => r.map((x, c) => ((x - m[c]!) / Math.sqrt(v[c]! + 1e-5)) * w[c]! + b[c]!));
  assertClose(y, expected, 1e-6, 'eval output');
  // Buffers untouched.
  assert.deepEqual(values(bn.buffer('running_mean')), m);
  assert.equal(bn.buffer('num_batches_tracked').itemSync(), 7);

  // The same input in training mode uses the batch statistics instead.
  bn.train();
  const yt = bn.forward(tensor(rows)).dataSync();
  // Column 0: values 1 and 3, batch mean 2, biased var 1 → (±1)/√(1+eps)·2 + 0.
  assertClose([yt[0]!, yt[3]!], [-2 / Math.sqrt(1 + 1e-5), 2 / Math.sqrt(1 + 1e-5)], 1e-6, 'train output col 0');
  assert.equal(bn.buffer('num_batches_tracked').itemSync(), 8);
  // running_mean ← 0.9·1 + 0.1·2; running_var ← 0.9·4 + 0.1·(unbiased var 2).
  assertClose(
    [bn.buffer('running_mean').dataSync()[0]!, bn.buffer('running_var').dataSync()[0]!],
    [1.1, 3.8],
    1e-6,
    'running stats col 0',
  );
});

test('BatchNorm with momentum null keeps a cumulative average', () => {
  const bn = new BatchNorm1d(1, { momentum: null });
  bn.forward(tensor([[0], [2]])); // mean 1, unbiased var 2
  bn.forward(tensor([[4], [4], [7]])); // mean 5, unbiased var 3
  assertClose(bn.buffer('running_mean'), [(1 + 5) / 2], 1e-6, 'cumulative mean');
  assertClose(bn.buffer('running_var'), [(2 + 3) / 2], 1e-6, 'cumulative var');
});

test('BatchNorm1d on [N, C, L] normalizes each channel over N and L', () => {
  const x = randn([4, 3, 5], { generator: new Generator(30) });
  const bn = new BatchNorm1d(3, { momentum: 0.2 });
  const y = bn.forward(x).dataSync();
  const xs = x.dataSync();
  for (let c = 0; c < 3; c++) {
    const vals: number[] = [];
    for (let n = 0; n < 4; n++) for (let l = 0; l < 5; l++) vals.push(xs[n * 15 + c * 5 + l]!);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const varB = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
    for (let n = 0; n < 4; n++) {
      for (let l = 0; l < 5; l++) {
        const i = n * 15 + c * 5 + l;
        assertClose([y[i]!], [(xs[i]! - mean) / Math.sqrt(varB + 1e-5)], 1e-5, `y[${n}, ${c}, ${l}]`);
      }
    }
    // running_var ← 0.8·1 + 0.2·(unbiased variance over the 20 values).
    assertClose([bn.buffer('running_var').dataSync()[c]!], [0.8 + (0.2 * varB * 20) / 19], 1e-5, `running_var[${c}]`);
    assertClose([bn.buffer('running_mean').dataSync()[c]!], [0.2 * mean], 1e-5, `running_mean[${c}]`);
  }
  assert.throws(() => bn.forward(zeros([4, 2, 5])), ShapeError);
  assert.throws(() => new BatchNorm2d(3).forward(zeros([4, 3])), ShapeError);
});

test('BatchNorm without affine or running stats has no parameters or buffers and always uses batch stats', () => {
  const bn = new BatchNorm2d(2, { affine: false, trackRunningStats: false });
  assert.deepEqual(Object.keys(bn.stateDict()), []);
  assert.equal(bn.parameters().length, 0);
  bn.eval();
  const y = bn.forward(
    randn([3, 2, 2, 2], { generator: new Generator(31) })
      .mul(5)
      .add(3),
  );
  const m = y.mean([0, 2, 3]).dataSync();
  assert.ok(Math.abs(m[0]!) < 1e-5 && Math.abs(m[1]!) < 1e-5, `channel means ${m[0]}, ${m[1]}`);
});

test('requiresGrad(false) freezes the parameters but lets gradients reach the input', () => {
  const net = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 1));
  net.at(0).requiresGrad(false);
  const x = randn([5, 3], { generator: new Generator(5), requiresGrad: true });
  (net.forward(x) as Tensor).sum().backward();
  const [w0, b0, w2, b2] = net.parameters();
  assert.equal(w0!.grad, null);
  assert.equal(b0!.grad, null);
  assert.ok(w2!.grad && b2!.grad, 'unfrozen layer gets gradients');
  assert.ok(x.grad, 'input gets a gradient through the frozen layer');
  net.requiresGrad(false);
  net.zeroGrad();
  const y = net.forward(randn([2, 3]));
  assert.equal(y.requiresGrad, false, 'a fully frozen net builds no graph');
  net.requiresGrad(true);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
});

// ------------------------------------------------------------ error naming

function thrown(fn: () => unknown): TsgradError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TsgradError, `expected a TsgradError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

test('an error inside a nested layer names its path, type and shapes', () => {
  const net = new LeNet5();
  const e = thrown(() => net.forward(zeros([2, 3, 28, 28])));
  assert.ok(e instanceof ShapeError);
  assert.match(e.message, /features\.0/);
  assert.match(e.message, /Conv2d/);
  assert.match(e.message, /\[N, 1, H, W\]/);
  assert.match(e.message, /\[2, 3, 28, 28\]/);
  assert.equal(e.layer, 'features.0');
  // A second failing call is named afresh, not double-prefixed.
  const e2 = thrown(() => net.forward(zeros([1, 2, 28, 28])));
  assert.equal(e2.message.match(/features\.0/g)?.length, 1, e2.message);
});

test('a wrong feature count in a deep Linear names the layer and the shapes', () => {
  const net = new LeNet5();
  // 32×32 input without padding reaches the classifier with 16·6·6 = 576 features, not 400.
  const e = thrown(() => net.forward(zeros([1, 1, 32, 32])));
  assert.match(e.message, /classifier\.1/);
  assert.match(e.message, /Linear\(400, 120\)/);
  assert.match(e.message, /\[1, 576\]/);
  assert.match(e.message, /400/);
  assert.equal(e.layer, 'classifier.1');

  const seq = new Sequential(new Linear(4, 8), new ReLU(), new Linear(16, 2));
  const e2 = thrown(() => seq.forward(zeros([3, 4])));
  assert.match(e2.message, /^2 \(Linear\(16, 2\)\)/);
  assert.match(e2.message, /\[3, 8\]/);
  assert.match(e2.message, /\[2, 16\]/);

  const single = thrown(() => new Linear(4, 2).forward(zeros([3, 5])));
  assert.match(single.message, /Linear\(4, 2\)/);
  assert.match(single.message, /\[3, 5\]/);
});

// ------------------------------------------------------------ init

function stats(t: Tensor): { mean: number; std: number; maxAbs: number } {
  const d = t.dataSync();
  let s = 0;
  let s2 = 0;
  let m = 0;
  for (const v of d) {
    s += v;
    s2 += v * v;
    m = Math.max(m, Math.abs(v));
  }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(s2 / d.length - mean * mean), maxAbs: m };
}

// [256, 512]: fan_in 512, fan_out 256.
const FAN_IN = 512;
const FAN_OUT = 256;

function checkUniform(t: Tensor, bound: number, label: string): void {
  const s = stats(t);
  assert.ok(s.maxAbs <= bound * (1 + 1e-6), `${label}: max |w| ${s.maxAbs} beyond bound ${bound}`);
  assert.ok(s.maxAbs >= bound * 0.99, `${label}: max |w| ${s.maxAbs} far inside bound ${bound}`);
  assert.ok(
    Math.abs(s.std / (bound / Math.sqrt(3)) - 1) < 0.02,
    `${label}: std ${s.std}, expected ${bound / Math.sqrt(3)}`,
  );
  assert.ok(Math.abs(s.mean) < 0.01 * bound, `${label}: mean ${s.mean}`);
}

function checkNormal(t: Tensor, std: number, label: string): void {
  const s = stats(t);
  assert.ok(Math.abs(s.std / std - 1) < 0.02, `${label}: std ${s.std}, expected ${std}`);
  assert.ok(Math.abs(s.mean) < 0.01 * std, `${label}: mean ${s.mean}`);
  assert.ok(s.maxAbs > 3.5 * std, `${label}: tails missing (max ${s.maxAbs})`);
}

test('xavierUniform and xavierNormal bounds and std', () => {
  const g = new Generator(21);
  checkUniform(
    init.xavierUniform(zeros([FAN_OUT, FAN_IN]), { generator: g }),
    Math.sqrt(6 / (FAN_IN + FAN_OUT)),
    'xavierUniform',
  );
  checkUniform(
    init.xavierUniform(zeros([FAN_OUT, FAN_IN]), { generator: g, gain: 5 / 3 }),
    (5 / 3) * Math.sqrt(6 / (FAN_IN + FAN_OUT)),
    'xavierUniform gain',
  );
  checkNormal(
    init.xavierNormal(zeros([FAN_OUT, FAN_IN]), { generator: g }),
    Math.sqrt(2 / (FAN_IN + FAN_OUT)),
    'xavierNormal',
  );
});

test('kaimingUniform and kaimingNormal bounds and std', () => {
  const g = new Generator(22);
  // Default: leaky ReLU with a = 0 → gain √2, fan_in.
  checkUniform(
    init.kaimingUniform(zeros([FAN_OUT, FAN_IN]), { generator: g }),
    Math.sqrt(6 / FAN_IN),
    'kaimingUniform',
  );
  checkUniform(
    init.kaimingUniform(zeros([FAN_OUT, FAN_IN]), { generator: g, mode: 'fanOut', nonlinearity: 'relu' }),
    Math.sqrt(6 / FAN_OUT),
    'kaimingUniform fanOut',
  );
  checkNormal(init.kaimingNormal(zeros([FAN_OUT, FAN_IN]), { generator: g }), Math.sqrt(2 / FAN_IN), 'kaimingNormal');
  checkNormal(
    init.kaimingNormal(zeros([FAN_OUT, FAN_IN]), { generator: g, a: 0.2 }),
    Math.sqrt(2 / 1.04 / FAN_IN),
    'kaimingNormal a=0.2',
  );
  // Conv weights: fan_in = in · kH · kW = 16·3·3 = 144.
  checkNormal(
    init.kaimingNormal(zeros([128, 16, 3, 3]), { generator: g, nonlinearity: 'relu' }),
    Math.sqrt(2 / 144),
    'kaimingNormal conv',
  );
});

test('init functions use the generator: same seed, same values', () => {
  const a = init.kaimingUniform(zeros([8, 8]), { generator: new Generator(5) });
  const b = init.kaimingUniform(zeros([8, 8]), { generator: new Generator(5) });
  const c = init.kaimingUniform(zeros([8, 8]), { generator: new Generator(6) });
  assert.deepEqual(values(a), values(b));
  assert.notDeepEqual(values(a), values(c));
});

test('calculateGain values', () => {
  assert.equal(init.calculateGain('linear'), 1);
  assert.equal(init.calculateGain('sigmoid'), 1);
  assert.equal(init.calculateGain('conv2d'), 1);
  assertClose([init.calculateGain('relu')], [Math.SQRT2], 1e-12, 'relu');
  assertClose([init.calculateGain('tanh')], [5 / 3], 1e-12, 'tanh');
  assertClose([init.calculateGain('leakyRelu', 0.2)], [Math.sqrt(2 / (1 + 0.04))], 1e-12, 'leakyRelu 0.2');
  assertClose([init.calculateGain('leakyRelu')], [Math.sqrt(2 / 1.0001)], 1e-12, 'leakyRelu default 0.01');
  assertClose([init.calculateGain('selu')], [0.75], 1e-12, 'selu');
});

test('default Linear and Conv2d init is uniform in ±1/√fan_in, as in PyTorch', () => {
  const lin = new Linear(400, 300);
  checkUniform(lin.weight, 1 / Math.sqrt(400), 'Linear weight');
  const lb = stats(lin.bias!);
  assert.ok(lb.maxAbs <= 1 / Math.sqrt(400) && lb.maxAbs > 0.9 / Math.sqrt(400), `Linear bias max ${lb.maxAbs}`);

  const conv = new Conv2d(16, 256, 5); // fan_in 16·25 = 400
  checkUniform(conv.weight, 1 / Math.sqrt(400), 'Conv2d weight');
  const cb = stats(conv.bias!);
  assert.ok(cb.maxAbs <= 1 / Math.sqrt(400) && cb.maxAbs > 0.9 / Math.sqrt(400), `Conv2d bias max ${cb.maxAbs}`);

  // Grouped conv: fan_in counts the channels per group (32/4 · 3·3 = 72).
  const grouped = new Conv2d(32, 512, 3, { groups: 4 });
  checkUniform(grouped.weight, 1 / Math.sqrt(72), 'grouped Conv2d weight');
});
