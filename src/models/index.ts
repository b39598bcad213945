/**
 * The model zoo: LeNet-5, AlexNet, VGG, GoogLeNet, ResNet and DenseNet, with torchvision's
 * parameter names, plus a registry the command line uses to build them by name.
 */
import { ArgumentError } from '../core/errors.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { AlexNetPaper, alexnet } from './alexnet.js';
import { densenet121, densenet161, densenet169, densenet201 } from './densenet.js';
import { googlenet } from './googlenet.js';
import { LeNet5, LeNet5Classic } from './lenet.js';
import { resnet101, resnet152, resnet18, resnet34, resnet50, resnext50_32x4d, wide_resnet50_2 } from './resnet.js';
import { vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn } from './vgg.js';

export type { ModelOptions } from './common.js';
export {
  LeNet5,
  type LeNet5Options,
  LeNet5Classic,
  type LeNet5ClassicOptions,
  lenet5,
  Subsampling2d,
  PartialConv2d,
  RBFOutput,
  ScaledTanh,
  scaledTanh,
  LENET_C3_TABLE,
} from './lenet.js';
export { AlexNet, type AlexNetOptions, AlexNetPaper, type AlexNetPaperOptions, alexnet } from './alexnet.js';
export {
  VGG,
  type VggOptions,
  type VggConfig,
  VGG_CONFIGS,
  vgg11,
  vgg13,
  vgg16,
  vgg19,
  vgg11_bn,
  vgg13_bn,
  vgg16_bn,
  vgg19_bn,
} from './vgg.js';
export {
  GoogLeNet,
  type GoogLeNetOptions,
  type GoogLeNetOutputs,
  Inception,
  InceptionAux,
  BasicConv2d,
  googlenet,
} from './googlenet.js';
export {
  ResNet,
  type ResNetOptions,
  BasicBlock,
  Bottleneck,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  wide_resnet50_2,
} from './resnet.js';
export {
  DenseNet,
  type DenseNetOptions,
  DenseBlock,
  DenseLayer,
  densenet121,
  densenet161,
  densenet169,
  densenet201,
} from './densenet.js';

type Classifier = Module & { forward(x: Tensor): Tensor };

export interface ModelSpec {
  /** One line for `tsgrad --help`. */
  description: string;
  /** Builds the model for images of `channels`×`size`×`size` and `numClasses` classes. */
  create(opts: { numClasses: number; inChannels: number; inputSize: number }): Classifier;
  /** The input the architecture was designed for (used when the data does not impose one). */
  defaultInput: { channels: number; size: number };
  /** Classes of the reference configuration (1000 for the ImageNet models). */
  defaultClasses: number;
  /** Input sizes the architecture accepts. */
  accepts(size: number): boolean;
  /** What accepts() allows, in words, for error messages. */
  sizesText: string;
}

/** Inputs smaller than this use the zoo models' small-input (CIFAR-style) stem. */
export const SMALL_INPUT_BELOW = 64;

function zoo(
  description: string,
  build: (o: { numClasses: number; inChannels: number; smallInput: boolean }) => Classifier,
  minSize: number,
): ModelSpec {
  return {
    description,
    create: ({ numClasses, inChannels, inputSize }) =>
      build({ numClasses, inChannels, smallInput: inputSize < SMALL_INPUT_BELOW }),
    defaultInput: { channels: 3, size: 224 },
    defaultClasses: 1000,
    accepts: (size) => size >= minSize,
    sizesText: `at least ${minSize}-pixel (under ${SMALL_INPUT_BELOW}: the small-input stem)`,
  };
}

