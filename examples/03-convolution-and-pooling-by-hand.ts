/**
 * A convolution and a max-pool computed by hand on the note's 5×5 example, then by tsgrad's conv2d and
 * maxPool2d. A convolution layer slides the 3×3 kernel over the image and, at each position, sums the
 * element-wise product of the kernel and the patch under it (CNNs compute this cross-correlation and call it
 * convolution: the kernel is not flipped). Without padding and with stride s, an n×n input and a k×k kernel give
 * ⌊(n + 2p − k) / s⌋ + 1 outputs per side.
 */
import assert from 'node:assert/strict';
import { conv2d, maxPool2d, tensor } from '../src/index.js';

type Grid = number[][];

const image: Grid = [
  [1, 1, 1, 0, 0],
  [0, 1, 1, 1, 0],
  [0, 0, 1, 1, 1],
  [0, 0, 1, 1, 0],
  [0, 1, 1, 0, 0],
];
const kernel: Grid = [
  [1, 0, 1],
  [0, 1, 0],
  [1, 0, 1],
];

/** Zero padding of p cells on every side. */
function padGrid(g: Grid, p: number): Grid {
  const n = g[0]!.length + 2 * p;
  const row = (): number[] => new Array<number>(n).fill(0);
  return [
    ...Array.from({ length: p }, row),
    ...g.map((r) => [...new Array<number>(p).fill(0), ...r, ...new Array<number>(p).fill(0)]),
    ...Array.from({ length: p }, row),
  ];
}

/** out[i][j] = Σ_a Σ_b in[i·s + a][j·s + b] · k[a][b]. */
function convolveByHand(input: Grid, k: Grid, stride = 1, padding = 0): Grid {
  const x = padGrid(input, padding);
  const size = Math.floor((x.length - k.length) / stride) + 1;
  const out: Grid = [];
  for (let i = 0; i < size; i++) {
    out.push([]);
    for (let j = 0; j < size; j++) {
      let s = 0;
      for (let a = 0; a < k.length; a++)
        for (let b = 0; b < k.length; b++) s += x[i * stride + a]![j * stride + b]! * k[a]![b]!;
      out[i]!.push(s);
    }
  }
  return out;
}

/** out[i][j] = max over the window of size w starting at (i·s, j·s). */
function maxPoolByHand(input: Grid, w: number, stride: number): Grid {
  const size = Math.floor((input.length - w) / stride) + 1;
  const out: Grid = [];
  for (let i = 0; i < size; i++) {
    out.push([]);
    for (let j = 0; j < size; j++) {
      let m = -Infinity;
      for (let a = 0; a < w; a++) for (let b = 0; b < w; b++) m = Math.max(m, input[i * stride + a]![j * stride + b]!);
      out[i]!.push(m);
    }
  }
  return out;
}

const show = (name: string, g: Grid): void => console.log(`${name}\n${g.map((r) => '  ' + r.join(' ')).join('\n')}`);

// tsgrad's tensors are [batch, channels, height, width]; the kernel is [out channels, in channels, kH, kW].
const x = tensor([[image]]);
const w = tensor([[kernel]]);

// 1. The note's convolved feature: 5×5 input, 3×3 kernel, stride 1, no padding: 3×3.
const feature = convolveByHand(image, kernel);
show('convolved feature (by hand):', feature);
assert.deepEqual(feature, [
  [4, 3, 4],
  [2, 4, 3],
  [2, 3, 4],
]);
assert.deepEqual(conv2d(x, w).arraySync(), [[feature]]);

// 2. Padding 1 keeps the 5×5 size; stride 2 with padding 1 gives ⌊(5 + 2 − 3) / 2⌋ + 1 = 3.
for (const [stride, padding] of [
  [1, 1],
  [2, 1],
  [2, 0],
] as const) {
  const byHand = convolveByHand(image, kernel, stride, padding);
  assert.equal(byHand.length, Math.floor((5 + 2 * padding - 3) / stride) + 1);
  assert.deepEqual(
    conv2d(x, w, null, { stride, padding }).arraySync(),
    [[byHand]],
    `stride ${stride}, padding ${padding}`,
  );
  console.log(`stride ${stride}, padding ${padding}: ${byHand.length}×${byHand.length} output, same as conv2d`);
}

// 3. Max-pooling the convolved feature map (padding 1: 5×5): 3×3 windows with stride 1 overlap; 2×2 windows
//    with stride 2 tile it, leaving the last row and column out (⌊(5 − 2) / 2⌋ + 1 = 2).
const featureMap = convolveByHand(image, kernel, 1, 1);
show('feature map with padding 1 (by hand):', featureMap);
const fm = tensor([[featureMap]]);
for (const [window, stride] of [
  [3, 1],
  [2, 2],
  [3, 2],
] as const) {
  const pooled = maxPoolByHand(featureMap, window, stride);
  show(`max-pool ${window}×${window}, stride ${stride} (by hand):`, pooled);
  assert.deepEqual(maxPool2d(fm, window, { stride }).arraySync(), [[pooled]]);
}

// 4. The gradient of a max-pool goes only to the maximum of each window (to the first of tied maxima, as in
//    PyTorch): each window passes its gradient to exactly one cell, which holds the window's maximum.
const input = tensor([[featureMap]], { requiresGrad: true });
maxPool2d(input, 2, { stride: 2 }).sum().backward();
const routed = input.grad!.arraySync() as number[][][][];
show('gradient of sum(max-pool 2×2, stride 2) with respect to the feature map:', routed[0]![0]!);
for (let i = 0; i < 2; i++) {
  for (let j = 0; j < 2; j++) {
    const cells = [0, 1].flatMap((a) => [0, 1].map((b) => [2 * i + a, 2 * j + b] as const));
    const ones = cells.filter(([r, c]) => routed[0]![0]![r]![c] === 1);
    assert.equal(ones.length, 1, `window (${i}, ${j}) passes its gradient to one cell`);
    const [r, c] = ones[0]!;
    assert.equal(featureMap[r]![c], Math.max(...cells.map(([rr, cc]) => featureMap[rr]![cc]!)));
  }
}
