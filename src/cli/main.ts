#!/usr/bin/env node
/**
 * The `tsgrad` command line: train, eval, predict, summary, resume.
 * Mistakes in arguments and files print one clear line and exit non-zero;
 * a run directory is only created once the arguments and data are valid,
 * and every file in it is written atomically.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getBackend, setNumThreads } from '../backend/index.js';
import { TsgradError } from '../core/errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import type { ImageSet } from '../data/mnist.js';
import { saveSafetensors } from '../io/safetensors-file.js';
import { MODELS, createModel } from '../models/index.js';
import { crossEntropy } from '../nn/functional.js';
import type { Module } from '../nn/module.js';
import { skipInit } from '../nn/init.js';
import { summary } from '../nn/summary.js';
import { commandOps } from './ops.js';
import { fromArray } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { manualSeed } from '../tensor/random.js';
import { softmax } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { EarlyStopping, EvaluateEachEpoch, ProgressBar } from '../train/callbacks.js';
import { ModelCheckpoint, readCheckpoint, restoreCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import type { Callback } from '../train/fit.js';
import { BatchJSONLinesLogger, CSVLogger, JSONLinesLogger } from '../train/loggers.js';
import { type TrainRecipe, normalizedDataset, prepareTraining } from '../train/recipe.js';
import { evaluate } from '../train/metrics.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';
import { AUGMENTATIONS } from '../data/augment-recipes.js';
import { DATASETS, channelStats, loadDataset } from './data.js';
import { commandTune } from './tune.js';
import { commandTuneWorker } from './tune-worker.js';
import { commandExport } from './export.js';
import { commandImport } from './import.js';
import { commandPlayground } from './playground.js';
import { commandPlot } from './plot.js';
import { commandViz } from './viz.js';
import { IMPORTED_MODEL, readRunInfo, initFromRun, loadAnyRun } from './run-dir.js';
import { commandModels } from './models.js';
import { readImageFile } from '../data/image-folder.js';
import { availableParallelism } from 'node:os';
import { chooseParallelism } from '../parallel/auto.js';
import { DataParallel } from '../parallel/data-parallel.js';

/** Models in --help: the list is long, `tsgrad models` shows it with parameter counts. */
const MODEL_CHOICES_HELP = 'lenet5, lenet5-classic or a zoo model (list them: tsgrad models)';

/** Top-5 accuracy says something only with more than 5 classes (with 5 or fewer it is always 100%). */
const topFiveText = (classes: number, top5: number): string =>
  classes > 5 ? `, top-5 ${(top5 * 100).toFixed(2)}%` : '';

type Net = Module & { forward(x: Tensor): Tensor };

