/**
 * One tiled GEMM template for matmul and the three convolution kernels (implicit GEMM: the
 * im2col matrix is never materialised; loadB computes each entry from the input view).
 *
 * A 256-thread workgroup computes a 64×64 output tile, each thread a 4×4 block, stepping
 * through K 16 at a time with both operand tiles staged in workgroup memory. Operands are
 * read through their view strides, so transposed and sliced inputs need no copies.
 * Parameters: [M, N, K, split, kChunk, ...op-specific from word 5]. z indexes the batch or
 * group, times `split` K-slices (split-K, for conv2dGradWeight whose K is N·Hout·Wout).
 *
 * On SwiftShader (Runtime.barrierFree) the same loadA / loadB / store functions go into
 * a direct kernel instead: one invocation per output element, a plain loop over its K-slice,
 * no workgroup memory and no barriers. SwiftShader runs each barrier as a switch between the
 * workgroup's SIMD groups; there LeNet-5's convolutions ran 20-50x slower tiled than direct.
 */
import { EPILOGUE_ACTIVATIONS, type EpilogueParams, type OpParams, convGeometry } from '../../../core/ops.js';
import type { GPUBufferLike } from '../gpu-types.js';
import { GpuStorage, type Runtime } from '../runtime.js';
import { type GpuView, prelude, word } from './common.js';
import { reduceSumAxis0 } from './reduce-split.js';

const TILE = 64;

/**
 * @param loadA WGSL body of `fn loadA(z: u32, m: u32, k: u32) -> f32`
 * @param loadB WGSL body of `fn loadB(z: u32, k: u32, n: u32) -> f32`
 * @param store WGSL body of `fn store(z: u32, s: u32, m: u32, n: u32, v: f32)`
 */
function gemmCode(nInputs: number, loadA: string, loadB: string, store: string, tileM = TILE): string {
  // Rows per thread: 4 for 64-row tiles; 1 for the 16-row tiles of skinny GEMMs (few output channels).
  const rm = tileM / 16;
  const decls = Array.from(
    { length: nInputs },
    (_, j) => `@group(0) @binding(${j}) var<storage, read> in${j}: array<f32>;`,
  ).join('\n');
  return `${prelude(nInputs + 1)}
${decls}
@group(0) @binding(${nInputs}) var<storage, read_write> out: array<f32>;
var<workgroup> As: array<f32, ${tileM * 16}>;
var<workgroup> Bs: array<f32, 1024>;
fn loadA(z: u32, m: u32, k: u32) -> f32 { ${loadA} }
fn loadB(z: u32, k: u32, n: u32) -> f32 { ${loadB} }
fn store(z: u32, s: u32, m: u32, n: u32, v: f32) { ${store} }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32) {
  let M = P(0u);
  let N = P(1u);
  let K = P(2u);
  let split = P(3u);
  let zi = wid.z / split;
  let s = wid.z % split;
  let kb = s * P(4u);
  let ke = min(K, kb + P(4u));
  let m0 = wid.y * ${tileM}u;
  let n0 = wid.x * ${TILE}u;
  var acc: array<vec4<f32>, ${rm}>;
  for (var k0 = kb; k0 < ke; k0 += 16u) {
    for (var e = 0u; e < 4u; e++) {
      let li = t + e * 256u;
      if (li < ${tileM * 16}u) {
        let am = li >> 4u;
        let ak = li & 15u;
        var av = 0.0;
        if (m0 + am < M && k0 + ak < ke) { av = loadA(zi, m0 + am, k0 + ak); }
        As[ak * ${tileM}u + am] = av;
      }
      let bk = li >> 6u;
      let bn = li & 63u;
      var bv = 0.0;
      if (k0 + bk < ke && n0 + bn < N) { bv = loadB(zi, k0 + bk, n0 + bn); }
      Bs[bk * 64u + bn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let b = vec4<f32>(Bs[kk * 64u + lid.x * 4u], Bs[kk * 64u + lid.x * 4u + 1u], Bs[kk * 64u + lid.x * 4u + 2u], Bs[kk * 64u + lid.x * 4u + 3u]);
      for (var r = 0u; r < ${rm}u; r++) { acc[r] += As[kk * ${tileM}u + lid.y * ${rm}u + r] * b; }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < ${rm}u; r++) {
    let m = m0 + lid.y * ${rm}u + r;
    if (m < M) {
      for (var c = 0u; c < 4u; c++) {
        let n = n0 + lid.x * 4u + c;
        if (n < N) { store(zi, s, m, n, acc[r][c]); }
      }
    }
  }
}`;
}

