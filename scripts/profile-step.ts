/**
 * A LeNet-5 training loop for profiling the wasm backend: the bench's net (conv 5×5 6 pad 2,
 * ReLU, pool 2, conv 5×5 16, ReLU, pool 2, fc 120, ReLU, fc 84, ReLU, fc 10), batch 64,
 * softmax cross-entropy, on random data. Prints samples/s after a warm-up.
 *
 * Usage (the profile breakdown of the issue's "time outside kernels"):
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/scripts/profile-step.js --steps=200 --threads=1 --optim=sgd
 *   node scripts/cpuprofile-summary.mjs /tmp/prof/*.cpuprofile
 */
import {
  Adam,
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  SGD,
  Sequential,
  crossEntropy,
  manualSeed,
  randint,
  randn,
  setBackend,
  setNumThreads,
  wasmReady,
} from '../src/index.js';

const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

const steps = Number(arg('steps', '200'));
const batch = Number(arg('batch', '64'));
const threads = Number(arg('threads', '1'));
const backend = arg('backend', 'wasm');
const optim = arg('optim', 'sgd');

if (backend === 'wasm' && !(await wasmReady())) throw new Error('wasm backend unavailable');
setBackend(backend);
setNumThreads(threads);
manualSeed(0);
const net = new Sequential(
  new Conv2d(1, 6, 5, { padding: 2 }),
  new ReLU(),
  new MaxPool2d(2),
  new Conv2d(6, 16, 5),
  new ReLU(),
  new MaxPool2d(2),
  new Flatten(),
  new Linear(400, 120),
  new ReLU(),
  new Linear(120, 84),
  new ReLU(),
  new Linear(84, 10),
);
const opt = optim === 'adam' ? new Adam(net.parameters(), { lr: 1e-3 }) : new SGD(net.parameters(), { lr: 0.01 });
const x = randn([batch, 1, 28, 28]);
const y = randint(0, 10, [batch]);
const step = (): number => {
  const loss = crossEntropy(net.forward(x), y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  return loss.itemSync();
};
for (let i = 0; i < 20; i++) step();
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const s = (performance.now() - t0) / 1000;
console.log(
  `${backend} ${threads} thread(s) ${optim}: ${((steps * batch) / s).toFixed(0)} samples/s (${((s / steps) * 1000).toFixed(2)} ms/step)`,
);
