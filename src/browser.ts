/**
 * tsgrad for every platform: everything except what reads or writes files (the IDX, PNG,
 * CIFAR-10 and image-folder loaders, safetensors files, checkpoints, file loggers), so it
 * loads in browsers and Web Workers as well as Node. `import ... from 'tsgrad/browser'`;
 * in Node, 'tsgrad' exports all of this and the file functions.
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
  type WebGPUStatus,
  initWebGPU,
  shutdownWebGPU,
  webgpuBackend,
  webgpuFallbacks,
  webgpuStatus,
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
  reluBackward,
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
  linearBiasAct,
  type Epilogue,
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
// Loading the engine is what lets Tensor.backward() run: it hands itself to the tensor layer, which sits
// below autograd and cannot import it (gradcheck loads it too; this import says so where it matters).
import './autograd/engine.js';
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
  type SafetensorsContents,
  type SafetensorsDType,
  encodeSafetensors,
  decodeSafetensors,
} from './io/safetensors.js';
export * as transforms from './data/transforms.js';
export { AugmentedDataset, type Image, type Transform } from './data/transforms.js';
export { type GradHook, type RemovableHandle } from './tensor/tensor.js';
export { type ForwardPreHook, type ForwardHook, type FullBackwardHook } from './nn/module.js';
export { featureMaps } from './nn/hooks.js';
export * as viz from './viz/index.js';
export { meanImage, subtractMean } from './data/mean-image.js';
export { type EvaluateOptions } from './train/metrics.js';
export { type Penalty, penalize, penalizedParameters, regularizationLoss } from './nn/penalty.js';
export { type LinearOptions } from './nn/layers/linear.js';
export { type LoaderBatch, type DataSource, type ArrayDatasetOptions, loaderBatch, toDataset } from './data/dataset.js';
export { type KnownLogs, type KnownMetric, type MetricName, metricValue } from './train/fit.js';
export { type FloatDType, type MathDType } from './tensor/tensor.js';
export { type DTypeOf, type DataDType } from './tensor/creation.js';
export { inspectSymbol } from './core/inspect.js';
export { type ArrayFor } from './core/dtype.js';
export { setWebGPUKernels, type WebGPUKernelStyle } from './backend/index.js';
export { Conv2dPlan, Pool2dPlan } from './tensor/ops.js';
export { type HeapStats as WasmMemoryStats, WasmMemoryLimitError, wasmMemoryStats } from './backend/index.js';
export { ConvTranspose2dPlan, StochasticPool2dPlan } from './nn/functional.js';
