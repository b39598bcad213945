/**
 * ONNX export by tracing: one eval-mode forward pass runs under an op observer
 * that sees every primitive tsgrad dispatches (src/core/ops.ts), and each
 * primitive becomes one or a few ONNX nodes. Because every layer, block and
 * custom forward() ends in these primitives, any model tsgrad can run exports
 * without a per-layer exporter, and the graph computes exactly what the
 * forward pass computed.
 *
 * Parameters and buffers become initializers named by their state-dict keys;
 * tensors made inside forward() (scalars, constant matrices) become
 * initializers named `const.N`. The batch axis is followed through every op,
 * so shapes that contain the batch size (Reshape, Expand) are built from the
 * input's runtime shape and the exported graph takes any batch size.
 *
 * Opsets 13 to 17 are supported; the default is 13.
 */
import { type DType } from '../core/dtype.js';
import { ArgumentError, TsgradError, UnsupportedError } from '../core/errors.js';
import { type EpilogueParams, type OpName, type OpParams } from '../core/ops.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/layers/normalization.js';
import { type Module, interceptForward } from '../nn/module.js';
import { ones, zeros } from '../tensor/creation.js';
import { conv2dParams } from '../tensor/ops.js';
import { noGrad, observeOps } from '../tensor/dispatch.js';
import { observeDraws } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { ONNX_ATTR, ONNX_DTYPE, encodeModel } from './onnx-proto.js';

export interface ExportOnnxOptions {
  /** ONNX opset, 13 to 17 (default 13). */
  opset?: number;
  /** Make the first axis of the input and outputs a symbolic 'batch' dimension (default true). */
  dynamicBatch?: boolean;
  /** Name of the graph input (default 'input'). */
  inputName?: string;
  /** Name of the graph output, or of each output when forward() returns an object (default 'output'). */
  outputName?: string;
  /** Trace in training mode instead of eval mode (batch statistics); layers that draw random numbers are refused. */
  training?: boolean;
}

/** Largest int64 ONNX readers take for "to the end" in Slice. */
const INT64_MAX = Number.MAX_SAFE_INTEGER;

interface AttrObject {
  name: string;
  type: number;
  t?: TensorObject;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
}

interface NodeObject {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  attribute: AttrObject[];
}

interface TensorObject {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

const attrInt = (name: string, i: number): AttrObject => ({ name, type: ONNX_ATTR.INT, i });
const attrInts = (name: string, ints: readonly number[]): AttrObject => ({
  name,
  type: ONNX_ATTR.INTS,
  ints: [...ints],
});

export function onnxDtype(dtype: DType): number {
  switch (dtype) {
    case 'float32':
      return ONNX_DTYPE.FLOAT;
    case 'float64':
      return ONNX_DTYPE.DOUBLE;
    case 'int32':
      return ONNX_DTYPE.INT32;
    case 'bool':
      return ONNX_DTYPE.BOOL;
  }
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

function tensorBytes(t: Tensor): Uint8Array {
  const data = t.dataSync();
  if (t.dtype === 'bool') return Uint8Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0));
  return bytesOf(data);
}

/** Builds the ONNX graph while the forward pass runs. */
class GraphBuilder {
  readonly nodes: NodeObject[] = [];
  readonly initializers: TensorObject[] = [];
  private readonly names = new Map<Tensor, string>();
  private readonly batchAxes = new Map<Tensor, number | null>();
  private readonly paramNames: Map<Tensor, string>;
  private counter = 0;
  private constCounter = 0;
  private batchSizeValue: string | null = null;

  constructor(
    paramNames: Map<Tensor, string>,
    readonly dynamicBatch: boolean,
    readonly opset: number,
  ) {
    this.paramNames = paramNames;
  }

  setInput(t: Tensor, name: string): void {
    this.remember(t, name, 0);
  }

  /** Dotted path of the module whose forward() is running, for node names as torch.onnx writes them. */
  scope = '';

  fresh(hint: string): string {
    return `${this.scope ? `/${this.scope}` : ''}/${hint}_${this.counter++}`;
  }

  /** A node name: '/features.0/Conv' for a whole layer, '/classifier/Relu_12' for a primitive inside one. */
  private readonly usedNames = new Set<string>();

