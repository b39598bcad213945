/**
 * `tsgrad tune`: a hyperparameter study over `tsgrad train`'s options. Trials run in
 * this process, in worker threads (--workers N) or on Redis workers (--redis URL, with
 * `tsgrad tune-worker` processes); the study directory's journal makes it resumable
 * (--resume DIR) and readable while it runs (--report DIR).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeJsonAtomic } from '../io/atomic.js';
import { MODELS } from '../models/index.js';
import { makePruner } from '../tune/pruners.js';
import { RedisRunner, checkRedis, redactRedisUrl } from '../tune/redis.js';
import { loadObjective } from '../tune/remote.js';
import { type Params, SpaceError, gridConfigurations, parseSpace } from '../tune/space.js';
import { makeStrategy } from '../tune/strategies.js';
import { Study, type StudyFile, type TrialRecord, type TrialRunner, readStudyFile } from '../tune/study.js';
import { ThreadRunner } from '../tune/threads.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';
import { DATASETS } from './data.js';
import { TUNABLE_KEYS, type TunePayload, trainCommand } from './tune-objective.js';

export const TUNE_OPTIONS: Record<string, OptionSpec> = {
  space: { type: 'string', help: 'JSON file of the search space (keys are tsgrad train option names)' },
  strategy: { type: 'string', help: 'search strategy', default: 'bayesian', choices: ['grid', 'random', 'bayesian'] },
  trials: { type: 'integer', help: 'trials in the study', default: 20, min: 1 },
  pruner: { type: 'string', help: 'stop bad trials early', default: 'median', choices: ['none', 'median', 'asha'] },
  'startup-trials': { type: 'integer', help: 'random trials before the Bayesian model is used (default 8)', min: 1 },
  enqueue: { type: 'string', help: 'JSON file with a list of known-good configurations to try first' },
  model: { type: 'string', help: 'architecture', default: 'lenet5', choices: Object.keys(MODELS) },
  dataset: { type: 'string', help: `${DATASETS.join(', ')}, or a folder of PNGs`, default: 'mnist' },
  'data-dir': { type: 'string', help: 'where the fashion-mnist / cifar10 files are' },
  epochs: { type: 'integer', help: 'epochs per trial', default: 2, min: 1 },
  'val-split': { type: 'number', help: 'fraction of the training set each trial is scored on', default: 0.1, min: 0 },
  'train-size': { type: 'integer', help: 'use only this many training images per trial (quick studies)', min: 1 },
  seed: { type: 'integer', help: 'seed of the strategy and of every trial', default: 0, min: 0 },
  lr: { type: 'number', help: 'fixed learning rate when the space does not tune it', min: 0 },
  'batch-size': { type: 'integer', help: 'fixed batch size when the space does not tune it', min: 1 },
  optimizer: {
    type: 'string',
    help: 'fixed optimizer when the space does not tune it',
    choices: ['adam', 'adamw', 'sgd'],
  },
  out: { type: 'string', help: 'study directory (default runs/tune-<time>)' },
  study: { type: 'string', help: 'study name (default: the directory name); Redis workers name it too' },
  workers: { type: 'integer', help: 'trials at once: worker threads, or jobs queued with --redis', default: 1, min: 1 },
  threads: { type: 'integer', help: 'compute threads per worker thread (default: cores / workers)', min: 1 },
  redis: { type: 'string', help: 'run trials on Redis workers (redis://[:password@]HOST:PORT, rediss:// for TLS)' },
  objective: { type: 'string', help: 'module exporting objective(trial, payload) instead of the built-in training' },
  resume: { type: 'string', help: 'continue the study in DIR (re-runs unfinished trials only)' },
  report: { type: 'string', help: 'print the table of the study in DIR and exit' },
  json: { type: 'flag', help: 'print one JSON object with the result as the last line' },
  help: { type: 'flag', help: 'show this help' },
};

const fmtValue = (v: number | null): string => (v === null ? '-' : v.toFixed(4));
const fmtParam = (v: unknown): string => (typeof v === 'number' ? String(Number(v.toPrecision(4))) : String(v));
const fmtParams = (p: Params): string =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${fmtParam(v)}`)
    .join(' ');
const fmtTime = (s: number): string =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
      : `${s.toFixed(0)}s`;

/** The trials of a study file as a table, best first. */
export function studyTable(file: StudyFile): string {
  const score = (v: number): number => (file.direction === 'maximize' ? -v : v);
  const rank = (t: TrialRecord): number => ({ complete: 0, pruned: 1, running: 2, waiting: 3, failed: 4 })[t.state];
  const trials = [...file.trials].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.value !== null && b.value !== null ? score(a.value) - score(b.value) : 0) ||
      a.number - b.number,
  );
  const keys = Object.keys(file.space);
  const header = ['#', 'state', file.metric, 'epochs', 'time', ...keys];
  const rows = trials.map((t) => [
    String(t.number),
    t.state,
    fmtValue(t.value),
    String(t.intermediate.length || '-'),
    t.seconds === null ? '-' : `${t.seconds.toFixed(1)}s`,
    ...keys.map((k) => (k in t.params ? fmtParam(t.params[k]) : '')),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const failed = trials.filter((t) => t.state === 'failed').map((t) => `  trial ${t.number} failed: ${t.error}`);
  return [line(header), ...rows.map(line), ...failed].join('\n');
}

function readJsonFile(path: string, what: string): unknown {
  if (!existsSync(path)) throw new UsageError(`tune: ${what} ${path} not found`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`tune: ${path}: not valid JSON (${(e as Error).message})`);
  }
}

