/**
 * What a network looks at: feature maps of a layer, the input gradient of a class score
 * (saliency, Simonyan et al. 2014) and gradient-weighted class activation maps (Grad-CAM,
 * Selvaraju et al. 2017). Tensors are read with `await t.data()`, so these run on every
 * backend, webgpu included. The model's train/eval mode and its parameters' gradients are
 * left as they were.
 */
import { backward } from '../autograd/engine.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import { Conv2d } from '../nn/layers/conv.js';
import { withGradMode } from '../tensor/dispatch.js';
import { select } from '../tensor/ops.js';
import { Tensor } from '../tensor/tensor.js';
import { type Model, captureOutputs, layerByName } from './capture.js';
import {
  type RgbaImage,
  blend,
  grayscale,
  normalize01,
  planeToImage,
  resizePlane,
  scaleNearest,
  tile,
  viridis,
} from './image.js';

/** A height × width plane of non-negative importance values, one per input pixel. */
export interface AttributionMap {
  width: number;
  height: number;
  values: Float32Array;
}

/** Options of the images: `scale` repeats each pixel (default: about 112 pixels a side), `overlay` draws over the input. */
export interface AttributionImageOptions {
  scale?: number;
  /** Blend the heat map over the input image (default true for Grad-CAM, false for saliency). */
  overlay?: boolean;
}

/** The names of a model's Conv2d layers, in forward order (the layers worth a feature-map image). */
export function convLayerNames(model: Model): string[] {
  return model
    .namedModules()
    .filter(([n, m]) => n !== '' && m instanceof Conv2d)
    .map(([n]) => n);
}

/**
 * The last layer (a leaf module, in forward order) that returns feature maps [N, C, H, W] for
 * this input: where Grad-CAM looks by default (for LeNet-5 'features.5', the pooled output of
 * the last conv block, as Grad-CAM's authors use the last convolutional block's output).
 * @example gradCam(model, x, 7, lastFeatureMapLayer(model, x))
 */
export function lastFeatureMapLayer(model: Model, x: Tensor): string {
  const input = singleInput(x, 'lastFeatureMapLayer');
  const leaves = model.namedModules().filter(([n, m]) => n !== '' && m.namedChildren().length === 0);
  let last: string | undefined;
  const handles = leaves.map(([name, m]) =>
    m.registerForwardHook((_m, _in, out) => {
      if (out instanceof Tensor && out.rank === 4) last = name;
    }),
  );
  try {
    withGradMode(false, () => model.forward(input));
  } finally {
    for (const h of handles) h.remove();
  }
  if (last === undefined) throw new ShapeError(`${model.describe()}: no layer returns feature maps [N, C, H, W]`);
  return last;
}

function singleInput(x: Tensor, fn: string): Tensor {
  if (x.rank === 3) return x.reshape([1, ...x.shape]);
  if (x.rank === 4 && x.shape[0] === 1) return x;
  throw new ShapeError(`${fn}: expected one image [C, H, W] or [1, C, H, W], got ${fmt(x.shape)}`);
}

/** Runs fn in eval mode with gradients on, then puts back each module's mode and each parameter's .grad. */
async function probing<T>(model: Model, fn: () => Promise<T>): Promise<T> {
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  const grads = model.parameters().map((p) => [p, p.grad] as const);
  model.eval();
  try {
    return await fn();
  } finally {
    for (const [m, mode] of modes) m.training = mode;
    for (const [p, g] of grads) p.grad = g;
  }
}

function classScore(out: Tensor, classIndex: number, fn: string): Tensor {
  if (out.rank !== 2)
    throw new ShapeError(`${fn}: expected the model to return scores [1, classes], got ${fmt(out.shape)}`);
  if (!(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < out.shape[1]!)) {
    throw new ArgumentError(`${fn}: class index ${classIndex} out of range for ${out.shape[1]} classes`);
  }
  return select(select(out, 0, 0), 0, classIndex);
}

/**
 * The gradient of the class score (the logit, before softmax) with respect to the input,
 * as its largest absolute value over channels at each pixel.
 * @example const map = await saliencyMap(model, x, 7); map.values.length === 28 * 28
 */
export async function saliencyMap(model: Model, x: Tensor, classIndex: number): Promise<AttributionMap> {
  const input = singleInput(x, 'saliency');
  const [, c, h, w] = input.shape as [number, number, number, number];
  return probing(model, async () => {
    const leaf = input.detach().cast('float32').setRequiresGrad();
    withGradMode(true, () => backward(classScore(model.forward(leaf), classIndex, 'saliency'), undefined));
    const g = await leaf.grad!.data();
    const values = new Float32Array(h * w);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h * w; i++) values[i] = Math.max(values[i]!, Math.abs(g[ch * h * w + i]!));
    }
    return { width: w, height: h, values };
  });
}

/**
 * Grad-CAM at a layer: the layer's channels weighted by the mean gradient of the class
 * score over each channel, summed, clipped at zero and resized (bilinear) to the input.
 * @example const map = await gradCamMap(model, x, 7, 'features.3');
 */
