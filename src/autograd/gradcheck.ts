import { TsgradError, DTypeError } from '../core/errors.js';
import { fromArray, randn } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { Generator } from '../tensor/random.js';
import * as ops from '../tensor/ops.js';
import { type Tensor, peekSync } from '../tensor/tensor.js';
import { backward } from './engine.js';

export interface GradcheckOptions {
  /** Central-difference step. Default 1e-6. */
  eps?: number;
  /** An entry passes when |analytic − numeric| ≤ atol + rtol·|numeric|. Default 1e-6. */
  atol?: number;
  /** Default 1e-4: a gradient wrong by 1% is rejected wherever |numeric| > 1e-4. */
  rtol?: number;
  /** Which inputs to check (default: all float inputs). */
  wrt?: readonly number[];
}

export interface GradcheckResult {
  /** Largest |analytic − numeric| found. */
  maxAbsError: number;
  /** Number of gradient entries compared. */
  checked: number;
}

/**
 * Compares the gradients backward() computes for `fn` with central
 * differences, in float64. The output is projected on fixed random
 * weights, so every output entry's gradient takes part. Throws a
 * TsgradError naming the input, the entry and both values on a mismatch.
 * @example gradcheck((a, b) => a.mul(b).sum(), [randn([3], {dtype: 'float64'}), randn([3], {dtype: 'float64'})]);
 */
export function gradcheck(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-6;
  const rtol = opts.rtol ?? 1e-4;
  const wrt = opts.wrt ?? inputs.map((_, i) => i).filter((i) => inputs[i]!.dtype === 'float64');
  for (const i of wrt) {
    if (inputs[i]!.dtype !== 'float64')
      throw new DTypeError(`gradcheck: input ${i} must be float64, got ${inputs[i]!.dtype}`);
  }
  // Inputs are usually fresh tensors; on webgpu only a peek (not dataSync) reads int32/bool ones.
  const values = inputs.map((x) => (peekSync(x) ?? x.dataSync()).slice());
  const leaves = (vals: readonly (typeof values)[number][]): Tensor[] =>
    inputs.map((x, i) =>
      fromArray(vals[i]!, x.shape, { dtype: x.dtype, backend: x.backend, requiresGrad: wrt.includes(i) }),
    );

  const xs = leaves(values);
  const out = fn(...xs);
  const weights = randn(out.shape, { dtype: 'float64', backend: out.backend, generator: new Generator(1234) });
  const objective = (y: Tensor): Tensor => ops.sum(ops.mul(ops.cast(y, 'float64'), weights));
  backward(objective(out), undefined);

  let maxAbsError = 0;
  let checked = 0;
  for (const i of wrt) {
    const analytic = xs[i]!.grad?.dataSync() ?? new Float64Array(values[i]!.length);
    const base = values[i]!;
    for (let j = 0; j < base.length; j++) {
      const orig = base[j]!;
      const at = (v: number): number => {
        base[j] = v;
        const r = noGrad(() => objective(fn(...leaves(values))).itemSync());
        base[j] = orig;
        return r;
      };
      const numeric = (at(orig + eps) - at(orig - eps)) / (2 * eps);
      const a = analytic[j]!;
      const err = Math.abs(a - numeric);
      checked++;
      maxAbsError = Math.max(maxAbsError, err);
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        throw new TsgradError(
          `gradcheck: gradient of input ${i} ${JSON.stringify(inputs[i]!.shape)} at flat index ${j} is ${a}, central differences give ${numeric} (|diff| ${err.toExponential(2)})`,
        );
      }
    }
  }
  return { maxAbsError, checked };
}
