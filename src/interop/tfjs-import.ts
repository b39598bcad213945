/**
 * TF.js Layers import: a `model.json` with its weight shards (what
 * `tensorflowjs_converter` makes from Keras .h5 / SavedModel files and what
 * `model.save('file://...')` writes) becomes a tsgrad Module taking NCHW input.
 *
 * Weights are converted from TF's layout (NHWC activations, kernels
 * [kH, kW, in, out], dense kernels [in, out]) to tsgrad's NCHW layout; Flatten
 * flattens in TF's (H, W, C) order so that the Dense layers after it keep their
 * weights. `padding: 'same'` follows TF's rule for every stride: output
 * ceil(n / stride), the odd extra row/column of padding at the bottom/right.
 */
import { dirname, join } from 'node:path';
import { ArgumentError, DataFileError, UnsupportedError } from '../core/errors.js';
import { readFileBytes } from '../io/read-file.js';
import { dropout } from '../nn/functional.js';
import { BatchNorm2d, BatchNorm1d } from '../nn/layers/normalization.js';
import { Module, Parameter } from '../nn/module.js';
import { fromArray, ones } from '../tensor/creation.js';
import { run } from '../tensor/dispatch.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

type Json = Record<string, unknown>;

/** The layer types importTfjsLayersModel reads. */
export const SUPPORTED_TFJS_LAYERS: readonly string[] = [
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Dense',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'BatchNormalization',
  'Dropout',
  'Flatten',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Add',
  'Concatenate',
  'ZeroPadding2D',
];

/** TF's 'same' padding of one axis: [before, after] for output ceil(n / stride). */
export function samePadding(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - size);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function activate(x: Tensor, name: string | undefined, layer: string): Tensor {
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return ops.relu(x);
    case 'relu6':
      return ops.clamp(x, 0, 6);
    case 'sigmoid':
      return ops.sigmoid(x);
    case 'tanh':
      return ops.tanh(x);
    case 'elu':
      return ops.elu(x);
    case 'softmax':
      return ops.softmax(x, x.rank === 4 ? 1 : -1);
    case 'softplus':
      return ops.softplus(x);
    default:
      throw new UnsupportedError(`TF.js layer '${layer}': activation '${name}' is not supported`);
  }
}

type Padding = 'same' | 'valid';

/** Conv2D and DepthwiseConv2D (groups = channels): weight [out, in/groups, kH, kW] in tsgrad's layout. */
export class TfConv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    weight: Tensor,
    bias: Tensor | null,
    readonly stride: [number, number],
    readonly padding: Padding,
    readonly dilation: [number, number],
    readonly groups: number,
    readonly activation: string | undefined,
    readonly layerName: string,
  ) {
    super();
    this.weight = new Parameter(weight);
    this.bias = bias ? new Parameter(bias) : null;
  }

  forward(x: Tensor): Tensor {
    const [kh, kw] = [this.weight.shape[2]!, this.weight.shape[3]!];
    const [t, b] = this.padding === 'same' ? samePadding(x.shape[2]!, kh, this.stride[0], this.dilation[0]) : [0, 0];
    const [l, r] = this.padding === 'same' ? samePadding(x.shape[3]!, kw, this.stride[1], this.dilation[1]) : [0, 0];
    let y = run('conv2d', [x, this.weight], {
      stride: this.stride,
      padding: [t, b, l, r],
      dilation: this.dilation,
      groups: this.groups,
    });
    if (this.bias) y = ops.add(y, ops.reshape(this.bias, [1, -1, 1, 1]));
    return activate(y, this.activation, this.layerName);
  }

  protected override extraRepr(): string {
    return `${this.layerName}, kernel=${this.weight.shape.slice(2).join('x')}, stride=${this.stride.join('x')}, padding=${this.padding}${this.groups > 1 ? `, groups=${this.groups}` : ''}`;
  }
}

/** SeparableConv2D: a depthwise convolution then a 1×1 pointwise one. */
export class TfSeparableConv2d extends Module {
  constructor(
    readonly depthwise: TfConv2d,
    readonly pointwise: TfConv2d,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.pointwise.forward(this.depthwise.forward(x));
  }
}