  private nodeName(opType: string, whole: boolean): string {
    const name =
      whole && this.scope && !this.usedNames.has(`/${this.scope}/${opType}`)
        ? `/${this.scope}/${opType}`
        : this.fresh(opType);
    this.usedNames.add(name);
    return name;
  }

  /** Set while recordLayer emits the node standing for a whole layer. */
  private wholeLayer = false;

  /** The ONNX value name of a tensor: a traced value, a parameter or buffer, or a new constant initializer. */
  /** Traced tensors by storage, to recognise a detach()ed copy (same storage and layout, no op) as the same value. */
  private readonly byStorage = new Map<unknown, Tensor[]>();

  private remember(t: Tensor, name: string, batchAxis: number | null): void {
    this.names.set(t, name);
    this.batchAxes.set(t, batchAxis);
    const list = this.byStorage.get(t.storage);
    if (list) list.push(t);
    else this.byStorage.set(t.storage, [t]);
  }

  private alias(t: Tensor): Tensor | undefined {
    return this.byStorage
      .get(t.storage)
      ?.find(
        (u) =>
          u.offset === t.offset &&
          u.dtype === t.dtype &&
          u.shape.length === t.shape.length &&
          u.shape.every((d, i) => d === t.shape[i] && u.strides[i] === t.strides[i]),
      );
  }

  valueOf(t: Tensor): string {
    const known = this.names.get(t);
    if (known !== undefined) return known;
    const same = this.alias(t);
    if (same) {
      const name = this.names.get(same)!;
      this.remember(t, name, this.batchAxis(same));
      return name;
    }
    let paramName = this.paramNames.get(t);
    if (paramName === undefined) {
      for (const [p, n] of this.paramNames) {
        if (
          p.storage === t.storage &&
          p.offset === t.offset &&
          p.shape.length === t.shape.length &&
          p.shape.every((d, i) => d === t.shape[i] && p.strides[i] === t.strides[i])
        ) {
          paramName = n;
          break;
        }
      }
    }
    const value: TensorObject = {
      name: paramName ?? '',
      dims: [...t.shape],
      dataType: onnxDtype(t.dtype),
      rawData: tensorBytes(t),
    };
    let name: string;
    if (paramName !== undefined) {
      this.initializers.push(value);
      name = paramName;
    } else {
      // Tensors made inside forward() are constants of the graph, not state: Constant nodes, as torch.onnx writes them.
      name = this.constantNode(value, `const_${this.constCounter++}`);
    }
    this.remember(t, name, null);
    return name;
  }

  batchAxis(t: Tensor): number | null {
    return this.batchAxes.get(t) ?? null;
  }

  private constantNode(value: TensorObject, hint: string): string {
    const out = this.fresh(hint);
    this.nodes.push({
      input: [],
      output: [out],
      name: this.fresh('Constant'),
      opType: 'Constant',
      attribute: [{ name: 'value', type: ONNX_ATTR.TENSOR, t: { ...value, name: '' } }],
    });
    return out;
  }

  int64Constant(values: readonly number[], hint: string): string {
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    return this.constantNode(
      { name: '', dims: [values.length], dataType: ONNX_DTYPE.INT64, rawData: bytesOf(data) },
      hint,
    );
  }

  node(opType: string, inputs: string[], attrs: AttrObject[] = [], outputName?: string): string {
    const out = outputName ?? this.fresh(`${opType}_out`);
    this.nodes.push({
      input: inputs,
      output: [out],
      name: this.nodeName(opType, this.wholeLayer),
      opType,
      attribute: attrs,
    });
    return out;
  }

  /** The input's batch size as a 1-element int64 tensor (built once from Shape). */
  private batchSize(inputName: string): string {
    if (this.batchSizeValue === null) {
      const shape = this.node('Shape', [inputName]);
      const starts = this.int64Constant([0], 'batch_start');
      const ends = this.int64Constant([1], 'batch_end');
      this.batchSizeValue = this.node('Slice', [shape, starts, ends], [], 'batch_size');
    }
    return this.batchSizeValue;
  }

  /** A target shape for Reshape: constant, or with the runtime batch size at `axis`. */
  shapeValue(shape: readonly number[], axis: number | null, inputName: string, hint: string): string {
    if (axis === null || !this.dynamicBatch) return this.int64Constant(shape, hint);
    const parts: string[] = [];
    if (axis > 0) parts.push(this.int64Constant(shape.slice(0, axis), `${hint}_head`));
    parts.push(this.batchSize(inputName));
    if (axis < shape.length - 1) parts.push(this.int64Constant(shape.slice(axis + 1), `${hint}_tail`));
    return this.node('Concat', parts, [attrInt('axis', 0)]);
  }

