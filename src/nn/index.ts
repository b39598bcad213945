export { Module, Parameter, Sequential, type StateDict, type LoadResult } from './module.js';
export { Linear } from './layers/linear.js';
export { Conv2d, type Conv2dOptions as Conv2dLayerOptions } from './layers/conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d, GlobalMaxPool2d } from './layers/pooling.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './layers/normalization.js';
export { ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softmax, LogSoftmax } from './layers/activation.js';
export { Flatten, Identity, Dropout, Dropout2d } from './layers/misc.js';
export {
  LayerNorm,
  InstanceNorm2d,
  GroupNorm,
  LocalResponseNorm,
  type LayerNormOptions,
  type InstanceNormOptions as InstanceNorm2dOptions,
  type GroupNormOptions,
  type LocalResponseNormOptions,
} from './layers/norm.js';
export {
  PReLU,
  RReLU,
  Maxout,
  MaxoutLinear,
  type PReLUOptions,
  type RReLUOptions,
  type MaxoutOptions,
} from './layers/rectifiers.js';
export { ConvTranspose2d, type ConvTranspose2dLayerOptions } from './layers/conv-transpose.js';
export { Upsample, type UpsampleLayerOptions } from './layers/upsample.js';
export {
  StochasticPool2d,
  type StochasticPool2dOptions as StochasticPool2dLayerOptions,
} from './layers/stochastic-pool.js';
export { Residual, Concat } from './layers/blocks.js';
export { LSoftmaxLinear, lSoftmaxLambda, type LambdaSchedule, type LSoftmaxLinearOptions } from './layers/lsoftmax.js';
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
  layerNorm,
  instanceNorm,
  groupNorm,
  localResponseNorm,
  prelu,
  rrelu,
  maxout,
  convTranspose2d,
  convTranspose2dOutputSize,
  stochasticPool2d,
  lSoftmaxLoss,
  lSoftmaxPsi,
  type Reduction,
  type CrossEntropyOptions,
  type InstanceNormOptions,
  type ConvTranspose2dOptions,
  type StochasticPool2dOptions,
  type LSoftmaxLossOptions,
} from './functional.js';
export { summary, type Summary, type SummaryRow } from './summary.js';
