/**
 * Pooling: one invocation per output element for the forward kernels; the gradients are
 * gathers (one invocation per input element, visiting the windows that contain it), so no
 * two invocations write the same element and no atomics are needed. Window order, the
 * first-maximum rule (NaN wins) and PyTorch's average divisor follow the cpu kernels.
 */
import { type OpParams, type Pool2dParams, poolGeometry } from '../../../core/ops.js';
import type { Runtime } from '../runtime.js';
import { type GpuView, LINEAR_ARGS, LINEAR_INDEX, grid, prelude, wgslType } from './common.js';

// Params: 0 count, 1 c, 2 h, 3 w, 4 hOut, 5 wOut, 6 kh, 7 kw, 8 sh, 9 sw, 10 ph, 11 pw, 12 dh, 13 dw,
// 14 countIncludePad, 15..19 view 0 (offset, 4 strides), 20..24 view 1.
const DECODE = `
  let C = P(1u); let H = i32(P(2u)); let W = i32(P(3u)); let hOut = i32(P(4u)); let wOut = i32(P(5u));
  let kh = i32(P(6u)); let kw = i32(P(7u)); let sh = i32(P(8u)); let sw = i32(P(9u));
  let ph = i32(P(10u)); let pw = i32(P(11u)); let dh = i32(P(12u)); let dw = i32(P(13u));`;

function helpers(t: string): string {
  const isnan = t === 'f32' ? 'isnanf' : 'nonan';
  return `
fn nonan(v: i32) -> bool { return false; }
fn xat(n: u32, c: u32, ih: i32, iw: i32) -> ${t} {
  return x[u32(Pi(15u) + i32(n) * Pi(16u) + i32(c) * Pi(17u) + ih * Pi(18u) + iw * Pi(19u))];
}
// Offset ih·W + iw of the window's first maximum, or -1 for a window entirely in the padding.
fn winArg(n: u32, c: u32, oh: i32, ow: i32) -> i32 {
  ${DECODE}
  var best = -1;
  var m: ${t};
  for (var i = 0; i < kh; i++) {
    let ih = oh * sh - ph + i * dh;
    if (ih < 0 || ih >= H) { continue; }
    for (var j = 0; j < kw; j++) {
      let iw = ow * sw - pw + j * dw;
      if (iw < 0 || iw >= W) { continue; }
      let v = xat(n, c, ih, iw);
      if (best < 0 || v > m || (${isnan}(v) && !${isnan}(m))) { m = v; best = ih * W + iw; }
    }
  }
  return best;
}
fn span(start: i32, k: i32, d: i32, size: i32, pad: i32) -> i32 {
  var c = 0;
  for (var i = 0; i < k; i++) { if (start + i * d < size + pad) { c++; } }
  return c;
}
// PyTorch's divisor: the window clipped to the padded input, or the in-bounds taps alone.
fn divisor(oh: i32, ow: i32, count: i32) -> f32 {
  ${DECODE}
  if (P(14u) == 0u) { return f32(count); }
  return f32(span(oh * sh - ph, kh, dh, H, ph) * span(ow * sw - pw, kw, dw, W, pw));
}`;
}

function code(t: string, yType: string, nIn: number, body: string): string {
  const decls =
    nIn === 1
      ? `@group(0) @binding(0) var<storage, read> x: array<${t}>;\n@group(0) @binding(1) var<storage, read_write> y: array<${yType}>;`
      : `@group(0) @binding(0) var<storage, read> x: array<${t}>;\n@group(0) @binding(1) var<storage, read> gy: array<f32>;\n@group(0) @binding(2) var<storage, read_write> y: array<${yType}>;`;
  return `${prelude(nIn + 1)}
${decls}
${helpers(t)}
@compute @workgroup_size(64)
fn main(${LINEAR_ARGS}) {
  ${LINEAR_INDEX}
  if (i >= P(0u)) { return; }
  ${DECODE}
${body}
}`;
}

// Output element i = ((n·C + c)·hOut + oh)·wOut + ow.
const OUT_INDEX = `
  let ow = i32(i % u32(wOut)); let oh = i32((i / u32(wOut)) % u32(hOut));
  let pl = i / u32(wOut * hOut); let n = pl / C; let c = pl % C;`;
// Input element i = ((n·C + c)·H + ih)·W + iw.
const IN_INDEX = `
  let iw = i32(i % u32(W)); let ih = i32((i / u32(W)) % u32(H));
  let pl = i / u32(W * H); let n = pl / C; let c = pl % C;`;

function maxPoolCode(t: string): string {
  const empty = t === 'f32' ? 'neginf()' : '0';
  return code(
    t,
    t,
    1,
    `${OUT_INDEX}
  let at = winArg(n, c, oh, ow);
  if (at < 0) { y[i] = ${empty}; } else { y[i] = xat(n, c, at / W, at % W); }`,
  );
}

// gy is read through view 1 at (n, c, oh, ow).
const GY = 'gy[u32(Pi(20u) + i32(n) * Pi(21u) + i32(c) * Pi(22u) + oh * Pi(23u) + ow * Pi(24u))]';