const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  model: {
    type: 'string',
    help: 'architecture',
    default: 'lenet5',
    choices: Object.keys(MODELS),
    choicesHelp: MODEL_CHOICES_HELP,
  },
  dataset: {
    type: 'string',
    help: `${DATASETS.join(', ')}, or a folder of PNG / JPEG images with a sub-folder per class`,
    default: 'mnist',
  },
  'data-dir': { type: 'string', help: 'where the fashion-mnist / cifar10 files are' },
  epochs: { type: 'integer', help: 'passes over the training data', default: 10, min: 1 },
  'batch-size': { type: 'integer', help: 'samples per step', default: 64, min: 1 },
  optimizer: { type: 'string', help: 'optimizer', default: 'adam', choices: ['adam', 'adamw', 'sgd'] },
  lr: { type: 'number', help: 'learning rate (peak, with a schedule)', default: 0.002, min: 0 },
  momentum: { type: 'number', help: 'SGD momentum', default: 0.9, min: 0 },
  'weight-decay': { type: 'number', help: 'L2 weight decay (decoupled for adamw)', default: 0, min: 0 },
  l1: { type: 'number', help: 'L1 penalty l1·Σ|w| on every weight, added to the loss (reg_loss)', default: 0, min: 0 },
  l2: { type: 'number', help: 'L2 penalty l2·Σw² on every weight, added to the loss (reg_loss)', default: 0, min: 0 },
  schedule: {
    type: 'string',
    help: 'learning-rate schedule',
    default: 'cosine',
    choices: ['none', 'step', 'cosine', 'plateau'],
  },
  'warmup-epochs': {
    type: 'number',
    help: 'linear learning-rate warm-up before the cosine decay',
    default: 0.5,
    min: 0,
  },
  augment: { type: 'string', help: 'training-time augmentation', default: 'auto', choices: AUGMENTATIONS },
  'early-stopping': {
    type: 'integer',
    help: 'stop after N epochs without val_loss improvement (0: off)',
    default: 0,
    min: 0,
  },
  'val-split': { type: 'number', help: 'fraction of the training set held out for validation', min: 0 },
  'clip-grad-norm': { type: 'number', help: 'rescale gradients to this global L2 norm', min: 0 },
  out: { type: 'string', help: 'run directory for checkpoints and logs (default runs/<model>-<dataset>-<time>)' },
  'checkpoint-every': {
    type: 'integer',
    help: 'also save a resumable checkpoint every N steps, mid-epoch included (0: only at epoch ends)',
    default: 0,
    min: 0,
  },
  'checkpoint-minutes': {
    type: 'number',
    help: 'also save a resumable checkpoint when M minutes have passed since the last (0: off)',
    default: 0,
    min: 0,
  },
  seed: { type: 'integer', help: 'random seed (initialization, order, augmentation)', default: 0, min: 0 },
  'eval-test': { type: 'flag', help: 'also report test-set accuracy after every epoch (learning curves)' },
  json: { type: 'flag', help: 'print one JSON object with the final metrics as the last line' },
  'init-from': {
    type: 'string',
    help: 'start from the weights of another run (trained or imported) where names and shapes match',
  },
  replicas: {
    type: 'string',
    help: "data-parallel replicas (worker threads) or 'auto': chosen from the model's size and the cores (TSGRAD_NUM_THREADS alone: one model on that many threads)",
    default: 'auto',
  },
  help: { type: 'flag', help: 'show this help' },
};

/** A run's config.json: the recipe plus what the run needs to be reloaded. */
interface RunConfig extends TrainRecipe {
  format: 'tsgrad-run';
  version: 1;
  model: string;
  dataset: string;
  dataDir: string | null;
  earlyStopping: number;
  evalTest: boolean;
  /** Steps between mid-epoch checkpoints (0: none); absent in runs of older versions. */
  checkpointEvery?: number;
  /** Minutes between time-based checkpoints (0: none). */
  checkpointMinutes?: number;
  input: { channels: number; size: number };
  classes: string[];
  normalization: { mean: number[]; std: number[] };
  /** Run directory whose weights the training started from (train --init-from). */
  initFrom?: string | null;
}

let jsonMode = false;
const say = (s: string): void => {
  if (!jsonMode) console.log(s);
};

function configFromOptions(o: Record<string, unknown>, train: ImageSet): RunConfig {
  if (train.height !== train.width) throw new UsageError(`images must be square, got ${train.height}x${train.width}`);
  const early = o['early-stopping'] as number;
  return {
    format: 'tsgrad-run',
    version: 1,
    model: o['model'] as string,
    dataset: o['dataset'] as string,
    dataDir: (o['data-dir'] as string | undefined) ?? null,
    epochs: o['epochs'] as number,
    batchSize: o['batch-size'] as number,
    optimizer: o['optimizer'] as string,
    lr: o['lr'] as number,
    momentum: o['momentum'] as number,
    weightDecay: o['weight-decay'] as number,
    l1: o['l1'] as number,
    l2: o['l2'] as number,
    schedule: o['schedule'] as string,
    warmupEpochs: o['warmup-epochs'] as number,
    augment: o['augment'] as string,
    earlyStopping: early,
    valSplit: (o['val-split'] as number | undefined) ?? (early > 0 || o['schedule'] === 'plateau' ? 0.1 : 0),
    clipGradNorm: (o['clip-grad-norm'] as number | undefined) ?? null,
    seed: o['seed'] as number,
    evalTest: Boolean(o['eval-test']),
    checkpointEvery: o['checkpoint-every'] as number,
    checkpointMinutes: o['checkpoint-minutes'] as number,
    input: { channels: train.channels, size: train.height },
    classes: train.classes,
    normalization: channelStats(train),
    initFrom: o['init-from'] !== undefined ? resolve(o['init-from'] as string) : null,
  };
}

