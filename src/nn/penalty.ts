/**
 * Per-parameter L1 / L2 penalties (the notes' regularization): a penalty is
 * attached to a parameter, e.g. by `new Linear(…, { weightPenalty: { l2: 1e-4 } })`,
 * and the Trainer adds Σ l1·|w| + l2·w² over every penalized parameter to the
 * loss (Keras' convention: the L2 term's gradient is 2·l2·w), reporting it as `reg_loss`.
 */
import { ArgumentError } from '../core/errors.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module, Parameter } from './module.js';

/** Strengths of the penalties on one parameter; an absent one is 0. */
export interface Penalty {
  l1?: number;
  l2?: number;
}

/** A penalty checked: known keys, finite non-negative strengths. */
export function checkPenalty(where: string, p: Penalty | undefined | null): Required<Penalty> | null {
  if (p === undefined || p === null) return null;
  if (typeof p !== 'object' || Array.isArray(p))
    throw new ArgumentError(`${where}: a penalty is an object like { l2: 1e-4 }, got ${String(p)}`);
  const unknown = Object.keys(p).filter((k) => k !== 'l1' && k !== 'l2');
  if (unknown.length) throw new ArgumentError(`${where}: unknown penalty ${unknown.join(', ')} (accepted: l1, l2)`);
  const out = { l1: p.l1 ?? 0, l2: p.l2 ?? 0 };
  for (const [k, v] of Object.entries(out)) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0))
      throw new ArgumentError(`${where}: penalty ${k} must be a finite number >= 0, got ${String(v)}`);
  }
  return out.l1 === 0 && out.l2 === 0 ? null : out;
}

/**
 * Attaches an L1 / L2 penalty to the parameters of `module`: by default its
 * weights (parameters of rank ≥ 2: dense and convolution kernels, not biases
 * or normalization scales), or every parameter with `which: 'all'`.
 * Replaces any penalty they had; `{}` removes them.
 * @example penalize(model, { l2: 5e-4 }); // weight decay as a loss term, on every weight
 */
export function penalize(module: Module, penalty: Penalty, opts: { which?: 'weights' | 'all' } = {}): Module {
  const p = checkPenalty('penalize', penalty);
  const which = opts.which ?? 'weights';
  if (which !== 'weights' && which !== 'all')
    throw new ArgumentError(`penalize: which must be 'weights' or 'all', got ${String(which)}`);
  for (const param of module.parameters()) if (which === 'all' || param.rank >= 2) param.penalty = p;
  return module;
}

/** Parameters of `module` that carry a penalty. */
export function penalizedParameters(module: Module): Parameter[] {
  return module.parameters().filter((p) => p.penalty !== null);
}

/**
 * Σ l1·Σ|w| + l2·Σw² over the penalized parameters of `module` (recorded for
 * backward), or null when none has a penalty.
 * @example const total = loss.add(regularizationLoss(model) ?? 0);
 */
export function regularizationLoss(module: Module): Tensor | null {
  let total: Tensor | null = null;
  for (const p of penalizedParameters(module)) {
    const { l1, l2 } = p.penalty!;
    let term: Tensor | null = null;
    if (l1 > 0) term = ops.mul(ops.sum(ops.unary('abs', p)), l1);
    if (l2 > 0) {
      const sq = ops.mul(ops.sum(ops.square(p)), l2);
      term = term ? ops.add(term, sq) : sq;
    }
    if (term) total = total ? ops.add(total, term) : term;
  }
  return total;
}
