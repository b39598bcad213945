/**
 * `tsgrad import`: an ONNX file (or a TF.js Layers model.json) becomes a run
 * directory that eval, predict, summary, export and train --init-from accept.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { saveSafetensors } from '../io/safetensors-file.js';
import { readFileBytes } from '../io/read-file.js';
import { exportOnnxBytes } from '../interop/onnx-export.js';
import { importOnnx } from '../interop/onnx-import.js';
import type { Module } from '../nn/module.js';
import { zeros } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import type { Tensor } from '../tensor/tensor.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';
import { IMPORTED_GRAPH, IMPORTED_MODEL } from './run-dir.js';

const IMPORT_OPTIONS: Record<string, OptionSpec> = {
  out: { type: 'string', help: 'run directory to create' },
  classes: { type: 'string', help: "class names, comma-separated (default: '0', '1', ... from the output size)" },
  dataset: { type: 'string', help: 'dataset tsgrad eval uses by default', default: 'mnist' },
  mean: { type: 'string', help: 'per-channel input mean the model expects, comma-separated (pixels in [0, 1])' },
  std: { type: 'string', help: 'per-channel input standard deviation, comma-separated' },
  help: { type: 'flag', help: 'show this help' },
};

function numbers(v: string | undefined, channels: number, dflt: number, name: string): number[] {
  if (v === undefined) return new Array<number>(channels).fill(dflt);
  const xs = v.split(',').map(Number);
  if (xs.some((x) => !Number.isFinite(x)) || (xs.length !== 1 && xs.length !== channels)) {
    throw new UsageError(`import: --${name} needs 1 or ${channels} comma-separated numbers, got '${v}'`);
  }
  return xs.length === 1 ? new Array<number>(channels).fill(xs[0]!) : xs;
}

export async function commandImport(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, IMPORT_OPTIONS, 'import');
  if (options['help']) {
    console.log(`usage: tsgrad import model.onnx|model.json --out DIR [options]\n\n${formatOptions(IMPORT_OPTIONS)}`);
    return 0;
  }
  if (positional.length !== 1)
    throw new UsageError('import: give one model file, e.g. tsgrad import model.onnx --out runs/imported');
  const out = options['out'] as string | undefined;
  if (!out) throw new UsageError('import: --out DIR is required');
  const file = resolve(positional[0]!);
  const dir = resolve(out);
  if (existsSync(join(dir, 'config.json')))
    throw new UsageError(`import: ${dir} already holds a run; choose another --out`);
  let model: Module & { forward(x: Tensor): Tensor };
  let graph: Uint8Array | null = null;
  let inputShape: (number | null)[];
  if (file.endsWith('.json')) {
    const { importTfjsLayersModel } = await import('../interop/tfjs-import.js');
    const tf = await importTfjsLayersModel(file);
    inputShape = [null, ...tf.inputShape];
    // The run keeps the model as ONNX, so every command reads imported runs one way.
    graph = await exportOnnxBytes(tf, zeros([1, ...tf.inputShape]));
    model = await importOnnx(graph, { name: basename(file) });
  } else {
    const onnx = await importOnnx(readFileBytes(file, 'an ONNX model'), { name: file });
    inputShape = onnx.info.inputs[0]!.shape;
    model = onnx;
  }
  if (inputShape.length !== 4 || inputShape[2] === null || inputShape[2] !== inputShape[3] || inputShape[1] === null) {
    throw new UsageError(
      `import: the model's input [${inputShape.map((d) => d ?? '?').join(', ')}] is not [batch, channels, size, size] with square images`,
    );
  }
  const channels = inputShape[1];
  const size = inputShape[2];
  model.eval();
  const y = noGrad(() => model.forward(zeros([1, channels, size, size])));
  if (y.rank !== 2)
    throw new UsageError(`import: the model's output has shape [${y.shape.join(', ')}], not [batch, classes]`);
  const numClasses = y.shape[1]!;
  const classes =
    options['classes'] !== undefined
      ? String(options['classes']).split(',')
      : Array.from({ length: numClasses }, (_, i) => String(i));
  if (classes.length !== numClasses)
    throw new UsageError(`import: --classes names ${classes.length} classes, the model has ${numClasses} outputs`);
  mkdirSync(dir, { recursive: true });
  if (graph) writeFileAtomic(join(dir, IMPORTED_GRAPH), graph);
  else copyFileSync(file, join(dir, IMPORTED_GRAPH));
  saveSafetensors(join(dir, 'model.safetensors'), model.stateDict(), { model: IMPORTED_MODEL, source: basename(file) });
  writeJsonAtomic(join(dir, 'config.json'), {
    format: 'tsgrad-run',
    version: 1,
    model: IMPORTED_MODEL,
    source: basename(file),
    dataset: options['dataset'] as string,
    dataDir: null,
    input: { channels, size },
    classes,
    normalization: {
      mean: numbers(options['mean'] as string | undefined, channels, 0, 'mean'),
      std: numbers(options['std'] as string | undefined, channels, 1, 'std'),
    },
  });
  console.log(
    `imported ${positional[0]} into ${dir}: input [batch, ${channels}, ${size}, ${size}], ${numClasses} classes, ${model.numParameters().toLocaleString('en-US')} parameters`,
  );
  return 0;
}