/** --replicas as a number or 'auto'. */
function replicasOption(v: unknown): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1))
    throw new UsageError(`--replicas must be a positive integer or 'auto', got '${String(v)}'`);
  return n;
}

/** What parallelize() chose for the current run (reported in result.json). */
let parallelism: { replicas: number; threads: number; reason: string } | null = null;

/** Wraps the model in DataParallel when replicas win (see chooseParallelism), and says what was chosen. */
function parallelize(model: Net, cfg: RunConfig, replicas: number | 'auto'): Net {
  const env = Number.parseInt(process.env['TSGRAD_NUM_THREADS'] ?? '', 10);
  const choice = chooseParallelism({
    parameters: model.numParameters(),
    batchSize: cfg.batchSize,
    cores: availableParallelism(),
    replicas,
    ...(Number.isInteger(env) && env >= 1 ? { envThreads: env } : {}),
  });
  const backend = getBackend().name;
  parallelism = choice;
  say(
    `parallelism: ${choice.replicas > 1 ? `${choice.replicas} data-parallel replicas × ${choice.threads} thread(s) each` : `one model, ${backend === 'wasm' ? choice.threads : 1} intra-op thread(s)`} (${choice.reason})`,
  );
  if (choice.replicas === 1) {
    if (backend === 'wasm') setNumThreads(choice.threads);
    return model;
  }
  // The main thread only computes the loss and the optimizer step while the replicas wait:
  // a wasm worker pool of its own would spin after each of its kernels, on the replicas' cores.
  if (backend === 'wasm') setNumThreads(1);
  return new DataParallel(model, {
    replicas: choice.replicas,
    threadsPerReplica: choice.threads,
    factory: {
      zoo: cfg.model,
      options: { numClasses: cfg.classes.length, inChannels: cfg.input.channels, inputSize: cfg.input.size },
    },
  });
}

/** Builds model, data, optimizer and callbacks for a run; shared by train and resume. */
function prepareRun(cfg: RunConfig, dir: string, replicas: number | 'auto' = 'auto') {
  const data = loadDataset(cfg.dataset, cfg.dataDir ?? undefined, cfg.input.channels as 1 | 3, cfg.input.size);
  manualSeed(cfg.seed);
  const model = createModel(cfg.model, {
    numClasses: cfg.classes.length,
    inChannels: cfg.input.channels,
    inputSize: cfg.input.size,
  });
  if (cfg.initFrom) {
    const r = initFromRun(model, cfg.initFrom);
    say(
      `initialized ${r.loaded} tensors from ${cfg.initFrom}${r.skipped.length ? `; not matching this model, left as initialized: ${r.skipped.join(', ')}` : ''}`,
    );
  }
  const run = prepareTraining(
    model,
    { train: data.train, dataset: cfg.dataset, normalization: cfg.normalization },
    cfg,
  );
  const testSet = normalizedDataset(data.test, cfg.normalization);
  const callbacks: Callback[] = [];
  if (cfg.evalTest) callbacks.push(new EvaluateEachEpoch(testSet, 'test'));
  if (!jsonMode) callbacks.push(new ProgressBar());
  callbacks.push(...run.schedule);
  let early: EarlyStopping | null = null;
  if (cfg.earlyStopping > 0) {
    early = new EarlyStopping({ monitor: 'val_loss', patience: cfg.earlyStopping, restoreBestWeights: true });
    callbacks.push(early);
  }
  callbacks.push(
    new ModelCheckpoint(dir, {
      ...(run.valSet ? { monitor: 'val_accuracy' } : {}),
      ...(cfg.checkpointEvery ? { everySteps: cfg.checkpointEvery } : {}),
      ...(cfg.checkpointMinutes ? { everyMinutes: cfg.checkpointMinutes } : {}),
    }),
  );
  callbacks.push(
    new CSVLogger(join(dir, 'log.csv')),
    new JSONLinesLogger(join(dir, 'log.jsonl')),
    new BatchJSONLinesLogger(join(dir, 'batches.jsonl')),
  );
  const trainer = run.trainer(callbacks, parallelize(model, cfg, replicas));
  return { data, model, trainer, testSet, early };
}

