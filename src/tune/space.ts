/**
 * Search spaces: what a study may try. A space is an ordered record of named
 * distributions; a parameter may be conditional on an earlier one
 * (`momentum` only when `optimizer` is `sgd`). Spaces are written in code with
 * `hp.*` or read from JSON (`parseSpace`), and validated before any trial runs.
 */
import { TsgradError } from '../core/errors.js';
import type { Generator } from '../tensor/random.js';

/** A bad search space; the message names the parameter. */
export class SpaceError extends TsgradError {}

export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

/** The parameter is active only when `param` (an earlier one) takes one of `values`. */
export type Condition = Record<string, readonly ParamValue[]>;

interface Common {
  /** Active only when every named earlier parameter takes one of the listed values. */
  when?: Condition;
}
export interface FloatDist extends Common {
  kind: 'float';
  low: number;
  high: number;
  log: boolean;
  /** Grid points for the grid strategy (required there). */
  steps?: number;
}
export interface IntDist extends Common {
  kind: 'int';
  low: number;
  high: number;
  step: number;
  log: boolean;
}
export interface ChoiceDist extends Common {
  kind: 'choice';
  values: readonly ParamValue[];
}
export interface BoolDist extends Common {
  kind: 'bool';
}
export type Distribution = FloatDist | IntDist | ChoiceDist | BoolDist;
export type Space = Record<string, Distribution>;

/**
 * Builders of distributions.
 * @example
 * const space = {
 *   lr: hp.float(1e-4, 1e-1, { log: true }),
 *   optimizer: hp.choice(['adam', 'sgd']),
 *   momentum: hp.float(0.5, 0.99, { when: { optimizer: ['sgd'] } }),
 *   'batch-size': hp.int(32, 256, { step: 32 }),
 * };
 */
export const hp = {
  float(low: number, high: number, opts: { log?: boolean; steps?: number; when?: Condition } = {}): FloatDist {
    return {
      kind: 'float',
      low,
      high,
      log: opts.log ?? false,
      ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
      ...(opts.when ? { when: opts.when } : {}),
    };
  },
  int(low: number, high: number, opts: { step?: number; log?: boolean; when?: Condition } = {}): IntDist {
    return {
      kind: 'int',
      low,
      high,
      step: opts.step ?? 1,
      log: opts.log ?? false,
      ...(opts.when ? { when: opts.when } : {}),
    };
  },
  choice(values: readonly ParamValue[], opts: { when?: Condition } = {}): ChoiceDist {
    return { kind: 'choice', values: [...values], ...(opts.when ? { when: opts.when } : {}) };
  },
  bool(opts: { when?: Condition } = {}): BoolDist {
    return { kind: 'bool', ...(opts.when ? { when: opts.when } : {}) };
  },
};

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks every distribution: known kind, finite bounds, low < high (low ≤ high for ints),
 * positive bounds on a log scale, a step that fits, non-empty choices, and conditions on an
 * earlier choice/bool parameter with values it can take. Throws SpaceError naming the key.
 */
