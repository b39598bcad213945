/**
 * The ONNX importer's operators, one small graph each, against onnxruntime-node:
 * Conv with every attribute (auto_pad SAME_UPPER / SAME_LOWER / VALID, groups,
 * dilations, asymmetric pads), ConvTranspose, Gemm, MatMul, broadcasting
 * arithmetic, the activations, the pools (ceil_mode, count_include_pad), the
 * normalizations, and the shape and data-movement operators.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { Generator, fromArray, importOnnx, noGrad } from '../../src/index.js';
import { ONNX_ATTR, ONNX_DTYPE, encodeModel } from '../../src/interop/onnx-proto.js';

type Attr = number | number[] | string;

interface Case {
  name: string;
  op: string;
  attrs?: Record<string, Attr>;
  /** Shapes of the float inputs after the data input: initializers, random. */
  weights?: number[][];
  /** int64 initializers (shape and axes inputs). */
  ints?: number[][];
  /** Order of the node's inputs: 'x', 'w0'..., 'i0'..., or '' for an absent optional input. */
  inputs?: string[];
  input: number[];
  outputs?: number;
}

function attr(name: string, v: Attr) {
  if (typeof v === 'string') return { name, type: ONNX_ATTR.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: ONNX_ATTR.INTS, ints: v };
  return Number.isInteger(v) && !['alpha', 'beta', 'epsilon', 'bias', 'min', 'max'].includes(name)
    ? { name, type: ONNX_ATTR.INT, i: v }
    : { name, type: ONNX_ATTR.FLOAT, f: v };
}

const g = new Generator(13);
function random(n: number, positive = false): Float32Array {
  return Float32Array.from({ length: n }, () => (positive ? 0.5 + g.uniform() : g.uniform() * 2 - 1));
}

async function build(c: Case): Promise<{ bytes: Uint8Array; x: Float32Array }> {
  const initializer: unknown[] = [];
  (c.weights ?? []).forEach((shape, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    // Variances (BatchNormalization's 5th input) must be positive.
    const data = random(n, c.op === 'BatchNormalization' && k === 3);
    initializer.push({ name: `w${k}`, dims: shape, dataType: ONNX_DTYPE.FLOAT, rawData: new Uint8Array(data.buffer) });
  });
  (c.ints ?? []).forEach((values, k) => {
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    initializer.push({
      name: `i${k}`,
      dims: [values.length],
      dataType: ONNX_DTYPE.INT64,
      rawData: new Uint8Array(data.buffer),
    });
  });
  const inputs = c.inputs ?? [
    'x',
    ...(c.weights ?? []).map((_, k) => `w${k}`),
    ...(c.ints ?? []).map((_, k) => `i${k}`),
  ];
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, k) => (k === 0 ? 'output' : `output${k}`));
  const bytes = await encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: c.name,
      node: [
        {
          opType: c.op,
          name: c.name,
          input: inputs,
          output: outs,
          attribute: Object.entries(c.attrs ?? {}).map(([k, v]) => attr(k, v)),
        },
      ],
      initializer,
      input: [
        {
          name: 'x',
          type: { tensorType: { elemType: ONNX_DTYPE.FLOAT, shape: { dim: c.input.map((d) => ({ dimValue: d })) } } },
        },
      ],
      output: outs.map((name) => ({ name, type: { tensorType: { elemType: ONNX_DTYPE.FLOAT } } })),
    },
  });
  return { bytes, x: random(c.input.reduce((a, b) => a * b, 1)) };
}

const conv = (attrs: Record<string, Attr>, input = [2, 4, 7, 8], w = [6, 4, 3, 3]): Partial<Case> => ({
  op: 'Conv',
  attrs,
  weights: [w, [w[0]!]],
  input,
});