async function runTraining(
  cfg: RunConfig,
  dir: string,
  resume: boolean,
  replicas: number | 'auto' = 'auto',
): Promise<number> {
  const run = prepareRun(cfg, dir, replicas);
  if (!resume && cfg.batchSize > run.trainer.trainSet.length) {
    console.error(
      `warning: --batch-size ${cfg.batchSize} is larger than the ${run.trainer.trainSet.length} training images; each step uses all of them`,
    );
  }
  if (resume) {
    const state = restoreCheckpoint(dir, run.model, run.trainer);
    say(`resuming ${dir} at epoch ${state.epoch + 1}${state.batchInEpoch ? `, batch ${state.batchInEpoch + 1}` : ''}`);
  } else {
    say(
      `${cfg.model} on ${cfg.dataset}: ${run.data.train.count} training / ${run.data.test.count} test images, ${run.model.numParameters().toLocaleString('en-US')} parameters, ${getBackend().name} backend; run directory ${dir}`,
    );
  }
  const onSignal = (): void => {
    if (run.trainer.stopTraining) process.exit(130);
    run.trainer.stopTraining = true;
    process.stderr.write('\nstopping after this batch and saving a checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const start = performance.now();
  try {
    await run.trainer.fit();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const seconds = (performance.now() - start) / 1000;
  if (run.trainer.interrupted) {
    saveCheckpoint(dir, run.model, run.trainer.getState());
    console.error(
      `interrupted at epoch ${run.trainer.epoch + 1}, batch ${run.trainer.batchInEpoch}; checkpoint saved. Continue with: tsgrad resume ${dir}`,
    );
    return 130;
  }
  saveSafetensors(join(dir, 'model.safetensors'), run.model.stateDict(), { model: cfg.model, dataset: cfg.dataset });
  const r = evaluate(run.model, run.testSet, crossEntropy);
  const last = run.trainer.history[run.trainer.history.length - 1] ?? {};
  say(
    `test accuracy: ${(r.accuracy * 100).toFixed(2)}%  (test loss ${r.loss.toFixed(4)}${topFiveText(cfg.classes.length, r.top5)}, ${seconds.toFixed(1)} s)`,
  );
  if (run.early?.stoppedEpoch)
    say(`early stopping at epoch ${run.early.stoppedEpoch}; weights of epoch ${run.early.bestEpoch} restored`);
  const result = {
    test_accuracy: r.accuracy,
    test_loss: r.loss,
    ...(cfg.classes.length > 5 ? { test_top5: r.top5 } : {}),
    epochs: run.trainer.epoch,
    train_loss: last['loss'] ?? null,
    train_accuracy: last['accuracy'] ?? null,
    ...(last['val_accuracy'] !== undefined ? { val_accuracy: last['val_accuracy'], val_loss: last['val_loss'] } : {}),
    seconds,
    backend: getBackend().name,
    ...(parallelism ? { parallelism } : {}),
    run_dir: dir,
  };
  writeJsonAtomic(join(dir, 'result.json'), result);
  if (jsonMode) console.log(JSON.stringify(result));
  return 0;
}

function readConfig(dir: string): RunConfig {
  return readRunInfo<RunConfig>(dir);
}

function help(command: string, usage: string, spec: Record<string, OptionSpec>): string {
  const about = COMMANDS[command]?.help;
  const line = about ? `\n\n${about[0]!.toUpperCase()}${about.slice(1)}.` : '';
  return `usage: tsgrad ${command} ${usage}${line}\n\n${formatOptions(spec)}`;
}

async function commandTrain(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, TRAIN_OPTIONS, 'train');
  if (options['help']) return (say(help('train', '[options]', TRAIN_OPTIONS)), 0);
  if (positional.length) throw new UsageError(`train: unexpected argument '${positional[0]}'`);
  jsonMode = Boolean(options['json']);
  // Folders of images are resized to the model's input size.
  const inputSize = MODELS[options['model'] as string]!.defaultInput.size;
  const data = loadDataset(
    options['dataset'] as string,
    options['data-dir'] as string | undefined,
    undefined,
    inputSize,
  );
  const cfg = configFromOptions(options, data.train);
  // Validate model and input size before anything is written.
  createModel(cfg.model, { numClasses: cfg.classes.length, inChannels: cfg.input.channels, inputSize: cfg.input.size });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const dir = resolve(
    (options['out'] as string | undefined) ??
      join('runs', `${cfg.model}-${cfg.dataset.replace(/[^\w-]+/g, '_')}-${stamp}`),
  );
  if (existsSync(join(dir, 'checkpoint.json'))) {
    throw new UsageError(`${dir} already holds a run; continue it with 'tsgrad resume ${dir}' or choose another --out`);
  }
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'config.json'), cfg);
  return runTraining(cfg, dir, false, replicasOption(options['replicas']));
}

