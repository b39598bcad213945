export { DataParallel, type DataParallelOptions, ReplicaError, replicableModel, shardSizes } from './data-parallel.js';
export { type ModelFactory, buildFromFactory } from './factory.js';
export { SyncBatchNorm, convertSyncBatchNorm } from './sync-batchnorm.js';
export { REPLICA_PARAMETER_LIMIT, type ParallelismChoice, chooseParallelism } from './auto.js';
export { device, onDevice, registerDevice, transfer, transferLog } from './devices.js';
export { PerHalf, TwoTowerAlexNet, type TwoTowerOptions, perTowerLrn } from './two-tower.js';
