export { DataParallel, type DataParallelOptions, ReplicaError, replicableModel, shardSizes } from './data-parallel.js';
export { type ModelFactory, buildFromFactory } from './factory.js';
export { SyncBatchNorm, convertSyncBatchNorm } from './sync-batchnorm.js';