const RESUME_OPTIONS: Record<string, OptionSpec> = {
  epochs: { type: 'integer', help: 'new total number of epochs (default: the original)', min: 1 },
  json: TRAIN_OPTIONS['json']!,
  replicas: TRAIN_OPTIONS['replicas']!,
  help: TRAIN_OPTIONS['help']!,
};

async function commandResume(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, RESUME_OPTIONS, 'resume');
  if (options['help']) return (say(help('resume', 'DIR [options]', RESUME_OPTIONS)), 0);
  if (positional.length !== 1)
    throw new UsageError('resume: give the run directory, e.g. tsgrad resume runs/lenet5-mnist-...');
  jsonMode = Boolean(options['json']);
  const dir = resolve(positional[0]!);
  const cfg = readConfig(dir);
  const done = existsSync(join(dir, 'checkpoint.json')) ? readCheckpoint(dir).state.epoch : 0;
  const target = (options['epochs'] as number | undefined) ?? cfg.epochs;
  if (target <= done) {
    throw new UsageError(
      options['epochs'] === undefined
        ? `resume: ${dir} has finished its ${done} epochs, nothing to do; --epochs N (the new total, above ${done}) trains more`
        : `resume: ${dir} has already trained ${done} epochs and --epochs is the new total, so --epochs ${target} leaves nothing to do; e.g. --epochs ${done + 5} trains 5 more`,
    );
  }
  if (options['epochs'] !== undefined && options['epochs'] !== cfg.epochs) {
    cfg.epochs = options['epochs'] as number;
    writeJsonAtomic(join(dir, 'config.json'), cfg);
  }
  return runTraining(cfg, dir, true, replicasOption(options['replicas']));
}

const EVAL_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { type: 'string', help: 'run directory written by tsgrad train' },
  dataset: { type: 'string', help: "dataset to evaluate on (default: the run's)" },
  'data-dir': TRAIN_OPTIONS['data-dir']!,
  json: TRAIN_OPTIONS['json']!,
  help: TRAIN_OPTIONS['help']!,
};

