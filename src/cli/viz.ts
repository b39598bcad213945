/**
 * `tsgrad viz`: pictures of a trained run. Everything is computed in memory first and only
 * then written, each file atomically, so a bad checkpoint, layer or input leaves nothing
 * behind.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodePng, readPngFile } from '../data/png.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Conv2d } from '../nn/layers/conv.js';
import { crossEntropy } from '../nn/functional.js';
import { fromArray } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { softmax } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { evaluate } from '../train/metrics.js';
import { convLayerNames, featureMapGrid, gradCam, lastFeatureMapLayer, saliency } from '../viz/attribution.js';
import { layerByName } from '../viz/capture.js';
import { confusionMatrixImage } from '../viz/confusion.js';
import { filterGrid } from '../viz/filters.js';
import type { RgbaImage } from '../viz/image.js';
import { curvesSpec, renderSvg } from '../viz/plots.js';
import { readRunCurves } from '../viz/run-log.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';
import { loadDataset } from './data.js';
import { ArrayDataset } from '../data/dataset.js';
import type { ImageSet } from '../data/mnist.js';
import { type RunInfo, loadAnyRun, readRunInfo } from './run-dir.js';

type RunConfig = RunInfo & { dataDir?: string | null };

function plainDataset(set: ImageSet, cfg: RunConfig): ArrayDataset {
  return new ArrayDataset(set.images, set.labels, [set.channels, set.height, set.width], {
    scale: 1 / 255,
    mean: cfg.normalization.mean,
    std: cfg.normalization.std,
  });
}

const VIZ_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { type: 'string', help: 'run directory written by tsgrad train' },
  input: { type: 'string', help: 'PNG image for the feature maps, saliency and Grad-CAM' },
  out: { type: 'string', help: 'folder to write the images into', default: 'viz' },
  layer: { type: 'string', help: 'layer for Grad-CAM (default: the last layer that outputs feature maps)' },
  class: { type: 'integer', help: 'class for saliency and Grad-CAM (default: the predicted one)', min: 0 },
  'no-confusion': { type: 'flag', help: "skip confusion.png (it evaluates the run's whole test set)" },
  'data-dir': { type: 'string', help: 'where the fashion-mnist / cifar10 files are' },
  help: { type: 'flag', help: 'show this help' },
};

/** An input image as a normalized [1, C, size, size] tensor, as the run was trained on. */
function inputTensor(file: string, cfg: RunConfig): Tensor {
  const { channels, size } = cfg.input;
  const img = readPngFile(file, { channels: channels as 1 | 3, size: [size, size] });
  const x = new Float32Array(channels * size * size);
  const plane = size * size;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) {
      x[c * plane + i] = (img[c * plane + i]! / 255 - cfg.normalization.mean[c]!) / cfg.normalization.std[c]!;
    }
  }
  return fromArray(x, [1, channels, size, size]);
}

const png = (img: RgbaImage): Uint8Array => encodePng(img.width, img.height, 4, img.data);
const fileSafe = (name: string): string => name.replace(/[^\w.-]+/g, '_');

/** filters.png, features-<layer>.png per conv layer, saliency.png, gradcam.png, confusion.png and curves.svg. */
export async function commandViz(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, VIZ_OPTIONS, 'viz');
  if (options['help']) {
    console.log(`usage: tsgrad viz --checkpoint DIR --input image.png [--out viz/]\n\n${formatOptions(VIZ_OPTIONS)}`);
    return 0;
  }
  if (positional.length) throw new UsageError(`viz: unexpected argument '${positional[0]}'`);
  const dirOpt = options['checkpoint'] as string | undefined;
  const inputOpt = options['input'] as string | undefined;
  if (!dirOpt) throw new UsageError('viz: --checkpoint DIR is required');
  if (!inputOpt) throw new UsageError('viz: --input image.png is required');
  const dir = resolve(dirOpt);
  const out = resolve(options['out'] as string);
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new UsageError(`viz: --out ${out} exists and is not a folder`);
  const cfg: RunConfig = readRunInfo(dir);
  const model = await loadAnyRun(dir, cfg);
  const x = inputTensor(inputOpt, cfg);
  const convs = convLayerNames(model);
  if (convs.length === 0) throw new UsageError(`viz: ${cfg.model} has no Conv2d layer to show`);
  const layerOpt = options['layer'] as string | undefined;
  if (layerOpt !== undefined) layerByName(model, layerOpt);
  const layer = layerOpt ?? lastFeatureMapLayer(model, x);
  const probs = noGrad(() => softmax(model.forward(x), 1)).dataSync();
  const predicted = probs.indexOf(Math.max(...probs));
  const cls = (options['class'] as number | undefined) ?? predicted;
  if (cls >= cfg.classes.length) {
    throw new UsageError(`viz: --class ${cls} is out of range for ${cfg.classes.length} classes`);
  }

  const files = new Map<string, Uint8Array | string>();
  files.set('filters.png', png(await filterGrid(model.getSubmodule(convs[0]!) as Conv2d)));
  for (const name of convs) files.set(`features-${fileSafe(name)}.png`, png(await featureMapGrid(model, x, name)));
  files.set('saliency.png', png(await saliency(model, x, cls)));
  files.set('gradcam.png', png(await gradCam(model, x, cls, layer)));
  const notes: string[] = [];
  if (!options['no-confusion']) {
    const data = loadDataset(
      cfg.dataset,
      (options['data-dir'] as string | undefined) ?? cfg.dataDir ?? undefined,
      cfg.input.channels as 1 | 3,
      cfg.input.size,
    );
    const r = evaluate(model, plainDataset(data.test, cfg), crossEntropy);
    files.set('confusion.png', png(confusionMatrixImage(r.confusion.matrix, cfg.classes)));
    notes.push(`test accuracy ${(r.accuracy * 100).toFixed(2)}%`);
  }
  if (existsSync(join(dir, 'log.jsonl'))) files.set('curves.svg', await renderSvg(curvesSpec([readRunCurves(dir)])));
  else notes.push('no log.jsonl yet, so no curves.svg');

  mkdirSync(out, { recursive: true });
  for (const [name, bytes] of files) writeFileAtomic(join(out, name), bytes);
  const top = Array.from(probs, (p, i) => [i, p] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([i, p]) => `${cfg.classes[i] ?? i} ${(p * 100).toFixed(1)}%`);
  console.log(`${inputOpt}: ${top.join(', ')}; saliency and Grad-CAM (${layer}) for class ${cfg.classes[cls] ?? cls}`);
  console.log(`wrote ${[...files.keys()].join(', ')} to ${out}${notes.length ? ` (${notes.join('; ')})` : ''}`);
  return 0;
}