function summaryJson(study: Study, seconds: number, dir: string): Record<string, unknown> {
  const best = study.best;
  const count = (s: string): number => study.trials.filter((t) => t.state === s).length;
  return {
    study: study.name,
    dir,
    metric: study.metric,
    trials: study.trials.length,
    complete: count('complete'),
    pruned: count('pruned'),
    failed: count('failed'),
    best: best ? { number: best.number, value: best.value, params: best.params } : null,
    best_json: best ? join(dir, 'best.json') : null,
    seconds,
  };
}

export async function commandTune(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, TUNE_OPTIONS, 'tune');
  const json = Boolean(options['json']);
  const say = (s: string): void => {
    if (!json) console.log(s);
  };
  if (options['help']) {
    console.log(
      `usage: tsgrad tune --space space.json [options]\n       tsgrad tune --resume DIR\n       tsgrad tune --report DIR\n\n${formatOptions(TUNE_OPTIONS)}\n\nTunable keys of the space file: ${TUNABLE_KEYS.join(', ')}`,
    );
    return 0;
  }
  if (positional.length) throw new UsageError(`tune: unexpected argument '${positional[0]}'`);

  if (options['report']) {
    const dir = resolve(options['report'] as string);
    const file = readStudyFile(dir);
    const done = file.trials.filter(
      (t) => t.state === 'complete' || t.state === 'pruned' || t.state === 'failed',
    ).length;
    say(`study ${file.name}: ${file.strategy.name} search, ${done}/${file.targetTrials} trials finished (${dir})`);
    say(studyTable(file));
    const study = Study.open(dir);
    const best = study.best;
    if (best) say(`best: trial ${best.number}, ${file.metric} ${fmtValue(best.value)}: ${fmtParams(best.params)}`);
    if (json) console.log(JSON.stringify({ ...summaryJson(study, 0, dir), table: study.sortedTrials() }));
    return 0;
  }

  let study: Study;
  let payload: TunePayload | null;
  let objectiveModule: string;
  if (options['resume']) {
    const dir = resolve(options['resume'] as string);
    study = Study.open(dir);
    payload = (study.meta['payload'] as TunePayload | null) ?? null;
    objectiveModule =
      (study.meta['objective'] as string | undefined) ?? new URL('./tune-objective.js', import.meta.url).href;
    const unfinished = study.trials.filter((t) => t.state === 'waiting').length;
    say(
      `resuming study ${study.name} in ${dir}: ${study.trials.length - unfinished} trials finished, ${unfinished} to re-run`,
    );
  } else {
    if (!options['space'])
      throw new UsageError('tune: --space space.json is required (or --resume DIR / --report DIR)');
    const spacePath = options['space'] as string;
    const custom = options['objective'] as string | undefined;
    // A custom objective may tune anything; the built-in one tunes tsgrad train's options.
    const space = parseSpace(readJsonFile(spacePath, 'space file'), spacePath, custom ? undefined : TUNABLE_KEYS);
    const fixed: Record<string, string | number> = {};
    for (const k of ['lr', 'batch-size', 'optimizer'])
      if (options[k] !== undefined && !(k in space)) fixed[k] = options[k] as string | number;
    payload = {
      model: options['model'] as string,
      dataset: options['dataset'] as string,
      dataDir: (options['data-dir'] as string | undefined) ?? null,
      epochs: options['epochs'] as number,
      seed: options['seed'] as number,
      valSplit: options['val-split'] as number,
      fixed,
      trainSize: (options['train-size'] as number | undefined) ?? null,
    };
    if (!custom && !(payload.valSplit > 0))
      throw new UsageError('tune: --val-split must be above 0 (trials are scored on it)');
    objectiveModule = custom
      ? pathToFileURL(resolve(custom)).href
      : new URL('./tune-objective.js', import.meta.url).href;
    if (custom) await loadObjective(objectiveModule); // refuse a bad module before the study exists
    const strategyName = options['strategy'] as string;
    const strategy = makeStrategy(
      strategyName,
      options['startup-trials'] !== undefined ? { startupTrials: options['startup-trials'] as number } : {},
    );
    if (strategyName === 'grid') gridConfigurations(space); // a float without steps is refused now, not at trial 1
    const enqueued: Params[] = [];
    if (options['enqueue']) {
      const list = readJsonFile(options['enqueue'] as string, 'enqueue file');
      if (!Array.isArray(list) || list.some((c) => typeof c !== 'object' || c === null || Array.isArray(c)))
        throw new UsageError(`tune: ${options['enqueue']}: expected a list of configuration objects`);
      for (const c of list as Params[])
        for (const k of Object.keys(c))
          if (!(k in space)) throw new SpaceError(`${options['enqueue']}: parameter '${k}' is not in the space`);
      enqueued.push(...(list as Params[]));
    }
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const dir = resolve((options['out'] as string | undefined) ?? join('runs', `tune-${stamp}`));
    if (existsSync(join(dir, 'study.json')))
      throw new UsageError(
        `tune: ${dir} already holds a study; continue it with 'tsgrad tune --resume ${dir}' or choose another --out`,
      );
    // A bad or unreachable Redis is refused before anything is written.
    if (options['redis']) await checkRedis(options['redis'] as string);
    study = new Study({
      space,
      strategy,
      pruner: makePruner(
        options['pruner'] as string,
        options['pruner'] === 'median' ? { startupTrials: 5, warmupSteps: 0 } : {},
      ),
      direction: custom ? 'minimize' : 'maximize',
      metric: custom ? 'value' : 'val_accuracy',
      seed: options['seed'] as number,
      dir,
      name: (options['study'] as string | undefined) ?? basename(dir),
      meta: {
        payload: custom ? null : payload,
        objective: objectiveModule,
        ...(options['redis'] ? { redis: redactRedisUrl(options['redis'] as string) } : {}),
      },
    });
    study.targetTrials = options['trials'] as number;
    for (const c of enqueued) study.enqueue(c);
    if (custom) payload = null;
    say(
      `study ${study.name}: ${strategy.name} search over ${Object.keys(space).length} parameters, ${study.targetTrials} trials, pruner ${study.pruner.name}, ` +
        `${options['redis'] ? `Redis ${redactRedisUrl(options['redis'] as string)}` : `${options['workers']} worker${options['workers'] === 1 ? '' : 's'}`}; study directory ${dir}`,
    );
  }
  const dir = study.dir!;
  const trialsTarget =
    options['resume'] && !argv.includes('--trials') ? study.targetTrials : (options['trials'] as number);
  const workers = options['workers'] as number;
  const objective = await loadObjective(objectiveModule);
  const jobPayload = payload ?? study.meta['payload'] ?? null;
  let runner: TrialRunner;
  const redisUrl = options['redis'] as string | undefined;
  if (redisUrl) {
    runner = await RedisRunner.connect(study, { url: redisUrl, concurrency: workers, payload: jobPayload });
  } else if (workers > 1) {
    const threads =
      (options['threads'] as number | undefined) ?? Math.max(1, Math.floor(availableParallelism() / workers));
    runner = new ThreadRunner({ workers, objectiveModule, payload: jobPayload, threadsPerWorker: threads });
  } else {
    runner = { concurrency: 1, run: async (trial) => objective(trial, jobPayload) };
  }

  const start = performance.now();
  const tty = !json && process.stderr.isTTY === true;
  const durations: number[] = [];
  const progress = (): void => {
    if (!tty) return;
    const finished = study.trials.filter((t) => ['complete', 'pruned', 'failed'].includes(t.state)).length;
    const best = study.best;
    const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : NaN;
    const eta = Number.isFinite(mean) ? fmtTime((mean * (trialsTarget - finished)) / runner.concurrency) : '?';
    process.stderr.write(
      `\r\x1b[Ktrial ${Math.min(finished + 1, trialsTarget)}/${trialsTarget} · best ${best ? `${fmtValue(best.value)} (#${best.number})` : '-'} · ETA ${eta}`,
    );
  };
  const onSignal = (): void => {
    process.stderr.write(`\ninterrupted; the journal is saved. Continue with: tsgrad tune --resume ${dir}\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    progress();
    await study.optimize(null, {
      trials: trialsTarget,
      runner,
      onTrialStart: () => progress(),
      onTrialEnd: (t) => {
        if (t.seconds !== null) durations.push(t.seconds);
        const best = study.best;
        if (tty) process.stderr.write('\r\x1b[K');
        say(
          `trial #${t.number} (${study.trials.filter((x) => ['complete', 'pruned', 'failed'].includes(x.state)).length}/${trialsTarget}) ${t.state}${t.value !== null ? ` ${study.metric} ${fmtValue(t.value)}` : ''}${t.error ? ` (${t.error})` : ''} in ${(t.seconds ?? 0).toFixed(1)} s: ${fmtParams(t.params)} | best ${best ? `${fmtValue(best.value)} (#${best.number})` : '-'}`,
        );
        progress();
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (tty) process.stderr.write('\r\x1b[K');
    await runner.close?.();
  }
  const seconds = (performance.now() - start) / 1000;
  say('');
  say(studyTable(study.toJSON()));
  const best = study.best;
  if (best) {
    const p = study.meta['payload'] as TunePayload | null;
    const bestFile = {
      study: study.name,
      trial: best.number,
      metric: study.metric,
      value: best.value,
      params: best.params,
      ...(p
        ? {
            command: trainCommand(p, best.params),
            ...(p.trainSize !== null
              ? {
                  note: `the trial trained on ${p.trainSize} images (--train-size); the command trains on the whole training split`,
                }
              : {}),
          }
        : {}),
    };
    writeJsonAtomic(join(dir, 'best.json'), bestFile);
    say(`\nbest: trial ${best.number}, ${study.metric} ${fmtValue(best.value)}: ${fmtParams(best.params)}`);
    if (p) say(`reproduce it with: ${bestFile.command}`);
    say(`wrote ${join(dir, 'best.json')} (${fmtTime(seconds)} in all)`);
  } else {
    say('no trial completed');
  }
  if (json) console.log(JSON.stringify(summaryJson(study, seconds, dir)));
  return best ? 0 : 1;
}
