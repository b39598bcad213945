/**
 * The table-driven suite for the primitive op table (src/core/ops.ts).
 *
 * One or more rows per primitive. Each row builds its inputs from a seeded
 * Generator, applies the op (through the public API, or `run()` for the
 * gradient primitives) and gives a naive reference written with plain loops
 * over nested indices (test/helpers/nd.ts), independent of the kernels.
 * For every row:
 *   (a) the float64 forward equals the reference within 1e-10 (scaled:
 *       |a − b| ≤ 1e-10·max(|b|, 1)); non-float results must match exactly;
 *       the primitives the row claims to cover must actually run;
 *   (b) gradcheck passes for every differentiable input (inputs keep away
 *       from ties and kinks: at least 0.05 from them, step 1e-6);
 *   (c) the same op on float32 inputs (the inputs are float32-exact, so both
 *       runs see the same numbers) agrees with float64 within 1e-4 (scaled).
 * The whole table runs once per registered backend (listBackends(): cpu, and wasm
 * where the engine has WebAssembly SIMD). On a backend other than cpu, every row also
 * checks
 *   (d) its float32 forward against the cpu backend's within 1e-4 (scaled), and
 *   (e) for rows of primitives with accelerated kernels (matmul, convolutions,
 *       pooling), the float32 gradients of sum(y·r), r a fixed random cotangent,
 *       against the cpu backend's within 1e-4 (scaled)
 * (float64 work, as in (a) and (b), takes the cpu kernels inside those backends).
 * The webgpu backend joins the list when `await initWebGPU()` finds an adapter (lavapipe in
 * CI); otherwise its suite is skipped with the reason. Its results are read with
 * `await t.data()` (GPU tensors cannot be read synchronously), every primitive also runs
 * on it for (e) since all of them are WGSL kernels there, and (d) and (e) hold elementwise
 * rows to float32 rounding (4e-7) and rows of reductions (sum, matmul, convolutions, average
 * pooling) to 3e-5: the GPU sums in f32 in another order, where the cpu accumulates in
 * float64. Without an adapter every webgpu check is still listed, skipped with the reason.
 * A last test fails when a key of opDefs has no row. Throughout, the uninitialised outputs of
 * ops that claim to write every element (OpDef.writesAll) are poisoned (src/backend/uninitialised.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, test as nodeTest } from 'node:test';
import * as T from '../../src/index.js';
import {
  type Backend,
  type DType,
  type GradcheckOptions,
  type OpName,
  type Tensor,
  Generator,
  UnsupportedError,
  getBackend,
  gradcheck,
  initWebGPU,
  webgpuFallbacks,
  webgpuStatus,
  listBackends,
  opDefs,
  setBackend,
  withGradMode,
} from '../../src/index.js';
import type { Conv2dParams, EpilogueActivation, Pool2dParams } from '../../src/core/ops.js';
import { run } from '../../src/tensor/dispatch.js';
import * as N from '../helpers/nd.js';
import type { Nd } from '../helpers/nd.js';
import { assertClose, assertShape } from '../helpers/assert.js';
import { skipUnlessRequired } from '../helpers/require.js';
import { setPoisonUninitialised } from '../../src/backend/uninitialised.js';

// Ops that write their whole output (OpDef.writesAll) get uninitialised storages; here those are
// filled with NaN (or an unlikely integer) first, so a kernel that leaves an element unwritten fails its row.
setPoisonUninitialised(true);

type FloatDType = 'float32' | 'float64';
type Kind = 'float' | 'int32' | 'bool';

interface Input {
  nd: Nd;
  kind: Kind;
}

interface Row {
  name: string;
  /** The primitives this row exercises (checked against the ops that actually run). */
  covers: OpName[];
  inputs: (g: Generator) => Input[];
  op: (...xs: Tensor[]) => Tensor;
  ref: (...xs: Nd[]) => Nd;
  /** Inputs to gradcheck; default every float input; [] for none. */
  grad?: number[];
  gradOpts?: GradcheckOptions;
  /** Expected output dtype given the dtype float inputs were created with; default that dtype. */
  out?: (fd: FloatDType) => DType;
}

const F = (nd: Nd): Input => ({ nd, kind: 'float' });
const I = (nd: Nd): Input => ({ nd, kind: 'int32' });
const B = (nd: Nd): Input => ({ nd, kind: 'bool' });

const int32 = (): DType => 'int32';
const bool = (): DType => 'bool';
const f32out = (): DType => 'float32';

function toTensor(input: Input, fd: FloatDType, requiresGrad = false): Tensor {
  const { shape, data } = input.nd;
  if (input.kind === 'int32') return T.tensor(Int32Array.from(data), { shape, dtype: 'int32' });
  if (input.kind === 'bool') return T.tensor(Uint8Array.from(data), { shape, dtype: 'bool' });
  return T.tensor(Float64Array.from(data), { shape, dtype: fd, requiresGrad });
}

/** Runs `fn` while recording which primitives of the op table are applied. */
function recordPrimitives<R>(fn: () => R): [R, Set<string>] {
  const seen = new Set<string>();
  const defs = opDefs as unknown as Record<string, { infer: (...a: unknown[]) => unknown }>;
  const saved = new Map<string, (...a: unknown[]) => unknown>();
  for (const [k, def] of Object.entries(defs)) {
    const orig = def.infer;
    saved.set(k, orig);
    def.infer = (...a: unknown[]) => {
      seen.add(k);
      return orig.apply(def, a);
    };
  }
  try {
    return [fn(), seen];
  } finally {
    for (const [k, orig] of saved) defs[k]!.infer = orig;
  }
}

// ----------------------------------------------------------------- inputs

/**
 * a of `aShape` and b of `bShape` (which must broadcast to aShape) at least `gap` apart at every
 * broadcast position: no ties for maximum/minimum.
 */
function apart(g: Generator, aShape: number[], bShape: number[], gap = 0.1): [Nd, Nd] {
  const b = N.randnNd(g, bShape);
  const a = N.build(aShape, (idx) => {
    const off = (g.uniform() < 0.5 ? -1 : 1) * (gap + g.uniform());
    return Math.fround(N.bget(b, idx) + off);
  });
  return [a, b];
}

/** Values on a coarse grid so that comparisons produce plenty of ties. */
function grid(g: Generator, shape: number[]): Nd {
  return N.build(shape, () => (Math.floor(g.uniform() * 5) - 2) / 2);
}

/** Integers in [1, 6) with a random sign: valid divisors. */
function nonZeroInt(g: Generator, shape: number[]): Nd {
  return N.build(shape, () => (g.uniform() < 0.5 ? -1 : 1) * (1 + Math.floor(g.uniform() * 5)));
}

// ----------------------------------------------------------- conv helpers

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

interface ConvOpts {
  stride?: Pair;
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}

/** The reference's own reading of the options (PyTorch conventions: 'same' puts the odd pixel after). */
function refConvP(kernel: [number, number], o: ConvOpts): N.ConvP {
  const stride = pair(o.stride ?? 1);
  const dilation = pair(o.dilation ?? 1);
  let padding: [number, number, number, number];
  if (o.padding === 'valid') padding = [0, 0, 0, 0];
  else if (o.padding === 'same') {
    const th = dilation[0] * (kernel[0] - 1);
    const tw = dilation[1] * (kernel[1] - 1);
    padding = [Math.floor(th / 2), Math.ceil(th / 2), Math.floor(tw / 2), Math.ceil(tw / 2)];
  } else {
    const [ph, pw] = pair(o.padding ?? 0);
    padding = [ph, ph, pw, pw];
  }
  return { stride, padding, dilation, groups: o.groups ?? 1 };
}

function convOutShape(x: readonly number[], w: readonly number[], p: N.ConvP): number[] {
  return [
    x[0]!,
    w[0]!,
    N.convOut(x[2]!, w[2]!, p.stride[0], p.padding[0], p.padding[1], p.dilation[0]),
    N.convOut(x[3]!, w[3]!, p.stride[1], p.padding[2], p.padding[3], p.dilation[1]),
  ];
}

function convRow(name: string, xShape: number[], wShape: number[], o: ConvOpts): Row {
  const p = refConvP([wShape[2]!, wShape[3]!], o);
  return {
    name: `conv2d ${name}: x ${fmt(xShape)} w ${fmt(wShape)}`,
    covers: ['conv2d'],
    inputs: (g) => [F(N.randnNd(g, xShape)), F(N.randnNd(g, wShape))],
    op: (x, w) => T.conv2d(x, w, null, o),
    ref: (x, w) => N.conv2dNd(x, w, p),
  };
}

/**
 * The fused epilogue's reference: v + bias[channel(i)], then the activation. Inputs keep the
 * pre-activations away from the kink: x and w positive (at most `bound` per output), and the bias
 * ±(bound + 1) by channel, so some channels are all above 0 and the others all below.
 */
function epilogueRef(y: Nd, bias: Nd, channelOf: (i: number) => number, act: EpilogueActivation, slope: number): Nd {
  return {
    shape: y.shape,
    data: y.data.map((v, i) => {
      const t = v + bias.data[channelOf(i)]!;
      if (act === 'relu') return t <= 0 ? 0 : t;
      if (act === 'leakyRelu') return t > 0 ? t : t * slope;
      return t;
    }),
  };
}

const positive = (g: Generator, shape: number[]): Nd => N.map(N.awayFromZero(g, shape, 0.1, 1), Math.abs);
const splitBias = (channels: number, bound: number): Nd => ({
  shape: [channels],
  data: Array.from({ length: channels }, (_, c) => (c % 2 === 0 ? bound + 1 : -(bound + 1))),
});

function convBiasActRow(name: string, xShape: number[], wShape: number[], o: ConvOpts, act: EpilogueActivation): Row {
  const p = refConvP([wShape[2]!, wShape[3]!], o);
  const [, cOut, hOut, wOut] = convOutShape(xShape, wShape, p) as [number, number, number, number];
  const bound = wShape[1]! * wShape[2]! * wShape[3]!;
  return {
    name: `conv2dBiasAct ${act} ${name}: x ${fmt(xShape)} w ${fmt(wShape)}`,
    covers: ['conv2dBiasAct'],
    inputs: (g) => [F(positive(g, xShape)), F(positive(g, wShape)), F(splitBias(cOut, bound))],
    op: (x, w, b) => T.conv2d(x, w, b, o, { activation: act, negativeSlope: 0.2 }),
    ref: (x, w, b) => epilogueRef(N.conv2dNd(x, w, p), b, (i) => Math.floor(i / (hOut * wOut)) % cOut, act, 0.2),
  };
}