  inputName = 'input';

  /** Set while the builder reads a constant's values, which may itself dispatch a copy. */
  private reading = false;

  /** Above 0 while a whole layer is being exported as one node: its inner primitives are not recorded. */
  suppressed = 0;

  /** Maps a layer's output to a node standing for the whole layer. */
  recordLayer(x: Tensor, out: Tensor, emit: (input: string) => string): void {
    const input = this.valueOf(x);
    this.wholeLayer = true;
    let name: string;
    try {
      name = emit(input);
    } finally {
      this.wholeLayer = false;
    }
    this.remember(out, name, this.batchAxis(x));
  }

  record(op: OpName, inputs: readonly Tensor[], params: OpParams[OpName], out: Tensor): void {
    if (this.reading || this.suppressed > 0) return;
    this.reading = true;
    let ins: string[];
    try {
      ins = inputs.map((t) => this.valueOf(t));
    } finally {
      this.reading = false;
    }
    const axes = inputs.map((t) => this.batchAxis(t));
    const { name, batchAxis } = this.emit(op, inputs, ins, axes, params, out);
    this.remember(out, name, batchAxis);
  }

  private emit(
    op: OpName,
    inputs: readonly Tensor[],
    ins: string[],
    axes: (number | null)[],
    params: OpParams[OpName],
    out: Tensor,
  ): { name: string; batchAxis: number | null } {
    const x = inputs[0]!;
    const ax = axes[0] ?? null;
    const same = (onnxOp: string, attrs: AttrObject[] = []) => ({ name: this.node(onnxOp, ins, attrs), batchAxis: ax });
    const broadcastAxis = (): number | null => {
      for (let i = 0; i < inputs.length; i++) {
        const a = axes[i];
        if (a !== null && a !== undefined) return a + (out.rank - inputs[i]!.rank);
      }
      return null;
    };
    const elementwise = (onnxOp: string) => ({ name: this.node(onnxOp, ins), batchAxis: broadcastAxis() });
    switch (op) {
      case 'neg':
        return same('Neg');
      case 'exp':
        return same('Exp');
      case 'log':
        return same('Log');
      case 'sqrt':
        return same('Sqrt');
      case 'abs':
        return same('Abs');
      case 'sign':
        return same('Sign');
      case 'relu':
        return same('Relu');
      case 'sigmoid':
        return same('Sigmoid');
      case 'tanh':
        return same('Tanh');
      case 'contiguous':
        return same('Identity');
      case 'add':
        return elementwise('Add');
      case 'sub':
        return elementwise('Sub');
      case 'mul':
        return elementwise('Mul');
      case 'div':
        return elementwise('Div');
      case 'maximum':
        return elementwise('Max');
      case 'minimum':
        return elementwise('Min');
      case 'pow':
        return elementwise('Pow');
      case 'where':
        return elementwise('Where');
      case 'compare': {
        const cmp = (params as OpParams['compare']).op;
        const onnxOp = { eq: 'Equal', ne: 'Equal', lt: 'Less', le: 'LessOrEqual', gt: 'Greater', ge: 'GreaterOrEqual' }[
          cmp
        ];
        const r = this.node(onnxOp, ins);
        return { name: cmp === 'ne' ? this.node('Not', [r]) : r, batchAxis: broadcastAxis() };
      }
      case 'cast':
        return same('Cast', [attrInt('to', onnxDtype((params as OpParams['cast']).dtype))]);
      case 'sum':
      case 'max': {
        const p = params as OpParams['sum'];
        const reduced = ax !== null && p.axes.includes(ax);
        const batchAxis = reduced || ax === null ? null : p.keepDims ? ax : ax - p.axes.filter((a) => a < ax).length;
        if (p.axes.length === 0) return { name: this.node('Identity', ins), batchAxis: ax };
        const keep = attrInt('keepdims', p.keepDims ? 1 : 0);
        if (op === 'sum' || this.opset >= 18) {
          const axesValue = this.int64Constant(p.axes, 'axes');
          return { name: this.node(op === 'sum' ? 'ReduceSum' : 'ReduceMax', [ins[0]!, axesValue], [keep]), batchAxis };
        }
        return { name: this.node('ReduceMax', ins, [attrInts('axes', p.axes), keep]), batchAxis };
      }
      case 'logSoftmax':
        return same('LogSoftmax', [attrInt('axis', (params as OpParams['logSoftmax']).axis)]);
      case 'argmax': {
        const p = params as OpParams['argmax'];
        const i64 = this.node('ArgMax', ins, [attrInt('axis', p.axis), attrInt('keepdims', p.keepDims ? 1 : 0)]);
        const batchAxis = ax === null || ax === p.axis ? null : p.keepDims || ax < p.axis ? ax : ax - 1;
        return { name: this.node('Cast', [i64], [attrInt('to', ONNX_DTYPE.INT32)]), batchAxis };
      }
      case 'reshape': {
        const shape = out.shape;
        let batchAxis: number | null = null;
        if (ax !== null) {
          const prefix = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
          let p = 1;
          for (let j = 0; j < shape.length; j++) {
            if (p === prefix && shape[j] === x.shape[ax]) {
              batchAxis = j;
              break;
            }
            p *= shape[j]!;
          }
          if (batchAxis === null)
            this.refuseBatch(`reshape ${x.shape.join('x')} -> ${shape.join('x')} mixes the batch axis with others`);
        }
        const target = this.shapeValue(shape, batchAxis, this.inputName, 'shape');
        return { name: this.node('Reshape', [ins[0]!, target]), batchAxis };
      }
      case 'permute': {
        const perm = (params as OpParams['permute']).perm;
        return {
          name: this.node('Transpose', ins, [attrInts('perm', perm)]),
          batchAxis: ax === null ? null : perm.indexOf(ax),
        };
      }
      case 'expand': {
        const shape = [...out.shape];
        const offset = out.rank - x.rank;
        // Broadcasting keeps the input's own size where the target says 1, so the batch size needs no runtime shape.
        const batchAxis = ax === null ? null : ax + offset;
        if (batchAxis !== null) shape[batchAxis] = 1;
        return { name: this.node('Expand', [ins[0]!, this.int64Constant(shape, 'expand_shape')]), batchAxis };
      }
      case 'slice': {
        const p = params as OpParams['slice'];
        const sliceAxes: number[] = [];
        const starts: number[] = [];
        const ends: number[] = [];
        const steps: number[] = [];
        x.shape.forEach((d, i) => {
          if (p.starts[i] === 0 && p.ends[i]! >= d && p.steps[i] === 1) return;
          if (i === ax) this.refuseBatch('a slice of the batch axis');
          sliceAxes.push(i);
          starts.push(p.starts[i]!);
          ends.push(p.steps[i]! < 0 && p.ends[i]! < 0 ? -INT64_MAX : p.ends[i]!);
          steps.push(p.steps[i]!);
        });
        if (sliceAxes.length === 0) return same('Identity');
        const inputsForSlice = [
          ins[0]!,
          this.int64Constant(starts, 'starts'),
          this.int64Constant(ends, 'ends'),
          this.int64Constant(sliceAxes, 'axes'),
          this.int64Constant(steps, 'steps'),
        ];
        return { name: this.node('Slice', inputsForSlice), batchAxis: ax };
      }
      case 'pad': {
        const p = params as OpParams['pad'];
        if (ax !== null && (p.pads[ax]![0] !== 0 || p.pads[ax]![1] !== 0))
          this.refuseBatch('padding of the batch axis');
        const pads = [...p.pads.map((q) => q[0]), ...p.pads.map((q) => q[1])];
        const valueTensor = this.scalarConstant(p.value, x.dtype);
        return {
          name: this.node(
            'Pad',
            [ins[0]!, this.int64Constant(pads, 'pads'), valueTensor],
            [{ name: 'mode', type: ONNX_ATTR.STRING, s: new TextEncoder().encode('constant') }],
          ),
          batchAxis: ax,
        };
      }
      case 'concat': {
        const axis = (params as OpParams['concat']).axis;
        const batchAxis = axes.find((a) => a !== null) ?? null;
        if (batchAxis !== null && batchAxis === axis) this.refuseBatch('a concatenation along the batch axis');
        return { name: this.node('Concat', ins, [attrInt('axis', axis)]), batchAxis };
      }
      case 'matmul': {
        const bAxis = axes[1] ?? null;
        let batchAxis: number | null = null;
        if (ax !== null) {
          if (ax === 2) this.refuseBatch('a matrix product that sums over the batch axis');
          batchAxis = ax;
        } else if (bAxis !== null) {
          if (bAxis === 1) this.refuseBatch('a matrix product that sums over the batch axis');
          batchAxis = bAxis;
        }
        return { name: this.node('MatMul', ins), batchAxis };
      }
      case 'matmulBiasAct': {
        const p = params as OpParams['matmulBiasAct'];
        const product = this.emit('matmul', inputs.slice(0, 2), ins.slice(0, 2), axes.slice(0, 2), {}, out);
        // The bias [N] broadcasts along the last axis, as ONNX's Add does.
        const biased = this.node('Add', [product.name, ins[2]!]);
        return { name: this.activation(biased, p), batchAxis: product.batchAxis };
      }
      case 'conv2dBiasAct': {
        const p = params as OpParams['conv2dBiasAct'];
        // Conv takes the bias [M] as its third input.
        const conv = this.emit('conv2d', inputs, ins, axes, p, out);
        return { name: this.activation(conv.name, p), batchAxis: conv.batchAxis };
      }
      case 'conv2d': {
        const p = params as OpParams['conv2d'];
        const w = inputs[1]!;
        return {
          name: this.node('Conv', ins, [
            attrInts('kernel_shape', [w.shape[2]!, w.shape[3]!]),
            attrInts('strides', p.stride),
            attrInts('pads', [p.padding[0], p.padding[2], p.padding[1], p.padding[3]]),
            attrInts('dilations', p.dilation),
            attrInt('group', p.groups),
          ]),
          batchAxis: ax,
        };
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const p = params as OpParams['avgPool2d'];
        const attrs = [
          attrInts('kernel_shape', p.kernel),
          attrInts('strides', p.stride),
          attrInts('pads', [p.padding[0], p.padding[1], p.padding[0], p.padding[1]]),
          attrInt('ceil_mode', p.ceilMode ? 1 : 0),
        ];
        if (op === 'maxPool2d') return same('MaxPool', [...attrs, attrInts('dilations', p.dilation)]);
        if (p.dilation[0] !== 1 || p.dilation[1] !== 1) {
          throw new UnsupportedError('ONNX export: AveragePool has no dilation before opset 19');
        }
        return same('AveragePool', [...attrs, attrInt('count_include_pad', p.countIncludePad ? 1 : 0)]);
      }
      case 'conv2dGradInput': {
        // A transposed convolution (ConvTranspose2d runs this primitive): the conv weight is ConvTranspose's weight.
        const p = params as OpParams['conv2dGradInput'];
        const w = inputs[1]!;
        const [kh, kw] = [w.shape[2]!, w.shape[3]!];
        const span = (size: number, i: 0 | 1, k: number, before: number, after: number) =>
          (size - 1) * p.stride[i] + p.dilation[i] * (k - 1) + 1 - before - after;
        const outputPadding = [
          p.inputShape[2] - span(x.shape[2]!, 0, kh, p.padding[0], p.padding[1]),
          p.inputShape[3] - span(x.shape[3]!, 1, kw, p.padding[2], p.padding[3]),
        ];
        return same('ConvTranspose', [
          attrInts('kernel_shape', [kh, kw]),
          attrInts('strides', p.stride),
          attrInts('pads', [p.padding[0], p.padding[2], p.padding[1], p.padding[3]]),
          attrInts('dilations', p.dilation),
          attrInts('output_padding', outputPadding),
          attrInt('group', p.groups),
        ]);
      }
      case 'conv2dGradWeight':
      case 'conv2dGradInputAct':
      case 'conv2dGradWeightAct':
      case 'biasActGrad':
      case 'maxPool2dGrad':
      case 'avgPool2dGrad':
      case 'reluBackward':
        throw new UnsupportedError(`ONNX export: the gradient op ${op} ran in the forward pass`);
    }
  }

