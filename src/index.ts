/**
 * tsgrad: tensors with reverse-mode autograd, CNN layers, optimizers and
 * training, in TypeScript for Node.js and browsers.
 */
export { type DType, type TypedArray } from './core/dtype.js';
export * from './core/errors.js';
export { type Shape } from './core/shape.js';
export { type OpName, type OpParams, opDefs } from './core/ops.js';
export {
  type Backend,
  type WasmFeatures,
  getBackend,
  setBackend,
  listBackends,
  cpuBackend,
  wasmBackend,
  wasmFeatures,
  wasmReady,
  getNumThreads,
  setNumThreads,
} from './backend/index.js';
export { Tensor } from './tensor/tensor.js';
export { noGrad, withGradMode, isGradEnabled } from './tensor/dispatch.js';
export * from './tensor/creation.js';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.js';
export {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  neg,
  square,
  clamp,
  where,
  cast,
  compare,
  relu,
  sigmoid,
  tanh,
  leakyRelu,
  elu,
  softplus,
  softmax,
  logSoftmax,
  logSumExp,
  sum,
  mean,
  max,
  min,
  argmax,
  argmin,
  variance,
  std,
  reshape,
  flatten,
  squeeze,
  unsqueeze,
  permute,
  transpose,
  expand,
  slice,
  narrow,
  select,
  contiguous,
  concat,
  stack,
  pad,
  matmul,
  conv2d,
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  globalAvgPool2d,
  globalMaxPool2d,
  upsample,
  oneHot,
  dot,
  type TensorLike,
  type Conv2dOptions,
  type Pool2dOptions,
  type UpsampleOptions,
  type Padding,
  type Pair,
} from './tensor/ops.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export { type BackwardOptions } from './autograd/engine.js';
export * from './nn/index.js';
export * from './optim/index.js';
export {
  type Dataset,
  type Batch,
  type DataLoaderOptions,
  ArrayDataset,
  Subset,
  DataLoader,
  randomSplit,
} from './data/dataset.js';
export { LeNet5, type LeNet5Options, MODELS, createModel, type ModelSpec } from './models/index.js';
export * as models from './models/index.js';
export {
  fit,
  Trainer,
  clipGradNorm,
  clipGradValue,
  NonFiniteLossError,
  type Callback,
  type Logs,
  type FitOptions,
  type TrainingState,
  type LossFn,
} from './train/fit.js';
export {
  EarlyStopping,
  EvaluateEachEpoch,
  LRSchedulerCallback,
  ReduceLROnPlateau,
  ProgressBar,
  type EarlyStoppingOptions,
  type ReduceLROnPlateauOptions,
} from './train/callbacks.js';
export { evaluate, ConfusionMatrix, topK, type EvaluationResult } from './train/metrics.js';
export {
  ModelCheckpoint,
  saveCheckpoint,
  readCheckpoint,
  restoreCheckpoint,
  type ModelCheckpointOptions,
} from './train/checkpoint.js';
export { CSVLogger, JSONLinesLogger } from './train/loggers.js';
export * from './io/index.js';
export * as transforms from './data/transforms.js';
export { AugmentedDataset, type Image, type Transform } from './data/transforms.js';
export { decodePng, encodePng, readPngFile, toChw, type PngImage } from './data/png.js';
export { CIFAR10_CLASSES, readCifar10Batch, loadCifar10 } from './data/cifar.js';
export { loadImageFolder } from './data/image-folder.js';
export { parseIdx, readIdx, readIdxSync, type IdxArray, type IdxDType } from './data/idx.js';
export {
  type ImageSet,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  loadIdxImageSet,
  findFashionMnist,
  loadFashionMnist,
  loadMnistPackage,
  loadMnistPackageSplit,
} from './data/mnist.js';