function matmulBiasActRow(m: number, k: number, n: number, act: EpilogueActivation): Row {
  return {
    name: `matmulBiasAct ${act} (a Linear layer's product): x [${m},${k}] · w [${n},${k}]ᵀ + b`,
    covers: ['matmulBiasAct', 'reshape', 'permute'],
    inputs: (g) => [F(positive(g, [m, k])), F(positive(g, [n, k])), F(splitBias(n, k))],
    op: (x, w, b) => T.linearBiasAct(x, w, b, { activation: act, negativeSlope: 0.2 }),
    ref: (x, w, b) => epilogueRef(N.matmulNd(x, N.transposeNd(w, 0, 1)), b, (i) => i % n, act, 0.2),
  };
}

/** log softmax along `axis`, with plain loops: x − max − log Σ exp(x − max). */
function logSoftmaxRef(x: Nd, axis: number): Nd {
  const out = N.build(x.shape, () => 0);
  const kept = x.shape.map((d, i) => (i === axis ? 1 : d));
  N.forEachIndex(kept, (idx) => {
    const at = (j: number): number[] => idx.map((v, i) => (i === axis ? j : v));
    const len = x.shape[axis]!;
    let m = -Infinity;
    for (let j = 0; j < len; j++) m = Math.max(m, N.get(x, at(j)));
    let s = 0;
    for (let j = 0; j < len; j++) s += Math.exp(N.get(x, at(j)) - m);
    for (let j = 0; j < len; j++) out.data[N.flatIndex(x.shape, at(j))] = N.get(x, at(j)) - m - Math.log(s);
  });
  return out;
}

function libConvP(p: N.ConvP): Conv2dParams {
  return { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
}

function convGradInputRow(name: string, xShape: number[], wShape: number[], o: ConvOpts): Row {
  const p = refConvP([wShape[2]!, wShape[3]!], o);
  const yShape = convOutShape(xShape, wShape, p);
  const inputShape = xShape as [number, number, number, number];
  return {
    name: `conv2dGradInput ${name}: dy ${fmt(yShape)} w ${fmt(wShape)} -> ${fmt(xShape)}`,
    covers: ['conv2dGradInput'],
    inputs: (g) => [F(N.randnNd(g, yShape)), F(N.randnNd(g, wShape))],
    op: (dy, w) => run('conv2dGradInput', [dy, w], { ...libConvP(p), inputShape }),
    ref: (dy, w) => N.conv2dGradInputNd(dy, w, xShape, p),
  };
}

function convGradWeightRow(name: string, xShape: number[], wShape: number[], o: ConvOpts): Row {
  const p = refConvP([wShape[2]!, wShape[3]!], o);
  const yShape = convOutShape(xShape, wShape, p);
  const weightShape = wShape as [number, number, number, number];
  return {
    name: `conv2dGradWeight ${name}: x ${fmt(xShape)} dy ${fmt(yShape)} -> ${fmt(wShape)}`,
    covers: ['conv2dGradWeight'],
    inputs: (g) => [F(N.randnNd(g, xShape)), F(N.randnNd(g, yShape))],
    op: (x, dy) => run('conv2dGradWeight', [x, dy], { ...libConvP(p), weightShape }),
    ref: (x, dy) => N.conv2dGradWeightNd(x, dy, wShape, p),
  };
}

/** The fused epilogue's backward mask on plain arrays: relu y ≤ 0 ? 0 : dy, leakyRelu y > 0 ? dy : dy·slope. */
function maskRef(dy: Nd, y: Nd, act: EpilogueActivation, slope: number): Nd {
  return N.zip(
    (u, v) => (act === 'relu' ? (v <= 0 ? 0 : u) : act === 'leakyRelu' ? (v > 0 ? u : u * slope) : u),
    dy,
    y,
  );
}

/** The forward output a mask reads: away from 0 (gradcheck's steps never cross a kink), both signs. */
const maskSource = (g: Generator, shape: number[]): Nd => N.awayFromZero(g, shape);

function convGradInputActRow(
  name: string,
  xShape: number[],
  wShape: number[],
  o: ConvOpts,
  act: EpilogueActivation,
): Row {
  const p = refConvP([wShape[2]!, wShape[3]!], o);
  const yShape = convOutShape(xShape, wShape, p);
  const inputShape = xShape as [number, number, number, number];
  return {
    name: `conv2dGradInputAct ${act} ${name}: dy ${fmt(yShape)} w ${fmt(wShape)} -> ${fmt(xShape)}`,
    covers: ['conv2dGradInputAct'],
    inputs: (g) => [F(N.randnNd(g, yShape)), F(N.randnNd(g, wShape)), F(maskSource(g, yShape))],
    op: (dy, w, y) =>
      run('conv2dGradInputAct', [dy, w, y], { ...libConvP(p), inputShape, activation: act, negativeSlope: 0.2 }),
    ref: (dy, w, y) => N.conv2dGradInputNd(maskRef(dy, y, act, 0.2), w, xShape, p),
    // The mask's derivative in y is 0 wherever it exists: no gradient flows to y.
    grad: [0, 1],
  };
}

function convGradWeightActRow(
  name: string,
  xShape: number[],
  wShape: number[],
  o: ConvOpts,
  act: EpilogueActivation,
): Row {
  const p = refConvP([wShape[2]!, wShape[3]!], o);
  const yShape = convOutShape(xShape, wShape, p);
  const weightShape = wShape as [number, number, number, number];
  return {
    name: `conv2dGradWeightAct ${act} ${name}: x ${fmt(xShape)} dy ${fmt(yShape)} -> ${fmt(wShape)}`,
    covers: ['conv2dGradWeightAct'],
    inputs: (g) => [F(N.randnNd(g, xShape)), F(N.randnNd(g, yShape)), F(maskSource(g, yShape))],
    op: (x, dy, y) =>
      run('conv2dGradWeightAct', [x, dy, y], { ...libConvP(p), weightShape, activation: act, negativeSlope: 0.2 }),
    ref: (x, dy, y) => N.conv2dGradWeightNd(x, maskRef(dy, y, act, 0.2), wShape, p),
    grad: [0, 1],
  };
}

function biasActGradRow(shape: number[], axis: number, act: EpilogueActivation): Row {
  return {
    name: `biasActGrad ${act} ${fmt(shape)} keeping axis ${axis}`,
    covers: ['biasActGrad'],
    inputs: (g) => [F(N.randnNd(g, shape)), F(maskSource(g, shape))],
    op: (dy, y) => run('biasActGrad', [dy, y], { axis, activation: act, negativeSlope: 0.2 }),
    ref: (dy, y) => {
      const m = maskRef(dy, y, act, 0.2);
      const out = N.build([shape[axis]!], () => 0);
      N.forEachIndex(shape, (idx) => {
        out.data[idx[axis]!]! += N.get(m, idx);
      });
      return out;
    },
    grad: [0],
  };
}

// ----------------------------------------------------------- pool helpers

interface PoolOpts {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

function refPoolP(kernel: Pair, o: PoolOpts): N.PoolP {
  const k = pair(kernel);
  return {
    kernel: k,
    stride: pair(o.stride ?? k),
    padding: pair(o.padding ?? 0),
    dilation: pair(o.dilation ?? 1),
    ceilMode: o.ceilMode ?? false,
  };
}

function poolOutShape(x: readonly number[], p: N.PoolP): number[] {
  return [
    x[0]!,
    x[1]!,
    N.poolOut(x[2]!, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0], p.ceilMode),
    N.poolOut(x[3]!, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], p.ceilMode),
  ];
}

function maxPoolRow(name: string, xShape: number[], kernel: Pair, o: PoolOpts): Row {
  const p = refPoolP(kernel, o);
  return {
    name: `maxPool2d ${name}: x ${fmt(xShape)}`,
    covers: ['maxPool2d'],
    // Distinct values 1/8 apart: no ties, so the gradient is well defined.
    inputs: (g) => [F(N.distinctNd(g, xShape))],
    op: (x) => T.maxPool2d(x, kernel, o),
    ref: (x) => N.maxPool2dNd(x, p),
  };
}

function avgPoolRow(name: string, xShape: number[], kernel: Pair, o: PoolOpts & { countIncludePad?: boolean }): Row {
  const p = { ...refPoolP(kernel, o), countIncludePad: o.countIncludePad ?? true };
  return {
    name: `avgPool2d ${name}: x ${fmt(xShape)}`,
    covers: ['avgPool2d'],
    inputs: (g) => [F(N.randnNd(g, xShape))],
    op: (x) => T.avgPool2d(x, kernel, o),
    ref: (x) => N.avgPool2dNd(x, p),
  };
}

function libPoolP(p: N.PoolP): Pool2dParams {
  return { kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation, ceilMode: p.ceilMode };
}

const fmt = (s: readonly number[]): string => `[${s.join(',')}]`;

// ------------------------------------------------------------------ rows

const exp = Math.exp;
const sig = (v: number): number => 1 / (1 + Math.exp(-v));

