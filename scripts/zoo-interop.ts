/**
 * The tsgrad side of the torchvision interop checks (scripts/make-model-fixtures.py).
 *
 *   node dist/scripts/zoo-interop.js compare FILE      load torch's weights (strict), run
 *       "__test__.input" in eval mode and compare with "__test__.output" (torch -> tsgrad)
 *   node dist/scripts/zoo-interop.js export FILE OUT   build the model FILE describes with
 *       tsgrad's own initialization, run the same input, and save weights, input and output
 *       to OUT for torch to load (tsgrad -> torch)
 *
 * buildFromConfig() is also what test/models/interop.test.ts builds the fixtures with.
 */
import { pathToFileURL } from 'node:url';
import {
  BatchNorm2d,
  MaxPool2d,
  Sequential,
  type Module,
  type Tensor,
  init,
  loadSafetensors,
  models,
  noGrad,
  randn,
  saveSafetensors,
  uniform,
} from '../src/index.js';

/** How a fixture's model is built: the metadata "config" written by make-model-fixtures.py. */
export interface ModelConfig {
  model: string;
  [option: string]: unknown;
}

type Classifier = Module & { forward(x: Tensor): Tensor };

/** Builds the tsgrad model a fixture config describes: a zoo factory by name, or a structural config. */
export function buildFromConfig(config: ModelConfig): Classifier {
  const o = config as unknown as Record<string, never>;
  switch (config.model) {
    case 'resnet':
      return new models.ResNet(o['block'], o['layers'], o);
    case 'vgg':
      return new models.VGG(o['config'], o);
    case 'densenet':
      return new models.DenseNet(o);
    case 'inception-stack':
      return new Sequential(
        new models.BasicConv2d(3, 16, 3, { padding: 1 }),
        new models.Inception(16, 4, 4, 8, 2, 4, 4),
        new MaxPool2d(3, { stride: 2, ceilMode: true }),
        new models.Inception(20, 8, 4, 8, 2, 4, 4),
      );
    default: {
      const factory = (models as unknown as Record<string, unknown>)[config.model];
      if (typeof factory !== 'function') throw new Error(`no zoo model '${config.model}'`);
      return (factory as (opts: unknown) => Classifier)(config);
    }
  }
}

/** Splits a fixture file into its config, state dict, input and expected output. */
export function readFixture(path: string): {
  config: ModelConfig;
  stateDict: Record<string, Tensor>;
  input: Tensor;
  output: Tensor;
} {
  const { tensors, metadata } = loadSafetensors(path);
  const { ['__test__.input']: input, ['__test__.output']: output, ...stateDict } = tensors;
  if (!input || !output || metadata['config'] === undefined) {
    throw new Error(`${path}: not a model fixture (needs __test__.input, __test__.output and a config)`);
  }
  return { config: JSON.parse(metadata['config']) as ModelConfig, stateDict, input, output };
}

/** max |a − b| / max(max |b|, 1). */
export function relativeError(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let err = 0;
  let scale = 1;
  for (let i = 0; i < y.length; i++) {
    err = Math.max(err, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return err / scale;
}

function compare(path: string): number {
  const f = readFixture(path);
  const model = init.skipInit(() => buildFromConfig(f.config));
  model.loadStateDict(f.stateDict, { strict: true });
  model.eval();
  const y = noGrad(() => model.forward(f.input));
  const err = relativeError(y, f.output);
  const ok = y.shape.join() === f.output.shape.join() && err <= 1e-4;
  console.log(`max |diff| / max(|ref|, 1) = ${err.toExponential(2)} ${ok ? 'ok' : 'MISMATCH'}`);
  return ok ? 0 : 1;
}

function exportModel(path: string, out: string): number {
  const f = readFixture(path);
  const model = buildFromConfig(f.config);
  // Batch-norm statistics and affine parameters away from 0/1, as the torch side makes them.
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof BatchNorm2d) || !m.weight) continue;
    const c = [m.numFeatures];
    m.loadStateDict({
      weight: uniform(c, 0.5, 1.5),
      bias: randn(c).mul(0.2),
      running_mean: randn(c).mul(0.2),
      running_var: uniform(c, 0.5, 1.5),
      num_batches_tracked: m.buffer('num_batches_tracked'),
    });
  }
  model.eval();
  const y = noGrad(() => model.forward(f.input));
  saveSafetensors(
    out,
    { ...model.stateDict(), '__test__.input': f.input, '__test__.output': y },
    { config: JSON.stringify(f.config), producer: 'tsgrad' },
  );
  console.log(`wrote ${out}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'compare' && args.length === 1) process.exitCode = compare(args[0]!);
  else if (command === 'export' && args.length === 2) process.exitCode = exportModel(args[0]!, args[1]!);
  else {
    console.error('usage: zoo-interop.js compare FILE | export FILE OUT');
    process.exitCode = 2;
  }
}
