import { ArgumentError, TsgradError } from '../core/errors.js';
import { fromArray } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { Tensor } from '../tensor/tensor.js';

/** A set of parameters with its own options (e.g. a smaller lr for a pretrained backbone). */
export type ParamGroup<O> = { params: readonly Tensor[] } & Partial<O>;

export type GroupState<O> = O & { params: Tensor[] };

/** Per-parameter optimizer state: tensors (moments) and numbers (step count). */
export type ParamState = Record<string, Tensor | number>;

/** Serializable optimizer state: per-parameter state by parameter index, and the groups' options. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, { shape: number[]; data: number[] } | number>>;
  paramGroups: Record<string, unknown>[];
}

/**
 * Base of all optimizers. Parameters come as a list or as groups with their
 * own options; frozen parameters (requiresGrad false) and parameters without
 * a gradient are skipped by step().
 */
export abstract class Optimizer<O extends { lr: number }> {
  readonly paramGroups: GroupState<O>[];
  /**
   * Each parameter's state. Its tensors are the optimizer's own: a fused update hands the
   * storages of the state it replaces back to the backend (optim/fused.ts's retire()), so a
   * subclass that keeps a state tensor past the next step() must copy it; stateDict() copies.
   */
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: readonly Tensor[] | readonly ParamGroup<O>[], defaults: O) {
    const list = params as readonly (Tensor | ParamGroup<O>)[];
    if (list.length === 0) throw new ArgumentError(`${new.target.name}: got an empty parameter list`);
    const groups: ParamGroup<O>[] = isGroupList(list, new.target.name)
      ? [...list]
      : [{ params: list as Tensor[] } as unknown as ParamGroup<O>];
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, i) => {
      for (const [j, p] of g.params.entries()) {
        // From JavaScript, a stray null or a module would otherwise fail later, in step().
        if (!(p instanceof Tensor))
          throw new ArgumentError(
            `${new.target.name}: parameter ${j} of param group ${i} is not a tensor (got ${p === null ? 'null' : typeof p})`,
          );
        if (seen.has(p)) throw new ArgumentError(`${new.target.name}: a parameter appears twice (param group ${i})`);
        seen.add(p);
      }
      return { ...defaults, ...g, params: [...g.params] } as GroupState<O>;
    });
    for (const g of this.paramGroups) this.validate(g);
  }

  /** Checks a group's options; subclasses add theirs. */
  protected validate(g: GroupState<O>): void {
    if (!(g.lr >= 0)) throw new ArgumentError(`${this.constructor.name}: learning rate must be >= 0, got ${g.lr}`);
    const wd = (g as { weightDecay?: number }).weightDecay;
    if (wd !== undefined && !(wd >= 0)) {
      throw new ArgumentError(`${this.constructor.name}: weight decay must be >= 0, got ${wd}`);
    }
  }

  /** Sets every parameter's gradient to null. */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** Updates the parameters from their gradients (not recorded by autograd). */
  step(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (!p.requiresGrad || !p.grad) continue;
          let s = this.state.get(p);
          if (!s) this.state.set(p, (s = {}));
          p.assign(this.update(p, p.grad, s, g));
        }
      }
    });
  }

  /** The new value of one parameter. */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: GroupState<O>): Tensor;

  /** Learning rate of every group (what schedules change). */
  get lrs(): number[] {
    return this.paramGroups.map((g) => g.lr);
  }

  private indexOf(): Map<Tensor, number> {
    const index = new Map<Tensor, number>();
    for (const g of this.paramGroups) for (const p of g.params) index.set(p, index.size);
    return index;
  }

  /** State and options as plain data (JSON-serializable), parameters referred to by index. */
  stateDict(): OptimizerStateDict {
    const index = this.indexOf();
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const entry: Record<string, { shape: number[]; data: number[] } | number> = {};
      for (const [k, v] of Object.entries(s)) {
        entry[k] = typeof v === 'number' ? v : { shape: [...v.shape], data: Array.from(v.dataSync()) };
      }
      state[index.get(p)!] = entry;
    }
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...opts } = g;
      return { ...opts, params: params.map((p) => index.get(p)!) };
    });
    return { state, paramGroups };
  }

  /** Restores what stateDict() saved; the optimizer must have been built over the same parameters. */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new TsgradError(
        `${this.constructor.name}.loadStateDict: saved state has ${sd.paramGroups.length} param groups, this optimizer ${this.paramGroups.length}`,
      );
    }
    const params = this.paramGroups.flatMap((g) => g.params);
    sd.paramGroups.forEach((saved, i) => {
      const g = this.paramGroups[i]!;
      const n = (saved['params'] as number[]).length;
      if (n !== g.params.length) {
        throw new TsgradError(
          `${this.constructor.name}.loadStateDict: group ${i} has ${n} parameters saved, ${g.params.length} here`,
        );
      }
      const { params: _p, ...opts } = saved;
      void _p;
      Object.assign(g, opts);
    });
    this.state.clear();
    for (const [k, entry] of Object.entries(sd.state)) {
      const p = params[Number(k)];
      if (!p)
        throw new TsgradError(`${this.constructor.name}.loadStateDict: state for parameter ${k}, which does not exist`);
      const s: ParamState = {};
      for (const [name, v] of Object.entries(entry)) {
        s[name] =
          typeof v === 'number'
            ? v
            : fromArray(Float64Array.from(v.data), v.shape, { dtype: p.dtype, backend: p.backend });
      }
      this.state.set(p, s);
    }
  }
}

/** Whether the list holds param groups (objects with a `params` array) rather than tensors; a mix is refused. */
function isGroupList<O>(list: readonly (Tensor | ParamGroup<O>)[], who: string): list is readonly ParamGroup<O>[] {
  const groups = list.filter(
    (x) => typeof x === 'object' && x !== null && Array.isArray((x as { params?: unknown }).params),
  ).length;
  if (groups > 0 && groups < list.length)
    throw new ArgumentError(`${who}: the parameter list mixes tensors and param groups; give one or the other`);
  return groups > 0;
}
