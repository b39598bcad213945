/**
 * An L-layer network written step by step, as the first note builds it: [LINEAR -> RELU] x (L-1) -> LINEAR ->
 * SIGMOID for binary classification, with the forward pass keeping caches and the backward pass written by hand
 * from those caches. Columns are examples (X is [features, m]), as in the note.
 *
 * It then checks every hand-written gradient against tsgrad's autograd on the same forward pass, and trains
 * the network on a small two-class problem (points inside or outside a circle) with its own update rule.
 *
 * Run: npm run examples (or node dist/examples/01-deep-network-step-by-step.js after a build).
 */
import assert from 'node:assert/strict';
import { Generator, type Tensor, randn, rand, sigmoid, where, zeros } from '../src/index.js';

type Parameters = Record<string, Tensor>; // W1, b1, W2, b2, ...
type LinearCache = { A: Tensor; W: Tensor; b: Tensor };
type Cache = { linear: LinearCache; Z: Tensor };

const gen = new Generator(1); // every random draw in this file comes from here: the run is reproducible

/** W[l] ~ N(0, 1) · scale, shape [n_l, n_(l-1)]; b[l] = 0, shape [n_l, 1]. The note's scale is 0.01. */
function initializeParametersDeep(layerDims: number[], scale = 0.01): Parameters {
  const parameters: Parameters = {};
  for (let l = 1; l < layerDims.length; l++) {
    parameters[`W${l}`] = randn([layerDims[l]!, layerDims[l - 1]!], { dtype: 'float64', generator: gen }).mul(scale);
    parameters[`b${l}`] = zeros([layerDims[l]!, 1], { dtype: 'float64' });
  }
  return parameters;
}

/** Z = W·A + b (b broadcast over the m columns); the cache keeps what the backward pass needs. */
function linearForward(A: Tensor, W: Tensor, b: Tensor): [Tensor, LinearCache] {
  return [W.matmul(A).add(b), { A, W, b }];
}

function linearActivationForward(Aprev: Tensor, W: Tensor, b: Tensor, activation: 'relu' | 'sigmoid'): [Tensor, Cache] {
  const [Z, linear] = linearForward(Aprev, W, b);
  const A = activation === 'relu' ? Z.relu() : sigmoid(Z);
  return [A, { linear, Z }];
}

/** L − 1 ReLU layers, then one sigmoid layer; one cache per layer. */
function lModelForward(X: Tensor, parameters: Parameters): [Tensor, Cache[]] {
  const L = Object.keys(parameters).length / 2;
  const caches: Cache[] = [];
  let A = X;
  for (let l = 1; l < L; l++) {
    const [next, cache] = linearActivationForward(A, parameters[`W${l}`]!, parameters[`b${l}`]!, 'relu');
    caches.push(cache);
    A = next;
  }
  const [AL, cache] = linearActivationForward(A, parameters[`W${L}`]!, parameters[`b${L}`]!, 'sigmoid');
  caches.push(cache);
  return [AL, caches];
}

/** Cross-entropy cost: −1/m · Σ (y·log(a) + (1 − y)·log(1 − a)). */
function computeCost(AL: Tensor, Y: Tensor): Tensor {
  const m = Y.shape[1]!;
  const oneMinus = (t: Tensor): Tensor => t.neg().add(1);
  return Y.mul(AL.log())
    .add(oneMinus(Y).mul(oneMinus(AL).log()))
    .sum()
    .mul(-1 / m);
}

/** From dZ of a layer: dW = dZ·Aᵀ / m, db = Σ_columns dZ / m, dA_prev = Wᵀ·dZ. */
function linearBackward(dZ: Tensor, { A, W }: LinearCache): [Tensor, Tensor, Tensor] {
  const m = A.shape[1]!;
  const dW = dZ.matmul(A.T).div(m);
  const db = dZ.sum(1, true).div(m);
  const dAprev = W.T.matmul(dZ);
  return [dAprev, dW, db];
}