export class TfDense extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(
    weight: Tensor,
    bias: Tensor | null,
    readonly activation: string | undefined,
    readonly layerName: string,
  ) {
    super();
    this.weight = new Parameter(weight);
    this.bias = bias ? new Parameter(bias) : null;
  }
  forward(x: Tensor): Tensor {
    let y = ops.matmul(x, ops.transpose(this.weight));
    if (this.bias) y = ops.add(y, this.bias);
    return activate(y, this.activation, this.layerName);
  }
}

export class TfPool2d extends Module {
  constructor(
    readonly kind: 'max' | 'avg',
    readonly pool: [number, number],
    readonly stride: [number, number],
    readonly padding: Padding,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    const opts = { stride: this.stride };
    if (this.padding === 'valid') {
      return this.kind === 'max' ? ops.maxPool2d(x, this.pool, opts) : ops.avgPool2d(x, this.pool, opts);
    }
    const pads: [number, number][] = [
      samePadding(x.shape[2]!, this.pool[0], this.stride[0]),
      samePadding(x.shape[3]!, this.pool[1], this.stride[1]),
    ];
    if (this.kind === 'max') return ops.maxPool2d(ops.pad(x, pads, -Infinity), this.pool, opts);
    // TF averages over the real elements of a window only: divide by the pooled mask of ones.
    const summed = ops.avgPool2d(ops.pad(x, pads, 0), this.pool, opts);
    const mask = ops.pad(ones([1, 1, x.shape[2]!, x.shape[3]!], { backend: x.backend, dtype: x.dtype }), pads, 0);
    return ops.div(summed, ops.avgPool2d(mask, this.pool, opts));
  }
}

/** A layer with no weights, as a function of its inputs. */
export class TfFunction extends Module {
  constructor(
    readonly kind: string,
    readonly fn: (xs: Tensor[], training: boolean) => Tensor,
  ) {
    super();
  }
  forward(...xs: Tensor[]): Tensor {
    return this.fn(xs, this.training);
  }
  override describe(): string {
    return `${this.kind}()`;
  }
}

interface LayerJson {
  class_name: string;
  config: Json;
  name?: string;
  inbound_nodes?: unknown[];
}

/** The NCHW axis of a TF (channels-last) axis for a tensor of `rank`. */
function nchwAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a]!;
}

function pairOf(v: unknown, dflt: number): [number, number] {
  if (v === undefined || v === null) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0]!, a[1] ?? a[0]!];
}

/**
 * A TF.js Layers model in tsgrad: its layers are children named by the TF layer names, and
 * forward() takes NCHW input.
 */
export class TfjsLayersModel extends Module {
  readonly layers: Module[];
  readonly layerNames: string[];
  /** Input shape without the batch axis, in tsgrad's NCHW order. */
  readonly inputShape: number[];
  private readonly wiring: { inputs: [number, number][] }[];
  private readonly outputLayer: number;

  constructor(layers: { name: string; module: Module; inputs: number[] }[], inputShape: number[], outputLayer: number) {
    super();
    this.layers = layers.map((l) => l.module);
    this.layerNames = layers.map((l) => l.name);
    this.wiring = layers.map((l) => ({ inputs: l.inputs.map((i) => [i, 0] as [number, number]) }));
    this.inputShape = inputShape;
    this.outputLayer = outputLayer;
  }

  override namedChildren(): [string, Module][] {
    return this.layers.map((m, i) => [this.layerNames[i]!, m]);
  }

  forward(x: Tensor): Tensor {
    const values: (Tensor | undefined)[] = [];
    this.layers.forEach((m, i) => {
      const ins = this.wiring[i]!.inputs.map(([j]) => (j < 0 ? x : values[j]!));
      values[i] = (m as unknown as { forward(...a: Tensor[]): Tensor }).forward(...(ins.length ? ins : [x]));
    });
    return values[this.outputLayer]!;
  }
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: unknown;
}

/** Reads the weight shards in manifest order and slices them per weight spec. */
function readWeights(
  manifest: { paths: string[]; weights: WeightSpec[] }[],
  dir: string,
  file: string,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of manifest) {
    const chunks = group.paths.map((p) => readFileBytes(join(dir, p), 'a TF.js weight shard'));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const bytes = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      bytes.set(c, off);
      off += c.length;
    }
    let pos = 0;
    for (const w of group.weights) {
      if (w.quantization)
        throw new UnsupportedError(`${file}: weight '${w.name}' is quantized, which tsgrad does not read`);
      if ((w.dtype ?? 'float32') !== 'float32')
        throw new UnsupportedError(`${file}: weight '${w.name}' has dtype ${w.dtype}`);
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (pos + 4 * n > total)
        throw new DataFileError(
          file,
          `the weight shards hold ${total} bytes, too few for weight '${w.name}' [${w.shape.join(', ')}]`,
        );
      const data = new Float32Array(n);
      const dv = new DataView(bytes.buffer, bytes.byteOffset + pos, 4 * n);
      for (let i = 0; i < n; i++) data[i] = dv.getFloat32(4 * i, true);
      out.set(w.name, { shape: w.shape, data });
      pos += 4 * n;
    }
    if (pos !== total)
      throw new DataFileError(file, `the weight shards hold ${total} bytes, the manifest describes ${pos}`);
  }
  return out;
}

