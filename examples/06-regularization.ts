/**
 * Dropout, L2, L1 and early stopping compared on a small overfitting problem: 200 digits, a network that can
 * memorize them (examples/lib/small-digits.ts), Adam for 30 epochs.
 *
 * - Without regularization the training loss goes to ~0 while the validation loss, after a minimum, rises:
 *   the network fits the noise of its 200 examples.
 * - L2 (weight decay) adds λ·Σw² to the loss: weights shrink towards zero, smoother functions.
 * - L1 adds λ·Σ|w|: its constant pull sets many weights to (nearly) zero, a sparse network.
 * - Dropout zeroes each hidden unit with probability p in training (and scales the others by 1/(1 − p)), so no
 *   unit can rely on particular others; evaluation uses the whole network.
 * - Early stopping watches the validation loss and keeps the weights of its best epoch.
 * Every run starts from the same weights and sees the batches in the same order.
 */
import assert from 'node:assert/strict';
import { Adam, EarlyStopping, type Tensor, crossEntropy, l1Penalty, l2Penalty } from '../src/index.js';
import { type Outcome, makeNet, pct, trainNet, weightMatrices } from './lib/small-digits.js';

const EPOCHS = 30;
const LR = 2e-3;

async function run(
  name: string,
  opts: { dropout?: number; l1?: number; l2?: number; earlyStopping?: EarlyStopping } = {},
): Promise<Outcome & { weights: Float32Array }> {
  const net = makeNet(opts.dropout ?? 0);
  const w = weightMatrices(net);
  // The penalties are part of the training loss, so their gradients reach the weights with the data's.
  const loss = (out: Tensor, y: Tensor): Tensor => {
    let l = crossEntropy(out, y);
    if (opts.l1) l = l.add(l1Penalty(w).mul(opts.l1));
    if (opts.l2) l = l.add(l2Penalty(w).mul(opts.l2));
    return l;
  };
  const r = await trainNet(net, new Adam(net.parameters(), { lr: LR }), {
    epochs: EPOCHS,
    loss,
    callbacks: opts.earlyStopping ? [opts.earlyStopping] : [],
  });
  const weights = Float32Array.from(w.flatMap((p) => Array.from(p.dataSync())));
  const minVal = Math.min(...r.history.map((h) => h['val_loss']!));
  console.log(
    `${name.padEnd(16)} ${String(r.history.length).padStart(2)} epochs  train loss ${r.trainLoss.toFixed(3)} acc ${pct(r.trainAccuracy).padStart(6)}  ` +
      `val loss ${r.valLoss.toFixed(3)} acc ${pct(r.valAccuracy).padStart(6)} (best epoch's val loss ${minVal.toFixed(3)})`,
  );
  return { ...r, weights };
}

const norm = (w: Float32Array): number => Math.sqrt(w.reduce((a, v) => a + v * v, 0));
const nearZero = (w: Float32Array): number => w.filter((v) => Math.abs(v) < 1e-3).length / w.length;

const none = await run('none');
const dropout = await run('dropout 0.5', { dropout: 0.5 });
const l2 = await run('L2, λ = 1e-3', { l2: 1e-3 });
const l1 = await run('L1, λ = 1e-4', { l1: 1e-4 });
const stopper = new EarlyStopping({ monitor: 'val_loss', patience: 5, restoreBestWeights: true });
const early = await run('early stopping', { earlyStopping: stopper });

console.log(
  `weight norm: none ${norm(none.weights).toFixed(1)}, L2 ${norm(l2.weights).toFixed(1)}; ` +
    `weights under 1e-3: none ${pct(nearZero(none.weights))}, L1 ${pct(nearZero(l1.weights))}`,
);

// Unregularized, the net memorizes the training set and its validation loss ends well above its minimum.
const noneHistory = none.history.map((h) => h['val_loss']!);
assert.equal(none.trainAccuracy, 1);
assert.ok(none.valLoss > 1.2 * Math.min(...noneHistory), 'the validation loss rises after its minimum');
// Every regularizer ends with a lower validation loss than no regularization.
for (const [name, r] of [
  ['dropout', dropout],
  ['L2', l2],
  ['L1', l1],
  ['early stopping', early],
] as const) {
  assert.ok(r.valLoss < none.valLoss, `${name}: val loss ${r.valLoss} vs ${none.valLoss} without`);
}
// L2 shrinks the weights; L1 makes them sparse.
assert.ok(norm(l2.weights) < 0.85 * norm(none.weights));
assert.ok(nearZero(l1.weights) > 10 * nearZero(none.weights));
// Early stopping follows the unregularized run (same weights, same batches) and keeps its best epoch.
assert.ok(stopper.stoppedEpoch > 0 && stopper.stoppedEpoch < EPOCHS, `stopped at ${stopper.stoppedEpoch}`);
assert.equal(early.history[stopper.bestEpoch - 1]!['val_loss'], Math.min(...noneHistory));
assert.ok(Math.abs(early.valLoss - Math.min(...noneHistory)) < 1e-6, 'the best weights are restored');