/** The barrier-free form of the same GEMM: invocation (n, m) sums its K-slice in order. */
function directCode(nInputs: number, loadA: string, loadB: string, store: string): string {
  const decls = Array.from(
    { length: nInputs },
    (_, j) => `@group(0) @binding(${j}) var<storage, read> in${j}: array<f32>;`,
  ).join('\n');
  return `${prelude(nInputs + 1)}
${decls}
@group(0) @binding(${nInputs}) var<storage, read_write> out: array<f32>;
fn loadA(z: u32, m: u32, k: u32) -> f32 { ${loadA} }
fn loadB(z: u32, k: u32, n: u32) -> f32 { ${loadB} }
fn store(z: u32, s: u32, m: u32, n: u32, v: f32) { ${store} }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P(0u);
  let N = P(1u);
  let K = P(2u);
  let split = P(3u);
  let n = gid.x;
  let m = gid.y;
  if (n >= N || m >= M) { return; }
  let zi = gid.z / split;
  let s = gid.z % split;
  let kb = s * P(4u);
  let ke = min(K, kb + P(4u));
  var acc = 0.0;
  for (var k = kb; k < ke; k++) { acc += loadA(zi, m, k) * loadB(zi, k, n); }
  store(zi, s, m, n, acc);
}`;
}

/** The kernels of one op: 64-row tiles, 16-row tiles for M ≤ 16, and the direct (barrier-free) form. */
type Codes = readonly [string, string, string];
function codes(nInputs: number, loadA: string, loadB: string, store: string): Codes {
  return [
    gemmCode(nInputs, loadA, loadB, store),
    gemmCode(nInputs, loadA, loadB, store, 16),
    directCode(nInputs, loadA, loadB, store),
  ];
}

/** Rows a direct launch can index: one per workgroup along y. */
const MAX_GRID = 65535;

function launch(
  rt: Runtime,
  pair: Codes,
  buffers: GPUBufferLike[],
  m: number,
  n: number,
  k: number,
  z: number,
  extra: number[],
  split = 1,
  kChunk = k,
): void {
  const params = [m, n, k, split, Math.max(kChunk, 1), ...extra.map((v) => v >>> 0)];
  if (rt.barrierFree && m <= MAX_GRID) {
    rt.dispatch(pair[2], buffers, params, [Math.ceil(n / 64), m, z * split]);
    return;
  }
  const tileM = m <= 16 ? 16 : TILE;
  rt.dispatch(pair[tileM === 16 ? 1 : 0], buffers, params, [Math.ceil(n / TILE), Math.ceil(m / tileM), z * split]);
}

const MATMUL = codes(
  2,
  'return in0[u32(Pi(5u) + i32(z) * Pi(6u) + i32(m) * Pi(7u) + i32(k) * Pi(8u))];',
  'return in1[u32(Pi(9u) + i32(z) * Pi(10u) + i32(k) * Pi(11u) + i32(n) * Pi(12u))];',
  'out[(z * P(0u) + m) * P(1u) + n] = v;',
);

/**
 * The epilogue of the fused kernels, in a store body: t = v + the bias at `index` (its view's
 * offset and stride in words `at`, `at`+1), then the activation (word `at`+2: 0 none, 1 relu,
 * 2 leakyRelu with the f32 slope in word `at`+3), with the separate ops' rules.
 */
function epilogue(at: number, index: string): string {
  return `let t = v + in2[u32(Pi(${at}u) + i32(${index}) * Pi(${at + 1}u))];
  let act = P(${at + 2}u);
  var y = t;
  if (act == 1u) { y = select(t, 0.0, t <= 0.0); } else if (act == 2u) { y = select(t * Pf(${at + 3}u), t, t > 0.0); }`;
}