const rows: Row[] = [
  // ---------------------------------------------------------------- unary
  {
    name: 'neg [3,4]',
    covers: ['neg'],
    inputs: (g) => [F(N.randnNd(g, [3, 4]))],
    op: (x) => x.neg(),
    ref: (x) => N.map(x, (v) => -v),
  },
  {
    name: 'neg of a rank-0 scalar',
    covers: ['neg'],
    inputs: (g) => [F(N.randnNd(g, []))],
    op: (x) => T.neg(x),
    ref: (x) => N.map(x, (v) => -v),
  },
  {
    name: 'neg int32',
    covers: ['neg'],
    inputs: (g) => [I(N.intNd(g, [2, 3], -9, 10))],
    op: (x) => x.neg(),
    ref: (x) => N.map(x, (v) => -v),
    out: int32,
  },
  {
    name: 'exp [2,3,2]',
    covers: ['exp'],
    inputs: (g) => [F(N.uniformNd(g, [2, 3, 2], -2, 2))],
    op: (x) => x.exp(),
    ref: (x) => N.map(x, exp),
  },
  {
    name: 'exp of a transposed (non-contiguous) [4,3]',
    covers: ['exp', 'permute'],
    inputs: (g) => [F(N.uniformNd(g, [4, 3], -2, 2))],
    op: (x) => x.transpose(0, 1).exp(),
    ref: (x) => N.map(N.transposeNd(x, 0, 1), exp),
  },
  {
    name: 'log [5]',
    covers: ['log'],
    inputs: (g) => [F(N.uniformNd(g, [5], 0.5, 3))],
    op: (x) => x.log(),
    ref: (x) => N.map(x, Math.log),
  },
  {
    name: 'log of a step-2 slice [6,5] -> [3,3]',
    covers: ['log', 'slice'],
    inputs: (g) => [F(N.uniformNd(g, [6, 5], 0.5, 3))],
    op: (x) =>
      x
        .slice([
          [1, 6, 2],
          [0, 5, 2],
        ])
        .log(),
    ref: (x) =>
      N.map(
        N.sliceNd(x, [
          [1, 6, 2],
          [0, 5, 2],
        ]),
        Math.log,
      ),
  },
  {
    name: 'sqrt [2,3]',
    covers: ['sqrt'],
    inputs: (g) => [F(N.uniformNd(g, [2, 3], 0.5, 4))],
    op: (x) => x.sqrt(),
    ref: (x) => N.map(x, Math.sqrt),
  },
  {
    name: 'sqrt of an expanded [3,1] -> [2,3,4]',
    covers: ['sqrt', 'expand'],
    inputs: (g) => [F(N.uniformNd(g, [3, 1], 0.5, 4))],
    op: (x) => x.expand(2, 3, 4).sqrt(),
    ref: (x) => N.map(N.expandNd(x, [2, 3, 4]), Math.sqrt),
  },
  {
    name: 'abs [3,4] (away from 0)',
    covers: ['abs'],
    inputs: (g) => [F(N.awayFromZero(g, [3, 4]))],
    op: (x) => x.abs(),
    ref: (x) => N.map(x, Math.abs),
  },
  {
    name: 'abs int32',
    covers: ['abs'],
    inputs: (g) => [I(N.intNd(g, [7], -5, 5))],
    op: (x) => x.abs(),
    ref: (x) => N.map(x, Math.abs),
    out: int32,
  },
  {
    name: 'sign [3,4] (away from 0; zero gradient)',
    covers: ['sign'],
    inputs: (g) => [F(N.awayFromZero(g, [3, 4]))],
    op: (x) => x.sign(),
    ref: (x) => N.map(x, (v) => (v > 0 ? 1 : -1)),
  },
  {
    name: 'sign int32 with zeros',
    covers: ['sign'],
    inputs: () => [I(N.nd([6], [-3, 0, 2, 0, -1, 7]))],
    op: (x) => x.sign(),
    ref: (x) => N.map(x, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0)),
    out: int32,
  },
  {
    name: 'relu [3,4] (away from 0)',
    covers: ['relu'],
    inputs: (g) => [F(N.awayFromZero(g, [3, 4]))],
    op: (x) => x.relu(),
    ref: (x) => N.map(x, (v) => (v > 0 ? v : 0)),
  },
  {
    name: 'relu of a transposed [2,3,2]',
    covers: ['relu', 'permute'],
    inputs: (g) => [F(N.awayFromZero(g, [2, 3, 2]))],
    op: (x) => x.permute(2, 0, 1).relu(),
    ref: (x) => N.map(N.permuteNd(x, [2, 0, 1]), (v) => (v > 0 ? v : 0)),
  },
  {
    name: 'reluBackward [3,4] (inputs away from 0): the gradient where the input is positive',
    covers: ['reluBackward'],
    inputs: (g) => [F(N.randnNd(g, [3, 4])), F(N.awayFromZero(g, [3, 4]))],
    op: (gy, x) => T.reluBackward(gy, x),
    ref: (gy, x) => N.zip((u, v) => (v > 0 ? u : 0), gy, x),
  },
  {
    name: 'reluBackward broadcasting [2,3] vs [3], and int32',
    covers: ['reluBackward'],
    inputs: (g) => [I(N.intNd(g, [2, 3], -5, 5)), I(N.intNd(g, [3], -3, 3))],
    op: (gy, x) => T.reluBackward(gy, x),
    ref: (gy, x) => N.zip((u, v) => (v > 0 ? u : 0), gy, x),
    out: int32,
  },
  {
    name: 'sigmoid [3,4]',
    covers: ['sigmoid'],
    inputs: (g) => [F(N.randnNd(g, [3, 4], 3))],
    op: (x) => x.sigmoid(),
    ref: (x) => N.map(x, sig),
  },
  {
    name: 'sigmoid of large magnitudes ±30',
    covers: ['sigmoid'],
    inputs: () => [F(N.nd([6], [-30, -10, -0.5, 0.5, 10, 30]))],
    op: (x) => x.sigmoid(),
    ref: (x) => N.map(x, sig),
  },
  {
    name: 'tanh [3,4]',
    covers: ['tanh'],
    inputs: (g) => [F(N.randnNd(g, [3, 4], 2))],
    op: (x) => x.tanh(),
    ref: (x) => N.map(x, Math.tanh),
  },

  // --------------------------------------------------------------- binary
  {
    name: 'add broadcasting [2,1,4] + [3,1] -> [2,3,4]',
    covers: ['add'],
    inputs: (g) => [F(N.randnNd(g, [2, 1, 4])), F(N.randnNd(g, [3, 1]))],
    op: (a, b) => a.add(b),
    ref: (a, b) => N.zip((u, v) => u + v, a, b),
  },
  {
    name: 'add rank-0 + [3]',
    covers: ['add'],
    inputs: (g) => [F(N.randnNd(g, [])), F(N.randnNd(g, [3]))],
    op: (a, b) => T.add(a, b),
    ref: (a, b) => N.zip((u, v) => u + v, a, b),
  },
  {
    name: 'add rank-0 + rank-0',
    covers: ['add'],
    inputs: (g) => [F(N.randnNd(g, [])), F(N.randnNd(g, []))],
    op: (a, b) => T.add(a, b),
    ref: (a, b) => N.zip((u, v) => u + v, a, b),
  },
  {
    name: 'add a JS number',
    covers: ['add'],
    inputs: (g) => [F(N.randnNd(g, [2, 3]))],
    op: (a) => a.add(2.5),
    ref: (a) => N.map(a, (v) => v + 2.5),
  },
  {
    name: 'add int32 [2,3] + int32 [3]',
    covers: ['add'],
    inputs: (g) => [I(N.intNd(g, [2, 3], -100, 100)), I(N.intNd(g, [3], -100, 100))],
    op: (a, b) => a.add(b),
    ref: (a, b) => N.zip((u, v) => u + v, a, b),
    out: int32,
  },
  {
    name: 'add int32 + float promotes to the float dtype',
    covers: ['add'],
    inputs: (g) => [I(N.intNd(g, [3], -5, 5)), F(N.randnNd(g, [2, 3]))],
    op: (a, b) => a.add(b),
    ref: (a, b) => N.zip((u, v) => u + v, a, b),
  },
  {
    name: 'sub broadcasting [4] - [3,4]',
    covers: ['sub'],
    inputs: (g) => [F(N.randnNd(g, [4])), F(N.randnNd(g, [3, 4]))],
    op: (a, b) => a.sub(b),
    ref: (a, b) => N.zip((u, v) => u - v, a, b),
  },
  {
    name: 'sub transposed [4,3]ᵀ - [3,4]',
    covers: ['sub', 'permute'],
    inputs: (g) => [F(N.randnNd(g, [4, 3])), F(N.randnNd(g, [3, 4]))],
    op: (a, b) => a.T.sub(b),
    ref: (a, b) => N.zip((u, v) => u - v, N.transposeNd(a, 0, 1), b),
  },
  {
    name: 'sub int32 with a JS number',
    covers: ['sub'],
    inputs: (g) => [I(N.intNd(g, [4], -10, 10))],
    op: (a) => T.sub(3, a),
    ref: (a) => N.map(a, (v) => 3 - v),
    out: int32,
  },
  {
    name: 'mul step-2 slice [5,8] -> [3,4] times expanded [1,4] -> [3,4]',
    covers: ['mul', 'slice', 'expand'],
    inputs: (g) => [F(N.randnNd(g, [5, 8])), F(N.randnNd(g, [1, 4]))],
    op: (a, b) =>
      a
        .slice([
          [0, 5, 2],
          [1, 8, 2],
        ])
        .mul(b.expand(3, 4)),
    ref: (a, b) =>
      N.zip(
        (u, v) => u * v,
        N.sliceNd(a, [
          [0, 5, 2],
          [1, 8, 2],
        ]),
        N.expandNd(b, [3, 4]),
      ),
  },
  {
    name: 'mul int32 broadcasting [2,1] * [3]',
    covers: ['mul'],
    inputs: (g) => [I(N.intNd(g, [2, 1], -50, 50)), I(N.intNd(g, [3], -50, 50))],
    op: (a, b) => a.mul(b),
    ref: (a, b) => N.zip((u, v) => u * v, a, b),
    out: int32,
  },
  {
    name: 'mul rank-0 * rank-0',
    covers: ['mul'],
    inputs: (g) => [F(N.randnNd(g, [])), F(N.randnNd(g, []))],
    op: (a, b) => a.mul(b),
    ref: (a, b) => N.zip((u, v) => u * v, a, b),
  },
  {
    name: 'div broadcasting [3,4] / [4]',
    covers: ['div'],
    inputs: (g) => [F(N.randnNd(g, [3, 4])), F(N.awayFromZero(g, [4], 0.5, 2))],
    op: (a, b) => a.div(b),
    ref: (a, b) => N.zip((u, v) => u / v, a, b),
  },
  {
    name: 'div a JS number by a tensor',
    covers: ['div'],
    inputs: (g) => [F(N.awayFromZero(g, [2, 3], 0.5, 2))],
    op: (a) => T.div(1, a),
    ref: (a) => N.map(a, (v) => 1 / v),
  },
  {
    name: 'div int32 / int32 is true division in float32',
    covers: ['div'],
    inputs: (g) => [I(N.intNd(g, [2, 4], -9, 10)), I(nonZeroInt(g, [4]))],
    op: (a, b) => a.div(b),
    ref: (a, b) => N.zip((u, v) => u / v, a, b),
    out: f32out,
  },
  {
    name: 'maximum broadcasting [2,3] vs [3] (no ties)',
    covers: ['maximum'],
    inputs: (g) => apart(g, [2, 3], [3]).map(F),
    op: (a, b) => a.maximum(b),
    ref: (a, b) => N.zip(Math.max, a, b),
  },
  {
    name: 'maximum int32',
    covers: ['maximum'],
    inputs: (g) => [I(N.intNd(g, [5], -5, 5)), I(N.intNd(g, [5], -5, 5))],
    op: (a, b) => a.maximum(b),
    ref: (a, b) => N.zip(Math.max, a, b),
    out: int32,
  },
  {
    name: 'minimum broadcasting [3,4] vs [3,1] (no ties)',
    covers: ['minimum'],
    inputs: (g) => apart(g, [3, 4], [3, 1]).map(F),
    op: (a, b) => a.minimum(b),
    ref: (a, b) => N.zip(Math.min, a, b),
  },
  {
    name: 'maximum of a JS number and a tensor (no ties)',
    covers: ['maximum'],
    inputs: (g) => [F(N.map(N.awayFromZero(g, [3, 4], 0.05, 1), (v) => Math.fround(v + 0.25)))],
    op: (a) => T.maximum(0.25, a),
    ref: (a) => N.map(a, (v) => Math.max(0.25, v)),
  },
  {
    name: 'minimum of a tensor and a JS number (no ties)',
    covers: ['minimum'],
    inputs: (g) => [F(N.map(N.awayFromZero(g, [2, 3], 0.05, 1), (v) => Math.fround(v - 0.5)))],
    op: (a) => a.minimum(-0.5),
    ref: (a) => N.map(a, (v) => Math.min(v, -0.5)),
  },
  {
    name: 'pow positive base, tensor exponent, broadcasting [2,3] ** [3]',
    covers: ['pow'],
    inputs: (g) => [F(N.uniformNd(g, [2, 3], 0.5, 2)), F(N.uniformNd(g, [3], -2, 2))],
    op: (a, b) => a.pow(b),
    ref: (a, b) => N.zip(Math.pow, a, b),
  },
  {
    name: 'pow with a JS number exponent (x ** 3)',
    covers: ['pow'],
    inputs: (g) => [F(N.randnNd(g, [2, 3]))],
    op: (a) => a.pow(3),
    ref: (a) => N.map(a, (v) => v * v * v),
  },
  {
    name: 'pow with a rank-0 exponent',
    covers: ['pow'],
    inputs: (g) => [F(N.uniformNd(g, [4], 0.5, 2)), F(N.uniformNd(g, [], 0.5, 1.5))],
    op: (a, b) => T.pow(a, b),
    ref: (a, b) => N.zip(Math.pow, a, b),
  },

  // -------------------------------------------------------------- compare
  ...(
    [
      ['eq', (u: number, v: number) => u === v],
      ['ne', (u: number, v: number) => u !== v],
      ['lt', (u: number, v: number) => u < v],
      ['le', (u: number, v: number) => u <= v],
      ['gt', (u: number, v: number) => u > v],
      ['ge', (u: number, v: number) => u >= v],
    ] as const
  ).map(([op, f]): Row => ({
    name: `compare ${op} broadcasting [3,4] vs [4] (with ties) -> bool`,
    covers: ['compare'],
    inputs: (g) => [F(grid(g, [3, 4])), F(grid(g, [4]))],
    op: (a, b) => a[op](b),
    ref: (a, b) => N.zip((u, v) => +f(u, v), a, b),
    out: bool,
  })),
  {
    name: 'compare int32 lt a JS number',
    covers: ['compare'],
    inputs: (g) => [I(N.intNd(g, [6], -3, 4))],
    op: (a) => a.lt(1),
    ref: (a) => N.map(a, (v) => +(v < 1)),
    out: bool,
  },
  {
    name: 'compare of a transposed operand (ge)',
    covers: ['compare', 'permute'],
    inputs: (g) => [F(grid(g, [4, 3])), F(grid(g, [3, 4]))],
    op: (a, b) => T.compare('ge', a.T, b),
    ref: (a, b) => N.zip((u, v) => +(u >= v), N.transposeNd(a, 0, 1), b),
    out: bool,
  },

  // ---------------------------------------------------------------- where
  {
    name: 'where bool [3,1] ? [3,4] : [4]',
    covers: ['where'],
    inputs: (g) => [B(N.intNd(g, [3, 1], 0, 2)), F(N.randnNd(g, [3, 4])), F(N.randnNd(g, [4]))],
    op: (c, a, b) => T.where(c, a, b),
    ref: (c, a, b) => N.zip((k, u, v) => (k ? u : v), c, a, b),
    grad: [1, 2],
  },
  {
    name: 'where with a JS number branch',
    covers: ['where'],
    inputs: (g) => [B(N.intNd(g, [2, 3], 0, 2)), F(N.randnNd(g, [2, 3]))],
    op: (c, a) => T.where(c, 0.5, a),
    ref: (c, a) => N.zip((k, v) => (k ? 0.5 : v), c, a),
    grad: [1],
  },
  {
    name: 'where(a > b, a, b) (no ties)',
    covers: ['where', 'compare'],
    inputs: (g) => apart(g, [2, 4], [2, 4]).map(F),
    op: (a, b) => T.where(a.gt(b), a, b),
    ref: (a, b) => N.zip(Math.max, a, b),
  },

  // ----------------------------------------------------------------- cast
  {
    name: 'cast float -> int32 truncates toward zero',
    covers: ['cast'],
    inputs: (g) => [F(N.uniformNd(g, [8], -5, 5))],
    op: (x) => x.cast('int32'),
    ref: (x) => N.map(x, Math.trunc),
    out: int32,
  },
  {
    name: 'cast int32 -> float64',
    covers: ['cast'],
    inputs: (g) => [I(N.intNd(g, [2, 3], -1000, 1000))],
    op: (x) => x.cast('float64'),
    ref: (x) => x,
    out: () => 'float64',
  },
  {
    name: 'cast float -> bool (nonzero is true)',
    covers: ['cast'],
    inputs: () => [F(N.nd([5], [0, -1.5, 0, 2, 0.25]))],
    op: (x) => x.cast('bool'),
    ref: (x) => N.map(x, (v) => +(v !== 0)),
    out: bool,
  },
  {
    name: 'cast bool -> float32',
    covers: ['cast'],
    inputs: (g) => [B(N.intNd(g, [2, 3], 0, 2))],
    op: (x) => x.float(),
    ref: (x) => x,
    out: f32out,
  },
  {
    name: 'cast float -> float32 -> float64 (differentiable)',
    covers: ['cast'],
    inputs: (g) => [F(N.randnNd(g, [2, 3]))],
    op: (x) => x.float().double(),
    ref: (x) => x,
    out: () => 'float64',
    // The float32 round trip quantizes x ± eps: a wide step keeps the (exactly linear) quotient accurate.
    gradOpts: { eps: 1e-2 },
  },

  // ----------------------------------------------------------- reductions
  {
    name: 'sum of all elements [3,4] -> []',
    covers: ['sum'],
    inputs: (g) => [F(N.randnNd(g, [3, 4]))],
    op: (x) => x.sum(),
    ref: (x) => N.sumNd(x, [0, 1]),
  },
  {
    name: 'sum axis 1 keepDims [2,3,4] -> [2,1,4]',
    covers: ['sum'],
    inputs: (g) => [F(N.randnNd(g, [2, 3, 4]))],
    op: (x) => x.sum(1, true),
    ref: (x) => N.sumNd(x, [1], true),
  },
  {
    name: 'sum axes [0, -1] [2,3,4] -> [3]',
    covers: ['sum'],
    inputs: (g) => [F(N.randnNd(g, [2, 3, 4]))],
    op: (x) => x.sum([0, -1]),
    ref: (x) => N.sumNd(x, [0, 2]),
  },
  {
    name: 'sum of a transposed tensor along the last axis',
    covers: ['sum', 'permute'],
    inputs: (g) => [F(N.randnNd(g, [4, 3]))],
    op: (x) => x.T.sum(-1),
    ref: (x) => N.sumNd(N.transposeNd(x, 0, 1), [1]),
  },
  {
    name: 'sum of an expanded tensor',
    covers: ['sum', 'expand'],
    inputs: (g) => [F(N.randnNd(g, [3, 1]))],
    op: (x) => x.expand(2, 3, 5).sum([0, 2]),
    ref: (x) => N.sumNd(N.expandNd(x, [2, 3, 5]), [0, 2]),
  },
  {
    name: 'sum of a rank-0 scalar',
    covers: ['sum'],
    inputs: (g) => [F(N.randnNd(g, []))],
    op: (x) => x.sum(),
    ref: (x) => x,
  },
  {
    name: 'sum int32 stays int32',
    covers: ['sum'],
    inputs: (g) => [I(N.intNd(g, [3, 4], -1000, 1000))],
    op: (x) => x.sum(0),
    ref: (x) => N.sumNd(x, [0]),
    out: int32,
  },
  {
    name: 'sum of a bool comparison counts as int32',
    covers: ['sum', 'compare'],
    inputs: (g) => [F(grid(g, [3, 5])), F(grid(g, [5]))],
    op: (a, b) => a.gt(b).sum(1),
    ref: (a, b) =>
      N.sumNd(
        N.zip((u, v) => +(u > v), a, b),
        [1],
      ),
    out: int32,
  },
  {
    name: 'max of all elements (distinct)',
    covers: ['max'],
    inputs: (g) => [F(N.distinctNd(g, [3, 4]))],
    op: (x) => x.max(),
    ref: (x) => N.maxNd(x, [0, 1]),
  },
  {
    name: 'max axis 1 keepDims [2,3,4] (distinct)',
    covers: ['max'],
    inputs: (g) => [F(N.distinctNd(g, [2, 3, 4]))],
    op: (x) => x.max(1, true),
    ref: (x) => N.maxNd(x, [1], true),
  },
  {
    name: 'max axes [0,2] of a transposed tensor (distinct)',
    covers: ['max', 'permute'],
    inputs: (g) => [F(N.distinctNd(g, [4, 3, 2]))],
    op: (x) => x.permute(2, 1, 0).max([0, 2]),
    ref: (x) => N.maxNd(N.permuteNd(x, [2, 1, 0]), [0, 2]),
  },
  {
    name: 'min axis 0 (distinct)',
    covers: ['max'],
    inputs: (g) => [F(N.distinctNd(g, [3, 4]))],
    op: (x) => x.min(0),
    ref: (x) =>
      N.map(
        N.maxNd(
          N.map(x, (v) => -v),
          [0],
        ),
        (v) => -v,
      ),
  },
  {
    name: 'max int32',
    covers: ['max'],
    inputs: (g) => [I(N.intNd(g, [3, 4], -100, 100))],
    op: (x) => x.max(1),
    ref: (x) => N.maxNd(x, [1]),
    out: int32,
  },
  {
    name: 'logSoftmax along the last axis [3,5] (rows in wasm)',
    covers: ['logSoftmax'],
    inputs: (g) => [F(N.randnNd(g, [3, 5], 3))],
    op: (x) => T.logSoftmax(x, -1),
    ref: (x) => logSoftmaxRef(x, 1),
  },
  {
    name: 'logSoftmax along axis 0 of a transposed [4,3] (strided rows)',
    covers: ['logSoftmax', 'permute'],
    inputs: (g) => [F(N.randnNd(g, [4, 3], 2))],
    op: (x) => T.logSoftmax(x.T, 1),
    ref: (x) => logSoftmaxRef(N.transposeNd(x, 0, 1), 1),
  },
  {
    name: 'logSoftmax along the middle axis of [2,4,3], large magnitudes (±40: no overflow)',
    covers: ['logSoftmax'],
    inputs: (g) => [F(N.randnNd(g, [2, 4, 3], 40))],
    op: (x) => T.logSoftmax(x, 1),
    ref: (x) => logSoftmaxRef(x, 1),
  },
  {
    name: 'argmax axis 1 [3,5] (distinct) -> int32',
    covers: ['argmax'],
    inputs: (g) => [F(N.distinctNd(g, [3, 5]))],
    op: (x) => x.argmax(1),
    ref: (x) => N.argmaxNd(x, 1),
    out: int32,
  },
  {
    name: 'argmax with ties picks the first maximum, keepDims',
    covers: ['argmax'],
    inputs: (g) => [F(grid(g, [4, 6]))],
    op: (x) => x.argmax(-1, true),
    ref: (x) => N.argmaxNd(x, 1, true),
    out: int32,
  },
  {
    name: 'argmax over the flattened tensor',
    covers: ['argmax'],
    inputs: (g) => [F(N.distinctNd(g, [3, 4]))],
    op: (x) => x.argmax(),
    ref: (x) => N.argmaxNd(N.reshapeNd(x, [12]), 0),
    out: int32,
  },
  {
    name: 'argmax axis 0 of a transposed tensor',
    covers: ['argmax', 'permute'],
    inputs: (g) => [F(N.distinctNd(g, [4, 3]))],
    op: (x) => x.T.argmax(0),
    ref: (x) => N.argmaxNd(N.transposeNd(x, 0, 1), 0),
    out: int32,
  },
  {
    name: 'argmin int32',
    covers: ['argmax'],
    inputs: (g) => [I(N.intNd(g, [3, 4], -100, 100))],
    op: (x) => x.argmin(1),
    ref: (x) =>
      N.argmaxNd(
        N.map(x, (v) => -v),
        1,
      ),
    out: int32,
  },

  // ---------------------------------------------------------------- views
  {
    name: 'reshape [2,6] -> [3,2,2]',
    covers: ['reshape'],
    inputs: (g) => [F(N.randnNd(g, [2, 6]))],
    op: (x) => x.reshape(3, 2, 2),
    ref: (x) => N.reshapeNd(x, [3, 2, 2]),
  },
  {
    name: 'reshape with -1 of a transposed tensor (copies first)',
    covers: ['reshape', 'permute', 'contiguous'],
    inputs: (g) => [F(N.randnNd(g, [3, 4]))],
    op: (x) => x.T.reshape(-1),
    ref: (x) => N.reshapeNd(N.transposeNd(x, 0, 1), [12]),
  },
  {
    name: 'reshape of a rank-0 scalar to [1,1]',
    covers: ['reshape'],
    inputs: (g) => [F(N.randnNd(g, []))],
    op: (x) => x.reshape(1, 1),
    ref: (x) => N.reshapeNd(x, [1, 1]),
  },
  {
    name: 'permute [2,3,4] by [2,0,1]',
    covers: ['permute'],
    inputs: (g) => [F(N.randnNd(g, [2, 3, 4]))],
    op: (x) => x.permute(2, 0, 1),
    ref: (x) => N.permuteNd(x, [2, 0, 1]),
  },
  {
    name: 'expand [3,1] -> [2,3,4]',
    covers: ['expand'],
    inputs: (g) => [F(N.randnNd(g, [3, 1]))],
    op: (x) => x.expand(2, 3, 4),
    ref: (x) => N.expandNd(x, [2, 3, 4]),
  },
  {
    name: 'expand [1,4] with -1 -> [3,4]',
    covers: ['expand'],
    inputs: (g) => [F(N.randnNd(g, [1, 4]))],
    op: (x) => x.expand(3, -1),
    ref: (x) => N.expandNd(x, [3, 4]),
  },
  {
    name: 'expand a rank-0 scalar to [2,2]',
    covers: ['expand'],
    inputs: (g) => [F(N.randnNd(g, []))],
    op: (x) => x.expand(2, 2),
    ref: (x) => N.expandNd(x, [2, 2]),
  },
  {
    name: 'slice with negative bounds and step 3 [5,6]',
    covers: ['slice'],
    inputs: (g) => [F(N.randnNd(g, [5, 6]))],
    op: (x) =>
      x.slice([
        [-4, -1],
        [0, 6, 3],
      ]),
    ref: (x) =>
      N.sliceNd(x, [
        [1, 4, 1],
        [0, 6, 3],
      ]),
  },
  {
    name: 'slice of a slice (offsets compose) [4,7,3]',
    covers: ['slice'],
    inputs: (g) => [F(N.randnNd(g, [4, 7, 3]))],
    op: (x) =>
      x
        .slice([
          [1, 4],
          [1, 7, 2],
        ])
        .slice([null, [1, 3], [1, 3]]),
    ref: (x) =>
      N.sliceNd(
        N.sliceNd(x, [
          [1, 4, 1],
          [1, 7, 2],
          [0, 3, 1],
        ]),
        [
          [0, 3, 1],
          [1, 3, 1],
          [1, 3, 1],
        ],
      ),
  },
  {
    name: 'select and narrow [3,4,5]',
    covers: ['slice'],
    inputs: (g) => [F(N.randnNd(g, [3, 4, 5]))],
    op: (x) => x.select(1, -1).narrow(1, 1, 3),
    ref: (x) => N.build([3, 3], ([i, j]) => N.get(x, [i!, 3, j! + 1])),
  },
  {
    name: 'contiguous of a permuted tensor',
    covers: ['contiguous', 'permute'],
    inputs: (g) => [F(N.randnNd(g, [2, 3, 4]))],
    op: (x) => {
      const y = x.permute(1, 0, 2).contiguous();
      assert.ok(y.isContiguous(), 'contiguous() returned a non-contiguous tensor');
      return y;
    },
    ref: (x) => N.permuteNd(x, [1, 0, 2]),
  },
  {
    name: 'contiguous of a step-2 slice',
    covers: ['contiguous', 'slice'],
    inputs: (g) => [F(N.randnNd(g, [5, 4]))],
    op: (x) => x.slice([[0, 5, 2]]).contiguous(),
    ref: (x) =>
      N.sliceNd(x, [
        [0, 5, 2],
        [0, 4, 1],
      ]),
  },

  // -------------------------------------------------------- data movement
  {
    name: 'pad [2,3] by [[1,2],[0,1]] with zeros',
    covers: ['pad'],
    inputs: (g) => [F(N.randnNd(g, [2, 3]))],
    op: (x) =>
      x.pad([
        [1, 2],
        [0, 1],
      ]),
    ref: (x) =>
      N.padNd(
        x,
        [
          [1, 2],
          [0, 1],
        ],
        0,
      ),
  },
  {
    name: 'pad the last two axes of [2,2,3] with 1.5',
    covers: ['pad'],
    inputs: (g) => [F(N.randnNd(g, [2, 2, 3]))],
    op: (x) =>
      T.pad(
        x,
        [
          [2, 0],
          [1, 1],
        ],
        1.5,
      ),
    ref: (x) =>
      N.padNd(
        x,
        [
          [0, 0],
          [2, 0],
          [1, 1],
        ],
        1.5,
      ),
  },
  {
    name: 'pad a transposed tensor',
    covers: ['pad', 'permute'],
    inputs: (g) => [F(N.randnNd(g, [3, 2]))],
    op: (x) =>
      x.T.pad([
        [1, 0],
        [0, 2],
      ]),
    ref: (x) =>
      N.padNd(
        N.transposeNd(x, 0, 1),
        [
          [1, 0],
          [0, 2],
        ],
        0,
      ),
  },
  {
    name: 'concat three tensors along axis 1',
    covers: ['concat'],
    inputs: (g) => [F(N.randnNd(g, [2, 1, 3])), F(N.randnNd(g, [2, 3, 3])), F(N.randnNd(g, [2, 2, 3]))],
    op: (a, b, c) => T.concat([a, b, c], 1),
    ref: (a, b, c) => N.concatNd([a, b, c], 1),
  },
  {
    name: 'concat along axis 0 of non-contiguous inputs',
    covers: ['concat', 'permute', 'slice'],
    inputs: (g) => [F(N.randnNd(g, [3, 2])), F(N.randnNd(g, [3, 6]))],
    op: (a, b) => T.concat([a.T, b.slice([null, [0, 6, 2]]).T], 0),
    ref: (a, b) =>
      N.concatNd(
        [
          N.transposeNd(a, 0, 1),
          N.transposeNd(
            N.sliceNd(b, [
              [0, 3, 1],
              [0, 6, 2],
            ]),
            0,
            1,
          ),
        ],
        0,
      ),
  },
  {
    name: 'concat int32 with float promotes',
    covers: ['concat'],
    inputs: (g) => [I(N.intNd(g, [2], -5, 5)), F(N.randnNd(g, [3]))],
    op: (a, b) => T.concat([a, b]),
    ref: (a, b) => N.concatNd([a, b], 0),
  },
  {
    name: 'stack along a new middle axis',
    covers: ['concat'],
    inputs: (g) => [F(N.randnNd(g, [2, 3])), F(N.randnNd(g, [2, 3]))],
    op: (a, b) => T.stack([a, b], 1),
    ref: (a, b) => N.build([2, 2, 3], ([i, k, j]) => N.get(k === 0 ? a : b, [i!, j!])),
  },

  // ------------------------------------------------- fused bias + activation
  convBiasActRow('padded, im2col path', [2, 3, 6, 6], [4, 3, 3, 3], { padding: 1 }, 'relu'),
  convBiasActRow('one input channel, direct path', [2, 1, 7, 7], [4, 1, 3, 3], {}, 'leakyRelu'),
  convBiasActRow('stride 2, groups 2', [1, 4, 7, 7], [4, 2, 3, 3], { stride: 2, groups: 2 }, 'none'),
  matmulBiasActRow(3, 5, 4, 'relu'),
  matmulBiasActRow(6, 17, 9, 'leakyRelu'),
  matmulBiasActRow(2, 3, 5, 'none'),
  // --------------------------------------------------------------- matmul
  {
    name: 'matmul [3,4] @ [4,5]',
    covers: ['matmul'],
    inputs: (g) => [F(N.randnNd(g, [3, 4])), F(N.randnNd(g, [4, 5]))],
    op: (a, b) => a.matmul(b),
    ref: N.matmulNd,
  },
  {
    name: 'matmul batched broadcasting [2,1,3,4] @ [5,4,2] -> [2,5,3,2]',
    covers: ['matmul'],
    inputs: (g) => [F(N.randnNd(g, [2, 1, 3, 4])), F(N.randnNd(g, [5, 4, 2]))],
    op: (a, b) => a.matmul(b),
    ref: N.matmulNd,
  },
  {
    name: 'matmul [2,3,4] @ [4,2]',
    covers: ['matmul'],
    inputs: (g) => [F(N.randnNd(g, [2, 3, 4])), F(N.randnNd(g, [4, 2]))],
    op: (a, b) => a.matmul(b),
    ref: N.matmulNd,
  },
  {
    name: 'matmul 1-D @ 2-D [4] @ [4,3]',
    covers: ['matmul'],
    inputs: (g) => [F(N.randnNd(g, [4])), F(N.randnNd(g, [4, 3]))],
    op: (a, b) => a.matmul(b),
    ref: N.matmulNd,
  },
  {
    name: 'matmul 2-D @ 1-D [3,4] @ [4]',
    covers: ['matmul'],
    inputs: (g) => [F(N.randnNd(g, [3, 4])), F(N.randnNd(g, [4]))],
    op: (a, b) => a.matmul(b),
    ref: N.matmulNd,
  },
  {
    name: 'matmul 1-D @ 1-D (dot) -> []',
    covers: ['matmul'],
    inputs: (g) => [F(N.randnNd(g, [5])), F(N.randnNd(g, [5]))],
    op: (a, b) => a.matmul(b),
    ref: N.matmulNd,
  },
  {
    name: 'matmul of transposed operands [4,3]ᵀ @ [5,4]ᵀ',
    covers: ['matmul', 'permute'],
    inputs: (g) => [F(N.randnNd(g, [4, 3])), F(N.randnNd(g, [5, 4]))],
    op: (a, b) => a.T.matmul(b.T),
    ref: (a, b) => N.matmulNd(N.transposeNd(a, 0, 1), N.transposeNd(b, 0, 1)),
  },
  {
    name: 'matmul of step-2 sliced operands (neither row- nor column-major)',
    covers: ['matmul', 'slice'],
    inputs: (g) => [F(N.randnNd(g, [6, 8])), F(N.randnNd(g, [8, 6]))],
    op: (a, b) =>
      a
        .slice([
          [0, 6, 2],
          [0, 8, 2],
        ])
        .matmul(
          b.slice([
            [0, 8, 2],
            [1, 6, 2],
          ]),
        ),
    ref: (a, b) =>
      N.matmulNd(
        N.sliceNd(a, [
          [0, 6, 2],
          [0, 8, 2],
        ]),
        N.sliceNd(b, [
          [0, 8, 2],
          [1, 6, 2],
        ]),
      ),
  },

  // Products with m, n ≥ 4, k ≥ 16 and m·n ≥ 256 take the packed, register-blocked GEMM path.
  {
    name: 'matmul on the packed GEMM path [18,17] @ [17,19]',
    covers: ['matmul'],
    inputs: (g) => [F(N.randnNd(g, [18, 17])), F(N.randnNd(g, [17, 19]))],
    op: (a, b) => a.matmul(b),
    ref: N.matmulNd,
  },
  {
    name: 'matmul on the packed GEMM path with transposed operands [17,18]ᵀ @ [19,17]ᵀ',
    covers: ['matmul', 'permute'],
    inputs: (g) => [F(N.randnNd(g, [17, 18])), F(N.randnNd(g, [19, 17]))],
    op: (a, b) => a.T.matmul(b.T),
    ref: (a, b) => N.matmulNd(N.transposeNd(a, 0, 1), N.transposeNd(b, 0, 1)),
  },
  {
    name: 'matmul on the packed GEMM path, batched [2,20,16] @ [16,13]',
    covers: ['matmul'],
    inputs: (g) => [F(N.randnNd(g, [2, 20, 16])), F(N.randnNd(g, [16, 13]))],
    op: (a, b) => a.matmul(b),
    ref: N.matmulNd,
  },

  // --------------------------------------------------------------- conv2d
  convRow('basic 3x3', [2, 3, 5, 6], [4, 3, 3, 3], {}),
  convRow('stride 2 padding 1', [2, 3, 7, 6], [4, 3, 3, 3], { stride: 2, padding: 1 }),
  convRow('stride [2,1] padding [1,2] dilation [2,1]', [1, 2, 7, 6], [3, 2, 3, 3], {
    stride: [2, 1],
    padding: [1, 2],
    dilation: [2, 1],
  }),
  convRow('dilation 2', [2, 2, 7, 7], [3, 2, 3, 3], { dilation: 2 }),
  convRow('groups 2', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: 1 }),
  convRow('groups 2 stride 2 dilation 2 padding 2', [1, 4, 8, 7], [4, 2, 3, 3], {
    groups: 2,
    stride: 2,
    dilation: 2,
    padding: 2,
  }),
  convRow('1x1 (pointwise)', [2, 4, 4, 5], [3, 4, 1, 1], {}),
  convRow('1x1 groups 2 (pointwise)', [2, 4, 3, 4], [6, 2, 1, 1], { groups: 2 }),
  convRow('1x1 stride 2 padding 1', [1, 3, 5, 4], [2, 3, 1, 1], { stride: 2, padding: 1 }),
  convRow('depthwise (groups = C, 2 filters each)', [2, 3, 5, 5], [6, 1, 3, 3], { groups: 3, padding: 1 }),
  convRow("asymmetric 'same' 2x2 kernel", [2, 2, 5, 6], [3, 2, 2, 2], { padding: 'same' }),
  convRow("asymmetric 'same' 2x3 kernel dilation 2", [1, 2, 6, 5], [3, 2, 2, 3], { padding: 'same', dilation: 2 }),
  convRow("'valid' 3x2 kernel", [2, 2, 5, 5], [2, 2, 3, 2], { padding: 'valid' }),
  // 16 filters over 2·3·3 taps and 8·8 positions: every GEMM of the forward and both gradients is packed.
  convRow('enough channels for the packed GEMM', [1, 2, 8, 8], [16, 2, 3, 3], { padding: 1 }),
  {
    name: 'conv2d with bias (conv2dBiasAct, no activation)',
    covers: ['conv2dBiasAct'],
    inputs: (g) => [F(N.randnNd(g, [2, 2, 4, 4])), F(N.randnNd(g, [3, 2, 3, 3])), F(N.randnNd(g, [3]))],
    op: (x, w, b) => T.conv2d(x, w, b, { padding: 1 }),
    ref: (x, w, b) => {
      const y = N.conv2dNd(x, w, refConvP([3, 3], { padding: 1 }));
      return N.build(y.shape, (idx) => N.get(y, idx) + N.get(b, [idx[1]!]));
    },
  },
  {
    name: 'conv2d of a non-contiguous input (H and W transposed)',
    covers: ['conv2d', 'permute'],
    inputs: (g) => [F(N.randnNd(g, [1, 2, 6, 5])), F(N.randnNd(g, [2, 2, 3, 3]))],
    op: (x, w) => T.conv2d(x.transpose(2, 3), w, null, { stride: [1, 2] }),
    ref: (x, w) => N.conv2dNd(N.transposeNd(x, 2, 3), w, refConvP([3, 3], { stride: [1, 2] })),
  },
  convGradInputRow('stride 2 padding 1', [2, 3, 6, 5], [4, 3, 3, 3], { stride: 2, padding: 1 }),
  convGradInputRow('stride 2 (last row unused) groups 2 dilation [1,2]', [1, 4, 6, 7], [4, 2, 3, 2], {
    stride: 2,
    groups: 2,
    dilation: [1, 2],
  }),
  convGradInputRow("asymmetric 'same' 2x2", [1, 2, 5, 4], [3, 2, 2, 2], { padding: 'same' }),
  convGradInputRow('1x1 groups 2 (pointwise)', [2, 4, 3, 3], [6, 2, 1, 1], { groups: 2 }),
  convGradInputRow('packed GEMM', [1, 2, 8, 8], [16, 2, 3, 3], { padding: 1 }),
  convGradWeightRow('packed GEMM', [1, 2, 8, 8], [16, 2, 3, 3], { padding: 1 }),
  convGradWeightRow('stride 2 padding 1 groups 2', [2, 4, 6, 5], [4, 2, 3, 3], { stride: 2, padding: 1, groups: 2 }),
  convGradWeightRow('stride [1,2] padding [2,1] dilation 2', [1, 2, 7, 7], [3, 2, 3, 2], {
    stride: [1, 2],
    padding: [2, 1],
    dilation: 2,
  }),
  convGradWeightRow('1x1 (pointwise)', [2, 3, 3, 4], [2, 3, 1, 1], {}),
  convGradWeightRow('depthwise', [2, 3, 4, 4], [3, 1, 3, 3], { groups: 3, padding: 1 }),

  // The backward of a fused epilogue: direct dX (unit stride) and the im2col dX (stride 2), dW, the bias.
  ...(['relu', 'leakyRelu', 'none'] as const).flatMap((act) => [
    convGradInputActRow('padding 1 (direct)', [2, 3, 6, 5], [4, 3, 3, 3], { padding: 1 }, act),
    convGradInputActRow('stride 2 groups 2 (im2col)', [1, 4, 7, 6], [4, 2, 3, 3], { stride: 2, groups: 2 }, act),
    convGradWeightActRow('padding 1', [2, 3, 6, 5], [9, 3, 3, 3], { padding: 1 }, act),
    convGradWeightActRow('stride 2 groups 2', [2, 4, 7, 6], [4, 2, 3, 3], { stride: 2, groups: 2 }, act),
    biasActGradRow([2, 5, 3, 4], 1, act),
    biasActGradRow([2, 3, 6], 2, act),
  ]),
  biasActGradRow([3, 6, 1, 1], 1, 'relu'),

  // -------------------------------------------------------------- pooling
  maxPoolRow('2x2 (stride defaults to the kernel)', [2, 2, 6, 6], 2, {}),
  maxPoolRow('3x3 stride 2 (overlapping)', [2, 2, 7, 7], 3, { stride: 2 }),
  maxPoolRow('3x3 stride 2 padding 1', [1, 2, 7, 6], 3, { stride: 2, padding: 1 }),
  maxPoolRow('3x3 stride 1 dilation 2', [1, 2, 7, 7], 3, { stride: 1, dilation: 2 }),
  maxPoolRow('2x2 ceilMode on 7x7', [1, 2, 7, 7], 2, { ceilMode: true }),
  maxPoolRow('3x3 stride 2 padding 1 ceilMode on 8x6', [1, 2, 8, 6], 3, { stride: 2, padding: 1, ceilMode: true }),
  // ceilMode where the last window would start in the right padding: PyTorch drops it.
  maxPoolRow('2x2 stride 2 padding 1 ceilMode on 5x5 (window in the padding dropped)', [1, 2, 5, 5], 2, {
    padding: 1,
    ceilMode: true,
  }),
  maxPoolRow('rectangular [2,3] stride [1,2] padding [1,0]', [1, 2, 5, 7], [2, 3], { stride: [1, 2], padding: [1, 0] }),
  {
    name: 'maxPool2d of a non-contiguous input (channels and width swapped)',
    covers: ['maxPool2d', 'permute'],
    inputs: (g) => [F(N.distinctNd(g, [1, 5, 6, 2]))],
    op: (x) => T.maxPool2d(x.transpose(1, 3), 2),
    ref: (x) => N.maxPool2dNd(N.transposeNd(x, 1, 3), refPoolP(2, {})),
  },
  {
    name: 'maxPool2dGrad 3x3 stride 2 padding 1 ceilMode (overlapping windows share winners)',
    covers: ['maxPool2dGrad'],
    inputs: (g) => {
      const p = refPoolP(3, { stride: 2, padding: 1, ceilMode: true });
      return [F(N.distinctNd(g, [2, 2, 6, 7])), F(N.randnNd(g, poolOutShape([2, 2, 6, 7], p)))];
    },
    op: (x, gy) => run('maxPool2dGrad', [x, gy], libPoolP(refPoolP(3, { stride: 2, padding: 1, ceilMode: true }))),
    ref: (x, gy) => N.maxPool2dGradNd(x, gy, refPoolP(3, { stride: 2, padding: 1, ceilMode: true })),
    // Its gradient rule refuses on purpose (second derivative through max pooling): see the dedicated test.
    grad: [],
  },
  {
    name: 'maxPool2dGrad rectangular dilated',
    covers: ['maxPool2dGrad'],
    inputs: (g) => {
      const p = refPoolP([2, 3], { stride: [2, 1], dilation: [1, 2] });
      return [F(N.distinctNd(g, [1, 3, 6, 7])), F(N.randnNd(g, poolOutShape([1, 3, 6, 7], p)))];
    },
    op: (x, gy) => run('maxPool2dGrad', [x, gy], libPoolP(refPoolP([2, 3], { stride: [2, 1], dilation: [1, 2] }))),
    ref: (x, gy) => N.maxPool2dGradNd(x, gy, refPoolP([2, 3], { stride: [2, 1], dilation: [1, 2] })),
    grad: [],
  },
  avgPoolRow('2x2', [2, 2, 6, 6], 2, {}),
  avgPoolRow('3x3 stride 2 (overlapping)', [2, 2, 7, 7], 3, { stride: 2 }),
  avgPoolRow('3x3 stride 1 padding 1 countIncludePad', [1, 2, 5, 6], 3, { stride: 1, padding: 1 }),
  avgPoolRow('3x3 stride 1 padding 1 countIncludePad false', [1, 2, 5, 6], 3, {
    stride: 1,
    padding: 1,
    countIncludePad: false,
  }),
  avgPoolRow('2x2 ceilMode on 7x7', [1, 2, 7, 7], 2, { ceilMode: true }),
  avgPoolRow('3x3 stride 2 padding 1 ceilMode countIncludePad on 8x6', [1, 2, 8, 6], 3, {
    stride: 2,
    padding: 1,
    ceilMode: true,
  }),
  avgPoolRow('3x3 stride 2 padding 1 ceilMode countIncludePad false on 8x6', [1, 2, 8, 6], 3, {
    stride: 2,
    padding: 1,
    ceilMode: true,
    countIncludePad: false,
  }),
  avgPoolRow('2x2 stride 2 padding 1 ceilMode on 5x5 (window in the padding dropped)', [1, 2, 5, 5], 2, {
    padding: 1,
    ceilMode: true,
  }),
  avgPoolRow('rectangular [3,2] stride [2,1] padding [1,0] countIncludePad false', [2, 1, 8, 6], [3, 2], {
    stride: [2, 1],
    padding: [1, 0],
    countIncludePad: false,
  }),
  {
    name: 'avgPool2dGrad 3x3 stride 2 padding 1 ceilMode countIncludePad false',
    covers: ['avgPool2dGrad'],
    inputs: (g) => {
      const p = refPoolP(3, { stride: 2, padding: 1, ceilMode: true });
      return [F(N.randnNd(g, poolOutShape([2, 2, 8, 6], p)))];
    },
    op: (gy) =>
      run('avgPool2dGrad', [gy], {
        ...libPoolP(refPoolP(3, { stride: 2, padding: 1, ceilMode: true })),
        countIncludePad: false,
        inputShape: [2, 2, 8, 6],
      }),
    ref: (gy) =>
      N.avgPool2dGradNd(gy, [2, 2, 8, 6], {
        ...refPoolP(3, { stride: 2, padding: 1, ceilMode: true }),
        countIncludePad: false,
      }),
  },
  {
    name: 'avgPool2dGrad rectangular [2,3] stride [1,2] padding 1 countIncludePad',
    covers: ['avgPool2dGrad'],
    inputs: (g) => {
      const p = refPoolP([2, 3], { stride: [1, 2], padding: 1 });
      return [F(N.randnNd(g, poolOutShape([1, 2, 7, 7], p)))];
    },
    op: (gy) =>
      run('avgPool2dGrad', [gy], {
        ...libPoolP(refPoolP([2, 3], { stride: [1, 2], padding: 1 })),
        countIncludePad: true,
        inputShape: [1, 2, 7, 7],
      }),
    ref: (gy) =>
      N.avgPool2dGradNd(gy, [1, 2, 7, 7], {
        ...refPoolP([2, 3], { stride: [1, 2], padding: 1 }),
        countIncludePad: true,
      }),
  },
];

