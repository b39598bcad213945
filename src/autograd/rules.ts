/**
 * One gradient rule per primitive. The mapped type makes the compiler
 * refuse an op table row without a rule. Rules are written with tensor ops,
 * so they run on any backend and can themselves be differentiated
 * (backward with createGraph).
 */
import { UnsupportedError } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';
import { type EpilogueParams, type OpName, type OpParams, type Pool2dParams, biasGradAxes } from '../core/ops.js';
import { run } from '../tensor/dispatch.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/** Given the output gradient, the inputs, the output and the parameters, the gradient for each input (null: none). */
export type GradRule<K extends OpName> = (
  g: Tensor,
  inputs: readonly Tensor[],
  out: Tensor,
  p: OpParams[K],
) => readonly (Tensor | null)[];

const mask = (cond: Tensor, like: Tensor): Tensor => ops.cast(cond, like.dtype);

/** Where two operands tie, max/min send half of the gradient to each, as PyTorch does. */
function pickGrad(g: Tensor, a: Tensor, b: Tensor, aWins: Tensor): (Tensor | null)[] {
  const tie = mask(ops.compare('eq', a, b), g);
  const wa = ops.add(mask(aWins, g), ops.mul(tie, 0.5));
  return [ops.mul(g, wa), ops.mul(g, ops.sub(1, wa))];
}

/** Gradient of a strided slice: the slice's gradient placed back into zeros of the input's shape. */
function unslice(g: Tensor, x: Tensor, p: OpParams['slice']): Tensor {
  let y = g;
  for (let i = 0; i < x.rank; i++) {
    const step = p.steps[i]!;
    if (step > 1 && y.shape[i]! > 0) {
      // Interleave step−1 zero slices after each entry, then trim the tail.
      const k = y.shape[i]!;
      const spread = ops.pad(ops.unsqueeze(y, i + 1), [
        [0, step - 1],
        ...y.shape.slice(i + 1).map(() => [0, 0] as [number, number]),
      ]);
      const merged = ops.reshape(spread, [...y.shape.slice(0, i), k * step, ...y.shape.slice(i + 1)]);
      y = ops.narrow(merged, i, 0, (k - 1) * step + 1);
    }
  }
  const pads = x.shape.map((d, i) => {
    const before = p.starts[i]!;
    return [before, d - before - y.shape[i]!] as [number, number];
  });
  return ops.pad(y, pads);
}

function poolOnly(p: OpParams['avgPool2dGrad']): OpParams['avgPool2d'] {
  const { inputShape: _unused, ...rest } = p;
  void _unused;
  return rest;
}

/** True when a [batch, rows, cols] operand is laid out column by column (a transposed view). */
function columnMajor(t: Tensor): boolean {
  const [, r, c] = t.shape as [number, number, number];
  const [, sr, sc] = t.strides as [number, number, number];
  return r > 1 && c > 1 && sr === 1 && sc === r;
}