/** Words of the epilogue's parameters after a fused kernel's own: the bias view, the activation and its slope. */
function epilogueParams(bias: GpuView, p: EpilogueParams): number[] {
  const act = EPILOGUE_ACTIVATIONS.indexOf(p.activation);
  return [bias.offset, bias.strides[0]!, act, word(p.negativeSlope, 'f32')];
}

const MATMUL_BIAS_ACT = codes(
  3,
  'return in0[u32(Pi(5u) + i32(z) * Pi(6u) + i32(m) * Pi(7u) + i32(k) * Pi(8u))];',
  'return in1[u32(Pi(9u) + i32(z) * Pi(10u) + i32(k) * Pi(11u) + i32(n) * Pi(12u))];',
  `${epilogue(13, 'n')}
  out[(z * P(0u) + m) * P(1u) + n] = y;`,
);

export function matmulBiasActGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: EpilogueParams): void {
  const [a, b, bias] = inputs as [GpuView, GpuView, GpuView];
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  const op = 'matmulBiasAct';
  const yb = rt.output(out.storage, op);
  if (batch * m * n === 0) return;
  const bufs = [rt.input(a.storage, op), rt.input(b.storage, op), rt.input(bias.storage, op), yb];
  launch(rt, MATMUL_BIAS_ACT, bufs, m, n, k, batch, [
    a.offset,
    ...a.strides,
    b.offset,
    ...b.strides,
    ...epilogueParams(bias, p),
  ]);
}

export function matmulGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView): void {
  const [a, b] = inputs as [GpuView, GpuView];
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  const yb = rt.output(out.storage, 'matmul');
  if (batch * m * n === 0) return;
  if (k === 0) {
    rt.fill(yb, batch * m * n);
    return;
  }
  launch(rt, MATMUL, [rt.input(a.storage, 'matmul'), rt.input(b.storage, 'matmul'), yb], m, n, k, batch, [
    a.offset,
    ...a.strides,
    b.offset,
    ...b.strides,
  ]);
}

// Convolution parameters from word 5: geometry, then the two input views (offset + 4 strides).
// 5 n, 6 cIn, 7 h, 8 w, 9 cOut, 10 kh, 11 kw, 12 hOut, 13 wOut, 14 cIPG, 15 cOPG,
// 16 sh, 17 sw, 18 pt, 19 pl, 20 dh, 21 dw, 22..26 view 0, 27..31 view 1
const CONV_DECODE = `
  let cIn = P(6u); let h = i32(P(7u)); let w = i32(P(8u)); let cOut = P(9u);
  let kh = P(10u); let kw = P(11u); let hOut = P(12u); let wOut = P(13u);
  let cIPG = P(14u); let cOPG = P(15u);
  let sh = i32(P(16u)); let sw = i32(P(17u)); let pt = i32(P(18u)); let pl = i32(P(19u));
  let dh = i32(P(20u)); let dw = i32(P(21u));`;
const v0 = (a: string, b: string, c: string, d: string): string =>
  `in0[u32(Pi(22u) + i32(${a}) * Pi(23u) + i32(${b}) * Pi(24u) + i32(${c}) * Pi(25u) + i32(${d}) * Pi(26u))]`;
const v1 = (a: string, b: string, c: string, d: string): string =>
  `in1[u32(Pi(27u) + i32(${a}) * Pi(28u) + i32(${b}) * Pi(29u) + i32(${c}) * Pi(30u) + i32(${d}) * Pi(31u))]`;

// conv2d: M = cOPG (co), N = n·hOut·wOut (sample, oh, ow), K = cIPG·kh·kw (ci, ki, kj); in0 = x, in1 = w.
const CONV2D_LOAD_A = `${CONV_DECODE}
  let ci = k / (kh * kw); let r = k % (kh * kw);
  return ${v1('z * cOPG + m', 'ci', 'r / kw', 'r % kw')};`;
const CONV2D_LOAD_B = `${CONV_DECODE}
  let ci = k / (kh * kw); let r = k % (kh * kw);
  let hw = hOut * wOut; let s = n / hw; let p = n % hw;
  let ih = i32(p / wOut) * sh - pt + i32(r / kw) * dh;
  let iw = i32(p % wOut) * sw - pl + i32(r % kw) * dw;
  if (ih < 0 || ih >= h || iw < 0 || iw >= w) { return 0.0; }
  return ${v0('s', 'z * cIPG + ci', 'ih', 'iw')};`;