/** Loops over the windows (oh, ow) that contain input (ih, iw), running `body` for each. */
const FOR_WINDOWS = (body: string): string => `
  var acc = 0.0;
  for (var a = 0; a < kh; a++) {
    let th = ih + ph - a * dh;
    if (th < 0 || th % sh != 0 || th / sh >= hOut) { continue; }
    let oh = th / sh;
    for (var b = 0; b < kw; b++) {
      let tw = iw + pw - b * dw;
      if (tw < 0 || tw % sw != 0 || tw / sw >= wOut) { continue; }
      let ow = tw / sw;
      ${body}
    }
  }
  y[i] = acc;`;

const MAX_GRAD = code(
  'f32',
  'f32',
  2,
  `${IN_INDEX}${FOR_WINDOWS(`if (winArg(n, c, oh, ow) == ih * W + iw) { acc += ${GY}; }`)}`,
);

/** Taps of window (oh, ow) inside the input (the cpu's `count`). */
const COUNT = `
  var count = 0;
  for (var a2 = 0; a2 < kh; a2++) {
    let ih2 = oh * sh - ph + a2 * dh;
    if (ih2 < 0 || ih2 >= H) { continue; }
    for (var b2 = 0; b2 < kw; b2++) {
      let iw2 = ow * sw - pw + b2 * dw;
      if (iw2 >= 0 && iw2 < W) { count++; }
    }
  }`;

const AVG = code(
  'f32',
  'f32',
  1,
  `${OUT_INDEX}
  var s = 0.0;
  var count = 0;
  for (var a = 0; a < kh; a++) {
    let ih = oh * sh - ph + a * dh;
    if (ih < 0 || ih >= H) { continue; }
    for (var b = 0; b < kw; b++) {
      let iw = ow * sw - pw + b * dw;
      if (iw >= 0 && iw < W) { s += xat(n, c, ih, iw); count++; }
    }
  }
  y[i] = s / divisor(oh, ow, count);`,
);

// avgPool2dGrad reads only gy; binding 0 is gy as well so both pool layouts share helpers.
const AVG_GRAD = code(
  'f32',
  'f32',
  2,
  `${IN_INDEX}${FOR_WINDOWS(`${COUNT}\n      acc += ${GY} / divisor(oh, ow, count);`)}`,
);

function params(
  p: Pool2dParams,
  g: ReturnType<typeof poolGeometry>,
  count: number,
  countIncludePad: boolean,
  views: GpuView[],
): number[] {
  const out = [
    count,
    g.c,
    g.h,
    g.w,
    g.hOut,
    g.wOut,
    ...p.kernel,
    ...p.stride,
    ...p.padding,
    ...p.dilation,
    countIncludePad ? 1 : 0,
  ];
  for (const v of views) out.push(v.offset, ...v.strides.map((s) => s >>> 0));
  return out;
}

export function maxPool2dGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['maxPool2d']): void {
  const x = inputs[0]!;
  const g = poolGeometry(x.shape, p, 'maxPool2d');
  const count = g.n * g.c * g.hOut * g.wOut;
  const bufs = [rt.input(x.storage, 'maxPool2d'), rt.output(out.storage, 'maxPool2d')];
  rt.dispatch(maxPoolCode(wgslType(x.dtype)), bufs, params(p, g, count, false, [x]), grid(count));
}

export function maxPool2dGradGpu(
  rt: Runtime,
  inputs: readonly GpuView[],
  out: GpuView,
  p: OpParams['maxPool2dGrad'],
): void {
  const [x, gy] = inputs as [GpuView, GpuView];
  const g = poolGeometry(x.shape, p, 'maxPool2dGrad');
  const count = g.n * g.c * g.h * g.w;
  const op = 'maxPool2dGrad';
  const bufs = [rt.input(x.storage, op), rt.input(gy.storage, op), rt.output(out.storage, op)];
  rt.dispatch(MAX_GRAD, bufs, params(p, g, count, false, [x, gy]), grid(count));
}

export function avgPool2dGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['avgPool2d']): void {
  const x = inputs[0]!;
  const g = poolGeometry(x.shape, p, 'avgPool2d');
  const count = g.n * g.c * g.hOut * g.wOut;
  const bufs = [rt.input(x.storage, 'avgPool2d'), rt.output(out.storage, 'avgPool2d')];
  rt.dispatch(AVG, bufs, params(p, g, count, p.countIncludePad, [x]), grid(count));
}

export function avgPool2dGradGpu(
  rt: Runtime,
  inputs: readonly GpuView[],
  out: GpuView,
  p: OpParams['avgPool2dGrad'],
): void {
  const gy = inputs[0]!;
  const g = poolGeometry(p.inputShape, p, 'avgPool2dGrad');
  const count = g.n * g.c * g.h * g.w;
  const op = 'avgPool2dGrad';
  const b = rt.input(gy.storage, op);
  rt.dispatch(
    AVG_GRAD,
    [b, b, rt.output(out.storage, op)],
    params(p, g, count, p.countIncludePad, [gy, gy]),
    grid(count),
  );
}
