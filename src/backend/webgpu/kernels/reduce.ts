/**
 * sum / max / argmax: one 256-thread workgroup per output element. Each thread folds a
 * strided share of the reduced elements, then a tree in workgroup memory combines the
 * partials. On SwiftShader (Runtime.barrierFree) one invocation folds each output
 * serially instead: no workgroup memory, no barriers. Few outputs with long reductions (a bias gradient over N·H·W) and many short
 * ones (a softmax over 10 classes) both keep the threads busy enough.
 * Float32 sums accumulate in f32 (the cpu accumulates in float64): agreement is ~1e-6
 * relative for well-conditioned sums.
 */
import type { OpParams } from '../../../core/ops.js';
import { contiguousStrides } from '../../../core/shape.js';
import type { Runtime } from '../runtime.js';
import {
  type GpuView,
  LINEAR_ARGS,
  LINEAR_INDEX,
  checkRank,
  grid,
  mergeDims,
  prelude,
  sizeOfShape,
  wgslType,
} from './common.js';

type Kind = 'sum' | 'max' | 'argmax';

function reduceCode(kind: Kind, t: 'f32' | 'i32', serial = false): string {
  const outType = kind === 'argmax' ? 'i32' : t;
  const isnan = t === 'f32' ? 'isnanf' : 'nonan';
  const init = kind === 'sum' ? `${t}(0)` : t === 'f32' ? 'neginf()' : 'i32(-2147483647 - 1)';
  const fold =
    kind === 'sum'
      ? 'acc = acc + v;'
      : kind === 'max'
        ? `if (v > acc || ${isnan}(v)) { acc = select(v, acc, ${isnan}(acc)); }`
        : 'if (better(v, j, acc, ai)) { acc = v; ai = j; }';
  const combine =
    kind === 'sum'
      ? 'sv[t] = sv[t] + sv[t + s];'
      : kind === 'max'
        ? `let v = sv[t + s]; let m = sv[t]; if (v > m || ${isnan}(v)) { sv[t] = select(v, m, ${isnan}(m)); }`
        : 'if (better(sv[t + s], si[t + s], sv[t], si[t])) { sv[t] = sv[t + s]; si[t] = si[t + s]; }';
  return `${prelude(2)}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${outType}>;
var<workgroup> sv: array<${t}, 256>;
var<workgroup> si: array<u32, 256>;
fn nonan(v: i32) -> bool { return false; }
const NONE = 0xffffffffu;
// Is (v, i) a better argmax candidate than (m, mi)? NaN beats numbers; ties go to the lower index.
fn better(v: ${t}, i: u32, m: ${t}, mi: u32) -> bool {
  if (i == NONE) { return false; }
  if (mi == NONE) { return true; }
  let vn = ${isnan}(v);
  let mn = ${isnan}(m);
  if (vn || mn) { return vn && (!mn || i < mi); }
  if (v != m) { return v > m; }
  return i < mi;
}
// Params: [nOut, inner, offset, keptRank, redRank, keptShape×8, keptStrides×8, redShape×8, redStrides×8]
@compute @workgroup_size(${serial ? 64 : 256})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lt: u32) {
  let o = ${serial ? 'wid.x * 64u + lt + wid.y * nw.x * 64u' : 'wid.x + wid.y * nw.x'};
  if (o >= P(0u)) { return; }
  let t = ${serial ? '0u' : 'lt'};
  let stride = ${serial ? '1u' : '256u'};
  var base = Pi(2u);
  var rem = o;
  for (var d = i32(P(3u)) - 1; d >= 0; d--) {
    let s = P(5u + u32(d));
    base += i32(rem % s) * Pi(13u + u32(d));
    rem = rem / s;
  }
  let inner = P(1u);
  let rr = i32(P(4u));
  var acc: ${t} = ${init};
  var ai: u32 = NONE;
  for (var j = t; j < inner; j += stride) {
    var p = base;
    var r = j;
    for (var d = rr - 1; d >= 0; d--) {
      let s = P(21u + u32(d));
      p += i32(r % s) * Pi(29u + u32(d));
      r = r / s;
    }
    let v = x[u32(p)];
    ${fold}
  }
${
  serial
    ? `  y[o] = ${kind === 'argmax' ? 'i32(select(ai, 0u, ai == NONE))' : 'acc'};`
    : `  sv[t] = acc;
  si[t] = ai;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (t < s) { ${combine} }
    workgroupBarrier();
  }
  if (t == 0u) { y[o] = ${kind === 'argmax' ? 'i32(select(si[0], 0u, si[0] == NONE))' : 'sv[0]'}; }`
}
}`;
}

