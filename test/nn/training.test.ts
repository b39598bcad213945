/**
 * End-to-end: small networks learn a synthetic two-class problem with Adam
 * and with SGD + momentum, and a training loop does not leak memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  Adam,
  Conv2d,
  DataLoader,
  ArrayDataset,
  Flatten,
  Generator,
  Linear,
  MaxPool2d,
  type Module,
  type Optimizer,
  ReLU,
  SGD,
  Sequential,
  Tanh,
  crossEntropy,
  fromArray,
  init,
  noGrad,
  type Tensor,
} from '../../src/index.js';

/**
 * Two interleaved spirals (one and a half turns each), n points per class,
 * with a little Gaussian noise, from a seeded generator.
 */
function spirals(nPerClass: number, seed: number): { x: Tensor; y: Tensor } {
  const g = new Generator(seed);
  const xs = new Float32Array(2 * nPerClass * 2);
  const ys = new Int32Array(2 * nPerClass);
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < nPerClass; i++) {
      const t = 0.25 + (0.75 * i) / nPerClass; // radius in (0.25, 1)
      const theta = 3 * Math.PI * t + c * Math.PI;
      const k = c * nPerClass + i;
      xs[2 * k] = 2 * t * Math.cos(theta) + 0.03 * g.normal();
      xs[2 * k + 1] = 2 * t * Math.sin(theta) + 0.03 * g.normal();
      ys[k] = c;
    }
  }
  return { x: fromArray(xs, [2 * nPerClass, 2]), y: fromArray(ys, [2 * nPerClass]) };
}

function accuracy(model: Module & { forward(x: Tensor): Tensor }, x: Tensor, y: Tensor): number {
  const pred = noGrad(() => model.forward(x).argmax(1)).dataSync();
  const labels = y.dataSync();
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) ok++;
  return ok / labels.length;
}

function mlp(seed: number): Sequential {
  const net = new Sequential(new Linear(2, 64), new Tanh(), new Linear(64, 64), new Tanh(), new Linear(64, 2));
  // Seeded init so the run is reproducible regardless of other tests' use of the default generator.
  const g = new Generator(seed);
  for (const [name, p] of net.namedParameters()) {
    if (name.endsWith('weight')) init.xavierUniform(p, { generator: g, gain: 5 / 3 });
    else init.constant_(p, 0);
  }
  return net;
}

/** Full-batch training until `target` accuracy or `maxSteps`; returns the loss history and steps used. */
function fit(
  net: Sequential,
  opt: Optimizer<{ lr: number }>,
  x: Tensor,
  y: Tensor,
  target: number,
  maxSteps: number,
): { losses: number[]; acc: number; steps: number } {
  const losses: number[] = [];
  let acc = 0;
  let step = 0;
  for (; step < maxSteps; step++) {
    opt.zeroGrad();
    const loss = crossEntropy(net.forward(x), y);
    losses.push(loss.itemSync());
    loss.backward();
    opt.step();
    if (step % 25 === 24) {
      acc = accuracy(net, x, y);
      if (acc >= target) break;
    }
  }
  return { losses, acc: accuracy(net, x, y), steps: step + 1 };
}

function meanOf(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

test('an MLP learns two spirals with Adam (>= 95% training accuracy)', (t) => {
  const { x, y } = spirals(150, 1);
  const net = mlp(2);
  assert.ok(accuracy(net, x, y) < 0.8, 'the problem is not solved before training');
  const { losses, acc, steps } = fit(net, new Adam(net.parameters(), { lr: 0.01 }), x, y, 0.97, 1500);
  t.diagnostic(`accuracy ${acc} after ${steps} steps, loss ${losses[0]} → ${losses.at(-1)}`);
  assert.ok(acc >= 0.95, `accuracy ${acc} after ${steps} steps`);
  const first = meanOf(losses.slice(0, 10));
  const last = meanOf(losses.slice(-10));
  assert.ok(last < 0.5 * first, `loss ${first} → ${last}`);
  assert.ok(last < 0.25, `final loss ${last}`);
});

test('an MLP learns two spirals with SGD + momentum (>= 95% training accuracy)', (t) => {
  const { x, y } = spirals(150, 3);
  const net = mlp(4);
  const { losses, acc, steps } = fit(net, new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 }), x, y, 0.97, 3000);
  t.diagnostic(`accuracy ${acc} after ${steps} steps, loss ${losses[0]} → ${losses.at(-1)}`);
  assert.ok(acc >= 0.95, `accuracy ${acc} after ${steps} steps`);
  assert.ok(meanOf(losses.slice(-10)) < 0.5 * meanOf(losses.slice(0, 10)), 'loss decreased');
});

