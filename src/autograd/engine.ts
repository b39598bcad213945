/**
 * Reverse-mode differentiation: order the recorded graph topologically,
 * then walk it from the output back, applying each op's gradient rule and
 * summing contributions. Gradients of broadcast inputs are summed back to
 * the input's shape here, once, instead of in every rule.
 */
import { TsgradError, ShapeError } from '../core/errors.js';
import { fmt, sameShape } from '../core/shape.js';
import { withGradMode } from '../tensor/dispatch.js';
import { onesLike } from '../tensor/creation.js';
import * as ops from '../tensor/ops.js';
import { type BackwardOptions, type Tensor, setBackwardEngine } from '../tensor/tensor.js';
import { gradRules, type GradRule } from './rules.js';
import type { OpName } from '../core/ops.js';

export type { BackwardOptions };

/** Tensors whose graph node was freed by a backward pass, so a second pass can say so. */
const freed = new WeakSet<Tensor>();

/** Sums a gradient of a broadcast result back to the shape of the input that was broadcast. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  // Axes of length 1 in g need no sum (a reshape drops or keeps them): summing them would copy.
  for (let i = 0; i < g.rank; i++) {
    if (g.shape[i] !== 1 && (i < lead || shape[i - lead] === 1)) axes.push(i);
  }
  return ops.reshape(axes.length ? ops.sum(g, axes, true) : g, shape);
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const x = inputs[i]!;
      if (x.requiresGrad && !seen.has(x)) {
        seen.add(x);
        stack.push([x, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/** Applies a tensor's gradient hooks in registration order; a hook's return value replaces the gradient. */
function runGradHooks(t: Tensor, g: Tensor): Tensor {
  let out = g;
  for (const hook of [...t.gradHooks!.values()]) {
    const replaced = hook(out);
    if (replaced === undefined) continue;
    if (!sameShape(replaced.shape, t.shape)) {
      throw new ShapeError(
        `backward: a gradient hook returned shape ${fmt(replaced.shape)} for a tensor of shape ${fmt(t.shape)}`,
      );
    }
    out = replaced;
  }
  return out;
}

export function backward(root: Tensor, grad: Tensor | undefined, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new TsgradError(
      'backward: this tensor does not require a gradient; none of the tensors it was computed from has requiresGrad (or it was computed inside noGrad)',
    );
  }
  if (!grad && root.numel !== 1) {
    throw new ShapeError(
      `backward: a gradient can only be implied for a scalar output, got shape ${fmt(root.shape)}; pass one`,
    );
  }
  if (grad && !sameShape(grad.shape, root.shape)) {
    throw new ShapeError(`backward: gradient shape ${fmt(grad.shape)} does not match output shape ${fmt(root.shape)}`);
  }
  const seed = grad ?? onesLike(root);
  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  withGradMode(opts.createGraph ?? false, () => {
    for (const t of order) {
      let g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      if (t.gradHooks?.size) g = runGradHooks(t, g);
      const node = t.node;
      if (!node) {
        if (freed.has(t)) {
          throw new TsgradError(
            'backward: part of this graph was already freed by an earlier backward(); pass { retainGraph: true } to the first call to run backward twice',
          );
        }
        t.grad = t.grad ? ops.add(t.grad, g) : opts.createGraph ? g : g.detach();
        continue;
      }
      if (t.retainsGrad) t.grad = t.grad ? ops.add(t.grad, g) : g.detach();
      const rule = gradRules[node.op] as GradRule<OpName>;
      const inputGrads = rule(g, node.inputs, t, node.params);
      node.inputs.forEach((x, i) => {
        const ig = inputGrads[i];
        if (!ig || !x.requiresGrad) return;
        const shaped = sumToShape(ig, x.shape);
        const prev = grads.get(x);
        grads.set(x, prev ? ops.add(prev, shaped) : shaped);
      });
      // Recording the backward pass (createGraph) keeps the graph by default, as in PyTorch.
      if (!(opts.retainGraph ?? opts.createGraph)) {
        t.node = null;
        freed.add(t);
      }
    }
  });
}

// Tensor.backward() runs this engine; see setBackwardEngine in src/tensor/tensor.ts for why it is handed over.
setBackwardEngine(backward);