export async function gradCamMap(
  model: Model,
  x: Tensor,
  classIndex: number,
  layerName: string,
): Promise<AttributionMap> {
  const input = singleInput(x, 'gradCam');
  const layer = layerByName(model, layerName);
  const [, , h, w] = input.shape as [number, number, number, number];
  return probing(model, async () => {
    let score: Tensor | undefined;
    const { outputs } = captureOutputs([layer], () =>
      withGradMode(true, () => {
        score = classScore(model.forward(input.detach().cast('float32')), classIndex, 'gradCam');
      }),
    );
    const act = outputs[0];
    if (!act || act.rank !== 4) {
      throw new ShapeError(
        `gradCam: layer '${layerName}' must return feature maps [1, C, H, W]${act ? `, got ${fmt(act.shape)}` : ' (it did not run)'}`,
      );
    }
    // The activation is an inner node of the graph: ask autograd to keep its gradient.
    act.retainGrad();
    backward(score!, undefined);
    const [, k, ah, aw] = act.shape as [number, number, number, number];
    const a = await act.data();
    const g = act.grad ? await act.grad.data() : new Float32Array(a.length);
    const cam = new Float32Array(ah * aw);
    for (let ch = 0; ch < k; ch++) {
      let weight = 0;
      for (let i = 0; i < ah * aw; i++) weight += g[ch * ah * aw + i]!;
      weight /= ah * aw;
      for (let i = 0; i < ah * aw; i++) cam[i] = cam[i]! + weight * a[ch * ah * aw + i]!;
    }
    for (let i = 0; i < cam.length; i++) cam[i] = Math.max(0, cam[i]!);
    return { width: w, height: h, values: resizePlane(cam, aw, ah, w, h) };
  });
}

/** The input image itself (gray, or RGB for 3 channels), each channel stretched to 0..255. */
export async function inputImage(x: Tensor): Promise<RgbaImage> {
  const input = singleInput(x, 'inputImage');
  const [, c, h, w] = input.shape as [number, number, number, number];
  const v = await input.data();
  if (c !== 3) return planeToImage(normalize01(Array.from(v).slice(0, h * w)), w, h, grayscale);
  const img = planeToImage(new Float32Array(h * w), w, h, grayscale);
  const all = normalize01(Array.from(v));
  for (let i = 0; i < h * w; i++)
    for (let ch = 0; ch < 3; ch++) img.data[i * 4 + ch] = Math.round(all[ch * h * w + i]! * 255);
  return img;
}

async function attributionImage(
  map: AttributionMap,
  x: Tensor,
  opts: AttributionImageOptions,
  overlayDefault: boolean,
): Promise<RgbaImage> {
  const scale = opts.scale ?? Math.max(1, Math.round(112 / Math.max(map.width, map.height)));
  let img = planeToImage(normalize01(map.values), map.width, map.height, viridis);
  if (opts.overlay ?? overlayDefault) img = blend(await inputImage(x), img, 0.5);
  return scaleNearest(img, scale);
}

/**
 * Saliency as an image (viridis: yellow where the class score is most sensitive).
 * @example const img = await saliency(model, x, 7); // { width: 112, height: 112, data }
 */
export async function saliency(
  model: Model,
  x: Tensor,
  classIndex: number,
  opts: AttributionImageOptions = {},
): Promise<RgbaImage> {
  return attributionImage(await saliencyMap(model, x, classIndex), x, opts, false);
}

/**
 * Grad-CAM as an image, blended over the input by default.
 * @example const img = await gradCam(model, x, 7, 'features.3');
 */
export async function gradCam(
  model: Model,
  x: Tensor,
  classIndex: number,
  layerName: string,
  opts: AttributionImageOptions = {},
): Promise<RgbaImage> {
  return attributionImage(await gradCamMap(model, x, classIndex, layerName), x, opts, true);
}

/**
 * The feature maps a layer produces for one input, one gray tile per channel (each
 * stretched to its own min..max), in a near-square grid.
 * @example const img = await featureMapGrid(model, x, 'features.0');
 */
export async function featureMapGrid(
  model: Model,
  x: Tensor,
  layerName: string,
  opts: { scale?: number; gap?: number } = {},
): Promise<RgbaImage> {
  const input = singleInput(x, 'featureMapGrid');
  const layer = layerByName(model, layerName);
  const act = await probing(model, async () => {
    const { outputs } = captureOutputs([layer], () => withGradMode(false, () => model.forward(input)));
    return outputs[0];
  });
  if (!act || act.rank !== 4) {
    throw new ShapeError(
      `featureMapGrid: layer '${layerName}' must return feature maps [1, C, H, W]${act ? `, got ${fmt(act.shape)}` : ' (it did not run)'}`,
    );
  }
  const [, k, h, w] = act.shape as [number, number, number, number];
  const v = await act.data();
  const scale = opts.scale ?? Math.max(1, Math.round(56 / Math.max(h, w)));
  const tiles: RgbaImage[] = [];
  for (let ch = 0; ch < k; ch++) {
    tiles.push(
      scaleNearest(planeToImage(normalize01(v.subarray(ch * h * w, (ch + 1) * h * w)), w, h, grayscale), scale),
    );
  }
  return tile(tiles, { gap: opts.gap ?? 1 });
}