/** The models the command line and `createModel` know by name. */
export const MODELS: Readonly<Record<string, ModelSpec>> = {
  lenet5: {
    description: 'LeNet-5 with ReLU and max pooling (61,706 parameters on 28x28 input)',
    create: ({ numClasses, inChannels, inputSize }) =>
      new LeNet5({ numClasses, inChannels, inputSize: inputSize as 28 | 32 }),
    defaultInput: { channels: 1, size: 28 },
    defaultClasses: 10,
    accepts: (size) => size === 28 || size === 32,
    sizesText: '28 or 32 pixels',
  },
  'lenet5-classic': {
    description: 'LeNet-5 as in LeCun et al. 1998: scaled tanh, trainable subsampling, C3 table, RBF output',
    create: ({ numClasses, inChannels, inputSize }) =>
      new LeNet5Classic({ numClasses, inChannels, inputSize: inputSize as 28 | 32 }),
    defaultInput: { channels: 1, size: 32 },
    defaultClasses: 10,
    accepts: (size) => size === 28 || size === 32,
    sizesText: '28 or 32 pixels',
  },
  alexnet: zoo('AlexNet, torchvision layout (61.1M parameters at 1000 classes)', alexnet, 28),
  'alexnet-paper': {
    description: 'AlexNet as published: groups 2 on conv2/4/5, LRN, 227x227 input (60,965,224 parameters)',
    create: ({ numClasses, inChannels }) => new AlexNetPaper({ numClasses, inChannels }),
    defaultInput: { channels: 3, size: 227 },
    defaultClasses: 1000,
    accepts: (size) => size === 227,
    sizesText: '227-pixel',
  },
  vgg11: zoo('VGG-11 (configuration A)', vgg11, 32),
  vgg11_bn: zoo('VGG-11 with batch norm', vgg11_bn, 32),
  vgg13: zoo('VGG-13 (configuration B)', vgg13, 32),
  vgg13_bn: zoo('VGG-13 with batch norm', vgg13_bn, 32),
  vgg16: zoo('VGG-16 (configuration D)', vgg16, 32),
  vgg16_bn: zoo('VGG-16 with batch norm', vgg16_bn, 32),
  vgg19: zoo('VGG-19 (configuration E)', vgg19, 32),
  vgg19_bn: zoo('VGG-19 with batch norm', vgg19_bn, 32),
  googlenet: zoo('GoogLeNet / Inception v1 with batch norm', googlenet, 16),
  resnet18: zoo('ResNet-18 (basic blocks 2-2-2-2)', resnet18, 16),
  resnet34: zoo('ResNet-34 (basic blocks 3-4-6-3)', resnet34, 16),
  resnet50: zoo('ResNet-50 (bottlenecks 3-4-6-3)', resnet50, 16),
  resnet101: zoo('ResNet-101 (bottlenecks 3-4-23-3)', resnet101, 16),
  resnet152: zoo('ResNet-152 (bottlenecks 3-8-36-3)', resnet152, 16),
  resnext50_32x4d: zoo('ResNeXt-50 32x4d', resnext50_32x4d, 16),
  wide_resnet50_2: zoo('Wide ResNet-50-2', wide_resnet50_2, 16),
  densenet121: zoo('DenseNet-121 (k=32, blocks 6-12-24-16)', densenet121, 16),
  densenet161: zoo('DenseNet-161 (k=48, blocks 6-12-36-24)', densenet161, 16),
  densenet169: zoo('DenseNet-169 (k=32, blocks 6-12-32-32)', densenet169, 16),
  densenet201: zoo('DenseNet-201 (k=32, blocks 6-12-48-32)', densenet201, 16),
};

/** @example createModel('resnet18', { numClasses: 10, inChannels: 3, inputSize: 32 }) */
export function createModel(
  name: string,
  opts: { numClasses: number; inChannels: number; inputSize: number },
): Classifier {
  const spec = MODELS[name];
  if (!spec) throw new ArgumentError(`unknown model '${name}'; available: ${Object.keys(MODELS).join(', ')}`);
  if (!spec.accepts(opts.inputSize)) {
    throw new ArgumentError(`model '${name}' takes ${spec.sizesText} inputs, the data has ${opts.inputSize}`);
  }
  return spec.create(opts);
}
