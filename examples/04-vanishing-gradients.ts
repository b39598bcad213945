/**
 * Vanishing gradients: a stack of 20 fully connected sigmoid layers, one backward pass on a batch, and the
 * norm of the first layer's weight gradient next to the output layer's.
 *
 * Backpropagation multiplies, layer after layer, by Wᵀ and by σ'(z) ≤ 1/4. With small weights both factors are
 * below one, so the gradient shrinks geometrically with depth and the first layers do not learn. Xavier
 * (Var W = 2 / (fan_in + fan_out)) and He (Var W = 2 / fan_in) initialization keep Wᵀ from shrinking the
 * signal, which helps by orders of magnitude, but σ' still does with sigmoid; batch normalization before each
 * sigmoid keeps the pre-activations in the sigmoid's steep middle, and the gradient reaches the first layer
 * at the output layer's order of magnitude. ReLU with He initialization, the modern recipe, is shown last.
 */
import assert from 'node:assert/strict';
import {
  BatchNorm1d,
  Generator,
  Linear,
  type Module,
  ReLU,
  Sequential,
  Sigmoid,
  type Tensor,
  crossEntropy,
  init,
  manualSeed,
  randn,
  tensor,
} from '../src/index.js';

const DEPTH = 20;
const WIDTH = 64;
const BATCH = 128;

interface Setup {
  name: string;
  /** Replaces the layer's default initialization (PyTorch's: uniform in ±1/√fan_in) when given. */
  initWeight?: (w: Tensor) => void;
  batchNorm?: boolean;
  relu?: boolean;
}

function build(s: Setup): { model: Sequential; first: Linear; last: Linear } {
  manualSeed(0); // the same random draws for every setup
  const layers: Module[] = [];
  const linears: Linear[] = [];
  for (let l = 0; l < DEPTH; l++) {
    const linear = new Linear(l === 0 ? 16 : WIDTH, WIDTH);
    s.initWeight?.(linear.weight);
    linears.push(linear);
    layers.push(linear);
    if (s.batchNorm) layers.push(new BatchNorm1d(WIDTH));
    layers.push(s.relu ? new ReLU() : new Sigmoid());
  }
  const head = new Linear(WIDTH, 10);
  return { model: new Sequential(...layers, head), first: linears[0]!, last: head };
}

// In float64: the smallest of these norms squared is below float32's range.
const norm = (t: Tensor): number => Math.sqrt(t.double().square().sum().itemSync());

const x = randn([BATCH, 16], { generator: new Generator(5) });
const y = tensor(
  Array.from({ length: BATCH }, (_, i) => i % 10),
  { dtype: 'int32' },
);

const setups: Setup[] = [
  { name: 'sigmoid, N(0, 0.01²) weights', initWeight: (w) => init.normal_(w, 0, 0.01) },
  { name: 'sigmoid, PyTorch default init' },
  { name: 'sigmoid, Xavier init', initWeight: (w) => init.xavierNormal(w) },
  { name: 'sigmoid, He init', initWeight: (w) => init.kaimingNormal(w) },
  { name: 'sigmoid, default init + batch norm', batchNorm: true },
  { name: 'sigmoid, Xavier init + batch norm', initWeight: (w) => init.xavierNormal(w), batchNorm: true },
  { name: 'sigmoid, He init + batch norm', initWeight: (w) => init.kaimingNormal(w), batchNorm: true },
  { name: 'ReLU, He init', initWeight: (w) => init.kaimingNormal(w, { nonlinearity: 'relu' }), relu: true },
];

const first: Record<string, number> = {};
const ratio: Record<string, number> = {};
console.log(`${DEPTH} layers of ${WIDTH} units, batch ${BATCH}: ‖∂L/∂W‖ of the first layer and the output layer`);
for (const s of setups) {
  const { model, first: w1, last } = build(s);
  crossEntropy(model.forward(x), y).backward();
  first[s.name] = norm(w1.weight.grad!);
  ratio[s.name] = first[s.name]! / norm(last.weight.grad!);
  console.log(
    `  ${s.name.padEnd(36)} first ${first[s.name]!.toExponential(2).padStart(9)}   first/output ${ratio[s.name]!.toExponential(1)}`,
  );
}

// Without batch norm, the gradient vanishes through 20 sigmoid layers whatever the initialization...
for (const s of setups.slice(0, 4)) assert.ok(ratio[s.name]! < 1e-9, `${s.name}: ${ratio[s.name]}`);
// ...but by far less with Xavier or He than with small weights: each is orders of magnitude better.
const [tiny, dflt, xavier, he] = setups.slice(0, 4).map((s) => first[s.name]!);
assert.ok(tiny! * 1e6 < dflt! && dflt! * 1e3 < xavier! && xavier! * 10 < he!, 'N(0, 0.01²) ≪ default ≪ Xavier < He');
// With batch norm the first layer's gradient is within a factor of 10 of the output layer's, for every init.
for (const s of setups.filter((s) => s.batchNorm)) assert.ok(ratio[s.name]! > 0.1, `${s.name}: ${ratio[s.name]}`);
// ReLU + He: no vanishing either, and no normalization needed.
assert.ok(ratio['ReLU, He init']! > 0.01);
