/**
 * Seeing inside a network: kernels, feature maps, saliency and Grad-CAM as RGBA images, a
 * confusion-matrix image, and training curves as Vega-Lite charts. Everything here is
 * platform-free; run-log.ts (reading run directories) is Node only.
 */
export {
  type RgbaImage,
  type ColorMap,
  createImage,
  grayscale,
  viridis,
  tile,
  blend,
  scaleNearest,
  planeToImage,
  drawText,
} from './image.js';
export { filterGrid, type FilterGridOptions } from './filters.js';
export {
  type AttributionMap,
  type AttributionImageOptions,
  convLayerNames,
  lastFeatureMapLayer,
  featureMapGrid,
  saliency,
  saliencyMap,
  gradCam,
  gradCamMap,
  inputImage,
} from './attribution.js';
export { confusionMatrixImage } from './confusion.js';
export {
  type EpochRecord,
  type BatchRecord,
  type RunCurves,
  type CurvePoint,
  type StudyCurves,
  curvePoints,
  studyPoints,
  curvesSpec,
  renderSvg,
} from './plots.js';
