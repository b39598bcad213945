/**
 * LeNet-5 training and inference throughput (batch 64, 1×28×28) on this
 * machine: tsgrad's reference CPU backend, and PyTorch CPU on one thread
 * when Debian's python3-torch is installed, side by side in one run.
 * Prints a table and, last, one JSON line with every figure and ratio.
 *
 *   npm run bench
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Adam, LeNet5, crossEntropy, manualSeed, noGrad, randint, randn } from '../src/index.js';

const BATCH = 64;
const WINDOWS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median samples/s over timed windows after warm-up. */
function measure(step: () => void, stepsPerWindow: number): number {
  for (let i = 0; i < 3; i++) step();
  const rates: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const t0 = performance.now();
    for (let i = 0; i < stepsPerWindow; i++) step();
    rates.push((stepsPerWindow * BATCH) / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

function tsgrad(): { train: number; infer: number } {
  manualSeed(0);
  const net = new LeNet5();
  const opt = new Adam(net.parameters(), { lr: 1e-3 });
  const x = randn([BATCH, 1, 28, 28]);
  const y = randint(0, 10, [BATCH]);
  const train = measure(() => {
    const loss = crossEntropy(net.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    loss.itemSync();
  }, 10);
  net.eval();
  const infer = measure(() => noGrad(() => net.forward(x).dataSync()), 20);
  return { train, infer };
}

const TORCH = `
import time, torch, torch.nn as nn, json
torch.set_num_threads(1); torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(1,6,5,padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6,16,5), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(400,120), nn.ReLU(), nn.Linear(120,84), nn.ReLU(), nn.Linear(84,10))
opt = torch.optim.Adam(net.parameters(), 1e-3)
x = torch.randn(${BATCH},1,28,28); y = torch.randint(0,10,(${BATCH},))
def step():
    loss = nn.functional.cross_entropy(net(x), y); opt.zero_grad(); loss.backward(); opt.step(); loss.item()
def infer():
    with torch.no_grad(): net(x)
def measure(f, n):
    for _ in range(3): f()
    rates = []
    for _ in range(${WINDOWS}):
        t = time.perf_counter()
        for _ in range(n): f()
        rates.append(n * ${BATCH} / (time.perf_counter() - t))
    return sorted(rates)[len(rates)//2]
tr = measure(step, 50)
net.eval()
print(json.dumps({"train": tr, "infer": measure(infer, 100), "version": torch.__version__}))
`;

function pytorch(): { train: number; infer: number; version: string } | null {
  if (!existsSync('/usr/bin/python3')) return null;
  const r = spawnSync('/usr/bin/python3', ['-c', TORCH], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { train: number; infer: number; version: string };
}

const ours = tsgrad();
const torch = pytorch();
const fmt = (v: number): string => Math.round(v).toLocaleString('en-US').padStart(9);
console.log(
  `LeNet-5, batch ${BATCH}, samples/s (median of ${WINDOWS} windows), one thread, ${new Date().toISOString().slice(0, 10)}`,
);
console.log(`                    training   inference`);
console.log(`tsgrad cpu        ${fmt(ours.train)}   ${fmt(ours.infer)}`);
if (torch) {
  console.log(`PyTorch ${torch.version.padEnd(9)} ${fmt(torch.train)}   ${fmt(torch.infer)}`);
  console.log(
    `ratio tsgrad/torch   ${(ours.train / torch.train).toFixed(3).padStart(7)}     ${(ours.infer / torch.infer).toFixed(3).padStart(7)}`,
  );
} else console.log('PyTorch: not available (install python3-torch to compare)');
console.log(
  JSON.stringify({
    benchmark: 'lenet5',
    batch: BATCH,
    node: process.version,
    tsgrad_cpu: ours,
    pytorch: torch,
    ratios: torch ? { train: ours.train / torch.train, infer: ours.infer / torch.infer } : null,
  }),
);
