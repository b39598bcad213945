/**
 * tsgrad: tensors with reverse-mode autograd, CNN layers, optimizers and
 * training, in TypeScript for Node.js and browsers. This entry adds the Node file
 * functions to the platform-free API of ./browser.ts.
 */
export * from './browser.js';
export {
  ModelCheckpoint,
  saveCheckpoint,
  readCheckpoint,
  restoreCheckpoint,
  type ModelCheckpointOptions,
} from './train/checkpoint.js';
export { CSVLogger, JSONLinesLogger } from './train/loggers.js';
export { writeFileAtomic, writeJsonAtomic, saveSafetensors, loadSafetensors } from './io/index.js';
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
export * from './tune/index.js';
export {
  exportOnnx,
  exportOnnxBytes,
  type ExportOnnxOptions,
  importOnnx,
  OnnxModel,
  type OnnxModelInfo,
  type OnnxNode,
  SUPPORTED_ONNX_OPS,
  onnxSummary,
  type OnnxSummaryRow,
  importTfjsLayersModel,
  TfjsLayersModel,
  SUPPORTED_TFJS_LAYERS,
} from './interop/index.js';
export { BatchJSONLinesLogger, type BatchLog } from './train/loggers.js';
export { readRunCurves } from './viz/run-log.js';
export * from './parallel/index.js';
