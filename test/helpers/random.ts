/** Seeded float64 inputs for gradient checks. */
import { Generator, randn, type Tensor } from '../../src/index.js';

/** A float64 standard-normal tensor from its own seeded generator. */
export function rn(shape: number[], seed: number, scale = 1): Tensor {
  return randn(shape, { dtype: 'float64', generator: new Generator(seed) }).mul(scale);
}

/** Values bounded away from zero: sign · (0.2 + |N(0,1)|), so |x| >= 0.2 and no kink of |x| or a rectifier is nearby. */
export function awayFromZero(shape: number[], seed: number): Tensor {
  const x = rn(shape, seed);
  return x.sign().mul(x.abs().add(0.2));
}