const CASES: Case[] = [
  { name: 'conv-pads', ...conv({ pads: [1, 0, 2, 1], strides: [2, 1] }) } as Case,
  { name: 'conv-same-upper', ...conv({ auto_pad: 'SAME_UPPER', strides: [2, 2] }, [1, 4, 7, 8], [6, 4, 4, 4]) } as Case,
  { name: 'conv-same-lower', ...conv({ auto_pad: 'SAME_LOWER', strides: [2, 3] }, [1, 4, 7, 8], [6, 4, 4, 2]) } as Case,
  { name: 'conv-valid-dilated', ...conv({ auto_pad: 'VALID', dilations: [2, 2] }) } as Case,
  { name: 'conv-groups', ...conv({ group: 2, pads: [1, 1, 1, 1] }, [2, 4, 6, 6], [6, 2, 3, 3]) } as Case,
  {
    name: 'conv-transpose',
    op: 'ConvTranspose',
    attrs: { strides: [2, 2], pads: [1, 0, 0, 1], output_padding: [1, 0] },
    weights: [[4, 3, 3, 3], [3]],
    input: [2, 4, 5, 5],
  },
  {
    name: 'conv-transpose-groups-same',
    op: 'ConvTranspose',
    attrs: { strides: [2, 2], group: 2, auto_pad: 'SAME_UPPER' },
    weights: [[4, 2, 3, 3]],
    input: [1, 4, 4, 4],
  },
  {
    name: 'gemm',
    op: 'Gemm',
    attrs: { transB: 1, alpha: 0.5, beta: 2 },
    weights: [[5, 6], [5]],
    input: [3, 6],
  },
  { name: 'gemm-transA', op: 'Gemm', attrs: { transA: 1 }, weights: [[4, 5]], input: [4, 3] },
  { name: 'matmul', op: 'MatMul', weights: [[6, 5]], input: [2, 3, 6] },
  { name: 'add-broadcast', op: 'Add', weights: [[3, 1, 1]], input: [2, 3, 4, 4] },
  { name: 'sub', op: 'Sub', weights: [[4]], input: [2, 3, 4] },
  { name: 'mul', op: 'Mul', weights: [[1, 3, 1]], input: [2, 3, 4] },
  { name: 'div', op: 'Div', weights: [[2, 1, 4]], input: [2, 3, 4] },
  { name: 'relu', op: 'Relu', input: [2, 3, 4] },
  { name: 'leaky-relu', op: 'LeakyRelu', attrs: { alpha: 0.2 }, input: [2, 3, 4] },
  { name: 'prelu', op: 'PRelu', weights: [[3, 1, 1]], input: [2, 3, 4, 4] },
  { name: 'elu', op: 'Elu', attrs: { alpha: 0.7 }, input: [2, 3, 4] },
  { name: 'sigmoid', op: 'Sigmoid', input: [2, 3, 4] },
  { name: 'tanh', op: 'Tanh', input: [2, 3, 4] },
  { name: 'softmax', op: 'Softmax', attrs: { axis: 1 }, input: [2, 5, 3] },
  { name: 'log-softmax', op: 'LogSoftmax', input: [2, 5] },
  { name: 'clip', op: 'Clip', weights: [[], []], input: [2, 3, 4] },
  {
    name: 'max-pool-ceil',
    op: 'MaxPool',
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
    input: [1, 2, 8, 9],
  },
  {
    name: 'max-pool-same-upper',
    op: 'MaxPool',
    attrs: { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_UPPER' },
    input: [1, 2, 7, 7],
  },
  {
    name: 'avg-pool-exclude-pad',
    op: 'AveragePool',
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0, ceil_mode: 1 },
    input: [1, 2, 8, 9],
  },
  {
    name: 'avg-pool-include-pad',
    op: 'AveragePool',
    attrs: { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], count_include_pad: 1 },
    input: [1, 2, 5, 5],
  },
  {
    name: 'avg-pool-asymmetric',
    op: 'AveragePool',
    attrs: { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_UPPER' },
    input: [1, 2, 5, 5],
  },
  { name: 'global-average-pool', op: 'GlobalAveragePool', input: [2, 3, 4, 5] },
  { name: 'global-max-pool', op: 'GlobalMaxPool', input: [2, 3, 4, 5] },
  {
    name: 'batch-normalization',
    op: 'BatchNormalization',
    attrs: { epsilon: 1e-3 },
    weights: [[3], [3], [3], [3]],
    input: [2, 3, 4, 4],
  },
  {
    name: 'instance-normalization',
    op: 'InstanceNormalization',
    attrs: { epsilon: 1e-4 },
    weights: [[3], [3]],
    input: [2, 3, 4, 4],
  },
  { name: 'lrn', op: 'LRN', attrs: { size: 3, alpha: 1e-2, beta: 0.75, bias: 2 }, input: [2, 5, 3, 3] },
  { name: 'dropout', op: 'Dropout', input: [2, 3] },
  { name: 'flatten', op: 'Flatten', attrs: { axis: 2 }, input: [2, 3, 4, 5] },
  { name: 'reshape', op: 'Reshape', ints: [[0, -1, 2]], input: [2, 3, 4] },
  { name: 'transpose', op: 'Transpose', attrs: { perm: [0, 2, 3, 1] }, input: [2, 3, 4, 5] },
  { name: 'concat', op: 'Concat', attrs: { axis: 1 }, weights: [[2, 2, 4]], input: [2, 3, 4] },
  { name: 'pad', op: 'Pad', ints: [[0, 0, 1, 2, 0, 0, 3, -1]], inputs: ['x', 'i0'], input: [1, 2, 4, 4] },
  { name: 'identity', op: 'Identity', input: [2, 3] },
  { name: 'reduce-mean', op: 'ReduceMean', attrs: { axes: [1, 3], keepdims: 0 }, input: [2, 3, 4, 5] },
  { name: 'reduce-max', op: 'ReduceMax', attrs: { axes: [-1], keepdims: 1 }, input: [2, 3, 4] },
  {
    name: 'slice',
    op: 'Slice',
    ints: [
      [1, 0],
      [-1, 100],
      [1, 2],
      [1, 2],
    ],
    input: [2, 4, 6],
  },
  { name: 'slice-reverse', op: 'Slice', ints: [[-1], [-100], [2], [-1]], input: [2, 3, 5] },
  { name: 'split', op: 'Split', attrs: { axis: 1 }, ints: [[1, 3]], outputs: 2, input: [2, 4, 3] },
  { name: 'squeeze', op: 'Squeeze', ints: [[1]], input: [2, 1, 3] },
  { name: 'unsqueeze', op: 'Unsqueeze', ints: [[0, 3]], input: [2, 3] },
];

for (const c of CASES) {
  test(`${c.op} (${c.name}) matches onnxruntime`, async () => {
    const { bytes, x } = await build(c);
    const session = await ort.InferenceSession.create(bytes);
    const want = await session.run({ x: new ort.Tensor('float32', x, c.input) });
    const model = await importOnnx(bytes, { name: `${c.name}.onnx` });
    model.eval();
    const got = noGrad(() => model.runAll({ x: fromArray(x, c.input) }));
    for (const name of Object.keys(want)) {
      const w = want[name]!;
      const y = got[name]!;
      assert.deepEqual([...y.shape], [...w.dims], `${name} shape`);
      const a = y.dataSync();
      const b = w.data as Float32Array;
      let diff = 0;
      let scale = 1e-6;
      b.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - a[i]!));
        scale = Math.max(scale, Math.abs(v));
      });
      assert.ok(diff / scale < 1e-5, `${name}: relative difference ${diff / scale}`);
    }
  });
}
