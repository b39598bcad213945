import { ArgumentError } from '../core/errors.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { fusedKernels, retire, stateOn, tensorOn, viewOf } from './fused.js';
import { type GroupState, Optimizer, type ParamGroup, type ParamState } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** L2 penalty added to the gradient: g + weightDecay·w. */
  weightDecay: number;
}

/**
 * Stochastic gradient descent with optional momentum (heavy ball or
 * Nesterov) and weight decay, with PyTorch's update rule.
 * @example const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true });
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(
    params: readonly Tensor[] | readonly ParamGroup<SGDOptions>[],
    opts: Partial<SGDOptions> & { lr: number },
  ) {
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...opts });
  }

  protected override validate(g: GroupState<SGDOptions>): void {
    super.validate(g);
    if (g.momentum < 0) throw new ArgumentError(`SGD: momentum must be >= 0, got ${g.momentum}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new ArgumentError('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
    }
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: GroupState<SGDOptions>): Tensor {
    const prevBuf = s['momentumBuffer'] as Tensor | undefined;
    const fused = fusedKernels(p)?.sgd(viewOf(p), viewOf(grad), prevBuf ? viewOf(prevBuf) : null, g);
    if (fused) {
      if (fused.momentumBuffer) {
        s['momentumBuffer'] = stateOn(fused.momentumBuffer, p);
        retire(prevBuf);
      }
      return tensorOn(fused.param, p);
    }
    let d = g.weightDecay ? ops.add(grad, ops.mul(p, g.weightDecay)) : grad;
    if (g.momentum) {
      const prev = s['momentumBuffer'] as Tensor | undefined;
      const buf = prev ? ops.add(ops.mul(prev, g.momentum), ops.mul(d, 1 - g.dampening)) : d;
      s['momentumBuffer'] = buf;
      d = g.nesterov ? ops.add(d, ops.mul(buf, g.momentum)) : buf;
    }
    return ops.sub(p, ops.mul(d, g.lr));
  }
}
