/** File input/output: crash-safe writes and the safetensors weight format. */
export { writeFileAtomic, writeJsonAtomic } from './atomic.js';
export {
  type SafetensorsContents,
  type SafetensorsDType,
  encodeSafetensors,
  decodeSafetensors,
} from './safetensors.js';
export { saveSafetensors, loadSafetensors } from './safetensors-file.js';