export function validateSpace(space: Space, source = 'space'): void {
  const keys = Object.keys(space);
  if (keys.length === 0) throw new SpaceError(`${source}: the space has no parameters`);
  keys.forEach((key, index) => {
    const bad = (what: string): never => {
      throw new SpaceError(`${source}: parameter '${key}': ${what}`);
    };
    const maybe = space[key] as Distribution | undefined;
    if (!maybe || typeof maybe !== 'object') return bad('expected a distribution object');
    const d: Distribution = maybe;
    switch (d.kind) {
      case 'float':
      case 'int': {
        if (!isNum(d.low) || !isNum(d.high)) bad(`bounds must be finite numbers, got low=${d.low} high=${d.high}`);
        if (d.kind === 'float' ? !(d.low < d.high) : !(d.low <= d.high))
          bad(`empty range: low=${d.low} must be below high=${d.high}`);
        if (d.log && d.low <= 0) bad(`a log scale needs low > 0, got low=${d.low}`);
        if (d.kind === 'int') {
          if (!Number.isInteger(d.low) || !Number.isInteger(d.high))
            bad(`int bounds must be integers, got low=${d.low} high=${d.high}`);
          if (!Number.isInteger(d.step) || d.step < 1) bad(`step must be a positive integer, got ${d.step}`);
          if (d.log && d.step !== 1) bad('a log-scale int cannot have a step');
        } else if (d.steps !== undefined && !(Number.isInteger(d.steps) && d.steps >= 1)) {
          bad(`steps must be a positive integer, got ${d.steps}`);
        }
        break;
      }
      case 'choice':
        if (!Array.isArray(d.values) || d.values.length === 0) bad('a choice needs a non-empty list of values');
        for (const v of d.values)
          if (!['number', 'string', 'boolean'].includes(typeof v))
            bad(`choice values must be numbers, strings or booleans`);
        break;
      case 'bool':
        break;
      default:
        bad(`unknown kind '${String((d as { kind?: unknown }).kind)}' (use float, int, choice or bool)`);
    }
    if (d.when !== undefined) {
      if (typeof d.when !== 'object' || d.when === null) bad("'when' must map a parameter name to allowed values");
      for (const [parent, values] of Object.entries(d.when)) {
        const pIndex = keys.indexOf(parent);
        if (pIndex < 0) bad(`condition on unknown parameter '${parent}'`);
        if (pIndex >= index) bad(`condition on '${parent}', which must come before '${key}'`);
        const p = space[parent]!;
        if (p.kind !== 'choice' && p.kind !== 'bool')
          return bad(`condition on '${parent}', which is not a choice or bool`);
        if (!Array.isArray(values) || values.length === 0) bad(`condition on '${parent}' needs a non-empty list`);
        const allowed: readonly ParamValue[] = p.kind === 'bool' ? [true, false] : p.values;
        for (const v of values)
          if (!allowed.includes(v)) bad(`condition value ${JSON.stringify(v)} is not a value of '${parent}'`);
      }
    }
  });
}

/** Whether `key` is active given the values chosen so far. */
export function isActive(space: Space, key: string, params: Params): boolean {
  const when = space[key]!.when;
  if (!when) return true;
  return Object.entries(when).every(([parent, values]) => parent in params && values.includes(params[parent]!));
}

/** Maps a numeric distribution to the unit interval's coordinates: log for log scales. */
export function toInternal(d: FloatDist | IntDist, v: number): number {
  return d.log ? Math.log(v) : v;
}

/** Internal bounds of a numeric distribution (ints widened by half a step so every value has equal mass). */
export function internalBounds(d: FloatDist | IntDist): [number, number] {
  if (d.kind === 'float') return [toInternal(d, d.low), toInternal(d, d.high)];
  if (d.log) return [Math.log(d.low - 0.5), Math.log(d.high + 0.5)];
  return [d.low - d.step / 2, d.high + d.step / 2];
}

/** Rounds an internal coordinate back to a legal value of the distribution. */
export function fromInternal(d: FloatDist | IntDist, x: number): number {
  const v = d.log ? Math.exp(x) : x;
  if (d.kind === 'float') return Math.min(d.high, Math.max(d.low, v));
  const k = Math.round((v - d.low) / d.step);
  const maxK = Math.floor((d.high - d.low) / d.step);
  return d.low + Math.min(maxK, Math.max(0, k)) * d.step;
}

/** One value of a distribution, drawn uniformly (on the log scale where set). */
export function sampleDistribution(d: Distribution, rng: Generator): ParamValue {
  switch (d.kind) {
    case 'choice':
      return d.values[rng.int(0, d.values.length)]!;
    case 'bool':
      return rng.uniform() < 0.5;
    default: {
      const [lo, hi] = internalBounds(d);
      return fromInternal(d, lo + rng.uniform() * (hi - lo));
    }
  }
}

/** A configuration drawn uniformly from the space; inactive conditional parameters are left out. */
export function sampleSpace(space: Space, rng: Generator): Params {
  const params: Params = {};
  for (const [key, d] of Object.entries(space))
    if (isActive(space, key, params)) params[key] = sampleDistribution(d, rng);
  return params;
}

