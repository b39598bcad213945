import { ArgumentError } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamGroup } from './optimizer.js';

/**
 * Parameter groups with per-layer learning-rate multipliers (Caffe's
 * `lr_mult`): each parameter takes the multiplier of the longest dotted
 * prefix of its name found in `multipliers` (1 when none matches), and its
 * group's lr is `lr × multiplier`. Schedules scale every group alike, so the
 * ratios hold throughout training. A multiplier of 0 freezes in effect; use
 * `module.freeze()` to also skip the gradient computation.
 * @example
 * const opt = new SGD(lrMultiplierGroups(model, 0.01, { features: 0.1 }), { lr: 0.01, momentum: 0.9 });
 */
export function lrMultiplierGroups(
  model: { namedParameters(): [string, Tensor][] },
  lr: number,
  multipliers: Record<string, number>,
): ParamGroup<{ lr: number }>[] {
  for (const [prefix, m] of Object.entries(multipliers)) {
    if (!(m >= 0)) throw new ArgumentError(`lrMultiplierGroups: multiplier for '${prefix}' must be >= 0, got ${m}`);
  }
  const named = model.namedParameters();
  const used = new Set<string>();
  const groups = new Map<number, Tensor[]>();
  for (const [name, p] of named) {
    let best: string | null = null;
    for (const prefix of Object.keys(multipliers)) {
      const matches = prefix === '' || name === prefix || name.startsWith(`${prefix}.`);
      if (matches && (best === null || prefix.length > best.length)) best = prefix;
    }
    if (best !== null) used.add(best);
    const mult = best === null ? 1 : multipliers[best]!;
    if (!groups.has(mult)) groups.set(mult, []);
    groups.get(mult)!.push(p);
  }
  const unused = Object.keys(multipliers).filter((k) => !used.has(k));
  if (unused.length) {
    throw new ArgumentError(
      `lrMultiplierGroups: no parameter is named by ${unused.map((u) => `'${u}'`).join(', ')} (names look like ${named
        .slice(0, 3)
        .map(([n]) => n)
        .join(', ')})`,
    );
  }
  return [...groups].map(([mult, params]) => ({ params, lr: lr * mult }));
}