  /** The fused epilogue's activation as its own node after `input` (none: `input` itself). */
  private activation(input: string, p: EpilogueParams): string {
    if (p.activation === 'relu') return this.node('Relu', [input]);
    if (p.activation === 'leakyRelu') {
      return this.node('LeakyRelu', [input], [{ name: 'alpha', type: ONNX_ATTR.FLOAT, f: p.negativeSlope }]);
    }
    return input;
  }

  private scalarConstant(value: number, dtype: DType): string {
    const arr =
      dtype === 'float64'
        ? new Float64Array([value])
        : dtype === 'int32'
          ? new Int32Array([value])
          : new Float32Array([value]);
    return this.constantNode({ name: '', dims: [], dataType: onnxDtype(dtype), rawData: bytesOf(arr) }, 'pad_value');
  }

  private refuseBatch(what: string): void {
    if (this.dynamicBatch) {
      throw new UnsupportedError(
        `ONNX export: the model does ${what}, so its batch size cannot stay dynamic; export with { dynamicBatch: false }`,
      );
    }
  }

  nameOf(t: Tensor): string {
    return this.valueOf(t);
  }
}

/**
 * Layers exported as one ONNX node each (the node torch.onnx writes for them) instead
 * of their primitives: the same numbers, a graph other tools recognise, and
 * BatchNormalization keeps the running statistics apart from the trained parameters.
 */
