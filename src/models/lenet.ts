import { ArgumentError } from '../core/errors.js';
import { Conv2d, Flatten, Linear, MaxPool2d, Module, Parameter, ReLU, Sequential, init } from '../nn/index.js';
import { ones, randn, zeros } from '../tensor/creation.js';
import { avgPool2d, conv2d, matmul, reshape, square, sum, tanh } from '../tensor/ops.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

export interface LeNet5Options {
  numClasses?: number;
  inChannels?: number;
  /** Side of the square input: 28 pads the first convolution by 2 (MNIST), 32 does not (the original). */
  inputSize?: 28 | 32;
}

/**
 * LeNet-5 with ReLU and max pooling (the modern variant):
 * conv 5×5 6 → ReLU → pool 2 → conv 5×5 16 → ReLU → pool 2 → fc 120 → fc 84 → fc classes.
 * @example const net = new LeNet5({ numClasses: 10 });
 */
export class LeNet5 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(opts: LeNet5Options = {}) {
    super();
    const size = opts.inputSize ?? 28;
    this.features = new Sequential(
      new Conv2d(opts.inChannels ?? 1, 6, 5, { padding: size === 28 ? 2 : 0 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(6, 16, 5),
      new ReLU(),
      new MaxPool2d(2),
    );
    this.classifier = new Sequential(
      new Flatten(),
      new Linear(16 * 5 * 5, 120),
      new ReLU(),
      new Linear(120, 84),
      new ReLU(),
      new Linear(84, opts.numClasses ?? 10),
    );
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}

/** LeCun's squashing function f(a) = 1.7159·tanh(2a/3), so f(±1) = ±1. */
export function scaledTanh(x: Tensor): Tensor {
  return tanh(x.mul(2 / 3)).mul(1.7159);
}

/** LeCun's initialization: U(±2.4/F) with F the fan-in. */
function lecunUniform(weight: Tensor, fanIn: number): void {
  init.uniform_(weight, -2.4 / fanIn, 2.4 / fanIn);
}

/**
 * LeNet-5's subsampling layer (S2, S4): each map's 2×2 sums times a trainable coefficient
 * plus a trainable bias; two parameters per map.
 */
export class Subsampling2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(readonly channels: number) {
    super();
    this.weight = new Parameter(ones([channels]));
    this.bias = new Parameter(zeros([channels]));
    lecunUniform(this.weight, 4);
    lecunUniform(this.bias, 4);
  }

  forward(x: Tensor): Tensor {
    const sums = avgPool2d(x, 2).mul(4);
    return sums.mul(this.weight.reshape([1, -1, 1, 1])).add(this.bias.reshape([1, -1, 1, 1]));
  }

  protected override extraRepr(): string {
    return String(this.channels);
  }
}

/** Which of S2's 6 maps feed each of C3's 16 maps (LeCun et al. 1998, table I). */
export const LENET_C3_TABLE: readonly (readonly number[])[] = [
  [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],
  [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],
  [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
  [0, 1, 2, 3, 4, 5],
]; // prettier-ignore

/**
 * A convolution in which each output map sees only some input maps (C3's connection table).
 * Only the connected kernels are parameters: `weight` is [connections, kH, kW], and the full
 * [out, in, kH, kW] kernel is assembled by a constant 0/1 matrix, so gradients flow as usual.
 */
export class PartialConv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  private readonly scatter: Tensor;

  constructor(
    readonly inChannels: number,
    readonly table: readonly (readonly number[])[],
    readonly kernelSize: number,
  ) {
    super();
    const connections = table.reduce((n, row) => n + row.length, 0);
    const s = new Float32Array(table.length * inChannels * connections);
    let k = 0;
    table.forEach((row, o) =>
      row.forEach((i) => {
        if (!(Number.isInteger(i) && i >= 0 && i < inChannels)) {
          throw new ArgumentError(`PartialConv2d: output map ${o} names input map ${i}, have ${inChannels}`);
        }
        s[(o * inChannels + i) * connections + k++] = 1;
      }),
    );
    this.scatter = zeros([table.length * inChannels, connections]).constantFrom(s, [
      table.length * inChannels,
      connections,
    ]);
    this.weight = new Parameter(zeros([connections, kernelSize, kernelSize]));
    this.bias = new Parameter(zeros([table.length]));
    const fanIn = (connections / table.length) * kernelSize * kernelSize;
    lecunUniform(this.weight, fanIn);
    lecunUniform(this.bias, fanIn);
  }

  /** The assembled kernel [out, in, k, k], zero where the table has no connection. */
  fullWeight(): Tensor {
    const k = this.kernelSize;
    const flat = matmul(this.scatter.cast(this.weight.dtype), reshape(this.weight, [this.weight.shape[0]!, k * k]));
    return reshape(flat, [this.table.length, this.inChannels, k, k]);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.fullWeight(), this.bias);
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.table.length}, kernel=${this.kernelSize}, connections=${this.weight.shape[0]}`;
  }
}

/**
 * Euclidean RBF output units: y_i = Σ_j (x_j − c_ij)², with fixed centres c (a buffer). The
 * paper's centres are stylized 7×12 bitmaps of the characters; here they are a seeded ±1 code.
 * forward() returns −y, so the closest centre has the largest logit and crossEntropy applies.
 */
export class RBFOutput extends Module {
  constructor(
    readonly inFeatures: number,
    readonly numClasses: number,
    seed = 1998,
  ) {
    super();
    const code = randn([numClasses, inFeatures], { generator: new Generator(seed) }).sign();
    this.registerBuffer('centres', code);
  }

  forward(x: Tensor): Tensor {
    const c = this.buffer('centres').cast(x.dtype);
    // Σ(x − c)² = |x|² − 2·x·cᵀ + |c|², without an [N, classes, features] intermediate.
    const d = sum(square(x), [1], true)
      .sub(matmul(x, c.transpose()).mul(2))
      .add(sum(square(c), [1]));
    return d.neg();
  }

  protected override extraRepr(): string {
    return `${this.inFeatures}, ${this.numClasses}`;
  }
}

/** The squashing function as a layer. */
export class ScaledTanh extends Module {
  forward(x: Tensor): Tensor {
    return scaledTanh(x);
  }
}

export interface LeNet5ClassicOptions {
  numClasses?: number;
  inChannels?: number;
  /** 32 (the paper's) or 28, which pads C1 by 2. */
  inputSize?: 28 | 32;
  /** 'rbf' (the paper's fixed-centre Euclidean units) or 'linear' (a trainable fully connected layer). */
  output?: 'rbf' | 'linear';
}

/**
 * LeNet-5 as LeCun et al. (1998) describe it: C1 (6 maps 5×5), S2 (trainable subsampling),
 * C3 (16 maps through the partial connection table), S4, C5 (120 maps 5×5), F6 (84 units),
 * every layer squashed by 1.7159·tanh(2a/3), and RBF output units. 60,000 trainable
 * parameters with the RBF output, as the paper counts.
 * @example const net = lenet5({ variant: 'classic' });
 */
export class LeNet5Classic extends Module {
  readonly c1: Conv2d;
  readonly s2: Subsampling2d;
  readonly c3: PartialConv2d;
  readonly s4: Subsampling2d;
  readonly c5: Conv2d;
  readonly f6: Linear;
  readonly output: Module & { forward(x: Tensor): Tensor };

  constructor(opts: LeNet5ClassicOptions = {}) {
    super();
    const size = opts.inputSize ?? 32;
    const numClasses = opts.numClasses ?? 10;
    this.c1 = new Conv2d(opts.inChannels ?? 1, 6, 5, { padding: size === 28 ? 2 : 0 });
    this.s2 = new Subsampling2d(6);
    this.c3 = new PartialConv2d(6, LENET_C3_TABLE, 5);
    this.s4 = new Subsampling2d(16);
    this.c5 = new Conv2d(16, 120, 5);
    this.f6 = new Linear(120, 84);
    this.output = opts.output === 'linear' ? new Linear(84, numClasses) : new RBFOutput(84, numClasses);
    for (const layer of [this.c1, this.c5, this.f6, ...(this.output instanceof Linear ? [this.output] : [])]) {
      const fanIn = layer.weight.numel / layer.weight.shape[0]!;
      lecunUniform(layer.weight, fanIn);
      if (layer.bias) lecunUniform(layer.bias, fanIn);
    }
  }

  forward(x: Tensor): Tensor {
    let y = scaledTanh(this.s2.forward(scaledTanh(this.c1.forward(x))));
    y = scaledTanh(this.s4.forward(scaledTanh(this.c3.forward(y))));
    y = scaledTanh(this.c5.forward(y)).reshape([y.shape[0]!, 120]);
    return this.output.forward(scaledTanh(this.f6.forward(y)));
  }
}

/**
 * LeNet-5, 'modern' (ReLU, max-pooling, linear output: the default) or 'classic' (LeCun 1998).
 * @example const net = lenet5({ variant: 'classic', inputSize: 32 });
 */
export function lenet5(
  opts: ({ variant?: 'modern' } & LeNet5Options) | ({ variant: 'classic' } & LeNet5ClassicOptions) = {},
): LeNet5 | LeNet5Classic {
  return opts.variant === 'classic' ? new LeNet5Classic(opts) : new LeNet5(opts);
}