async function commandEval(argv: string[]): Promise<number> {
  const { options } = parseOptions(argv, EVAL_OPTIONS, 'eval');
  if (options['help']) return (say(help('eval', '--checkpoint DIR [options]', EVAL_OPTIONS)), 0);
  jsonMode = Boolean(options['json']);
  const dir = options['checkpoint'] as string | undefined;
  if (!dir) throw new UsageError('eval: --checkpoint DIR is required');
  const cfg = readConfig(resolve(dir));
  const model = await loadAnyRun(resolve(dir), cfg);
  const name = (options['dataset'] as string | undefined) ?? cfg.dataset;
  const data = loadDataset(
    name,
    (options['data-dir'] as string | undefined) ?? cfg.dataDir ?? undefined,
    cfg.input.channels as 1 | 3,
    cfg.input.size,
  );
  if (data.test.channels !== cfg.input.channels || data.test.height !== cfg.input.size) {
    throw new UsageError(
      `eval: ${name} has ${data.test.channels}x${data.test.height}x${data.test.width} images, the model takes ${cfg.input.channels}x${cfg.input.size}x${cfg.input.size}`,
    );
  }
  const r = evaluate(model, normalizedDataset(data.test, cfg.normalization), crossEntropy);
  say(
    `${name} test set: accuracy ${(r.accuracy * 100).toFixed(2)}%${topFiveText(cfg.classes.length, r.top5)}, loss ${r.loss.toFixed(4)} (${r.count} images)`,
  );
  say('per-class accuracy:');
  r.perClassAccuracy.forEach((a, i) => say(`  ${(cfg.classes[i] ?? String(i)).padEnd(14)} ${(a * 100).toFixed(2)}%`));
  say('confusion matrix (rows: true class, columns: predicted):');
  for (const row of r.confusion.matrix) say(`  ${row.map((v) => String(v).padStart(5)).join('')}`);
  if (jsonMode) {
    console.log(
      JSON.stringify({
        test_accuracy: r.accuracy,
        test_loss: r.loss,
        ...(cfg.classes.length > 5 ? { test_top5: r.top5 } : {}),
        per_class_accuracy: r.perClassAccuracy,
        confusion_matrix: r.confusion.matrix,
        count: r.count,
      }),
    );
  }
  return 0;
}

const PREDICT_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: EVAL_OPTIONS['checkpoint']!,
  top: { type: 'integer', help: 'how many classes to show per image', default: 3, min: 1 },
  json: { type: 'flag', help: 'print one JSON object with every prediction as the last line' },
  help: TRAIN_OPTIONS['help']!,
};

async function commandPredict(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, PREDICT_OPTIONS, 'predict');
  if (options['help']) return (say(help('predict', '--checkpoint DIR IMAGE...', PREDICT_OPTIONS)), 0);
  jsonMode = Boolean(options['json']);
  const dir = options['checkpoint'] as string | undefined;
  if (!dir) throw new UsageError('predict: --checkpoint DIR is required');
  if (positional.length === 0) throw new UsageError('predict: give one or more PNG or JPEG images');
  const cfg = readConfig(resolve(dir));
  const model = await loadAnyRun(resolve(dir), cfg);
  const { channels, size } = cfg.input;
  const k = Math.min(options['top'] as number, cfg.classes.length);
  const results = positional.map((file) => {
    const img = readImageFile(file, { channels: channels as 1 | 3, size: [size, size] });
    const x = new Float32Array(channels * size * size);
    const plane = size * size;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < plane; i++)
        x[c * plane + i] = (img[c * plane + i]! / 255 - cfg.normalization.mean[c]!) / cfg.normalization.std[c]!;
    }
    const probs = noGrad(() => softmax(model.forward(fromArray(x, [1, channels, size, size])), 1)).dataSync();
    const top = Array.from(probs, (p, i) => [i, p] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([i, p]) => ({ class: cfg.classes[i] ?? String(i), probability: p }));
    say(`${file}: ${top.map((t) => `${t.class} ${(t.probability * 100).toFixed(1)}%`).join(', ')}`);
    return { file, top };
  });
  if (jsonMode) console.log(JSON.stringify({ predictions: results }));
  return 0;
}

const SUMMARY_OPTIONS: Record<string, OptionSpec> = {
  model: TRAIN_OPTIONS['model']!,
  channels: { type: 'integer', help: "input channels (default: the model's)", min: 1 },
  size: { type: 'integer', help: "input height and width (default: the model's)", min: 1 },
  classes: { type: 'integer', help: "number of classes (default: the model's, 1000 for ImageNet models)", min: 1 },
  help: TRAIN_OPTIONS['help']!,
};