const CONV2D = codes(
  2,
  CONV2D_LOAD_A,
  CONV2D_LOAD_B,
  `${CONV_DECODE}
  let hw = hOut * wOut; let smp = n / hw; let p = n % hw;
  out[(smp * cOut + z * cOPG + m) * hw + p] = v;`,
);
// conv2dBiasAct: conv2d's GEMM with the epilogue in its store; in2 = the bias.
const CONV2D_BIAS_ACT = codes(
  3,
  CONV2D_LOAD_A,
  CONV2D_LOAD_B,
  `${CONV_DECODE}
  let hw = hOut * wOut; let smp = n / hw; let p = n % hw;
  ${epilogue(32, 'z * cOPG + m')}
  out[(smp * cOut + z * cOPG + m) * hw + p] = y;`,
);

// conv2dGradInput: M = cIPG (ci), N = n·h·w (sample, ih, iw), K = cOPG·kh·kw (co, ki, kj); in0 = dy, in1 = w.
const CONV2D_GRAD_INPUT = codes(
  2,
  `${CONV_DECODE}
  let co = k / (kh * kw); let r = k % (kh * kw);
  return ${v1('z * cOPG + co', 'm', 'r / kw', 'r % kw')};`,
  `${CONV_DECODE}
  let co = k / (kh * kw); let r = k % (kh * kw);
  let plane = u32(h * w); let s = n / plane; let p = n % plane;
  let th = i32(p / u32(w)) + pt - i32(r / kw) * dh;
  let tw = i32(p % u32(w)) + pl - i32(r % kw) * dw;
  if (th < 0 || tw < 0 || th % sh != 0 || tw % sw != 0) { return 0.0; }
  let oh = th / sh; let ow = tw / sw;
  if (oh >= i32(hOut) || ow >= i32(wOut)) { return 0.0; }
  return ${v0('s', 'z * cOPG + co', 'oh', 'ow')};`,
  `${CONV_DECODE}
  let plane = u32(h * w); let smp = n / plane; let p = n % plane;
  out[(smp * cIn + z * cIPG + m) * plane + p] = v;`,
);

// conv2dGradWeight: M = cOPG (co), N = cIPG·kh·kw (ci, ki, kj), K = n·hOut·wOut; in0 = x, in1 = dy.
// Split-K slices write [split, cOut·cIPG·kh·kw] partials, summed afterwards.
const CONV2D_GRAD_WEIGHT = codes(
  2,
  `${CONV_DECODE}
  let hw = hOut * wOut; let smp = k / hw; let p = k % hw;
  return ${v1('smp', 'z * cOPG + m', 'p / wOut', 'p % wOut')};`,
  `${CONV_DECODE}
  let ci = n / (kh * kw); let r = n % (kh * kw);
  let hw = hOut * wOut; let smp = k / hw; let p = k % hw;
  let ih = i32(p / wOut) * sh - pt + i32(r / kw) * dh;
  let iw = i32(p % wOut) * sw - pl + i32(r % kw) * dw;
  if (ih < 0 || ih >= h || iw < 0 || iw >= w) { return 0.0; }
  return ${v0('smp', 'z * cIPG + ci', 'ih', 'iw')};`,
  `${CONV_DECODE}
  let ckk = cIPG * kh * kw;
  out[s * cOut * ckk + (z * cOPG + m) * ckk + n] = v;`,
);

function convParams(g: ReturnType<typeof convGeometry>, p: OpParams['conv2d'], a: GpuView, b: GpuView): number[] {
  return [
    g.n,
    g.cIn,
    g.h,
    g.w,
    g.cOut,
    g.kh,
    g.kw,
    g.hOut,
    g.wOut,
    g.cInPerGroup,
    g.cOutPerGroup,
    p.stride[0],
    p.stride[1],
    p.padding[0],
    p.padding[2],
    p.dilation[0],
    p.dilation[1],
    a.offset,
    ...a.strides,
    b.offset,
    ...b.strides,
  ];
}

