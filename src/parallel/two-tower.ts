/**
 * Model parallelism the paper's way: AlexNet's two towers, each on its own device. Each tower
 * holds half of every layer's kernels (its half of the output channels or units). The towers
 * run apart through conv1, conv2 (groups 2), conv4 and conv5 (groups 2), and exchange their
 * activations only where the paper's towers connect: into conv3, fc6, fc7 and fc8, each of
 * which sees both towers' maps. The input goes to both; the logits are joined on tower 0.
 *
 * Local response normalization runs inside each tower, over its own 48 or 128 maps, as each
 * GPU did in the paper. AlexNetPaper (one device) normalizes across all 96 / 256 maps as
 * Caffe's single-blob model does; the two agree except in the 2 maps on each side of the
 * tower boundary, so `perTowerLrn(model)` gives the single-device model with the paper's
 * per-tower normalization, which this module matches.
 */
import { ArgumentError, ShapeError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import type { AlexNetPaper } from '../models/alexnet.js';
import { Conv2d, Dropout, Linear, LocalResponseNorm, MaxPool2d, Module, ReLU, Sequential } from '../nn/index.js';
import type { StateDict } from '../nn/module.js';
import { fromArray } from '../tensor/creation.js';
import { isGradEnabled, noGrad } from '../tensor/dispatch.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Backend } from '../backend/index.js';
import { device, onDevice, transfer } from './devices.js';

const lrn = (): LocalResponseNorm => new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' });

/** Applies `inner` to each half of the channels separately: the paper's LRN within one GPU's maps. */
export class PerHalf extends Module {
  constructor(readonly inner: Module) {
    super();
  }

  forward(x: Tensor): Tensor {
    const half = x.shape[1]! / 2;
    const f = (t: Tensor): Tensor => (this.inner as unknown as { forward(t: Tensor): Tensor }).forward(t);
    return ops.concat([f(ops.narrow(x, 1, 0, half)), f(ops.narrow(x, 1, half, half))], 1);
  }
}

/**
 * The single-device AlexNetPaper with each LRN applied within each tower's half of the maps
 * (the paper's two-GPU normalization); same parameters and state dict.
 * @example const reference = perTowerLrn(alexnet({ variant: 'paper', dropout: 0 }));
 */
export function perTowerLrn(model: AlexNetPaper): AlexNetPaper {
  for (const [path, m] of model.namedModules())
    if (m instanceof LocalResponseNorm) model.setSubmodule(path, new PerHalf(lrn()));
  return model;
}

/** One tower: half of each layer, built on its device. */
class Tower extends Module {
  readonly stem: Sequential; // conv1 .. pool2: the tower alone
  readonly middle: Sequential; // conv3 (both towers in) .. pool5
  readonly fc6: Sequential;
  readonly fc7: Sequential;
  readonly fc8: Linear;

  constructor(inChannels: number, classes: number, dropout: number) {
    super();
    this.stem = new Sequential(
      new Conv2d(inChannels, 48, 11, { stride: 4 }),
      new ReLU(),
      lrn(),
      new MaxPool2d(3, 2),
      new Conv2d(48, 128, 5, { padding: 2 }),
      new ReLU(),
      lrn(),
      new MaxPool2d(3, 2),
    );
    this.middle = new Sequential(
      new Conv2d(256, 192, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(192, 192, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(192, 128, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(3, 2),
    );
    this.fc6 = new Sequential(new Linear(256 * 6 * 6, 2048), new ReLU(), new Dropout(dropout));
    this.fc7 = new Sequential(new Linear(4096, 2048), new ReLU(), new Dropout(dropout));
    this.fc8 = new Linear(4096, classes);
  }

  forward(): never {
    throw new ArgumentError('Tower: run through TwoTowerAlexNet');
  }
}

/** Where a tower's parameter comes from in AlexNetPaper, and which rows (output channels) of it. */
interface Origin {
  paper: string;
  tower: string;
}
const LAYERS: [string, string][] = [
  ['features.0', 'stem.0'],
  ['features.4', 'stem.4'],
  ['features.8', 'middle.0'],
  ['features.10', 'middle.2'],
  ['features.12', 'middle.4'],
  ['classifier.0', 'fc6.0'],
  ['classifier.3', 'fc7.0'],
  ['classifier.6', 'fc8'],
];
const ORIGINS: Origin[] = LAYERS.flatMap(([paper, tower]) =>
  ['weight', 'bias'].map((k) => ({ paper: `${paper}.${k}`, tower: `${tower}.${k}` })),
);

/** One tower's part between two connections: leaves made from its inputs, its output, and where the inputs came from. */
type Stage = { sources: (Tensor | null)[]; inputs: Tensor[]; output: Tensor; device: Backend };

export interface TwoTowerOptions {
  /** The device of each tower, e.g. ['cpu:0', 'cpu:1'] or ['wasm:0', 'wasm:1']. Tower 0 holds the logits. */
  placement: [string, string] | [Backend, Backend];
}

/**
 * AlexNetPaper split into its two towers, each on its own device; its parameters start as
 * (and its state dict is, under AlexNetPaper's names) the halves of `model`'s.
 * @example
 * const net = new TwoTowerAlexNet(alexnet({ variant: 'paper' }), { placement: ['cpu:0', 'cpu:1'] });
 * const logits = net.forward(x); // [N, 1000] on cpu:0
 */
export class TwoTowerAlexNet extends Module {
  readonly towers: Tower[];
  readonly devices: [Backend, Backend];
  readonly numClasses: number;
  private stages: Stage[] = [];

  constructor(model: AlexNetPaper, opts: TwoTowerOptions) {
    super();
    if (!Array.isArray(opts.placement) || opts.placement.length !== 2)
      throw new ArgumentError('TwoTowerAlexNet: placement must name two devices, e.g. ["cpu:0", "cpu:1"]');
    const devices = opts.placement.map((d) => (typeof d === 'string' ? device(d) : d)) as [Backend, Backend];
    if (devices[0] === devices[1]) throw new ArgumentError('TwoTowerAlexNet: the two towers need two devices');
    this.devices = devices;
    const sd = model.stateDict();
    const inChannels = sd['features.0.weight']!.shape[1]!;
    this.numClasses = sd['classifier.6.weight']!.shape[0]!;
    const dropout = (model.classifier.at(2) as Dropout).p;
    const split = [Math.ceil(this.numClasses / 2), Math.floor(this.numClasses / 2)];
    if (split[1] === 0) throw new ArgumentError('TwoTowerAlexNet: needs at least 2 classes (one per tower)');
    this.towers = devices.map((d, t) => onDevice(d, () => new Tower(inChannels, split[t]!, dropout)));
    this.loadStateDict(sd);
  }

  /** Parameters under AlexNetPaper's names, the towers' halves joined: interchangeable with the single-device model. */
  override stateDict(): StateDict {
    const own = super.stateDict();
    const out: StateDict = {};
    for (const o of ORIGINS) {
      const halves = [0, 1].map((t) => transfer(own[`towers.${t}.${o.tower}`]!, this.devices[0], false));
      out[o.paper] = ops.concat(halves, 0);
    }
    return out;
  }

  /** Loads an AlexNetPaper state dict (or this module's own stateDict()), splitting each layer between the towers. */
  override loadStateDict(sd: StateDict): ReturnType<Module['loadStateDict']> {
    const missing = ORIGINS.filter((o) => !(o.paper in sd)).map((o) => o.paper);
    if (missing.length) throw new ArgumentError(`TwoTowerAlexNet.loadStateDict: missing ${missing.join(', ')}`);
    const mine = new Map(this.namedParameters());
    noGrad(() => {
      for (const o of ORIGINS) {
        const full = sd[o.paper]!;
        const data = full.contiguous().cast('float32').dataSync() as Float32Array;
        const rowSize = full.numel / full.shape[0]!;
        let row = 0;
        for (let t = 0; t < 2; t++) {
          const p = mine.get(`towers.${t}.${o.tower}`)!;
          const rows = p.shape[0]!;
          if (p.numel !== rows * rowSize)
            throw new ShapeError(
              `TwoTowerAlexNet.loadStateDict: ${o.paper} has shape ${fmt(full.shape)}, which does not split into towers of ${fmt(p.shape)}`,
            );
          p.assign(fromArray(data.slice(row * rowSize, (row + rows) * rowSize), p.shape, { backend: p.backend }));
          row += rows;
        }
      }
    });
    return {
      missingKeys: [],
      unexpectedKeys: Object.keys(sd).filter((k) => !ORIGINS.some((o) => o.paper === k)),
      loadedKeys: ORIGINS.map((o) => o.paper),
    };
  }

  /**
   * Logits on tower 0's device. In training (with gradients) the towers' graphs are kept
   * apart, joined by transfers whose gradients backward() carries back, stage by stage.
   */
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[2] !== 227 || x.shape[3] !== 227)
      throw new ShapeError(`TwoTowerAlexNet takes [N, C, 227, 227] input, got ${fmt(x.shape)}`);
    const grad = isGradEnabled() && this.towers.some((t) => t.parameters().some((p) => p.requiresGrad));
    this.stages = [];
    const d0 = this.devices[0];
    const outputs = new Set<Tensor>();
    const run = (t: number, inputs: Tensor[], fn: (xs: Tensor[]) => Tensor): Tensor => {
      const dev = this.devices[t]!;
      // What arrives from elsewhere becomes a leaf here, so each stage's graph stays on its device.
      const local = inputs.map((i) => {
        const moved = transfer(i, dev);
        if (!grad) return moved;
        const leaf = moved === i ? i.detach() : moved;
        leaf.requiresGrad = true;
        return leaf;
      });
      const out = onDevice(dev, () => fn(local));
      if (grad) {
        this.stages.push({
          sources: inputs.map((i) => (outputs.has(i) ? i : null)),
          inputs: local,
          output: out,
          device: dev,
        });
        outputs.add(out);
      }
      return out;
    };
    const seq =
      (m: Module) =>
      (xs: Tensor[]): Tensor =>
        (m as Sequential).forward(xs.length === 1 ? xs[0]! : ops.concat(xs, 1));
    const [a, b] = this.towers as [Tower, Tower];
    const s0 = run(0, [x], seq(a.stem));
    const s1 = run(1, [x], seq(b.stem));
    // conv3: each tower sees both towers' maps.
    const m0 = run(0, [s0, s1], seq(a.middle));
    const m1 = run(1, [s0, s1], seq(b.middle));
    const flat = (xs: Tensor[]): Tensor => ops.flatten(ops.concat(xs, 1), 1);
    const f60 = run(0, [m0, m1], (xs) => a.fc6.forward(flat(xs)));
    const f61 = run(1, [m0, m1], (xs) => b.fc6.forward(flat(xs)));
    const f70 = run(0, [f60, f61], (xs) => a.fc7.forward(ops.concat(xs, 1)));
    const f71 = run(1, [f60, f61], (xs) => b.fc7.forward(ops.concat(xs, 1)));
    const l0 = run(0, [f70, f71], (xs) => a.fc8.forward(ops.concat(xs, 1)));
    const l1 = run(1, [f70, f71], (xs) => b.fc8.forward(ops.concat(xs, 1)));
    if (!grad) return ops.concat([l0, transfer(l1, d0)], 1);
    const logits = fromArray(
      ops
        .concat([l0.detach(), transfer(l1.detach(), d0)], 1)
        .contiguous()
        .dataSync(),
      [x.shape[0]!, this.numClasses],
      { backend: d0 },
    );
    logits.requiresGrad = true;
    const stages = this.stages;
    logits.registerHook((g) => {
      this.backwardStages(stages, g, l0, l1);
      return undefined;
    });
    return logits;
  }

  /** Runs each stage's backward in reverse order, carrying the gradients of its inputs to their producers. */
  private backwardStages(stages: Stage[], g: Tensor, l0: Tensor, l1: Tensor): void {
    const pending = new Map<Tensor, Tensor>();
    const addGrad = (t: Tensor, gt: Tensor): void => {
      const local = transfer(gt, t.backend);
      const prev = pending.get(t);
      pending.set(t, prev ? ops.add(prev, local) : local);
    };
    const [c0] = l0.shape.slice(1);
    addGrad(l0, ops.narrow(g, 1, 0, c0!));
    addGrad(l1, ops.narrow(g, 1, c0!, this.numClasses - c0!));
    // Reverse creation order: every consumer of a stage's output runs before that stage.
    for (let i = stages.length - 1; i >= 0; i--) {
      const s = stages[i]!;
      const gOut = pending.get(s.output);
      pending.delete(s.output);
      if (!gOut || !s.output.requiresGrad) continue;
      onDevice(s.device, () => s.output.backward(gOut));
      s.inputs.forEach((leaf, k) => {
        const source = s.sources[k];
        if (leaf.grad && source) addGrad(source, leaf.grad);
      });
    }
  }
}
