/**
 * `tsgrad tune-worker --redis URL --study NAME`: pulls the named study's trials from
 * Redis, runs them (the built-in training objective, or --objective MODULE) and reports
 * back, until stopped with Ctrl-C / SIGTERM.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runRedisWorker } from '../tune/redis.js';
import { loadObjective } from '../tune/remote.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';

const WORKER_OPTIONS: Record<string, OptionSpec> = {
  redis: { type: 'string', help: 'Redis URL of the study (redis://[:password@]HOST:PORT, rediss:// for TLS)' },
  study: { type: 'string', help: 'name of the study whose trials this worker runs' },
  objective: { type: 'string', help: 'module exporting objective(trial, payload) (default: the built-in training)' },
  'lock-duration': {
    type: 'integer',
    help: "ms a trial stays claimed without a heartbeat; a killed worker's trial is retried after it",
    default: 30000,
    min: 100,
  },
  'stalled-interval': {
    type: 'integer',
    help: 'ms between checks for trials of lost workers',
    default: 30000,
    min: 100,
  },
  help: { type: 'flag', help: 'show this help' },
};

export async function commandTuneWorker(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, WORKER_OPTIONS, 'tune-worker');
  if (options['help']) {
    console.log(`usage: tsgrad tune-worker --redis URL --study NAME [options]\n\n${formatOptions(WORKER_OPTIONS)}`);
    return 0;
  }
  if (positional.length) throw new UsageError(`tune-worker: unexpected argument '${positional[0]}'`);
  const url = options['redis'] as string | undefined;
  const study = options['study'] as string | undefined;
  if (!url) throw new UsageError('tune-worker: --redis URL is required');
  if (!study) throw new UsageError('tune-worker: --study NAME is required (the name tsgrad tune printed)');
  const custom = options['objective'] as string | undefined;
  const objective = await loadObjective(
    custom ? pathToFileURL(resolve(custom)).href : new URL('./tune-objective.js', import.meta.url).href,
  );
  const worker = await runRedisWorker({
    url,
    study,
    objective,
    lockDurationMs: options['lock-duration'] as number,
    stalledIntervalMs: options['stalled-interval'] as number,
  });
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      console.log(`tune-worker ${worker.id} stopping after the current trial`);
      void worker.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
