export { Module, Parameter, Sequential, type StateDict, type LoadResult } from './module.js';
export { Linear } from './layers/linear.js';
export { Conv2d, type Conv2dOptions as Conv2dLayerOptions } from './layers/conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d, GlobalMaxPool2d } from './layers/pooling.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './layers/normalization.js';
export { ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softmax, LogSoftmax } from './layers/activation.js';
export { Flatten, Identity, Dropout, Dropout2d } from './layers/misc.js';
export * as init from './init.js';
export * as functional from './functional.js';
export {
  crossEntropy,
  nllLoss,
  mseLoss,
  l1Loss,
  binaryCrossEntropyWithLogits,
  l1Penalty,
  l2Penalty,
  type Reduction,
  type CrossEntropyOptions,
} from './functional.js';
export { summary, type Summary, type SummaryRow } from './summary.js';