// ------------------------------------------------------------------ tests

const FWD_TOL = 1e-10;
const F32_TOL = 1e-4;

function floatDtypeOf(fd: FloatDType, row: Row): DType {
  return row.out ? row.out(fd) : fd;
}

/** Primitives with accelerated kernels on a non-reference backend: their rows check float32 gradients against cpu. */
const ACCELERATED: ReadonlySet<OpName> = new Set<OpName>([
  'matmul',
  'matmulBiasAct',
  'conv2d',
  'conv2dBiasAct',
  'conv2dGradInput',
  'conv2dGradWeight',
  'conv2dGradInputAct',
  'conv2dGradWeightAct',
  'biasActGrad',
  'maxPool2d',
  'maxPool2dGrad',
  'avgPool2d',
  'avgPool2dGrad',
]);

/**
 * webgpu against the cpu backend, both in float32 ((d) and (e)). Elementwise rows are held to
 * float32 rounding: 4e-7 scaled is about 3 ulps of a value near 1 (WGSL's exp, log, tanh and pow
 * may differ from V8's by an ulp or two; the worst seen on lavapipe is 1.9e-7, tanh's gradient).
 * Rows of reducing kernels sum up to a few hundred float32 products in another order than the cpu
 * backend (which accumulates in float64): 3e-5, four times the worst seen (7.8e-6, conv2d's weight
 * gradient through the packed GEMM).
 */
