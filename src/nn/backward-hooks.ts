/**
 * Full backward hooks (PyTorch's `register_full_backward_hook`): the module's
 * tensor arguments and outputs are passed through identity views whose
 * gradient hooks see exactly this call's share of the gradient. Several
 * arguments are joined into one flat tensor first, so the hook is called once,
 * with every argument's gradient, after all of them are complete.
 */
import { ArgumentError, ShapeError } from '../core/errors.js';
import { fmt, sameShape } from '../core/shape.js';
import { zerosLike } from '../tensor/creation.js';
import { run } from '../tensor/dispatch.js';
import * as ops from '../tensor/ops.js';
import { Tensor } from '../tensor/tensor.js';
import type { FullBackwardHook, Module } from './module.js';

/** A fresh graph node that passes the gradient through unchanged. */
function identity(x: Tensor): Tensor {
  return run('reshape', [x], { shape: x.shape });
}

export interface BackwardHookWiring {
  /** The arguments to call forward with (identity views of those that require a gradient). */
  args: unknown[];
  /** Wraps forward's output so its gradient is recorded as gradOutput. */
  wrapOutput(out: unknown): unknown;
}

/** Sets up one forward call so `hooks` run during its backward. */
export function attachBackwardHooks(m: Module, hooks: FullBackwardHook[], input: unknown[]): BackwardHookWiring {
  const gradOutput: (Tensor | null)[] = [];
  const positions = input.flatMap((a, i) => (a instanceof Tensor && a.requiresGrad ? [i] : []));
  const tensors = positions.map((i) => input[i] as Tensor);

  /** Calls the hooks in order, each seeing the previous one's replacement. */
  const fire = (gradInput: (Tensor | null)[]): (Tensor | null)[] => {
    let current = gradInput;
    for (const hook of hooks) {
      const r = hook(m, current, [...gradOutput]);
      if (r === undefined) continue;
      if (!Array.isArray(r) || r.length !== current.length) {
        throw new ArgumentError(
          `${m.describe()}: a full backward hook must return undefined or an array of ${current.length} gradient(s) (one per argument), got ${Array.isArray(r) ? `${r.length} entries` : typeof r}`,
        );
      }
      r.forEach((g, i) => {
        const ref = input[i];
        if (g !== null && ref instanceof Tensor && !sameShape(g.shape, ref.shape))
          throw new ShapeError(
            `${m.describe()}: full backward hook returned a gradient of shape ${fmt(g.shape)} for argument ${i} of shape ${fmt(ref.shape)}`,
          );
      });
      current = r;
    }
    return current;
  };
  const gradInputFrom = (grads: Tensor[]): (Tensor | null)[] => {
    const gi: (Tensor | null)[] = input.map(() => null);
    positions.forEach((p, k) => (gi[p] = grads[k]!));
    return gi;
  };
  const replacement = (gi: (Tensor | null)[], k: number): Tensor => gi[positions[k]!] ?? zerosLike(tensors[k]!);

  const args = [...input];
  if (tensors.length === 1) {
    const x = identity(tensors[0]!);
    x.registerHook((g) => replacement(fire(gradInputFrom([g])), 0));
    args[positions[0]!] = x;
  } else if (tensors.length > 1) {
    // One joint node: its gradient is complete only once every argument's is, as with PyTorch's single hook node.
    const dtype = tensors.every((t) => t.dtype === tensors[0]!.dtype) ? tensors[0]!.dtype : 'float64';
    const joint = ops.concat(
      tensors.map((t) => ops.reshape(ops.cast(t, dtype), [t.numel])),
      0,
    );
    const offsets: number[] = [];
    let off = 0;
    for (const t of tensors) {
      offsets.push(off);
      off += t.numel;
    }
    const part = (flat: Tensor, k: number): Tensor => {
      const t = tensors[k]!;
      return ops.reshape(ops.cast(ops.narrow(flat, 0, offsets[k]!, t.numel), t.dtype), t.shape);
    };
    joint.registerHook((g) => {
      const gi = fire(gradInputFrom(tensors.map((_, k) => part(g, k))));
      return ops.concat(
        tensors.map((t, k) => ops.reshape(ops.cast(replacement(gi, k), dtype), [t.numel])),
        0,
      );
    });
    positions.forEach((p, k) => (args[p] = part(joint, k)));
  }

  const wrapOne = (y: unknown, slot: number, count: number): unknown => {
    gradOutput[slot] = null;
    if (!(y instanceof Tensor) || !y.requiresGrad) return y;
    const out = identity(y);
    out.registerHook((g) => {
      gradOutput[slot] = g;
      // With no argument needing a gradient there is no input node: the hook runs when the outputs' gradients are in.
      if (tensors.length === 0 && gradOutput.filter((v) => v !== null).length === count) fire(input.map(() => null));
    });
    return out;
  };
  return {
    args,
    wrapOutput: (out) => {
      if (!Array.isArray(out)) return wrapOne(out, 0, 1);
      const count = out.filter((y) => y instanceof Tensor && y.requiresGrad).length;
      return out.map((y, i) => wrapOne(y, i, count));
    },
  };
}
