/**
 * Dropout, L2, L1 and early stopping compared on a small overfitting problem: 200 digits, a network that can
 * memorize them (examples/lib/small-digits.ts), Adam for 30 epochs.
 *
 * - Without regularization the training loss goes to ~0 while the validation loss, after a minimum, rises:
 *   the network fits the noise of its 200 examples.
 * - L2 (weight decay) adds λ·Σw² to the loss: weights shrink towards zero, smoother functions.
 * - L1 adds λ·Σ|w|: its constant pull sets many weights to (nearly) zero, a sparse network.
 *   (The train loss printed is the data's cross-entropy; the penalty is shown apart as reg_loss.)
 * - Dropout zeroes each hidden unit with probability p in training (and scales the others by 1/(1 − p)), so no
 *   unit can rely on particular others; evaluation uses the whole network.
 * - Early stopping watches the validation loss and keeps the weights of its best epoch, or, evaluating every N
 *   steps as the notes do, of its best evaluation.
 * Every run starts from the same weights and sees the batches in the same order.
 */
import assert from 'node:assert/strict';
import { Adam, EarlyStopping, penalize } from '../src/index.js';
import { type Outcome, makeNet, pct, trainNet, weightMatrices } from './lib/small-digits.js';

const EPOCHS = 30;
const LR = 2e-3;

async function run(
  name: string,
  opts: { dropout?: number; l1?: number; l2?: number; earlyStopping?: EarlyStopping } = {},
): Promise<Outcome & { weights: Float32Array }> {
  const net = makeNet(opts.dropout ?? 0);
  // A penalty is attached to parameters, here to every weight matrix of the net (biases are left free; one
  // layer alone would be `new Linear(784, 128, { weightPenalty: { l2: 1e-3 } })`). The Trainer adds
  // Σ l1·|w| + l2·w² to the loss it minimizes, so the penalty's gradient reaches the weights with the data's,
  // and reports the term as reg_loss.
  if (opts.l1 || opts.l2) penalize(net, { l1: opts.l1 ?? 0, l2: opts.l2 ?? 0 });
  const w = weightMatrices(net);
  const r = await trainNet(net, new Adam(net.parameters(), { lr: LR }), {
    epochs: EPOCHS,
    callbacks: opts.earlyStopping ? [opts.earlyStopping] : [],
  });
  const regLoss = r.history.at(-1)!['reg_loss'];
  if (opts.l1 || opts.l2) assert.ok(regLoss !== undefined && regLoss > 0, 'the penalty is reported as reg_loss');
  else assert.equal(regLoss, undefined);
  const weights = Float32Array.from(w.flatMap((p) => Array.from(p.dataSync())));
  const minVal = Math.min(...r.history.map((h) => h['val_loss']!));
  console.log(
    `${name.padEnd(20)} ${String(r.history.length).padStart(2)} epochs  train loss ${r.trainLoss.toFixed(3)} acc ${pct(r.trainAccuracy).padStart(6)}  ` +
      `val loss ${r.valLoss.toFixed(3)} acc ${pct(r.valAccuracy).padStart(6)} (best epoch's ${minVal.toFixed(3)})` +
      (regLoss !== undefined ? `  reg_loss ${regLoss.toFixed(3)}` : ''),
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
// As the notes do it: look at the validation set every N steps (here 2, half an epoch), patience in evaluations.
const stepStopper = new EarlyStopping({
  monitor: 'val_loss',
  every: { steps: 2 },
  patience: 10,
  restoreBestWeights: true,
});
const earlySteps = await run('early stop, 2 steps', { earlyStopping: stepStopper });

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
  ['early stopping every 2 steps', earlySteps],
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
assert.ok(
  stepStopper.stoppedStep > 0 && stepStopper.stoppedStep % 2 === 0,
  `stopped at step ${stepStopper.stoppedStep}`,
);
// It also evaluates at every epoch end (every 4 steps), and between them: here it finds a better point.
assert.ok(earlySteps.valLoss <= early.valLoss, `${earlySteps.valLoss} vs ${early.valLoss}`);