export function conv2dGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['conv2d']): void {
  const [x, w] = inputs as [GpuView, GpuView];
  const g = convGeometry(x.shape, w.shape, p);
  const yb = rt.output(out.storage, 'conv2d');
  const n = g.n * g.hOut * g.wOut;
  if (g.cOut * n === 0) return;
  const k = g.cInPerGroup * g.kh * g.kw;
  if (k === 0) {
    rt.fill(yb, g.cOut * n);
    return;
  }
  const bufs = [rt.input(x.storage, 'conv2d'), rt.input(w.storage, 'conv2d'), yb];
  launch(rt, CONV2D, bufs, g.cOutPerGroup, n, k, g.groups, convParams(g, p, x, w));
}

export function conv2dBiasActGpu(
  rt: Runtime,
  inputs: readonly GpuView[],
  out: GpuView,
  p: OpParams['conv2dBiasAct'],
): void {
  const [x, w, bias] = inputs as [GpuView, GpuView, GpuView];
  const g = convGeometry(x.shape, w.shape, p);
  const op = 'conv2dBiasAct';
  const yb = rt.output(out.storage, op);
  const n = g.n * g.hOut * g.wOut;
  if (g.cOut * n === 0) return;
  const k = g.cInPerGroup * g.kh * g.kw;
  const bufs = [rt.input(x.storage, op), rt.input(w.storage, op), rt.input(bias.storage, op), yb];
  launch(rt, CONV2D_BIAS_ACT, bufs, g.cOutPerGroup, n, k, g.groups, [
    ...convParams(g, p, x, w),
    ...epilogueParams(bias, p),
  ]);
}

export function conv2dGradInputGpu(
  rt: Runtime,
  inputs: readonly GpuView[],
  out: GpuView,
  p: OpParams['conv2dGradInput'],
): void {
  const [dy, w] = inputs as [GpuView, GpuView];
  const g = convGeometry(p.inputShape, w.shape, p, 'conv2dGradInput');
  const yb = rt.output(out.storage, 'conv2dGradInput');
  const n = g.n * g.h * g.w;
  if (g.cIn * n === 0) return;
  const k = g.cOutPerGroup * g.kh * g.kw;
  if (k === 0) {
    rt.fill(yb, g.cIn * n);
    return;
  }
  const bufs = [rt.input(dy.storage, 'conv2dGradInput'), rt.input(w.storage, 'conv2dGradInput'), yb];
  launch(rt, CONV2D_GRAD_INPUT, bufs, g.cInPerGroup, n, k, g.groups, convParams(g, p, dy, w));
}

/** K-slice length for split-K: long enough to amortise the tile loads, few enough partials to sum. */
const SPLIT_CHUNK = 2048;

export function conv2dGradWeightGpu(
  rt: Runtime,
  inputs: readonly GpuView[],
  out: GpuView,
  p: OpParams['conv2dGradWeight'],
): void {
  const [x, dy] = inputs as [GpuView, GpuView];
  const g = convGeometry(x.shape, p.weightShape, p, 'conv2dGradWeight');
  const op = 'conv2dGradWeight';
  const yb = rt.output(out.storage, op);
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const size = g.cOut * ckk;
  if (size === 0) return;
  const k = g.n * g.hOut * g.wOut;
  if (k === 0) {
    rt.fill(yb, size);
    return;
  }
  const bufs = [rt.input(x.storage, op), rt.input(dy.storage, op)];
  const params = convParams(g, p, x, dy);
  // Split K when the output alone would give the GPU few workgroups to run.
  const tiles = Math.ceil(g.cOutPerGroup / TILE) * Math.ceil(ckk / TILE) * g.groups;
  const split = tiles < 64 ? Math.min(Math.ceil(k / SPLIT_CHUNK), 64) : 1;
  if (split <= 1) {
    launch(rt, CONV2D_GRAD_WEIGHT, [...bufs, yb], g.cOutPerGroup, ckk, k, g.groups, params);
    return;
  }
  const chunk = Math.ceil(k / split / 16) * 16;
  const parts = Math.ceil(k / chunk);
  const partial = rt.scratch('float32', parts * size, op);
  launch(
    rt,
    CONV2D_GRAD_WEIGHT,
    [...bufs, rt.input(partial, op)],
    g.cOutPerGroup,
    ckk,
    k,
    g.groups,
    params,
    parts,
    chunk,
  );
  reduceSumAxis0(rt, partial, parts, size, yb);
}

export { GpuStorage };
