/**
 * Reverse-mode differentiation: order the recorded graph topologically,
 * then walk it from the output back, applying each op's gradient rule and
 * summing contributions. Gradients of broadcast inputs are summed back to
 * the input's shape here, once, instead of in every rule.
 */
import { TsgradError, ShapeError } from '../core/errors.js';
import { fmt, sameShape } from '../core/shape.js';
import { isObservingOps, logAllocations, withGradMode } from '../tensor/dispatch.js';
import type { Backend } from '../backend/backend.js';
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

/**
 * The storages a backward pass allocates (rule intermediates, gradients on their way to the
 * leaves), handed back to their backend (Backend.recycle) as soon as nothing can read them:
 * not held by a pending gradient, never given to the user (a .grad, a gradient hook's
 * argument or result). A training step's backward temporaries then become the next step's
 * tensors instead of garbage. Forward tensors are never touched: only storages allocated
 * inside this pass (by rules and the engine's own sums, logged by run()) are candidates.
 */
class Temporaries {
  /** Storages allocated in this pass and not yet recycled or given away, with their backend. */
  private readonly born = new Map<unknown, Backend>();
  /** How many pending gradients (the `grads` map) use each storage. */
  private readonly held = new Map<unknown, number>();
  private readonly log: unknown[] = [];

  /** Runs engine work, noting the storages it allocates as temporaries of `backend`. */
  track<T>(backend: Backend, fn: () => T): T {
    const out = logAllocations(this.log, fn);
    for (const s of this.log) this.born.set(s, backend);
    this.log.length = 0;
    return out;
  }

  hold(t: Tensor): void {
    this.held.set(t.storage, (this.held.get(t.storage) ?? 0) + 1);
  }

  unhold(t: Tensor): void {
    const n = this.held.get(t.storage)! - 1;
    if (n > 0) this.held.set(t.storage, n);
    else this.held.delete(t.storage);
  }

  /** `t` reaches the user (a .grad, a hook): its storage is never recycled. */
  keep(t: Tensor): void {
    this.born.delete(t.storage);
  }

  /** Recycles every storage allocated in this pass that no pending gradient holds: between two nodes, all of them are dead. */
  sweep(): void {
    for (const [s, backend] of this.born) {
      if (this.held.has(s)) continue;
      this.born.delete(s);
      backend.recycle!(s);
    }
  }
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
  // A recorded backward (createGraph) keeps its intermediates in the new graph, and an op
  // observer may keep any tensor it sees: then nothing is recycled.
  const temps = !opts.createGraph && !isObservingOps() && root.backend.recycle ? new Temporaries() : null;
  const track = <T>(t: Tensor, fn: () => T): T => (temps ? temps.track(t.backend, fn) : fn());
  temps?.hold(seed);
  withGradMode(opts.createGraph ?? false, () => {
    for (const t of order) {
      let g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      temps?.unhold(g);
      if (t.gradHooks?.size) {
        temps?.keep(g);
        g = runGradHooks(t, g);
        temps?.keep(g);
      }
      const node = t.node;
      if (!node) {
        if (freed.has(t)) {
          throw new TsgradError(
            'backward: part of this graph was already freed by an earlier backward(); pass { retainGraph: true } to the first call to run backward twice',
          );
        }
        const gi = g;
        t.grad = t.grad ? track(t, () => ops.add(t.grad!, gi)) : opts.createGraph ? g : g.detach();
        temps?.keep(t.grad);
        temps?.sweep();
        continue;
      }
      if (t.retainsGrad) {
        const gi = g;
        t.grad = t.grad ? track(t, () => ops.add(t.grad!, gi)) : g.detach();
        temps?.keep(t.grad);
      }
      const rule = gradRules[node.op] as GradRule<OpName>;
      const gt = g;
      const inputGrads = track(t, () => rule(gt, node.inputs, t, node.params));
      node.inputs.forEach((x, i) => {
        const ig = inputGrads[i];
        if (!ig || !x.requiresGrad) return;
        const prev = grads.get(x);
        const next = track(t, () => {
          const shaped = sumToShape(ig, x.shape);
          return prev ? ops.add(prev, shaped) : shaped;
        });
        grads.set(x, next);
        temps?.hold(next);
        if (prev) temps?.unhold(prev);
      });
      // The rule's intermediates, its results that no input took, g and replaced sums are dead now.
      temps?.sweep();
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
