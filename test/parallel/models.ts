/** Model builders the DataParallel tests hand to their replica threads (by module URL). */
import { ResNet } from '../../src/models/index.js';

/** A BatchNorm ResNet small enough to train in a test: one basic block per stage, width 4, 8×8 input. */
export function tinyResNet(numClasses = 3): ResNet {
  return new ResNet('basic', [1, 1, 1, 1], { numClasses, inChannels: 1, smallInput: true, width: 4 });
}