function layerExporter(
  m: Module,
  b: GraphBuilder,
  training: boolean,
  x: Tensor,
): ((x: Tensor, out: Tensor) => void) | null {
  if ((m.constructor === BatchNorm2d || m.constructor === BatchNorm1d) && !training) {
    const bn = m as BatchNorm2d;
    if (!bn.trackRunningStats || x.rank < 2) return null;
    return (x, out) => {
      const mean = bn.buffer('running_mean');
      const variance = bn.buffer('running_var');
      const scale = bn.weight ?? ones([bn.numFeatures], { backend: x.backend });
      const shift = bn.bias ?? zeros([bn.numFeatures], { backend: x.backend });
      b.recordLayer(x, out, (input) =>
        b.node(
          'BatchNormalization',
          [input, b.valueOf(scale), b.valueOf(shift), b.valueOf(mean), b.valueOf(variance)],
          [
            { name: 'epsilon', type: ONNX_ATTR.FLOAT, f: bn.eps },
            { name: 'momentum', type: ONNX_ATTR.FLOAT, f: 1 - (bn.momentum ?? 0.1) },
          ],
        ),
      );
    };
  }
  if (m.constructor === Conv2d) {
    const conv = m as Conv2d;
    return (x, out) => {
      const p = conv2dParams(conv.kernelSize, conv.options);
      const ins = [b.valueOf(conv.weight), ...(conv.bias ? [b.valueOf(conv.bias)] : [])];
      b.recordLayer(x, out, (input) =>
        b.node(
          'Conv',
          [input, ...ins],
          [
            attrInts('kernel_shape', conv.kernelSize),
            attrInts('strides', p.stride),
            attrInts('pads', [p.padding[0], p.padding[2], p.padding[1], p.padding[3]]),
            attrInts('dilations', p.dilation),
            attrInt('group', p.groups),
          ],
        ),
      );
    };
  }
  if (m.constructor === Linear) {
    const fc = m as Linear;
    if (x.rank !== 2) return null;
    return (x, out) => {
      const ins = [b.valueOf(fc.weight), ...(fc.bias ? [b.valueOf(fc.bias)] : [])];
      b.recordLayer(x, out, (input) => b.node('Gemm', [input, ...ins], [attrInt('transB', 1)]));
    };
  }
  return null;
}