const WEBGPU_ELEMENTWISE_TOL = 4e-7;
const WEBGPU_REDUCING_TOL = 3e-5;

/** Float32 ops whose kernels sum many products or terms (the looser webgpu bound above). */
const REDUCING: ReadonlySet<OpName> = new Set<OpName>([
  'sum',
  'logSoftmax',
  'matmul',
  'matmulBiasAct',
  'conv2d',
  'conv2dBiasAct',
  'conv2dGradInput',
  'conv2dGradWeight',
  'conv2dGradInputAct',
  'conv2dGradWeightAct',
  'biasActGrad',
  'avgPool2d',
  'avgPool2dGrad',
]);

/** Backends whose results are read asynchronously (GPU-resident tensors). */
const ASYNC_BACKENDS: ReadonlySet<string> = new Set(['webgpu']);

/** A tensor's values: dataSync() on the cpu backends, await data() on the GPU. */
async function values(t: Tensor): Promise<ArrayLike<number>> {
  return ASYNC_BACKENDS.has(t.backend.name) ? t.data() : t.dataSync();
}

/** Runs `fn` with `name` as the current backend (new tensors are created there). */
function onBackend<R>(name: string, fn: () => R): R {
  const previous = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(previous);
  }
}

/** Float32 gradients of sum(op(...) · r) w.r.t. the inputs in `wrt`, on the current backend. */
async function float32Grads(
  row: Row,
  inputs: readonly Input[],
  wrt: readonly number[],
  seed: number,
  allowNone = false,
): Promise<(ArrayLike<number> | null)[]> {
  const xs = inputs.map((inp, i) => toTensor(inp, 'float32', wrt.includes(i)));
  const y = row.op(...xs);
  const g = new Generator(seed);
  const r = Float32Array.from({ length: y.numel }, () => g.normal());
  y.mul(T.tensor(r, { shape: y.shape, dtype: 'float32' }))
    .sum()
    .backward();
  return Promise.all(
    wrt.map((i) => {
      const grad = xs[i]!.grad;
      if (!grad && allowNone) return null;
      assert.ok(grad, `input ${i} got no gradient`);
      return values(grad);
    }),
  );
}

