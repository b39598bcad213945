/**
 * The bench nets as functions: bench/parallel.ts's DataParallel replica threads call them by module URL, and
 * bench/webgpu.ts builds its CIFAR net from here too.
 */
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../src/index.js';
import { LeNet5 } from '../src/models/index.js';

/** LeNet-5 with ReLU and max pooling, 1×28×28 (61,706 parameters; torch_peer.py's lenet5). */
export function lenet(): LeNet5 {
  return new LeNet5({ numClasses: 10, inChannels: 1, inputSize: 28 });
}

/** The CIFAR net of bench/index.ts and torch_peer.py: 4 padded 3×3 convolutions, 2 pools, fc 512, fc 10. */
export function cifarNet(): Sequential {
  return new Sequential(
    new Conv2d(3, 32, 3, { padding: 1 }),
    new ReLU(),
    new Conv2d(32, 32, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(32, 64, 3, { padding: 1 }),
    new ReLU(),
    new Conv2d(64, 64, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(64 * 8 * 8, 512),
    new ReLU(),
    new Linear(512, 10),
  );
}
