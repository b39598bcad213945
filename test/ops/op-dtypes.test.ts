/**
 * Each primitive's declared dtypes (`opDefs[op].dtypes`, which `tsgrad ops` and the README
 * table print) are the truth: for every op and every dtype,
 *   - `infer` accepts the op's inputs in exactly the declared dtypes and refuses every other
 *     one with a DTypeError that names the op;
 *   - the cpu kernel runs every declared dtype through the dispatcher (cpu is total), and its
 *     result has the dtype `infer` promised.
 * One probe row per primitive gives shapes and parameters that fit it; a last test fails when
 * an op has no row.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DType, DTypeError, type OpName, opDefs, setBackend, getBackend, tensor } from '../../src/index.js';
import { ALL_DTYPES, type OpParams, type TensorMeta } from '../../src/core/ops.js';
import { run } from '../../src/tensor/dispatch.js';

interface Probe<K extends OpName = OpName> {
  shapes: number[][];
  params: OpParams[K];
  /** Inputs that keep their own dtype whatever the probed one (where's bool condition). */
  fixed?: Record<number, DType>;
}

const none = {} as Record<string, never>;
const conv = { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 } as const;
const pool = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false } as const;
const avg = { ...pool, countIncludePad: true } as const;
const unary = { shapes: [[2, 3]], params: none };
const binary = {
  shapes: [
    [2, 3],
    [2, 3],
  ],
  params: none,
};

const probes: { [K in OpName]: Probe<K> } = {
  neg: unary,
  exp: unary,
  log: unary,
  sqrt: unary,
  abs: unary,
  sign: unary,
  relu: unary,
  sigmoid: unary,
  tanh: unary,
  add: binary,
  sub: binary,
  mul: binary,
  div: binary,
  maximum: binary,
  minimum: binary,
  pow: binary,
  reluBackward: binary,
  compare: {
    shapes: [
      [2, 3],
      [2, 3],
    ],
    params: { op: 'lt' },
  },
  where: {
    shapes: [
      [2, 3],
      [2, 3],
      [2, 3],
    ],
    params: none,
    fixed: { 0: 'bool' },
  },
  cast: { shapes: [[2, 3]], params: { dtype: 'float32' } },
  sum: { shapes: [[2, 3]], params: { axes: [1], keepDims: false } },
  max: { shapes: [[2, 3]], params: { axes: [0], keepDims: true } },
  argmax: { shapes: [[2, 3]], params: { axis: 1, keepDims: false } },
  logSoftmax: { shapes: [[2, 3]], params: { axis: 1 } },
  reshape: { shapes: [[2, 3]], params: { shape: [3, 2] } },
  permute: { shapes: [[2, 3]], params: { perm: [1, 0] } },
  expand: { shapes: [[1, 3]], params: { shape: [2, 3] } },
  slice: { shapes: [[2, 3]], params: { starts: [0, 1], ends: [2, 3], steps: [1, 1] } },
  contiguous: unary,
  pad: {
    shapes: [[2, 3]],
    params: {
      pads: [
        [0, 1],
        [1, 0],
      ],
      value: 0,
    },
  },
  concat: {
    shapes: [
      [2, 3],
      [1, 3],
    ],
    params: { axis: 0 },
  },
  matmul: {
    shapes: [
      [1, 2, 3],
      [1, 3, 4],
    ],
    params: none,
  },
  conv2d: {
    shapes: [
      [1, 2, 4, 4],
      [3, 2, 3, 3],
    ],
    params: conv,
  },
  conv2dBiasAct: {
    shapes: [[1, 2, 4, 4], [3, 2, 3, 3], [3]],
    params: { ...conv, activation: 'relu', negativeSlope: 0.01 },
  },
  matmulBiasAct: {
    shapes: [[1, 2, 3], [1, 3, 4], [4]],
    params: { activation: 'leakyRelu', negativeSlope: 0.1 },
  },
  conv2dGradInput: {
    shapes: [
      [1, 3, 2, 2],
      [3, 2, 3, 3],
    ],
    params: { ...conv, inputShape: [1, 2, 4, 4] },
  },
  conv2dGradWeight: {
    shapes: [
      [1, 2, 4, 4],
      [1, 3, 2, 2],
    ],
    params: { ...conv, weightShape: [3, 2, 3, 3] },
  },
  conv2dGradInputAct: {
    shapes: [
      [1, 3, 2, 2],
      [3, 2, 3, 3],
      [1, 3, 2, 2],
    ],
    params: { ...conv, inputShape: [1, 2, 4, 4], activation: 'relu', negativeSlope: 0.01 },
  },
  conv2dGradWeightAct: {
    shapes: [
      [1, 2, 4, 4],
      [1, 3, 2, 2],
      [1, 3, 2, 2],
    ],
    params: { ...conv, weightShape: [3, 2, 3, 3], activation: 'leakyRelu', negativeSlope: 0.1 },
  },
  biasActGrad: {
    shapes: [
      [1, 3, 2, 2],
      [1, 3, 2, 2],
    ],
    params: { axis: 1, activation: 'relu', negativeSlope: 0.01 },
  },
  maxPool2d: { shapes: [[1, 2, 4, 4]], params: pool },
  maxPool2dGrad: {
    shapes: [
      [1, 2, 4, 4],
      [1, 2, 2, 2],
    ],
    params: pool,
  },
  avgPool2d: { shapes: [[1, 2, 4, 4]], params: avg },
  avgPool2dGrad: { shapes: [[1, 2, 2, 2]], params: { ...avg, inputShape: [1, 2, 4, 4] } },
};