function rowSuite(row: Row, index: number, backend: string, skip?: string): void {
  const seed = 1000 + index;
  const reducing = row.covers.some((op) => REDUCING.has(op));
  // float32 against float64 (c) and, on backends other than webgpu, against the cpu backend (d, e).
  const f32Tol = F32_TOL;
  const vsCpuTol = backend === 'webgpu' ? (reducing ? WEBGPU_REDUCING_TOL : WEBGPU_ELEMENTWISE_TOL) : F32_TOL;
  // Every check is declared (and shown, skipped with the reason) even where the backend is missing.
  const test = (name: string, fn: () => void | Promise<void>): void => void nodeTest(name, { skip }, fn);
  describe(`op table: ${row.name}`, () => {
    const inputs = row.inputs(new Generator(seed));
    const floatOut = ['float32', 'float64'].includes(floatDtypeOf('float64', row));
    // Default: every float input, when the output is float (bool/int32 results have no gradient).
    const gradIdx = row.grad ?? (floatOut ? inputs.flatMap((inp, i) => (inp.kind === 'float' ? [i] : [])) : []);

    test('(a) float64 forward matches the naive reference', async () => {
      const xs = inputs.map((inp, i) => toTensor(inp, 'float64', gradIdx.includes(i)));
      const [y, seen] = recordPrimitives(() => row.op(...xs));
      for (const p of row.covers) {
        assert.ok(seen.has(p), `row claims to cover '${p}' but ran only [${[...seen].join(', ')}]`);
      }
      const expected = row.ref(...inputs.map((inp) => inp.nd));
      const dtype = floatDtypeOf('float64', row);
      assert.equal(y.dtype, dtype, `output dtype`);
      assertShape(y.shape, expected.shape);
      const got = await values(y);
      if (dtype === 'float64') {
        assertClose(got, expected.data, FWD_TOL, 'forward');
      } else if (dtype === 'float32') {
        assertClose(got, expected.data.map(Math.fround), FWD_TOL, 'forward (float32)');
      } else {
        // `+ 0` turns the reference's -0 (e.g. Math.trunc(-0.3)) into the 0 an integer array holds.
        const exact = expected.data.map((v) => v + 0);
        assert.deepEqual([...Array.from(got)], exact, 'forward (exact)');
      }
    });

    if (gradIdx.length > 0) {
      test(`(b) gradcheck of inputs [${gradIdx.join(', ')}]`, () => {
        const xs = inputs.map((inp) => toTensor(inp, 'float64'));
        const r = gradcheck((...a) => row.op(...a), xs, { ...row.gradOpts, wrt: gradIdx });
        assert.ok(r.checked > 0);
      });
    }

    if (inputs.some((inp) => inp.kind === 'float')) {
      test('(c) float32 agrees with float64', async () => {
        const y64 = row.op(...inputs.map((inp) => toTensor(inp, 'float64')));
        const y32 = row.op(...inputs.map((inp) => toTensor(inp, 'float32')));
        assert.equal(y32.dtype, floatDtypeOf('float32', row), 'float32 output dtype');
        assertShape(y32.shape, y64.shape);
        if (y64.dtype === 'float64' || y64.dtype === 'float32') {
          assertClose(await values(y32), await values(y64), f32Tol, 'float32 vs float64');
        } else {
          assert.deepEqual(
            [...Array.from(await values(y32))],
            [...Array.from(await values(y64))],
            'float32 vs float64 (exact)',
          );
        }
      });
    }

    if (backend !== 'cpu' && inputs.some((inp) => inp.kind === 'float')) {
      test(`(d) float32 on ${backend} agrees with the cpu backend`, async () => {
        const y = row.op(...inputs.map((inp) => toTensor(inp, 'float32')));
        assert.equal(y.backend.name, backend, 'result backend');
        const yc = onBackend('cpu', () => row.op(...inputs.map((inp) => toTensor(inp, 'float32'))));
        assertShape(y.shape, yc.shape);
        const got = await values(y);
        if (y.dtype === 'float32' || y.dtype === 'float64')
          assertClose(got, yc.dataSync(), vsCpuTol, `${backend} vs cpu`);
        else assert.deepEqual([...Array.from(got)], [...yc.dataSync()], `${backend} vs cpu (exact)`);
      });
    }

    const accelerated = backend === 'webgpu' || row.covers.some((op) => ACCELERATED.has(op));
    if (backend !== 'cpu' && gradIdx.length > 0 && accelerated) {
      test(`(e) float32 gradients on ${backend} agree with the cpu backend`, async () => {
        // Every row runs here on webgpu, including ops whose gradient is identically zero (none on either backend).
        const allowNone = backend === 'webgpu';
        const gs = await float32Grads(row, inputs, gradIdx, seed, allowNone);
        const gc = await onBackend('cpu', () => float32Grads(row, inputs, gradIdx, seed, allowNone));
        const tol = vsCpuTol;
        gradIdx.forEach((inputIndex, j) => {
          const a = gs[j] ?? null;
          const c = gc[j] ?? null;
          assert.equal(a === null, c === null, `d/d input ${inputIndex}: gradient present on one backend only`);
          if (a && c) assertClose(a, c, tol, `d/d input ${inputIndex}`);
        });
      });
    }
  });
}

