/**
 * Reverse-mode automatic differentiation of f(x, y) = x²y + y + 2, the note's example, at (x, y) = (3, 4).
 *
 * By hand: the forward pass evaluates the graph node by node and keeps every value; the backward pass starts
 * from ∂f/∂f = 1 and walks the graph in reverse, each node passing its adjoint to its inputs times the local
 * derivative (the chain rule). One backward pass gives the derivatives with respect to every input at once.
 * Then the same with tsgrad: build f from tensors and call backward().
 *
 * Analytically: ∂f/∂x = 2xy = 24 and ∂f/∂y = x² + 1 = 10, and f(3, 4) = 42.
 */
import assert from 'node:assert/strict';
import { gradcheck, tensor, type Tensor } from '../src/index.js';

const x0 = 3;
const y0 = 4;

// ---------------------------------------------------------------- by hand
// The graph: n1 = x·x, n2 = n1·y, n3 = n2 + y, f = n3 + 2.
const n1 = x0 * x0; // 9
const n2 = n1 * y0; // 36
const n3 = n2 + y0; // 40
const f = n3 + 2; // 42

// Adjoints, ā = ∂f/∂a, in reverse order of the forward pass.
const fBar = 1;
const n3Bar = fBar * 1; // f = n3 + 2
const n2Bar = n3Bar * 1; // n3 = n2 + y
let yBar = n3Bar * 1; //    ... and y's first use
const n1Bar = n2Bar * y0; // n2 = n1 · y
yBar += n2Bar * n1; //      ... y's second use: adjoints of a variable used twice add up
const xBar = n1Bar * x0 + n1Bar * x0; // n1 = x · x: x is used twice too

console.log(`by hand:      f = ${f}, ∂f/∂x = ${xBar}, ∂f/∂y = ${yBar}`);
assert.equal(f, 42);
assert.equal(xBar, 2 * x0 * y0);
assert.equal(yBar, x0 * x0 + 1);

// ---------------------------------------------------------------- with tsgrad
const x = tensor(x0, { dtype: 'float64', requiresGrad: true });
const y = tensor(y0, { dtype: 'float64', requiresGrad: true });
const fn = (a: Tensor, b: Tensor): Tensor => a.mul(a).mul(b).add(b).add(2);
const out = fn(x, y); // the forward pass records the same graph
out.backward(); // one reverse pass fills x.grad and y.grad
console.log(`by backward(): f = ${out.itemSync()}, ∂f/∂x = ${x.grad!.itemSync()}, ∂f/∂y = ${y.grad!.itemSync()}`);
assert.equal(out.itemSync(), f);
assert.equal(x.grad!.itemSync(), xBar);
assert.equal(y.grad!.itemSync(), yBar);

// Gradients accumulate: a second backward() adds to .grad (zero it between steps, as optimizers do).
fn(x, y).backward();
assert.equal(x.grad!.itemSync(), 2 * xBar);

// And both agree with central differences, (f(x + h) − f(x − h)) / 2h, at three more points.
const check = gradcheck(fn, [
  tensor([1.5, -2, 0.3], { dtype: 'float64' }),
  tensor([0.7, 2.5, -1], { dtype: 'float64' }),
]);
console.log(`gradcheck at 3 more points: max |backward − central difference| = ${check.maxAbsError.toExponential(1)}`);
assert.ok(check.maxAbsError < 1e-6);
