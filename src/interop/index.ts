/**
 * Reusing models from other frameworks: ONNX export and import, TF.js Layers import.
 * protobufjs, which reads and writes ONNX files, is loaded on first use.
 */
export { exportOnnx, exportOnnxBytes, type ExportOnnxOptions } from './onnx-export.js';
export { importOnnx, OnnxModel, type OnnxModelInfo, type OnnxNode, SUPPORTED_ONNX_OPS } from './onnx-import.js';
export { onnxSummary, type OnnxSummaryRow } from './onnx-summary.js';
export { importTfjsLayersModel, TfjsLayersModel, SUPPORTED_TFJS_LAYERS, samePadding } from './tfjs-import.js';
