/**
 * Choosing how a training run uses the cores: intra-op threads (one model, each large kernel
 * split across threads) or data-parallel replicas (one model copy per core, each on a shard
 * of the batch).
 */
import { ArgumentError } from '../core/errors.js';

/**
 * Models with at most this many parameters train on replicas when there are several cores.
 * Small models have small kernels, which intra-op threads barely speed up (LeNet-5: 3–10%
 * on 2 threads) while replicas run whole steps side by side; a replica's cost is a copy of
 * the parameters in and of the gradient out every step, and a copy of the model in memory,
 * which is what makes threads the better choice for the large ones (VGG, AlexNet: 60M+).
 */
export const REPLICA_PARAMETER_LIMIT = 2_000_000;

export interface ParallelismChoice {
  /** Replicas (1: no DataParallel). */
  replicas: number;
  /** Intra-op threads of each replica (or of the single model). */
  threads: number;
  /** Why, in words, for the log. */
  reason: string;
}

/**
 * Picks replicas and threads from the model's size, the batch size and the cores, unless
 * the user said: `replicas` (a number, from --replicas) wins, then `envThreads`
 * (TSGRAD_NUM_THREADS) alone means one model on that many threads.
 * @example chooseParallelism({ parameters: 61_706, batchSize: 64, cores: 2 }) // { replicas: 2, threads: 1, ... }
 */
export function chooseParallelism(o: {
  parameters: number;
  batchSize: number;
  cores: number;
  replicas?: number | 'auto';
  envThreads?: number;
}): ParallelismChoice {
  const cores = Math.max(1, Math.floor(o.cores));
  if (o.replicas !== undefined && o.replicas !== 'auto') {
    if (!(Number.isInteger(o.replicas) && o.replicas >= 1))
      throw new ArgumentError(`replicas must be a positive integer or 'auto', got ${o.replicas}`);
    const threads = o.envThreads ?? Math.max(1, Math.floor(cores / o.replicas));
    return { replicas: o.replicas, threads, reason: '--replicas given' };
  }
  if (o.envThreads !== undefined)
    return { replicas: 1, threads: o.envThreads, reason: 'TSGRAD_NUM_THREADS given, no --replicas' };
  if (cores === 1) return { replicas: 1, threads: 1, reason: 'one core' };
  const params = o.parameters.toLocaleString('en-US');
  if (o.parameters > REPLICA_PARAMETER_LIMIT)
    return {
      replicas: 1,
      threads: cores,
      reason: `${params} parameters, above ${REPLICA_PARAMETER_LIMIT.toLocaleString('en-US')}: large kernels split well across threads`,
    };
  // Each replica needs a useful shard: at least 8 samples.
  const replicas = Math.max(1, Math.min(cores, Math.floor(o.batchSize / 8)));
  if (replicas === 1)
    return { replicas: 1, threads: cores, reason: `batch ${o.batchSize} too small to shard (8+ samples per replica)` };
  return {
    replicas,
    threads: Math.max(1, Math.floor(cores / replicas)),
    reason: `${params} parameters, at most ${REPLICA_PARAMETER_LIMIT.toLocaleString('en-US')}: small kernels gain more from whole steps side by side`,
  };
}
