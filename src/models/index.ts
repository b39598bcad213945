import { ArgumentError } from '../core/errors.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { LeNet5 } from './lenet.js';

export { LeNet5, type LeNet5Options } from './lenet.js';

export interface ModelSpec {
  /** One line for `tsgrad --help`. */
  description: string;
  /** Builds the model for images of `channels`×`size`×`size` and `numClasses` classes. */
  create(opts: { numClasses: number; inChannels: number; inputSize: number }): Module & { forward(x: Tensor): Tensor };
  /** The input size used when the data does not impose one. */
  defaultInput: { channels: number; size: number };
  /** Input sizes the architecture accepts. */
  sizes: readonly number[];
}

/** The models the command line and `createModel` know by name. */
export const MODELS: Readonly<Record<string, ModelSpec>> = {
  lenet5: {
    description: 'LeNet-5 with ReLU and max pooling (61,706 parameters on 28x28 input)',
    create: ({ numClasses, inChannels, inputSize }) =>
      new LeNet5({ numClasses, inChannels, inputSize: inputSize as 28 | 32 }),
    defaultInput: { channels: 1, size: 28 },
    sizes: [28, 32],
  },
};

/** @example createModel('lenet5', { numClasses: 10, inChannels: 1, inputSize: 28 }) */
export function createModel(
  name: string,
  opts: { numClasses: number; inChannels: number; inputSize: number },
): Module & { forward(x: Tensor): Tensor } {
  const spec = MODELS[name];
  if (!spec) throw new ArgumentError(`unknown model '${name}'; available: ${Object.keys(MODELS).join(', ')}`);
  if (!spec.sizes.includes(opts.inputSize)) {
    throw new ArgumentError(
      `model '${name}' takes ${spec.sizes.join(' or ')} pixel inputs, the data has ${opts.inputSize}`,
    );
  }
  return spec.create(opts);
}