function reduce(rt: Runtime, kind: Kind, x: GpuView, out: GpuView, axes: readonly number[]): void {
  const nOut = sizeOfShape(out.shape);
  if (nOut === 0) return;
  const keptAxes = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const kept = mergeDims(
    keptAxes.map((i) => x.shape[i]!),
    [keptAxes.map((i) => x.strides[i]!)],
  );
  // argmax positions count along the one reduced axis, so its dims must not be merged away.
  const red =
    kind === 'argmax'
      ? { shape: axes.map((i) => x.shape[i]!), strides: [axes.map((i) => x.strides[i]!)] }
      : mergeDims(
          axes.map((i) => x.shape[i]!),
          [axes.map((i) => x.strides[i]!)],
        );
  checkRank(kind, kept.shape, x.shape);
  checkRank(kind, red.shape, x.shape);
  const params = new Array<number>(37).fill(0);
  params[0] = nOut;
  params[1] = sizeOfShape(red.shape);
  params[2] = x.offset;
  params[3] = kept.shape.length;
  params[4] = red.shape.length;
  kept.shape.forEach((d, i) => (params[5 + i] = d));
  kept.strides[0]!.forEach((s, i) => (params[13 + i] = s >>> 0));
  red.shape.forEach((d, i) => (params[21 + i] = d));
  red.strides[0]!.forEach((s, i) => (params[29 + i] = s >>> 0));
  const t = wgslType(x.dtype) as 'f32' | 'i32';
  const xb = rt.input(x.storage, kind);
  const yb = rt.output(out.storage, kind);
  // Barrier-free: one invocation folds a whole output serially (see Runtime.barrierFree).
  if (rt.barrierFree) rt.dispatch(reduceCode(kind, t, true), [xb, yb], params, grid(nOut));
  else rt.dispatch(reduceCode(kind, t), [xb, yb], params, grid(nOut, 1));
}

export function sumGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['sum']): void {
  reduce(rt, 'sum', inputs[0]!, out, p.axes);
}

export function maxGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['max']): void {
  reduce(rt, 'max', inputs[0]!, out, p.axes);
}

export function argmaxGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['argmax']): void {
  reduce(rt, 'argmax', inputs[0]!, out, [p.axis]);
}

/**
 * log softmax along one axis: one invocation per row (the other axes' elements), which folds
 * the row's maximum, then Σ exp(x − m), then writes (x − m) − log Σ, all in f32.
 * Params: [rows, len, xOffset, keptRank, xAxisStride, yAxisStride, keptShape×8, keptXStrides×8, keptYStrides×8]
 */
const LOG_SOFTMAX = `${prelude(2)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(${LINEAR_ARGS}) {
  ${LINEAR_INDEX}
  if (i >= P(0u)) { return; }
  var bx = Pi(2u);
  var by = 0;
  var rem = i;
  for (var d = i32(P(3u)) - 1; d >= 0; d--) {
    let s = P(6u + u32(d));
    let k = i32(rem % s);
    bx += k * Pi(14u + u32(d));
    by += k * Pi(22u + u32(d));
    rem = rem / s;
  }
  let len = P(1u);
  let sx = Pi(4u);
  let sy = Pi(5u);
  var m = neginf();
  for (var j = 0u; j < len; j++) {
    let v = x[u32(bx + i32(j) * sx)];
    if (v > m || isnanf(v)) { m = select(v, m, isnanf(m)); }
  }
  var shift = m;
  if (!isnanf(m) && abs(m) > 3.4028234663852886e38) { shift = 0.0; }
  var s = 0.0;
  for (var j = 0u; j < len; j++) { s += exp(x[u32(bx + i32(j) * sx)] - shift); }
  let l = log(s);
  for (var j = 0u; j < len; j++) { y[u32(by + i32(j) * sy)] = (x[u32(bx + i32(j) * sx)] - shift) - l; }
}`;

export function logSoftmaxGpu(rt: Runtime, inputs: readonly GpuView[], out: GpuView, p: OpParams['logSoftmax']): void {
  const x = inputs[0]!;
  const rows = sizeOfShape(out.shape) / Math.max(x.shape[p.axis]!, 1);
  if (sizeOfShape(out.shape) === 0) return;
  const keptAxes = x.shape.map((_, i) => i).filter((i) => i !== p.axis);
  const outStrides = contiguousStrides(out.shape);
  const kept = mergeDims(
    keptAxes.map((i) => x.shape[i]!),
    [keptAxes.map((i) => x.strides[i]!), keptAxes.map((i) => outStrides[i]!)],
  );
  checkRank('logSoftmax', kept.shape, x.shape);
  const params = new Array<number>(30).fill(0);
  params[0] = rows;
  params[1] = x.shape[p.axis]!;
  params[2] = x.offset;
  params[3] = kept.shape.length;
  params[4] = x.strides[p.axis]! >>> 0;
  params[5] = outStrides[p.axis]!;
  kept.shape.forEach((d, i) => (params[6 + i] = d));
  kept.strides[0]!.forEach((s, i) => (params[14 + i] = s >>> 0));
  kept.strides[1]!.forEach((s, i) => (params[22 + i] = s >>> 0));
  rt.dispatch(
    LOG_SOFTMAX,
    [rt.input(x.storage, 'logSoftmax'), rt.output(out.storage, 'logSoftmax')],
    params,
    grid(rows),
  );
}