/** Reorders a TF array of `shape` by `perm` (like np.transpose). */
function transposeData(data: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < perm.length; k++) src += idx[k]! * inStrides[perm[k]!]!;
    out[o] = data[src]!;
    for (let k = perm.length - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/**
 * Reads a TF.js Layers model (model.json and the weight shards beside it) into a tsgrad
 * module that takes NCHW input. Layers: Conv2D, DepthwiseConv2D, SeparableConv2D, Dense,
 * MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
 * BatchNormalization, Dropout, Flatten, Activation, ReLU, LeakyReLU, ELU, Add, Concatenate,
 * ZeroPadding2D; Sequential and functional models.
 * @example const model = await importTfjsLayersModel('web_model/model.json');
 */
export async function importTfjsLayersModel(path: string): Promise<TfjsLayersModel> {
  const file = path.endsWith('.json') ? path : join(path, 'model.json');
  const text = new TextDecoder().decode(readFileBytes(file, 'a TF.js model.json'));
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (e) {
    throw new DataFileError(file, `is not valid JSON: ${(e as Error).message}`);
  }
  let topology = json['modelTopology'] as Json | undefined;
  if (!topology) throw new DataFileError(file, 'has no modelTopology: not a TF.js Layers model');
  if (topology['model_config']) topology = topology['model_config'] as Json;
  const manifest = (json['weightsManifest'] ?? []) as { paths: string[]; weights: WeightSpec[] }[];
  const weights = readWeights(manifest, dirname(file), file);
  const config = topology['config'] as Json;
  const className = topology['class_name'] as string;
  const rawLayers = (Array.isArray(config) ? config : (config['layers'] as LayerJson[])) as LayerJson[];
  const functional = className !== 'Sequential';
  const unsupported = rawLayers
    .filter((l) => !SUPPORTED_TFJS_LAYERS.includes(l.class_name))
    .map((l) => `${l.class_name} (layer '${(l.config['name'] as string) ?? l.name}')`);
  if (unsupported.length)
    throw new UnsupportedError(`${file}: layers tsgrad does not import: ${unsupported.join(', ')}`);
  for (const l of rawLayers) {
    const fmt = l.config['data_format'];
    if (fmt !== undefined && fmt !== 'channels_last')
      throw new UnsupportedError(`${file}: layer '${l.config['name']}' uses data_format ${String(fmt)}`);
  }

  // Input shape (TF: [H, W, C] or [features]).
  const inputLayer = rawLayers.find((l) => l.class_name === 'InputLayer');
  const declared = (inputLayer?.config['batch_input_shape'] ??
    inputLayer?.config['batchInputShape'] ??
    rawLayers[0]?.config['batch_input_shape'] ??
    rawLayers[0]?.config['batchInputShape']) as (number | null)[] | undefined;
  if (!declared) throw new DataFileError(file, 'declares no input shape (batch_input_shape)');
  const tfShape = declared.slice(1).map((d) => d ?? 0);
  if (tfShape.some((d) => d <= 0))
    throw new UnsupportedError(`${file}: the input shape [${declared.join(', ')}] has unknown dimensions`);
  const inputShape = tfShape.length === 3 ? [tfShape[2]!, tfShape[0]!, tfShape[1]!] : tfShape;

  const layerName = (l: LayerJson) => (l.config['name'] as string) ?? l.name ?? '';
  const weightOf = (l: LayerJson, suffix: string, required = true) => {
    const name = layerName(l);
    for (const [k, v] of weights) {
      if (k === `${name}/${suffix}` || (k.startsWith(`${name}/`) && k.endsWith(`/${suffix}`))) return v;
    }
    if (required) throw new DataFileError(file, `layer '${name}' has no weight '${suffix}' in the weights manifest`);
    return undefined;
  };
  const tensorFrom = (w: { data: Float32Array; shape: number[] }) => fromArray(w.data, w.shape);
  const convWeight = (w: { data: Float32Array; shape: number[] }) =>
    tensorFrom(transposeData(w.data, w.shape, [3, 2, 0, 1]));

  const built: { name: string; module: Module; inputs: number[] }[] = [];
  const index = new Map<string, number>();
  let previous = -1;
  for (const l of rawLayers) {
    const c = l.config;
    const name = layerName(l);
    let inputs: number[];
    if (functional) {
      const nodes = (l.inbound_nodes ?? []) as unknown[][];
      if (nodes.length > 1)
        throw new UnsupportedError(`${file}: layer '${name}' is applied more than once (shared layers)`);
      inputs = ((nodes[0] ?? []) as unknown[]).map((n) => {
        const src = Array.isArray(n) ? (n[0] as string) : ((n as Json)['args'] as string);
        const i = index.get(src);
        if (i === undefined)
          throw new DataFileError(file, `layer '${name}' reads '${src}', which is not an earlier layer`);
        return i;
      });
    } else inputs = [previous];
    if (l.class_name === 'InputLayer') {
      index.set(name, -1);
      continue;
    }
    const useBias = c['use_bias'] !== false;
    const activation = c['activation'] as string | undefined;
    const stride = pairOf(c['strides'], 1);
    const dilation = pairOf(c['dilation_rate'], 1);
    const padding = ((c['padding'] as string | undefined) ?? 'valid') as Padding;
    let module: Module;
    switch (l.class_name) {
      case 'Conv2D': {
        const bias = useBias ? tensorFrom(weightOf(l, 'bias')!) : null;
        module = new TfConv2d(convWeight(weightOf(l, 'kernel')!), bias, stride, padding, dilation, 1, activation, name);
        break;
      }
      case 'DepthwiseConv2D':
      case 'SeparableConv2D': {
        const dk = weightOf(l, 'depthwise_kernel')!;
        const [kh, kw, cin, mult] = dk.shape as [number, number, number, number];
        // [kH, kW, C, M] -> [C·M, 1, kH, kW]: output channel c·M + m filters input channel c.
        const dw = tensorFrom({ ...transposeData(dk.data, dk.shape, [2, 3, 0, 1]), shape: [cin * mult, 1, kh, kw] });
        if (l.class_name === 'DepthwiseConv2D') {
          const bias = useBias ? tensorFrom(weightOf(l, 'bias')!) : null;
          module = new TfConv2d(dw, bias, stride, padding, dilation, cin, activation, name);
        } else {
          const depthwise = new TfConv2d(dw, null, stride, padding, dilation, cin, undefined, `${name}/depthwise`);
          const bias = useBias ? tensorFrom(weightOf(l, 'bias')!) : null;
          const pointwise = new TfConv2d(
            convWeight(weightOf(l, 'pointwise_kernel')!),
            bias,
            [1, 1],
            'valid',
            [1, 1],
            1,
            activation,
            `${name}/pointwise`,
          );
          module = new TfSeparableConv2d(depthwise, pointwise);
        }
        break;
      }
      case 'Dense': {
        const k = weightOf(l, 'kernel')!;
        const weight = tensorFrom(transposeData(k.data, k.shape, [1, 0]));
        module = new TfDense(weight, useBias ? tensorFrom(weightOf(l, 'bias')!) : null, activation, name);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const pool = pairOf(c['pool_size'], 2);
        const strides = c['strides'] === null || c['strides'] === undefined ? pool : pairOf(c['strides'], 1);
        module = new TfPool2d(l.class_name === 'MaxPooling2D' ? 'max' : 'avg', pool, strides, padding);
        break;
      }
      case 'GlobalAveragePooling2D':
        module = new TfFunction('GlobalAveragePooling2D', ([x]) => ops.mean(x!, [2, 3]));
        break;
      case 'GlobalMaxPooling2D':
        module = new TfFunction('GlobalMaxPooling2D', ([x]) => ops.max(x!, [2, 3]));
        break;
      case 'BatchNormalization': {
        const axis = (c['axis'] as number | number[] | undefined) ?? -1;
        const ax = Array.isArray(axis) ? axis[0]! : axis;
        if (ax !== -1 && ax !== 3 && ax !== 1)
          throw new UnsupportedError(`${file}: BatchNormalization '${name}' over axis ${ax}`);
        const mean = weightOf(l, 'moving_mean')!;
        const n = mean.shape[0]!;
        const bn = new (inputShape.length === 3 ? BatchNorm2d : BatchNorm1d)(n, {
          eps: (c['epsilon'] as number | undefined) ?? 1e-3,
          momentum: 1 - ((c['momentum'] as number | undefined) ?? 0.99),
        });
        const sd: Record<string, Tensor> = {
          running_mean: tensorFrom(mean),
          running_var: tensorFrom(weightOf(l, 'moving_variance')!),
          weight: c['scale'] === false ? ones([n]) : tensorFrom(weightOf(l, 'gamma')!),
          bias: c['center'] === false ? fromArray(new Float32Array(n), [n]) : tensorFrom(weightOf(l, 'beta')!),
        };
        bn.loadStateDict(sd, { strict: false });
        if (c['scale'] === false) bn.weight!.requiresGrad = false;
        if (c['center'] === false) bn.bias!.requiresGrad = false;
        module = bn;
        break;
      }
      case 'Dropout': {
        const rate = (c['rate'] as number | undefined) ?? 0.5;
        module = new TfFunction('Dropout', ([x], training) => dropout(x!, rate, training));
        break;
      }
      case 'Flatten':
        // TF flattens channels-last maps in (H, W, C) order.
        module = new TfFunction('Flatten', ([x]) => ops.flatten(x!.rank === 4 ? ops.permute(x!, [0, 2, 3, 1]) : x!, 1));
        break;
      case 'Activation':
        module = new TfFunction(`Activation(${activation})`, ([x]) => activate(x!, activation, name));
        break;
      case 'ReLU': {
        const maxValue = c['max_value'] as number | null | undefined;
        const slope = (c['negative_slope'] as number | undefined) ?? 0;
        const threshold = (c['threshold'] as number | undefined) ?? 0;
        if (threshold !== 0) throw new UnsupportedError(`${file}: ReLU '${name}' with threshold ${threshold}`);
        module = new TfFunction('ReLU', ([x]) => {
          const y = slope ? ops.leakyRelu(x!, slope) : ops.relu(x!);
          return maxValue !== null && maxValue !== undefined ? ops.minimum(y, maxValue) : y;
        });
        break;
      }
      case 'LeakyReLU': {
        const alpha = (c['alpha'] as number | undefined) ?? 0.3;
        module = new TfFunction('LeakyReLU', ([x]) => ops.leakyRelu(x!, alpha));
        break;
      }
      case 'ELU': {
        const alpha = (c['alpha'] as number | undefined) ?? 1;
        module = new TfFunction('ELU', ([x]) => ops.elu(x!, alpha));
        break;
      }
      case 'Add':
        module = new TfFunction('Add', (xs) => xs.reduce((a, b) => ops.add(a, b)));
        break;
      case 'Concatenate': {
        const axis = (c['axis'] as number | undefined) ?? -1;
        module = new TfFunction('Concatenate', (xs) => ops.concat(xs, nchwAxis(axis, xs[0]!.rank)));
        break;
      }
      case 'ZeroPadding2D': {
        const p = c['padding'] as number | number[] | number[][];
        let pads: [number, number][];
        if (typeof p === 'number')
          pads = [
            [p, p],
            [p, p],
          ];
        else if (Array.isArray(p[0])) pads = (p as number[][]).map((q) => [q[0]!, q[1]!]);
        else
          pads = [
            [(p as number[])[0]!, (p as number[])[0]!],
            [(p as number[])[1]!, (p as number[])[1]!],
          ];
        module = new TfFunction('ZeroPadding2D', ([x]) => ops.pad(x!, pads, 0));
        break;
      }
      default:
        throw new ArgumentError(`unreachable: ${l.class_name}`);
    }
    index.set(name, built.length);
    built.push({ name, module, inputs });
    previous = built.length - 1;
  }
  if (built.length === 0) throw new DataFileError(file, 'has no layers');
  let output = built.length - 1;
  if (functional) {
    const outs = (config['output_layers'] as unknown[][] | undefined) ?? [];
    if (outs.length > 1) throw new UnsupportedError(`${file}: models with ${outs.length} outputs`);
    if (outs.length === 1) output = index.get(outs[0]![0] as string) ?? output;
  }
  return new TfjsLayersModel(built, inputShape, output);
}
