/** Hyperparameter search, cross-validation and ensembles. */
export { SpaceError, hp, parseSpace, validateSpace, sampleSpace, gridConfigurations } from './space.js';
export type { Space, Distribution, Params, ParamValue, Condition } from './space.js';
export {
  GridStrategy,
  RandomStrategy,
  TPEStrategy,
  makeStrategy,
  type Strategy,
  type TPEOptions,
} from './strategies.js';
export { MedianPruner, SuccessiveHalvingPruner, NopPruner, makePruner, type Pruner } from './pruners.js';
export {
  Study,
  TrialPruned,
  readStudyFile,
  type Trial,
  type TrialRecord,
  type TrialRunner,
  type Objective,
  type StudyOptions,
  type StudyFile,
} from './study.js';
export { kFold, stratifiedKFold, crossValidate, summarize, type Fold, type CrossValidation } from './cv.js';
export { Ensemble, ensembleTopK, SnapshotEnsemble, CyclicCosineLR, type EnsembleMethod } from './ensemble.js';
export { ThreadRunner, type ThreadRunnerOptions } from './threads.js';
export { RedisRunner, runRedisWorker, checkRedis, parseRedisUrl, redactRedisUrl, RedisTuneError } from './redis.js';
export { loadObjective, type ModuleObjective } from './remote.js';
