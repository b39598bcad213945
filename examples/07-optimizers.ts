/**
 * Plain SGD, momentum, Nesterov momentum and Adam on the same problem as example 06 (200 digits, a 784-128-128-10
 * network, batches of 50), from the same initial weights and batch order; what is compared is how fast the
 * training loss falls.
 *
 * - SGD: w ← w − α·g.
 * - Momentum: v ← βv + g, w ← w − α·v. Along a consistent direction the steps add up to α/(1 − β) per step
 *   (10× with β = 0.9); across a narrow valley the alternating components cancel out.
 * - Nesterov: the gradient is taken at the look-ahead point, w ← w − α·(g + βv) in PyTorch's form.
 * - Adam: momentum on g and a running mean of g² scale each weight's step to about α, whatever the gradient's
 *   magnitude, with a bias correction for the first steps.
 */
import assert from 'node:assert/strict';
import { Adam, SGD, type Tensor } from '../src/index.js';
import { makeNet, pct, trainNet } from './lib/small-digits.js';

const EPOCHS = 20;
const THRESHOLD = 0.1;

const optimizers: [string, (params: Tensor[]) => SGD | Adam][] = [
  ['SGD, α = 0.01', (p) => new SGD(p, { lr: 0.01 })],
  ['SGD, α = 0.1', (p) => new SGD(p, { lr: 0.1 })],
  ['momentum 0.9, α = 0.01', (p) => new SGD(p, { lr: 0.01, momentum: 0.9 })],
  ['Nesterov 0.9, α = 0.01', (p) => new SGD(p, { lr: 0.01, momentum: 0.9, nesterov: true })],
  ['Adam, α = 0.002', (p) => new Adam(p, { lr: 0.002 })],
];

const losses: Record<string, number[]> = {};
const reached: Record<string, number> = {};
console.log(`training loss after epochs 1, 5, 10, 20, and the first epoch below ${THRESHOLD}:`);
for (const [name, make] of optimizers) {
  const net = makeNet();
  const r = await trainNet(net, make(net.parameters()), { epochs: EPOCHS });
  losses[name] = r.history.map((h) => h['loss']!);
  const first = losses[name]!.findIndex((l) => l < THRESHOLD);
  reached[name] = first < 0 ? Infinity : first + 1;
  const at = [1, 5, 10, 20].map((e) => losses[name]![e - 1]!.toFixed(3).padStart(6)).join(' ');
  console.log(
    `  ${name.padEnd(24)} ${at}   ${first < 0 ? `not in ${EPOCHS}` : `epoch ${reached[name]}`}   val acc ${pct(r.valAccuracy)}`,
  );
}

const final = (name: string): number => losses[name]!.at(-1)!;
// Momentum goes much further than SGD at the same α, and ends about where SGD with its 10× larger effective
// step does (a little later at first: the velocity takes ~1/(1 − β) steps to build up).
assert.ok(final('momentum 0.9, α = 0.01') < final('SGD, α = 0.01') / 10);
assert.ok(final('momentum 0.9, α = 0.01') < 2 * final('SGD, α = 0.1'));
assert.equal(reached['SGD, α = 0.01'], Infinity, 'plain SGD at α = 0.01 is far from the threshold');
// Nesterov's look-ahead is at least as fast as classical momentum here.
assert.ok(reached['Nesterov 0.9, α = 0.01']! <= reached['momentum 0.9, α = 0.01']!);
// Adam, with its per-weight step sizes, is the fastest of all.
for (const [name] of optimizers.slice(0, 4)) assert.ok(reached['Adam, α = 0.002']! < reached[name]!, name);