async function commandSummary(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, SUMMARY_OPTIONS, 'summary');
  if (options['help']) return (say(help('summary', '--model NAME | model.onnx | RUN_DIR', SUMMARY_OPTIONS)), 0);
  if (positional.length > 1) throw new UsageError(`summary: unexpected argument '${positional[1]}'`);
  if (positional.length === 1) return summarizeFile(positional[0]!, options);
  const name = options['model'] as string;
  const spec = MODELS[name]!;
  const channels = (options['channels'] as number | undefined) ?? spec.defaultInput.channels;
  const size = (options['size'] as number | undefined) ?? spec.defaultInput.size;
  const numClasses = (options['classes'] as number | undefined) ?? spec.defaultClasses;
  // Only shapes and counts are shown, so the weights need no random initialization.
  const model = skipInit(() => createModel(name, { numClasses, inChannels: channels, inputSize: size }));
  say(summary(model, [1, channels, size, size]).text);
  return 0;
}

/** `tsgrad summary model.onnx` or `tsgrad summary RUN_DIR`. */
async function summarizeFile(target: string, options: Record<string, unknown>): Promise<number> {
  const path = resolve(target);
  const { onnxSummary } = await import('../interop/onnx-summary.js');
  const { importOnnx } = await import('../interop/onnx-import.js');
  if (!existsSync(join(path, 'config.json'))) {
    if (!path.endsWith('.onnx'))
      throw new UsageError(`summary: ${target} is neither an .onnx file nor a run directory`);
    const model = await importOnnx(path);
    const shape = model.info.inputs[0]!.shape.map((d, i) =>
      i === 1
        ? ((options['channels'] as number | undefined) ?? d ?? 1)
        : i >= 2
          ? ((options['size'] as number | undefined) ?? d ?? 1)
          : 1,
    );
    say(onnxSummary(model, shape).text);
    return 0;
  }
  const cfg = readConfig(path);
  const model = await loadAnyRun(path, cfg);
  const shape = [1, cfg.input.channels, cfg.input.size, cfg.input.size];
  if (cfg.model === IMPORTED_MODEL) say(onnxSummary(model as Parameters<typeof onnxSummary>[0], shape).text);
  else say(summary(model, shape).text);
  return 0;
}

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  train: { run: commandTrain, help: 'train a model (no options: LeNet-5 on the bundled MNIST digits)' },
  eval: {
    run: commandEval,
    help: 'evaluate a trained run on a test set: accuracy, per-class accuracy, confusion matrix',
  },
  predict: {
    run: commandPredict,
    help: 'classify PNG or JPEG images with a trained run: top-k classes with probabilities',
  },
  summary: { run: commandSummary, help: "print a model's layers, output shapes and parameter counts" },
  resume: { run: commandResume, help: 'continue an interrupted run from its directory' },
  tune: { run: commandTune, help: 'hyperparameter search over train options (grid, random, bayesian; --redis)' },
  'tune-worker': { run: commandTuneWorker, help: 'run trials of a tune study from Redis' },
  export: {
    run: commandExport,
    help: "write a run's model as an ONNX file (tsgrad export --checkpoint DIR --out model.onnx)",
  },
  import: { run: commandImport, help: 'make a run directory from an ONNX file or a TF.js Layers model.json' },
  viz: {
    run: commandViz,
    help: 'images of a trained run: filters, feature maps, saliency, Grad-CAM, confusion, curves',
  },
  plot: { run: commandPlot, help: 'loss / accuracy / learning-rate curves of runs as SVG (several runs overlaid)' },
  playground: { run: commandPlayground, help: 'serve the browser playground: train and watch a CNN live' },
  ops: { run: commandOps, help: 'list every primitive: gradient rule, native backends and dtypes' },
  models: { run: commandModels, help: 'list the model zoo with parameter counts' },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(13)}${c.help}`);
  return `usage: tsgrad <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nRun 'tsgrad <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return command ? 0 : 2;
  }
  const c = COMMANDS[command];
  if (!c) {
    console.error(`error: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    if (e instanceof TsgradError) {
      console.error(`error: ${e.message}`);
      return e instanceof UsageError ? 2 : 1;
    }
    throw e;
  }
}

// The exit code is set, not forced with process.exit(): writes to a pipe are asynchronous, and
// exiting at once would cut what is still queued (a long summary piped into `tail` lost all
// but its first 64 KiB). Node exits by itself once stdout and stderr have drained.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 70;
  },
);