function linearActivationBackward(dA: Tensor, { linear, Z }: Cache, activation: 'relu' | 'sigmoid') {
  let dZ: Tensor;
  if (activation === 'relu') {
    dZ = where(Z.gt(0), dA, 0); // relu'(z) = 1 for z > 0, else 0
  } else {
    const s = sigmoid(Z);
    dZ = dA.mul(s).mul(s.neg().add(1)); // σ'(z) = σ(z)(1 − σ(z))
  }
  return linearBackward(dZ, linear);
}

/** dAL = −(Y/AL − (1 − Y)/(1 − AL)), then back through the sigmoid layer and the ReLU layers. */
function lModelBackward(AL: Tensor, Y: Tensor, caches: Cache[]): Parameters {
  const grads: Parameters = {};
  const L = caches.length;
  const dAL = Y.div(AL)
    .sub(Y.neg().add(1).div(AL.neg().add(1)))
    .neg();
  let [dA, dW, db] = linearActivationBackward(dAL, caches[L - 1]!, 'sigmoid');
  grads[`dW${L}`] = dW;
  grads[`db${L}`] = db;
  for (let l = L - 1; l >= 1; l--) {
    [dA, dW, db] = linearActivationBackward(dA, caches[l - 1]!, 'relu');
    grads[`dW${l}`] = dW;
    grads[`db${l}`] = db;
  }
  return grads;
}

/** Plain gradient descent: W[l] := W[l] − α·dW[l], b[l] := b[l] − α·db[l]. */
function updateParameters(parameters: Parameters, grads: Parameters, learningRate: number): Parameters {
  const updated: Parameters = {};
  for (const [name, p] of Object.entries(parameters)) updated[name] = p.sub(grads[`d${name}`]!.mul(learningRate));
  return updated;
}

// ---------------------------------------------------------------- the data: inside or outside a circle
const m = 256;
const X = rand([2, m], { dtype: 'float64', generator: gen }).mul(2).sub(1); // points in [−1, 1)²
const radius2 = X.square().sum(0, true); // [1, m]
const Y = radius2.lt(0.5).cast('float64'); // label 1 inside the circle of area ~ π/2

// ---------------------------------------------------------------- 1. hand-written gradients = autograd's
const layerDims = [2, 16, 8, 1];
{
  // A larger scale than 0.01 so that every layer's gradient is far from zero for the comparison.
  const params = initializeParametersDeep(layerDims, 0.5);
  for (const p of Object.values(params)) p.setRequiresGrad(true);
  const [AL, caches] = lModelForward(X, params);
  const cost = computeCost(AL, Y);
  const hand = lModelBackward(AL, Y, caches); // from the caches only
  cost.backward(); // autograd, through the same forward pass
  for (const [name, p] of Object.entries(params)) {
    const mine = hand[`d${name}`]!.dataSync();
    const auto = p.grad!.dataSync();
    let worst = 0;
    for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(mine[i]! - auto[i]!));
    console.log(`d${name.padEnd(3)} shape [${p.shape.join(', ')}]  max |hand − autograd| = ${worst.toExponential(1)}`);
    assert.ok(worst < 1e-12, `d${name}: hand-written gradient differs from autograd's by ${worst}`);
  }
}

// ---------------------------------------------------------------- 2. train with the hand-written pieces
let parameters = initializeParametersDeep(layerDims, 0.5);
const costs: number[] = [];
for (let i = 0; i <= 600; i++) {
  const [AL, caches] = lModelForward(X, parameters);
  const cost = computeCost(AL, Y).itemSync();
  if (i % 150 === 0) {
    costs.push(cost);
    console.log(`iteration ${String(i).padStart(4)}  cost ${cost.toFixed(4)}`);
  }
  parameters = updateParameters(parameters, lModelBackward(AL, Y, caches), 0.5);
}
const [AL] = lModelForward(X, parameters);
const predictions = AL.gt(0.5).cast('float64');
const accuracy = predictions.eq(Y).cast('float64').mean().itemSync();
console.log(`training accuracy ${(accuracy * 100).toFixed(1)}%`);
assert.ok(costs[costs.length - 1]! < costs[0]! / 3, `the cost falls: ${costs.join(' -> ')}`);
assert.ok(accuracy > 0.9, `the network learns the circle: ${accuracy}`);
