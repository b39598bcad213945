/**
 * The gradient of softmax followed by cross-entropy, with respect to the logits, is p − y: the predicted
 * probabilities minus the one-hot target.
 *
 * With p_i = e^{z_i} / Σ_j e^{z_j} and L = −Σ_i y_i log p_i (y one-hot, Σ y_i = 1):
 *   ∂p_i/∂z_k = p_i (δ_ik − p_k), so ∂L/∂z_k = −Σ_i (y_i / p_i) p_i (δ_ik − p_k) = −y_k + p_k Σ_i y_i = p_k − y_k.
 * Averaged over a batch of N examples (crossEntropy's default reduction), each row is (p − y) / N.
 */
import assert from 'node:assert/strict';
import {
  Generator,
  type Tensor,
  crossEntropy,
  gradcheck,
  logSoftmax,
  oneHot,
  randn,
  softmax,
  tensor,
} from '../src/index.js';

const N = 4;
const C = 5;
const logits = randn([N, C], { dtype: 'float64', generator: new Generator(7) }).mul(2);
const labels = tensor([3, 0, 4, 1], { dtype: 'int32' });

const maxDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().max().itemSync();

// 1. By the formula: (softmax(z) − onehot(y)) / N.
const p = softmax(logits, 1);
const y = oneHot(labels, C).cast('float64');
const byFormula = p.sub(y).div(N);

// 2. By autograd through tsgrad's crossEntropy (computed from log-sum-exp, never from p itself).
const z = logits.detach().setRequiresGrad(true);
crossEntropy(z, labels).backward();
console.log('p − y (first row):      ', Array.from(p.sub(y).dataSync().slice(0, C), (v) => v.toFixed(4)).join(' '));
console.log(
  'N · ∂L/∂z (first row):  ',
  Array.from(z.grad!.mul(N).dataSync().slice(0, C), (v) => v.toFixed(4)).join(' '),
);
console.log(`max |∂L/∂z − (p − y)/N| = ${maxDiff(z.grad!, byFormula).toExponential(1)}`);
assert.ok(maxDiff(z.grad!, byFormula) < 1e-15);

// 3. The same through the two steps written out, −Σ y · log softmax(z) / N: autograd multiplies the
//    softmax's Jacobian by the log's gradient, and the result is again p − y.
const z2 = logits.detach().setRequiresGrad(true);
logSoftmax(z2, 1).mul(y).sum().neg().div(N).backward();
assert.ok(maxDiff(z2.grad!, byFormula) < 1e-15);

// 4. Each row of the gradient sums to zero (Σ p = Σ y = 1), and only the true class gets a negative entry.
const rowSums = z.grad!.sum(1).dataSync();
for (const s of rowSums) assert.ok(Math.abs(s) < 1e-15, `row sum ${s}`);
const g = z.grad!.arraySync() as number[][];
g.forEach((row, i) =>
  row.forEach((v, k) => assert.equal(v < 0, k === labels.dataSync()[i], `row ${i}, class ${k}: ${v}`)),
);

// 5. And central differences agree (float64).
const check = gradcheck((t) => crossEntropy(t, labels), [logits]);
console.log(`gradcheck: max |backward − central difference| = ${check.maxAbsError.toExponential(1)}`);
assert.ok(check.maxAbsError < 1e-6);