// ---------------------------------------------------------- second order

/** Gradients of `loss(...)` w.r.t. `xs`, themselves differentiable (createGraph), leaving `.grad` clear. */
function gradsWithGraph(loss: () => Tensor, xs: readonly Tensor[]): Tensor[] {
  // gradcheck evaluates its function under noGrad; the inner graph must still be recorded.
  return withGradMode(true, () => {
    // retainGraph explicitly: the second-order graph reads forward tensors (see the PyTorch-default test below).
    loss().backward(undefined, { createGraph: true, retainGraph: true });
    const gs = xs.map((x) => {
      assert.ok(x.grad, 'backward left no gradient');
      return x.grad;
    });
    // Clear them so the outer backward (in gradcheck) writes fresh second-order gradients.
    for (const x of xs) x.grad = null;
    return gs;
  });
}

function secondOrderSuite(): void {
  describe('op table: second order (backward with createGraph)', () => {
    const convOpts = {
      stride: 2,
      padding: [1, 0] as [number, number],
      dilation: [1, 2] as [number, number],
      groups: 2,
    };
    const refP = refConvP([3, 3], convOpts);

    test('conv2d: first-order gradients built with createGraph match the naive adjoints', () => {
      const g = new Generator(77);
      const xNd = N.randnNd(g, [1, 4, 6, 7]);
      const wNd = N.randnNd(g, [4, 2, 3, 3]);
      const x = toTensor(F(xNd), 'float64', true);
      const w = toTensor(F(wNd), 'float64', true);
      const [gx, gw] = gradsWithGraph(() => {
        const y = T.conv2d(x, w, null, convOpts);
        return y.mul(y).sum();
      }, [x, w]);
      assert.ok(gx!.requiresGrad && gw!.requiresGrad, 'createGraph gradients must be part of a graph');
      const y = N.conv2dNd(xNd, wNd, refP);
      const twoY = N.map(y, (v) => 2 * v);
      assertClose(gx!.dataSync(), N.conv2dGradInputNd(twoY, wNd, xNd.shape, refP).data, FWD_TOL, 'd/dx sum(y²)');
      assertClose(gw!.dataSync(), N.conv2dGradWeightNd(xNd, twoY, wNd.shape, refP).data, FWD_TOL, 'd/dw sum(y²)');
    });

    test('conv2d: gradcheck of x ↦ (∂/∂x, ∂/∂w) sum(conv2d(x, w)³)', () => {
      const g = new Generator(78);
      const x = toTensor(F(N.randnNd(g, [1, 4, 5, 6])), 'float64');
      const w = toTensor(F(N.randnNd(g, [4, 2, 3, 3], 0.5)), 'float64');
      gradcheck(
        (xx, ww) => {
          const [gx, gw] = gradsWithGraph(() => {
            const y = T.conv2d(xx, ww, null, convOpts);
            return y.mul(y).mul(y).sum();
          }, [xx, ww]);
          return T.concat([gx!.reshape(-1), gw!.reshape(-1)]);
        },
        [x, w],
      );
    });

    test('avgPool2d: gradcheck of x ↦ ∂/∂x sum(avgPool2d(x)³)', () => {
      const g = new Generator(79);
      const x = toTensor(F(N.randnNd(g, [2, 2, 6, 5])), 'float64');
      const opts = { stride: 2, padding: 1, ceilMode: true, countIncludePad: false };
      gradcheck(
        (xx) =>
          gradsWithGraph(() => {
            const y = T.avgPool2d(xx, 3, opts);
            return y.mul(y).mul(y).sum();
          }, [xx])[0]!,
        [x],
      );
    });

    test('avgPool2d: the createGraph gradient matches the naive adjoint', () => {
      const g = new Generator(80);
      const xNd = N.randnNd(g, [1, 2, 7, 6]);
      const x = toTensor(F(xNd), 'float64', true);
      const p = { ...refPoolP(3, { stride: 2, padding: 1 }), countIncludePad: true };
      const [gx] = gradsWithGraph(() => {
        const y = T.avgPool2d(x, 3, { stride: 2, padding: 1 });
        return y.mul(y).sum();
      }, [x]);
      const twoY = N.map(N.avgPool2dNd(xNd, p), (v) => 2 * v);
      assertClose(gx!.dataSync(), N.avgPool2dGradNd(twoY, xNd.shape, p).data, FWD_TOL, 'd/dx sum(y²)');
    });

    test('createGraph alone keeps the graph usable for a second backward (retainGraph defaults to createGraph, as in PyTorch)', () => {
      const x = T.tensor([0.5, -1.5, 2], { dtype: 'float64', requiresGrad: true });
      x.mul(x).mul(x).sum().backward(undefined, { createGraph: true });
      const gx = x.grad!; // 3x², part of a graph that reads the forward tensor x·x
      x.grad = null;
      gx.sum().backward(); // d/dx Σ 3x² = 6x
      assertClose(x.grad!.dataSync(), [3, -9, 12], FWD_TOL, 'second derivative');
    });

    test('maxPool2d: a second derivative is refused with an UnsupportedError naming maxPool2d', () => {
      const g = new Generator(81);
      const x = toTensor(F(N.distinctNd(g, [1, 1, 4, 4])), 'float64', true);
      const y = T.maxPool2d(x, 2);
      y.mul(y).sum().backward(undefined, { createGraph: true });
      const gx = x.grad!;
      assert.ok(gx.requiresGrad);
      x.grad = null;
      assert.throws(
        () => gx.sum().backward(),
        (e: unknown) => e instanceof UnsupportedError && /maxPool2d/.test((e as Error).message),
      );
    });
  });
}

