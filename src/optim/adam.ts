import { ArgumentError } from '../core/errors.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { fusedKernels, retire, stateOn, tensorOn, viewOf } from './fused.js';
import { type GroupState, Optimizer, type ParamGroup, type ParamState } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

type AdamArgs = Partial<AdamOptions>;

/**
 * Adam (Kingma & Ba) with bias correction, optional AMSGrad, and L2 weight
 * decay added to the gradient (see AdamW for decoupled decay).
 * @example const opt = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends Optimizer<AdamOptions> {
  protected readonly decoupled: boolean = false;

  constructor(params: readonly Tensor[] | readonly ParamGroup<AdamOptions>[], opts: AdamArgs = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, ...opts });
  }

  protected override validate(g: GroupState<AdamOptions>): void {
    super.validate(g);
    const [b1, b2] = g.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
      throw new ArgumentError(`${this.constructor.name}: betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(g.eps >= 0)) throw new ArgumentError(`${this.constructor.name}: eps must be >= 0, got ${g.eps}`);
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: GroupState<AdamOptions>): Tensor {
    const [b1, b2] = g.betas;
    const fused = this.fusedUpdate(p, grad, s, g);
    if (fused) return fused;
    let param = p;
    let gr = grad;
    if (g.weightDecay) {
      if (this.decoupled) param = ops.mul(p, 1 - g.lr * g.weightDecay);
      else gr = ops.add(grad, ops.mul(p, g.weightDecay));
    }
    const step = ((s['step'] as number | undefined) ?? 0) + 1;
    const m0 = s['expAvg'] as Tensor | undefined;
    const v0 = s['expAvgSq'] as Tensor | undefined;
    const m = m0 ? ops.add(ops.mul(m0, b1), ops.mul(gr, 1 - b1)) : ops.mul(gr, 1 - b1);
    const v = v0 ? ops.add(ops.mul(v0, b2), ops.mul(ops.square(gr), 1 - b2)) : ops.mul(ops.square(gr), 1 - b2);
    let vHat = v;
    if (g.amsgrad) {
      const vMax = s['maxExpAvgSq'] as Tensor | undefined;
      vHat = vMax ? ops.maximum(vMax, v) : v;
      s['maxExpAvgSq'] = vHat;
    }
    s['step'] = step;
    s['expAvg'] = m;
    s['expAvgSq'] = v;
    const bc1 = 1 - b1 ** step;
    const bc2 = 1 - b2 ** step;
    const denom = ops.add(ops.div(ops.unary('sqrt', vHat), Math.sqrt(bc2)), g.eps);
    return ops.sub(param, ops.mul(ops.div(m, denom), g.lr / bc1));
  }

  /** The update as one fused kernel where the backend has it (same results bit for bit); null otherwise. */
  private fusedUpdate(p: Tensor, grad: Tensor, s: ParamState, g: GroupState<AdamOptions>): Tensor | null {
    const kernels = fusedKernels(p);
    if (!kernels) return null;
    const step = ((s['step'] as number | undefined) ?? 0) + 1;
    const m0 = s['expAvg'] as Tensor | undefined;
    const v0 = s['expAvgSq'] as Tensor | undefined;
    const vMax = s['maxExpAvgSq'] as Tensor | undefined;
    // The op-by-op rule treats a missing moment as zero history only when both are missing.
    if (!m0 !== !v0) return null;
    const [b1, b2] = g.betas;
    const out = kernels.adam(
      viewOf(p),
      viewOf(grad),
      m0 && v0
        ? { expAvg: viewOf(m0), expAvgSq: viewOf(v0), maxExpAvgSq: g.amsgrad && vMax ? viewOf(vMax) : null }
        : null,
      { ...g, decoupled: this.decoupled, biasCorrection1: 1 - b1 ** step, biasCorrection2: 1 - b2 ** step },
    );
    if (!out) return null;
    s['step'] = step;
    s['expAvg'] = stateOn(out.expAvg, p);
    s['expAvgSq'] = stateOn(out.expAvgSq, p);
    retire(m0);
    retire(v0);
    if (out.maxExpAvgSq) {
      s['maxExpAvgSq'] = stateOn(out.maxExpAvgSq, p);
      retire(vMax);
    }
    return tensorOn(out.param, p);
  }
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter): w ← w·(1 − lr·wd)
 * before the Adam step. Default weight decay 0.01, as in PyTorch.
 * @example const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: readonly Tensor[] | readonly ParamGroup<AdamOptions>[], opts: AdamArgs = {}) {
    super(params, { weightDecay: 0.01, ...opts });
  }
}
