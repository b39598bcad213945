export { Optimizer, type ParamGroup, type OptimizerStateDict } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR } from './schedules.js';
export { lrMultiplierGroups } from './param-groups.js';