test('a small conv net learns to tell horizontal from vertical bars through a DataLoader', (t) => {
  // 8×8 images with one horizontal (class 0) or vertical (class 1) bar at a random place, plus noise.
  const n = 256;
  const g = new Generator(5);
  const images = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    const pos = g.int(0, 8);
    labels[i] = cls;
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) images[i * 64 + r * 8 + c] = ((cls === 0 ? r : c) === pos ? 1 : 0) + 0.2 * g.normal();
    }
  }
  const ds = new ArrayDataset(images, labels, [1, 8, 8]);
  const net = new Sequential(
    new Conv2d(1, 4, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(64, 2),
  );
  const gi = new Generator(6);
  for (const [name, p] of net.namedParameters()) {
    if (name.endsWith('weight')) init.kaimingUniform(p, { generator: gi, nonlinearity: 'relu' });
    else init.constant_(p, 0);
  }
  const opt = new Adam(net.parameters(), { lr: 0.02 });
  const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, generator: new Generator(7) });
  const epochLoss: number[] = [];
  for (let epoch = 0; epoch < 8; epoch++) {
    let total = 0;
    for (const { x, y } of loader) {
      opt.zeroGrad();
      const loss = crossEntropy(net.forward(x), y);
      total += loss.itemSync() * y.shape[0]!;
      loss.backward();
      opt.step();
    }
    epochLoss.push(total / n);
  }
  const all = ds.getBatch(Array.from({ length: n }, (_, i) => i));
  const acc = accuracy(net, all.x, all.y);
  t.diagnostic(`accuracy ${acc}, epoch losses ${epochLoss.map((v) => v.toFixed(3)).join(' ')}`);
  assert.ok(acc >= 0.95, `accuracy ${acc}, epoch losses ${epochLoss.map((v) => v.toFixed(3)).join(' ')}`);
  assert.ok(epochLoss.at(-1)! < 0.5 * epochLoss[0]!, `epoch losses ${epochLoss.join(', ')}`);
});

/** globalThis.gc when node runs with --expose-gc, else one obtained through V8's flags, else undefined. */
function findGc(): (() => void) | undefined {
  const direct = (globalThis as { gc?: () => void }).gc;
  if (typeof direct === 'function') return direct;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

test('memory stays flat over 300 training steps', (t) => {
  const gc = findGc();
  const { x, y } = spirals(64, 9);
  const net = new Sequential(new Linear(2, 64), new ReLU(), new Linear(64, 64), new ReLU(), new Linear(64, 2));
  const opt = new Adam(net.parameters(), { lr: 0.01 });
  // Typed-array storage lives outside the JS heap, so count array buffers too.
  const measure = (): { heap: number; total: number } => {
    gc!();
    gc!();
    const m = process.memoryUsage();
    return { heap: m.heapUsed, total: m.heapUsed + m.arrayBuffers };
  };
  let at100 = { heap: 0, total: 0 };
  let at300 = { heap: 0, total: 0 };
  for (let step = 1; step <= 300; step++) {
    opt.zeroGrad();
    const loss = crossEntropy(net.forward(x), y);
    loss.backward();
    opt.step();
    if (gc && step === 100) at100 = measure();
    if (gc && step === 300) at300 = measure();
  }
  assert.ok(Number.isFinite(crossEntropy(net.forward(x), y).itemSync()));
  if (!gc) {
    t.skip('no garbage collector access (run node with --expose-gc)');
    return;
  }
  const growth = (at300.heap - at100.heap) / at100.heap;
  const totalGrowth = (at300.total - at100.total) / at100.total;
  t.diagnostic(
    `heapUsed ${at100.heap} → ${at300.heap} B (${(growth * 100).toFixed(1)}%), with array buffers ${at100.total} → ${at300.total} B (${(totalGrowth * 100).toFixed(1)}%)`,
  );
  assert.ok(growth < 0.2, `heapUsed grew ${(growth * 100).toFixed(1)}% between step 100 and 300`);
  assert.ok(totalGrowth < 0.2, `heap + array buffers grew ${(totalGrowth * 100).toFixed(1)}% between step 100 and 300`);
});