// The webgpu adapter arrives asynchronously: find it before listing the backends.
const gpuReady = await initWebGPU();
skipUnlessRequired('webgpu', !gpuReady && `no WebGPU adapter: ${webgpuStatus().reason}`);

// One copy of the whole table per registered backend.
for (const backend of listBackends()) {
  describe(`op table on the ${backend} backend`, () => {
    let previous: Backend;
    before(() => {
      previous = getBackend();
      setBackend(backend);
    });
    after(() => {
      setBackend(previous);
    });
    rows.forEach((row, index) => rowSuite(row, index, backend));
    secondOrderSuite();
    if (backend === 'webgpu') {
      test('webgpu: only float64 work ran on the host', () => {
        const other = webgpuFallbacks().filter((f) => f.dtype !== 'float64');
        assert.deepEqual(other, [], `ops that fell back to the host: ${JSON.stringify(other)}`);
      });
    }
  });
}

if (!gpuReady) {
  // Each of the webgpu rows' checks shows up, skipped with the reason (not as one skipped test).
  const reason = `webgpu backend unavailable: ${webgpuStatus().reason}`;
  describe('op table on the webgpu backend', () => {
    rows.forEach((row, index) => rowSuite(row, index, 'webgpu', reason));
  });
}

test('op table: every primitive of opDefs has at least one row', () => {
  const covered = new Set<string>(rows.flatMap((r) => r.covers));
  const missing = Object.keys(opDefs).filter((k) => !covered.has(k));
  assert.deepEqual(missing, [], `primitives without a test row: ${missing.join(', ')}`);
  // And every row names real primitives.
  const unknown = [...covered].filter((k) => !(k in opDefs));
  assert.deepEqual(unknown, []);
});
