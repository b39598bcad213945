/**
 * Weight initialization (Glorot/Xavier and He/Kaiming), in place on a
 * parameter, drawing from a seedable generator.
 */
import { ArgumentError } from '../core/errors.js';
import { full, normal, uniform } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'leaky_relu' | 'selu';

/**
 * The gain that keeps activations' variance steady through a nonlinearity:
 * 1 (linear, sigmoid), 5/3 (tanh), √2 (ReLU), √(2/(1+a²)) (leaky ReLU of slope a), 3/4 (SELU).
 */
export function calculateGain(nonlinearity: Nonlinearity, param = 0.01): number {
  switch (nonlinearity as string) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu':
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + param * param));
    case 'selu':
      return 3 / 4;
    default:
      throw new ArgumentError(
        `init.calculateGain: unknown nonlinearity ${JSON.stringify(nonlinearity)}; accepted: ${NONLINEARITIES.join(', ')}`,
      );
  }
}

/** The names calculateGain accepts ('leaky_relu', PyTorch's spelling, too). */
export const NONLINEARITIES: readonly Nonlinearity[] = [
  'linear',
  'conv2d',
  'sigmoid',
  'tanh',
  'relu',
  'leakyRelu',
  'selu',
];

/** fan_in and fan_out of a weight: [out, in] for dense, [out, in/groups, kH, kW] for conv. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.rank < 2)
    throw new ArgumentError(`init: fan in/out need a weight of rank >= 2, got shape [${t.shape.join(', ')}]`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

export interface InitOptions {
  generator?: Generator;
}

let skipDepth = 0;

/**
 * Runs `build` with every init function here turned into a no-op, so layers keep the
 * zeros (and ones) they are constructed with. For models whose weights are about to be
 * loaded, or that are built only to count parameters: a 140M-parameter VGG is built in
 * a fraction of the time.
 * @example const net = nn.init.skipInit(() => vgg16()); net.loadStateDict(weights);
 */
export function skipInit<T>(build: () => T): T {
  skipDepth++;
  try {
    return build();
  } finally {
    skipDepth--;
  }
}

function fill(t: Tensor, make: () => Tensor): Tensor {
  if (skipDepth > 0) return t;
  return noGrad(() => t.assign(make()));
}

/** U(low, high). */
export function uniform_(t: Tensor, low: number, high: number, opts: InitOptions = {}): Tensor {
  return fill(t, () =>
    uniform(t.shape, low, high, { dtype: t.dtype, backend: t.backend, generator: opts.generator ?? defaultGenerator }),
  );
}

/** N(mean, std²). */
export function normal_(t: Tensor, mean: number, std: number, opts: InitOptions = {}): Tensor {
  return fill(t, () =>
    normal(t.shape, mean, std, { dtype: t.dtype, backend: t.backend, generator: opts.generator ?? defaultGenerator }),
  );
}

/**
 * Fills with `value`, whatever `t` held before (NaN and infinities included, as PyTorch's constant_).
 * @example constant_(layer.bias, 0)
 */
export function constant_(t: Tensor, value: number): Tensor {
  return fill(t, () => full(t.shape, value, { dtype: t.dtype, backend: t.backend }));
}

/** Glorot uniform: U(−a, a) with a = gain·√(6/(fan_in + fan_out)). @example xavierUniform(layer.weight) */
export function xavierUniform(t: Tensor, opts: InitOptions & { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const a = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, opts);
}

/** Glorot normal: N(0, σ²) with σ = gain·√(2/(fan_in + fan_out)). */
export function xavierNormal(t: Tensor, opts: InitOptions & { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (0 for ReLU). */
  a?: number;
  /** Which fan keeps its variance: 'fanIn' (the default, forward pass) or 'fanOut' (backward); PyTorch's 'fan_in' / 'fan_out' too. */
  mode?: 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, opts: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t);
  const mode = opts.mode ?? 'fanIn';
  if (!['fanIn', 'fanOut', 'fan_in', 'fan_out'].includes(mode)) {
    throw new ArgumentError(
      `init.kaiming: unknown mode ${JSON.stringify(mode)}; accepted: 'fanIn', 'fanOut' (or 'fan_in', 'fan_out')`,
    );
  }
  const fan = mode === 'fanIn' || mode === 'fan_in' ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? 'leakyRelu', opts.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** He uniform: U(−b, b) with b = gain·√(3/fan). @example kaimingUniform(conv.weight, { nonlinearity: 'relu' }) */
export function kaimingUniform(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd(t, opts);
  return uniform_(t, -b, b, opts);
}

/** He normal: N(0, σ²) with σ = gain/√fan. */
export function kaimingNormal(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, opts), opts);
}