function collectOutputs(out: unknown, base: string): [string, Tensor][] {
  if (out instanceof Tensor) return [[base, out]];
  if (Array.isArray(out) && out.every((t) => t instanceof Tensor)) {
    return out.map((t: Tensor, i) => [`${base}_${i}`, t]);
  }
  if (out && typeof out === 'object') {
    const entries = Object.entries(out).filter((e): e is [string, Tensor] => e[1] instanceof Tensor);
    if (entries.length) return entries;
  }
  throw new ArgumentError('ONNX export: forward() must return a tensor, an array of tensors or an object of tensors');
}

/**
 * Traces `model` on `exampleInput` and returns the ONNX file's bytes (see exportOnnx).
 * @example const bytes = await exportOnnxBytes(net, randn([1, 1, 28, 28]));
 */
export async function exportOnnxBytes(
  model: Module,
  exampleInput: Tensor,
  opts: ExportOnnxOptions = {},
): Promise<Uint8Array> {
  const opset = opts.opset ?? 13;
  if (!Number.isInteger(opset) || opset < 13 || opset > 17) {
    throw new ArgumentError(`exportOnnx: opset must be an integer from 13 to 17, got ${opset}`);
  }
  const dynamicBatch = opts.dynamicBatch ?? true;
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'output';
  const paramNames = new Map<Tensor, string>();
  for (const [k, p] of model.namedParameters()) paramNames.set(p, k);
  for (const [k, b] of model.namedBuffers()) if (!paramNames.has(b)) paramNames.set(b, k);
  const modulePaths = new Map(model.namedModules().map(([path, m]) => [m, path] as const));
  const builder = new GraphBuilder(paramNames, dynamicBatch, opset);
  builder.inputName = inputName;
  // A fresh tensor object for the input, so that a parameter passed as input stays a parameter.
  const input = new Tensor(
    exampleInput.storage,
    exampleInput.shape,
    exampleInput.strides,
    exampleInput.offset,
    exampleInput.dtype,
    exampleInput.backend,
  );
  builder.setInput(input, inputName);
  const wasTraining = model.training;
  const training = opts.training ?? false;
  model.train(training);
  let outputs: [string, Tensor][];
  try {
    const result = noGrad(() =>
      observeDraws(
        () => {
          throw new UnsupportedError(
            'has no ONNX equivalent: it draws random numbers in this mode, which an ONNX graph cannot reproduce',
          );
        },
        () =>
          observeOps(
            (op, ins, params, out) => builder.record(op, ins, params, out),
            () =>
              interceptForward(
                (m, args, call) => {
                  const x = args[0];
                  if (!(x instanceof Tensor) || builder.suppressed > 0) return call();
                  const outer = builder.scope;
                  builder.scope = modulePaths.get(m) ?? outer;
                  try {
                    const exporter = layerExporter(m, builder, training, x);
                    if (!exporter) return call();
                    builder.suppressed++;
                    let out: unknown;
                    try {
                      out = call();
                    } finally {
                      builder.suppressed--;
                    }
                    if (!(out instanceof Tensor))
                      throw new UnsupportedError(`ONNX export: ${m.describe()} did not return a tensor`);
                    exporter(x, out);
                    return out;
                  } finally {
                    builder.scope = outer;
                  }
                },
                () => (model as unknown as { forward(x: Tensor): unknown }).forward(input),
              ),
          ),
      ),
    );
    outputs = collectOutputs(result, outputName);
  } catch (e) {
    if (e instanceof TsgradError && !e.message.startsWith('ONNX export')) e.message = `ONNX export: ${e.message}`;
    throw e;
  } finally {
    model.train(wasTraining);
  }
  const graphOutputs = outputs.map(([name, t]) => {
    const value = builder.nameOf(t);
    builder.node('Identity', [value], [], name);
    const axis = builder.batchAxis(t);
    return valueInfo(name, t, dynamicBatch ? axis : null);
  });
  const model_ = {
    irVersion: 8,
    producerName: 'tsgrad',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: model.constructor.name,
      node: builder.nodes,
      initializer: builder.initializers,
      input: [valueInfo(inputName, exampleInput, dynamicBatch ? 0 : null)],
      output: graphOutputs,
    },
  };
  return encodeModel(model_);
}

function valueInfo(name: string, t: Tensor, batchAxis: number | null) {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxDtype(t.dtype),
        shape: { dim: t.shape.map((d, i) => (i === batchAxis ? { dimParam: 'batch' } : { dimValue: d })) },
      },
    },
  };
}

/**
 * Exports `model` to an ONNX file (opset 13 by default, 13-17 accepted), traced
 * from one eval-mode forward pass on `exampleInput`. The input is called
 * 'input' and the output 'output'; initializers carry the state-dict keys; the
 * batch axis is dynamic unless `dynamicBatch: false`. The file is written atomically.
 * @example await exportOnnx(lenet5(), randn([1, 1, 28, 28]), 'lenet5.onnx');
 */
export async function exportOnnx(
  model: Module,
  exampleInput: Tensor,
  path: string,
  opts: ExportOnnxOptions = {},
): Promise<void> {
  const bytes = await exportOnnxBytes(model, exampleInput, opts);
  writeFileAtomic(path, bytes);
}