function dtypesOf(probe: Probe, dtype: DType): DType[] {
  return probe.shapes.map((_, i) => probe.fixed?.[i] ?? dtype);
}

function inputTensor(shape: number[], dtype: DType) {
  const n = shape.reduce((a, b) => a * b, 1);
  // 1 + i % 3: positive (log, sqrt, pow take it), nonzero (div), and a valid bool (0/1 after % 2).
  const values = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? i % 2 : 1 + (i % 3)));
  return tensor(values, { shape, dtype });
}

const ops = Object.keys(opDefs) as OpName[];

describe('op dtypes: infer accepts exactly the declared dtypes', () => {
  for (const op of ops) {
    const probe = probes[op] as Probe | undefined;
    if (!probe) continue;
    for (const dtype of ALL_DTYPES) {
      const declared = opDefs[op].dtypes.includes(dtype);
      test(`${op} ${dtype}: ${declared ? 'accepted' : 'refused'}`, () => {
        const metas: TensorMeta[] = probe.shapes.map((shape, i) => ({ shape, dtype: dtypesOf(probe, dtype)[i]! }));
        const infer = (): TensorMeta =>
          (opDefs[op].infer as (m: TensorMeta[], p: unknown) => TensorMeta)(metas, probe.params);
        if (declared) {
          assert.doesNotThrow(infer);
        } else {
          assert.throws(infer, (e: unknown) => e instanceof DTypeError && new RegExp(`\\b${op}\\b`).test(e.message));
        }
      });
    }
  }
});

describe('op dtypes: the cpu kernel runs every declared dtype', () => {
  for (const op of ops) {
    const probe = probes[op] as Probe | undefined;
    if (!probe || opDefs[op].view) continue;
    for (const dtype of opDefs[op].dtypes) {
      test(`${op} ${dtype} on cpu`, () => {
        const previous = getBackend().name;
        setBackend('cpu');
        try {
          const dts = dtypesOf(probe, dtype);
          const inputs = probe.shapes.map((shape, i) => inputTensor(shape, dts[i]!));
          const expected = (opDefs[op].infer as (m: TensorMeta[], p: unknown) => TensorMeta)(inputs, probe.params);
          const y = run(op, inputs, probe.params as never);
          assert.equal(y.dtype, expected.dtype);
          assert.deepEqual([...y.shape], [...expected.shape]);
          const values = y.dataSync();
          assert.equal(
            values.length,
            expected.shape.reduce((a, b) => a * b, 1),
          );
        } finally {
          setBackend(previous);
        }
      });
    }
  }
});

test('every primitive has a dtype probe row', () => {
  const missing = ops.filter((op) => !(op in probes));
  assert.deepEqual(missing, [], `ops without a probe row: ${missing.join(', ')}`);
});