/** The grid values of one distribution: all choices, both bools, every int step, `steps` floats. */
export function gridValues(key: string, d: Distribution): ParamValue[] {
  switch (d.kind) {
    case 'choice':
      return [...d.values];
    case 'bool':
      return [false, true];
    case 'int': {
      const out: number[] = [];
      if (d.log) {
        for (let v = d.low; v <= d.high; v *= 2) out.push(v);
        if (out[out.length - 1] !== d.high) out.push(d.high);
        return out;
      }
      for (let v = d.low; v <= d.high; v += d.step) out.push(v);
      return out;
    }
    case 'float': {
      if (d.steps === undefined)
        throw new SpaceError(`grid: float parameter '${key}' needs a steps count (hp.float(lo, hi, { steps }))`);
      if (d.steps === 1) return [d.log ? Math.sqrt(d.low * d.high) : (d.low + d.high) / 2];
      const [lo, hi] = [toInternal(d, d.low), toInternal(d, d.high)];
      return Array.from({ length: d.steps }, (_, i) => {
        const x = lo + ((hi - lo) * i) / (d.steps! - 1);
        return d.log ? Math.exp(x) : x;
      });
    }
  }
}

/**
 * Every combination of the grid values, in a stable order: the first parameter varies
 * slowest, as in nested loops over the keys; a conditional parameter branches only where
 * it is active, so no combination repeats.
 */
export function gridConfigurations(space: Space): Params[] {
  const keys = Object.keys(space);
  const out: Params[] = [];
  const visit = (i: number, params: Params): void => {
    if (i === keys.length) {
      out.push({ ...params });
      return;
    }
    const key = keys[i]!;
    if (!isActive(space, key, params)) return visit(i + 1, params);
    for (const v of gridValues(key, space[key]!)) {
      params[key] = v;
      visit(i + 1, params);
    }
    delete params[key];
  };
  visit(0, {});
  return out;
}

/** A canonical string of a configuration (keys sorted), to compare configurations. */
export function paramsKey(params: Params): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
}

/**
 * Reads a space from its JSON form: `{ "lr": { "type": "float", "low": 1e-4, "high": 0.1, "log": true },
 * "optimizer": { "type": "choice", "values": ["adam", "sgd"] }, "momentum": { "type": "float", "low": 0.5,
 * "high": 0.99, "when": { "optimizer": ["sgd"] } }, "nesterov": { "type": "bool" } }`.
 * `allowedKeys` (e.g. `tsgrad train` option names) refuses unknown keys. Throws SpaceError naming the key.
 */
export function parseSpace(json: unknown, source = 'space', allowedKeys?: readonly string[]): Space {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new SpaceError(`${source}: expected an object mapping parameter names to distributions`);
  const space: Space = {};
  for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
    const bad = (what: string): never => {
      throw new SpaceError(`${source}: parameter '${key}': ${what}`);
    };
    if (allowedKeys && !allowedKeys.includes(key)) bad(`not a tunable option (tunable: ${allowedKeys.join(', ')})`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      bad('expected an object like { "type": "float", "low": 0.001, "high": 0.1 }');
    const r = raw as Record<string, unknown>;
    const known = new Set(['type', 'low', 'high', 'step', 'steps', 'log', 'values', 'when']);
    for (const k of Object.keys(r)) if (!known.has(k)) bad(`unknown field '${k}'`);
    const when = r['when'] as Condition | undefined;
    const opts = when !== undefined ? { when } : {};
    if (r['log'] !== undefined && typeof r['log'] !== 'boolean') bad(`'log' must be true or false`);
    switch (r['type']) {
      case 'float':
        if (r['step'] !== undefined) bad("a float takes 'steps' (grid points), not 'step'");
        space[key] = hp.float(r['low'] as number, r['high'] as number, {
          log: r['log'] as boolean | undefined,
          ...(r['steps'] !== undefined ? { steps: r['steps'] as number } : {}),
          ...opts,
        });
        break;
      case 'int':
        space[key] = hp.int(r['low'] as number, r['high'] as number, {
          ...(r['step'] !== undefined ? { step: r['step'] as number } : {}),
          log: r['log'] as boolean | undefined,
          ...opts,
        });
        break;
      case 'choice':
        if (!Array.isArray(r['values'])) bad("a choice needs 'values', a non-empty list");
        space[key] = hp.choice(r['values'] as ParamValue[], opts);
        break;
      case 'bool':
        space[key] = hp.bool(opts);
        break;
      default:
        bad(`unknown type ${JSON.stringify(r['type'])} (use "float", "int", "choice" or "bool")`);
    }
  }
  validateSpace(space, source);
  return space;
}