function convOnly<P extends OpParams['conv2d']>(p: P): OpParams['conv2d'] {
  return { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
}

function epilogueOnly(p: EpilogueParams): EpilogueParams {
  return { activation: p.activation, negativeSlope: p.negativeSlope };
}

/**
 * The gradient at a fused epilogue's pre-activation, read off its output y: the activation's
 * slope is 1 where y > 0 and 0 (relu) or the negative slope (leakyRelu, slope ≥ 0) elsewhere,
 * and y > 0 exactly where the pre-activation is (a NaN passes as for the separate ops).
 */
function epilogueGrad(g: Tensor, y: Tensor, p: EpilogueParams): Tensor {
  if (p.activation === 'relu') return ops.reluBackward(g, y);
  if (p.activation === 'leakyRelu') return ops.where(ops.compare('gt', y, 0), g, ops.mul(g, p.negativeSlope));
  return g;
}

/** Primitives whose rule refuses to be differentiated again (backward with createGraph through them throws). */
export const FIRST_ORDER_ONLY: ReadonlySet<OpName> = new Set<OpName>(['maxPool2dGrad']);

export const gradRules: { readonly [K in OpName]: GradRule<K> } = {
  neg: (g) => [ops.neg(g)],
  exp: (g, _x, y) => [ops.mul(g, y)],
  log: (g, [x]) => [ops.div(g, x!)],
  sqrt: (g, _x, y) => [ops.div(g, ops.mul(y, 2))],
  abs: (g, [x]) => [ops.mul(g, ops.unary('sign', x!))],
  sign: () => [null],
  relu: (g, [x]) => [ops.reluBackward(g, x!)],
  sigmoid: (g, _x, y) => [ops.mul(g, ops.mul(y, ops.sub(1, y)))],
  tanh: (g, _x, y) => [ops.mul(g, ops.sub(1, ops.mul(y, y)))],
  add: (g) => [g, g],
  sub: (g) => [g, ops.neg(g)],
  mul: (g, [a, b]) => [ops.mul(g, b!), ops.mul(g, a!)],
  div: (g, [a, b]) => [ops.div(g, b!), ops.neg(ops.div(ops.mul(g, a!), ops.mul(b!, b!)))],
  maximum: (g, [a, b]) => pickGrad(g, a!, b!, ops.compare('gt', a!, b!)),
  minimum: (g, [a, b]) => pickGrad(g, a!, b!, ops.compare('lt', a!, b!)),
  pow: (g, [a, b], y) => {
    // d/da aᵇ = b·aᵇ⁻¹, taken as 0 where b = 0 (a⁻¹ would be infinite at a = 0).
    const ga = ops.mul(g, ops.where(ops.compare('eq', b!, 0), 0, ops.mul(b!, ops.pow(a!, ops.sub(b!, 1)))));
    // d/db aᵇ = aᵇ·ln a; taken as 0 where a = 0 (and b ≥ 0), as PyTorch does.
    const safeLog = ops.unary('log', ops.where(ops.compare('eq', a!, 0), 1, a!));
    const gb = ops.mul(g, ops.mul(y, safeLog));
    return [ga, gb];
  },
  // Linear in g with the same mask; its derivative in x is 0 wherever it exists.
  reluBackward: (g, [, x]) => [ops.reluBackward(g, x!), null],
  compare: () => [null, null],
  where: (g, [c]) => [null, ops.where(c!, g, 0), ops.where(c!, 0, g)],
  cast: (g, [x]) => [isFloat(x!.dtype) ? ops.cast(g, x!.dtype) : null],
  sum: (g, [x], _y, p) => {
    const kept = p.keepDims
      ? g
      : ops.reshape(
          g,
          x!.shape.map((d, i) => (p.axes.includes(i) ? 1 : d)),
        );
    return [ops.expand(kept, x!.shape)];
  },
  max: (g, [x], y, p) => {
    // The gradient is shared evenly between tied maxima.
    const shape = x!.shape.map((d, i) => (p.axes.includes(i) ? 1 : d));
    const yk = ops.reshape(y, shape);
    const gk = ops.reshape(g, shape);
    const hit = mask(ops.compare('eq', x!, yk), g);
    return [ops.div(ops.mul(hit, gk), ops.sum(hit, p.axes, true))];
  },
  argmax: () => [null],
  reshape: (g, [x]) => [ops.reshape(g, x!.shape)],
  permute: (g, _x, _y, p) => {
    const inverse = new Array<number>(p.perm.length);
    p.perm.forEach((a, i) => (inverse[a] = i));
    return [ops.permute(g, inverse)];
  },
  // The engine sums a broadcast gradient back to the input's shape.
  expand: (g) => [g],
  slice: (g, [x], _y, p) => [unslice(g, x!, p)],
  contiguous: (g) => [g],
  pad: (g, [x], _y, p) => [
    ops.slice(
      g,
      p.pads.map(([before], i) => [before, before + x!.shape[i]!] as [number, number]),
    ),
  ],
  concat: (g, xs, _y, p) => {
    let start = 0;
    return xs.map((x) => {
      const part = ops.narrow(g, p.axis, start, x.shape[p.axis]!);
      start += x.shape[p.axis]!;
      return part;
    });
  },
  // The products below skip the gradient of an input that needs none (the images into a
  // first convolution, frozen weights): each is as costly as the forward pass.
  // An operand that is a transposed view (a Linear layer's weight) gets its gradient as the
  // transpose of the transposed product, so the gradient has the parameter's own layout and
  // the optimizer's elementwise updates run on dense memory.
  matmul: (g, [a, b]) => [
    a!.requiresGrad
      ? columnMajor(a!)
        ? ops.transpose(run('matmul', [b!, ops.transpose(g)], {}))
        : run('matmul', [g, ops.transpose(b!)], {})
      : null,
    b!.requiresGrad
      ? columnMajor(b!)
        ? ops.transpose(run('matmul', [ops.transpose(g), a!], {}))
        : run('matmul', [ops.transpose(a!), g], {})
      : null,
  ],
  conv2d: (g, [x, w], _y, p) => [
    x!.requiresGrad
      ? run('conv2dGradInput', [g, w!], { ...p, inputShape: x!.shape as [number, number, number, number] })
      : null,
    w!.requiresGrad
      ? run('conv2dGradWeight', [x!, g], { ...p, weightShape: w!.shape as [number, number, number, number] })
      : null,
  ],
  // d/dx log softmax(x) · g = g − softmax(x) · Σ g along the axis, with softmax = exp(y).
  logSoftmax: (g, _x, y, p) => [ops.sub(g, ops.mul(ops.unary('exp', y), ops.sum(g, [p.axis], true)))],
  // The fused forms: the epilogue's gradient first, then the product's rule and the bias's sum.
  // A convolution's activation is masked where its backward kernels read g (the *Act primitives;
  // with no activation they are the plain gradient kernels and the bias sum).
  conv2dBiasAct: (g, [x, w, b], y, p) => {
    const c = convOnly(p);
    const e = epilogueOnly(p);
    return [
      x!.requiresGrad
        ? run('conv2dGradInputAct', [g, w!, y], {
            ...c,
            ...e,
            inputShape: x!.shape as [number, number, number, number],
          })
        : null,
      w!.requiresGrad
        ? run('conv2dGradWeightAct', [x!, g, y], {
            ...c,
            ...e,
            weightShape: w!.shape as [number, number, number, number],
          })
        : null,
      b!.requiresGrad ? run('biasActGrad', [g, y], { ...e, axis: 1 }) : null,
    ];
  },
  matmulBiasAct: (g, [a, b, bias], y, p) => {
    const gp = epilogueGrad(g, y, p);
    return [...gradRules.matmul(gp, [a!, b!], y, {}), bias!.requiresGrad ? ops.sum(gp, [0, 1]) : null];
  },
  // conv2dGradInput(dy, w) is bilinear: its adjoints are a convolution and a weight gradient.
  conv2dGradInput: (g, [dy, w], _y, p) => [
    dy!.requiresGrad ? run('conv2d', [g, w!], convOnly(p)) : null,
    w!.requiresGrad
      ? run('conv2dGradWeight', [g, dy!], { ...convOnly(p), weightShape: w!.shape as [number, number, number, number] })
      : null,
  ],
  conv2dGradWeight: (g, [x, dy], _y, p) => [
    x!.requiresGrad
      ? run('conv2dGradInput', [dy!, g], { ...convOnly(p), inputShape: x!.shape as [number, number, number, number] })
      : null,
    dy!.requiresGrad ? run('conv2d', [x!, g], convOnly(p)) : null,
  ],
  // Linear in dy with a fixed mask (the mask's derivative in y is 0 wherever it exists):
  // the adjoints of conv2dGradInput and conv2dGradWeight, through the same mask.
  conv2dGradInputAct: (g, [dy, w, y], _out, p) => [
    dy!.requiresGrad ? epilogueGrad(run('conv2d', [g, w!], convOnly(p)), y!, p) : null,
    w!.requiresGrad
      ? run('conv2dGradWeight', [g, epilogueGrad(dy!, y!, p)], {
          ...convOnly(p),
          weightShape: w!.shape as [number, number, number, number],
        })
      : null,
    null,
  ],
  conv2dGradWeightAct: (g, [x, dy, y], _out, p) => [
    x!.requiresGrad
      ? run('conv2dGradInput', [epilogueGrad(dy!, y!, p), g], {
          ...convOnly(p),
          inputShape: x!.shape as [number, number, number, number],
        })
      : null,
    dy!.requiresGrad ? epilogueGrad(run('conv2d', [x!, g], convOnly(p)), y!, p) : null,
    null,
  ],
  // The sum's rule (g broadcast back over the summed axes), through the same mask.
  biasActGrad: (g, [dy, y], out, p) => [
    dy!.requiresGrad
      ? epilogueGrad(
          gradRules.sum(g, [dy!], out, { axes: biasGradAxes(dy!.shape.length, p.axis), keepDims: false })[0]!,
          y!,
          p,
        )
      : null,
    null,
  ],
  maxPool2d: (g, [x], _y, p) => [run('maxPool2dGrad', [x!, g], p)],
  maxPool2dGrad: (_g, _inputs, _y, p: Pool2dParams) => {
    throw new UnsupportedError(
      `second derivative through maxPool2d (kernel ${p.kernel.join('x')}) is not supported; backward with createGraph works for every other primitive`,
    );
  },
  avgPool2d: (g, [x], _y, p) => [
    run('avgPool2dGrad', [g], { ...p, inputShape: x!.shape as [number, number, number, number] }),
  ],
  // avgPool2dGrad is the adjoint of the linear map avgPool2d, so its own adjoint is avgPool2d.
  avgPool2dGrad: (g, _inputs, _y, p) => [run('avgPool2d', [g], poolOnly(p))],
};
