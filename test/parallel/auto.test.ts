/** chooseParallelism: replicas for small models, threads for large ones, overrides respected. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, REPLICA_PARAMETER_LIMIT, chooseParallelism } from '../../src/index.js';

test('small models on several cores get replicas, large ones intra-op threads', () => {
  assert.deepEqual(
    { ...chooseParallelism({ parameters: 61_706, batchSize: 64, cores: 2 }), reason: '' },
    { replicas: 2, threads: 1, reason: '' },
  );
  const big = chooseParallelism({ parameters: 61_100_840, batchSize: 64, cores: 2 });
  assert.equal(big.replicas, 1);
  assert.equal(big.threads, 2);
  assert.match(big.reason, /61,100,840 parameters, above/);
  assert.equal(chooseParallelism({ parameters: REPLICA_PARAMETER_LIMIT, batchSize: 64, cores: 8 }).replicas, 8);
  // A batch too small to give each replica 8 samples stays on one model.
  assert.equal(chooseParallelism({ parameters: 1000, batchSize: 8, cores: 2 }).replicas, 1);
  assert.equal(chooseParallelism({ parameters: 1000, batchSize: 64, cores: 1 }).replicas, 1);
});

test('--replicas wins, then TSGRAD_NUM_THREADS alone means one model on that many threads', () => {
  assert.deepEqual(chooseParallelism({ parameters: 61_100_840, batchSize: 64, cores: 4, replicas: 2 }), {
    replicas: 2,
    threads: 2,
    reason: '--replicas given',
  });
  assert.equal(chooseParallelism({ parameters: 1000, batchSize: 64, cores: 2, replicas: 3, envThreads: 1 }).threads, 1);
  assert.deepEqual(chooseParallelism({ parameters: 1000, batchSize: 64, cores: 2, envThreads: 2 }), {
    replicas: 1,
    threads: 2,
    reason: 'TSGRAD_NUM_THREADS given, no --replicas',
  });
  assert.throws(() => chooseParallelism({ parameters: 1, batchSize: 1, cores: 1, replicas: 0 }), ArgumentError);
});
