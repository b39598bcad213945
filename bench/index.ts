/**
 * tsgrad against its peers, side by side in one run on this machine.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/index.js            full run (~5–10 min on 2 cores)
 *   node dist/bench/index.js --quick                                  smoke run (~1–2 min, rough figures)
 *   node dist/bench/index.js --peers=tsgrad-cpu,torch1 --workloads=lenet --out=bench/results/x.json
 *
 * Peers: tsgrad on every backend in listBackends() ('tsgrad-<name>'), tfjs-core 4 with its cpu backend
 * ('tfjs-cpu') and its wasm backend ('tfjs-wasm', XNNPACK, SIMD, one thread under Node), convnetjs 0.3
 * ('convnetjs', per-sample, plain JS), jax-js 0.1 on its wasm device ('jaxjs', see below) and PyTorch CPU from Debian's python3-torch via /usr/bin/python3 with
 * one and two threads ('torch1', 'torch2'; OMP/MKL/OPENBLAS_NUM_THREADS set to the same count, because
 * Debian's BLAS is openblas-pthread, which ignores torch.set_num_threads, so OPENBLAS_NUM_THREADS=1 would
 * leave torch2's GEMM and Linear layers on one thread).
 *
 * Every (peer, workload) pair runs in a child process of its own (`node dist/bench/index.js --worker
 * <peer> <workload>`, or one python process), so peers cannot disturb each other's heap or JIT, and the
 * child's peak RSS (process.resourceUsage().maxRSS / ru_maxrss) is that peer's peak memory for it.
 *
 * Workloads and figures (each figure is the median of several timed windows after a warm-up):
 *   gemm    C = A·B, float32 n×n, n = 256/512/1024: GFLOP/s = 2n³ / time. tsgrad and tfjs read the result
 *           back (dataSync()) inside the timed step, so lazy execution is not mistaken for speed.
 *   lenet   LeNet-5 on 1×28×28 (conv5×5 6 pad 2, ReLU, pool 2, conv5×5 16, ReLU, pool 2, fc 120, ReLU,
 *           fc 84, ReLU, fc 10), batch 64, SGD lr 0.01, softmax cross-entropy.
 *           train: samples/s of forward + loss + backward + update with the loss read back each step;
 *           infer: samples/s of a forward pass in inference mode with the logits read back.
 *   cifar   3×32×32: conv3×3 32, ReLU, conv3×3 32, ReLU, pool 2, conv3×3 64, ReLU, conv3×3 64, ReLU,
 *           pool 2, fc 512, ReLU, fc 10, every convolution padded by 1 (flatten = 64×8×8 = 4096; this is the
 *           net whose training costs ~158 MFLOP per sample); batch 64.
 *   tfjs trains with optimizer.minimize() over a tfjs-layers model (cheaper than trainOnBatch, which adds
 *   metrics and async bookkeeping); tfjs-wasm has no Conv2DBackpropFilter kernel, so its training figure
 *   is the error it raises. convnetjs trains one sample at a time (Trainer, sgd, batch_size 64): its
 *   figures are samples/s too. tfjs uses NHWC, the others NCHW.
 *   jax-js (@jax-js/jax, device 'wasm') runs the nets as pure functions over a parameter tree, with
 *   valueAndGrad and a hand-written SGD update (its optimizer package is not on npm); lax.conv with explicit
 *   symmetric padding (LeNet conv1 [[2, 2], [2, 2]], every CIFAR conv [[1, 1], [1, 1]]), max pooling as
 *   lax.reduceWindow(x, np.max, [2, 2], [2, 2]) (jax-js has no max-pool op; the gradient of that max splits
 *   ties evenly, PyTorch's picks one). Each figure is timed eagerly and under jit() (which made padded
 *   convolutions slower in jax-js 0.1.25) and the better is reported, both in meta. Its first step of each
 *   batch size compiles kernels (tens of seconds for the CIFAR net), inside the warm-up. Under Node 20 it
 *   runs on one thread: it starts workers only where a global Worker exists.
 *
 * Timing: a warm-up of ≥ --warmup-s seconds (at least one step), then --windows windows, each running
 * whole steps for ≥ --window-s seconds; the figure is the median window rate. When steps are slow the
 * window count is cut to fit --budget-s seconds per figure, never below --min-windows. A network peer whose
 * full batch could not run (min-windows + 1) steps within the budget (tfjs-cpu's CIFAR training, ~6 s per
 * sample) is timed at the largest power-of-two batch that can (estimated from one-sample steps, then
 * grown while a measured step of twice the batch still fits); such figures carry a '*' in the table and
 * their batch in meta. --quick's 2 s budget shrinks many batches: quick figures are for smoke tests only.
 *
 * Threads: tsgrad, tfjs-wasm and convnetjs run on one thread; torch2 needs two idle cores. On a machine
 * where another job holds a core, OpenMP's spinning barriers make torch2's networks several times slower
 * than torch1 (the load average at start and end is in the JSON; OMP_WAIT_POLICY=PASSIVE in the
 * environment softens this). The "best PyTorch" target takes the better of torch1 and torch2.
 *
 * WebAssembly SIMD peak: a module built here byte by byte runs a register-only loop of f32x4.mul +
 * f32x4.add over independent accumulators (8 and 12 fused chains, 6+6 split chains; the best is the
 * peak, GFLOP/s of one core). If WebAssembly.validate accepts f32x4.relaxed_madd (0xfd 0x105) the FMA peak
 * is measured too; if it does not, it is measured in a child started with --experimental-wasm-relaxed-simd
 * and reported as such. Each tsgrad figure is also given as a fraction of the SIMD peak (× the backend's
 * threads): GEMM GFLOP/s, and samples/s × FLOP per sample, counted from the layer shapes: forward =
 * 2·MACs, training = 2·(3·MACs − MACs of the first layer, whose input gradient nobody needs).
 *
 * Ratios: every tsgrad figure divided by each other peer's, named <figure>_<backend>_vs_<peer>
 * (e.g. lenet_train_cpu_vs_torch2); targets (per tsgrad backend, booleans): GEMM 1024 ≥ 1.2× tfjs-wasm
 * (both one thread), LeNet training ≥ the best PyTorch, CIFAR training ≥ 0.6× PyTorch at the backend's
 * thread count, inference ≥ tfjs-wasm on both nets and ≥ PyTorch (same threads) on LeNet, every
 * figure ≥ 25× convnetjs, and every figure (GEMM 1024 and the nets) ≥ 1.0× jax-js.
 *
 * Options (flag, or environment variable):
 *   --quick                     short windows, small budgets: a smoke run, not figures to quote
 *   --windows=N  BENCH_WINDOWS  timed windows per figure (5; quick 3)
 *   --min-windows=N             fewest windows for slow steps (3; quick 1)   BENCH_MIN_WINDOWS
 *   --window-s=S BENCH_WINDOW_S seconds per window (1; quick 0.15)
 *   --warmup-s=S BENCH_WARMUP_S warm-up seconds (1; quick 0.1)
 *   --budget-s=S BENCH_BUDGET_S time budget per figure (20; quick 2)
 *   --batch=N    BENCH_BATCH    batch size of the network workloads (64)
 *   --gemm=256,512,1024         GEMM sizes                                     BENCH_GEMM
 *   --peers=a,b  BENCH_PEERS    run only these peers (ids as above)
 *   --workloads=gemm,lenet,cifar                                                BENCH_WORKLOADS
 *   --out=FILE                  also write the JSON line to FILE
 *   --note=TEXT  BENCH_NOTE     a note stored in the JSON (e.g. "another job was using one core")
 *
 * Output: the tables, then as the very last line of stdout one JSON object with every figure, every
 * ratio, the targets, the peak RSS of every child, the machine (CPU model, cores, Node, load average)
 * and the configuration. Progress goes to stderr.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import {
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  SGD,
  Sequential,
  crossEntropy,
  listBackends,
  manualSeed,
  matmul,
  noGrad,
  randint,
  randn,
  setBackend,
  type Module,
} from '../src/index.js';
import * as tsgradApi from '../src/index.js';

const load = createRequire(import.meta.url);
const TSGRAD_THREADS = process.env['TSGRAD_NUM_THREADS'] ?? '1';
const SCRIPT = fileURLToPath(import.meta.url);
const PYTHON = '/usr/bin/python3';
const RESULT_TAG = '@@result ';

// ---------------------------------------------------------------------------------------------------------
// Configuration

type Workload = 'gemm' | 'lenet' | 'cifar';
const WORKLOADS: readonly Workload[] = ['gemm', 'lenet', 'cifar'];

interface Config {
  quick: boolean;
  windows: number;
  minWindows: number;
  windowS: number;
  warmupS: number;
  budgetS: number;
  batch: number;
  gemmSizes: number[];
  peers: string[] | null;
  workloads: Workload[];
  out: string | null;
  note: string | null;
  jobTimeoutS: number;
}

function parseConfig(argv: readonly string[]): Config {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (a === '--quick') flags.set('quick', '1');
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags.set(a.slice(2), argv[++i]!);
    else flags.set(a.slice(2), '1');
  }
  const quick = flags.has('quick');
  const get = (flag: string, env: string): string | undefined => flags.get(flag) ?? process.env[env];
  const num = (flag: string, env: string, full: number, short: number): number => {
    const v = get(flag, env);
    const n = v === undefined ? (quick ? short : full) : Number(v);
    if (!(n > 0)) throw new Error(`--${flag}: expected a positive number, got '${v}'`);
    return n;
  };
  const list = (flag: string, env: string): string[] | null => {
    const v = get(flag, env);
    return v ? v.split(',').map((s) => s.trim()) : null;
  };
  const workloads = (list('workloads', 'BENCH_WORKLOADS') ?? [...WORKLOADS]) as Workload[];
  for (const w of workloads) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload '${w}'`);
  return {
    quick,
    windows: Math.round(num('windows', 'BENCH_WINDOWS', 5, 3)),
    minWindows: Math.round(num('min-windows', 'BENCH_MIN_WINDOWS', 3, 1)),
    windowS: num('window-s', 'BENCH_WINDOW_S', 1, 0.15),
    warmupS: num('warmup-s', 'BENCH_WARMUP_S', 1, 0.1),
    budgetS: num('budget-s', 'BENCH_BUDGET_S', 20, 2),
    batch: Math.round(num('batch', 'BENCH_BATCH', 64, 64)),
    gemmSizes: (list('gemm', 'BENCH_GEMM') ?? ['256', '512', '1024']).map(Number),
    peers: list('peers', 'BENCH_PEERS'),
    workloads,
    out: get('out', 'BENCH_OUT') ?? null,
    note: get('note', 'BENCH_NOTE') ?? null,
    jobTimeoutS: num('job-timeout-s', 'BENCH_JOB_TIMEOUT_S', 480, 120),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Network specifications, shared by every peer

type LayerSpec =
  | { type: 'conv'; out: number; k: number; pad: number }
  | { type: 'relu' }
  | { type: 'pool'; k: number }
  | { type: 'flatten' }
  | { type: 'fc'; out: number };

type ResolvedLayer = LayerSpec & { inShape: number[]; outShape: number[]; macs: number; inFeatures: number };

interface NetSpec {
  name: 'lenet' | 'cifar';
  input: [number, number, number];
  classes: number;
  layers: ResolvedLayer[];
  forwardFlop: number;
  trainFlop: number;
  params: number;
}

const conv = (out: number, k: number, pad = 0): LayerSpec => ({ type: 'conv', out, k, pad });
const relu: LayerSpec = { type: 'relu' };
const pool = (k: number): LayerSpec => ({ type: 'pool', k });
const flat: LayerSpec = { type: 'flatten' };
const fc = (out: number): LayerSpec => ({ type: 'fc', out });

/** Walks the shapes (C, H, W → features), counting MACs and parameters. */
function resolveNet(name: NetSpec['name'], input: [number, number, number], layers: LayerSpec[]): NetSpec {
  let shape: number[] = [...input];
  let params = 0;
  const out: ResolvedLayer[] = [];
  for (const l of layers) {
    const inShape = shape;
    let macs = 0;
    let inFeatures = 0;
    if (l.type === 'conv') {
      const [c, h, w] = shape as [number, number, number];
      const oh = h + 2 * l.pad - l.k + 1;
      const ow = w + 2 * l.pad - l.k + 1;
      shape = [l.out, oh, ow];
      macs = l.out * oh * ow * c * l.k * l.k;
      params += l.out * c * l.k * l.k + l.out;
    } else if (l.type === 'pool') {
      const [c, h, w] = shape as [number, number, number];
      shape = [c, Math.floor(h / l.k), Math.floor(w / l.k)];
    } else if (l.type === 'flatten') {
      shape = [shape.reduce((a, b) => a * b, 1)];
    } else if (l.type === 'fc') {
      inFeatures = shape[0]!;
      shape = [l.out];
      macs = inFeatures * l.out;
      params += inFeatures * l.out + l.out;
    }
    out.push({ ...l, inShape, outShape: shape, macs, inFeatures });
  }
  const macs = out.reduce((a, l) => a + l.macs, 0);
  const firstMacs = out.find((l) => l.macs > 0)?.macs ?? 0;
  return {
    name,
    input,
    classes: shape[0]!,
    layers: out,
    forwardFlop: 2 * macs,
    trainFlop: 2 * (3 * macs - firstMacs),
    params,
  };
}

const NETS: Record<'lenet' | 'cifar', NetSpec> = {
  lenet: resolveNet(
    'lenet',
    [1, 28, 28],
    [conv(6, 5, 2), relu, pool(2), conv(16, 5), relu, pool(2), flat, fc(120), relu, fc(84), relu, fc(10)],
  ),
  cifar: resolveNet(
    'cifar',
    [3, 32, 32],
    [
      conv(32, 3, 1),
      relu,
      conv(32, 3, 1),
      relu,
      pool(2),
      conv(64, 3, 1),
      relu,
      conv(64, 3, 1),
      relu,
      pool(2),
      flat,
      fc(512),
      relu,
      fc(10),
    ],
  ),
};

// ---------------------------------------------------------------------------------------------------------
// Timing

interface Figure {
  value: number;
  windows: number;
  min: number;
  max: number;
  batch?: number;
}

const now = (): number => performance.now() / 1000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median rate (units per second) over timed windows after a warm-up. */
function measure(step: () => void, units: number, cfg: Config): Figure {
  const t0 = now();
  let last = 0;
  do {
    const s = now();
    step();
    last = now() - s;
  } while (now() - t0 < cfg.warmupS);
  const left = cfg.budgetS - (now() - t0);
  const k = Math.min(cfg.windows, Math.max(cfg.minWindows, Math.floor(left / Math.max(cfg.windowS, last))));
  const rates: number[] = [];
  for (let w = 0; w < k; w++) {
    const s = now();
    let n = 0;
    do {
      step();
      n++;
    } while (now() - s < cfg.windowS);
    rates.push((n * units) / (now() - s));
  }
  return { value: median(rates), windows: k, min: Math.min(...rates), max: Math.max(...rates) };
}

/**
 * Samples/s of a network step built by make(batch): the configured batch, unless (min-windows + 1) steps of
 * it would overrun the budget (judged from steps of one sample), then the largest power of two that fits.
 */
function measureNet(make: (batch: number) => () => void, cfg: Config): Figure {
  const fits = (perSample: number, b: number): boolean => perSample * b * (cfg.minWindows + 1) <= cfg.budgetS;
  const time = (f: () => void): number => {
    const s = now();
    f();
    return now() - s;
  };
  let batch = cfg.batch;
  let step: (() => void) | null = null;
  const probe = make(1);
  if (!fits(time(probe), batch)) {
    const perSample = time(probe); // again, without first-call costs
    while (batch > 1 && !fits(perSample, batch)) batch = 2 ** Math.floor(Math.log2(batch - 1));
    if (batch === 1) step = probe;
    // One sample per step overstates the cost per sample where steps have fixed costs: grow the batch
    // while a measured step of the doubled batch still fits (tried where it could, at half the cost).
    let per = perSample;
    while (batch < cfg.batch) {
      const next = Math.min(cfg.batch, 2 * batch);
      if (!fits(per / 2, next)) break;
      const s = make(next);
      const t = time(s) / next;
      if (!fits(t, next)) break;
      batch = next;
      step = s;
      per = t;
    }
  }
  return { ...measure(step ?? make(batch), batch, cfg), batch };
}

// ---------------------------------------------------------------------------------------------------------
// Workers: one peer, one workload, in this process; the result goes to stdout as one tagged JSON line

interface JobResult {
  figures: Record<string, number | string>;
  meta: Record<string, unknown>;
  maxRssMiB: number;
  version?: string;
  error?: string;
}

type Figures = Record<string, Figure | string>;

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

/** Runs one figure; an exception becomes its result ('unsupported: …' for a missing kernel). */
function attempt(into: Figures, key: string, f: () => Figure): void {
  try {
    into[key] = f();
  } catch (e) {
    const msg = errorText(e);
    into[key] = /not registered|not supported|unsupported/i.test(msg) ? `unsupported: ${msg}` : `error: ${msg}`;
  }
  const r = into[key]!;
  process.stderr.write(`    ${key}: ${typeof r === 'string' ? r : r.value.toPrecision(4)}\n`);
}

function tsgradNet(spec: NetSpec): Sequential {
  const mods: Module[] = [];
  for (const l of spec.layers) {
    if (l.type === 'conv') mods.push(new Conv2d(l.inShape[0]!, l.out, l.k, { padding: l.pad }));
    else if (l.type === 'relu') mods.push(new ReLU());
    else if (l.type === 'pool') mods.push(new MaxPool2d(l.k));
    else if (l.type === 'flatten') mods.push(new Flatten());
    else mods.push(new Linear(l.inFeatures, l.out));
  }
  return new Sequential(...mods);
}

/** An export of tsgrad's that may not exist in every version (wasmReady, wasmFeatures). */
function optionalExport<T>(name: string): T | undefined {
  return (tsgradApi as Record<string, unknown>)[name] as T | undefined;
}

async function tsgradWorker(backend: string, workload: Workload, cfg: Config): Promise<Figures> {
  const ready = optionalExport<() => Promise<boolean>>('wasmReady');
  if (backend === 'wasm' && ready && !(await ready())) throw new Error('tsgrad: wasmReady() resolved false');
  setBackend(backend);
  manualSeed(0);
  const figs: Figures = {};
  if (workload === 'gemm') {
    for (const n of cfg.gemmSizes) {
      attempt(figs, `gemm${n}`, () => {
        const a = randn([n, n]);
        const b = randn([n, n]);
        return measure(() => void matmul(a, b).dataSync(), (2 * n ** 3) / 1e9, cfg);
      });
    }
    return figs;
  }
  const spec = NETS[workload];
  const net = tsgradNet(spec);
  const opt = new SGD(net.parameters(), { lr: 0.01 });
  attempt(figs, `${workload}_train`, () =>
    measureNet((b) => {
      const x = randn([b, ...spec.input]);
      const y = randint(0, spec.classes, [b]);
      return () => {
        const loss = crossEntropy(net.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        loss.itemSync();
      };
    }, cfg),
  );
  net.eval();
  attempt(figs, `${workload}_infer`, () =>
    measureNet((b) => {
      const x = randn([b, ...spec.input]);
      return () => void noGrad(() => net.forward(x).dataSync());
    }, cfg),
  );
  return figs;
}

function tfjsModel(tfl: typeof TfLayers, spec: NetSpec): TfLayers.Sequential {
  const layers: TfLayers.layers.Layer[] = [];
  const [c, h, w] = spec.input;
  const ls = spec.layers;
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!;
    const first = layers.length === 0 ? { inputShape: [h, w, c] } : {};
    const act = ls[i + 1]?.type === 'relu' ? 'relu' : 'linear';
    if (l.type === 'conv') {
      if (l.pad !== 0 && 2 * l.pad !== l.k - 1) throw new Error(`tfjs: padding ${l.pad} for kernel ${l.k}`);
      layers.push(
        tfl.layers.conv2d({
          ...first,
          filters: l.out,
          kernelSize: l.k,
          padding: l.pad ? 'same' : 'valid',
          activation: act,
        }),
      );
      if (act === 'relu') i++;
    } else if (l.type === 'fc') {
      layers.push(tfl.layers.dense({ ...first, units: l.out, activation: act }));
      if (act === 'relu') i++;
    } else if (l.type === 'relu') layers.push(tfl.layers.reLU(first));
    else if (l.type === 'pool') layers.push(tfl.layers.maxPooling2d({ ...first, poolSize: l.k, strides: l.k }));
    else layers.push(tfl.layers.flatten(first));
  }
  return tfl.sequential({ layers });
}

async function tfjsWorker(
  backend: 'cpu' | 'wasm',
  workload: Workload,
  cfg: Config,
): Promise<{ figs: Figures; version: string; meta: Record<string, unknown> }> {
  const tf = load('@tensorflow/tfjs-core') as typeof TfCore;
  load('@tensorflow/tfjs-backend-cpu');
  if (backend === 'wasm') load('@tensorflow/tfjs-backend-wasm');
  tf.env().set('PROD', true); // no debug checks, no "install tfjs-node" banner
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} failed to initialize`);
  await tf.ready();
  const meta: Record<string, unknown> = {};
  if (backend === 'wasm') {
    meta['simd'] = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    meta['multithread'] = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const wasm = load('@tensorflow/tfjs-backend-wasm') as { getThreadsCount(): number };
    meta['threads'] = wasm.getThreadsCount();
  }
  const figs: Figures = {};
  if (workload === 'gemm') {
    for (const n of cfg.gemmSizes) {
      attempt(figs, `gemm${n}`, () => {
        const a = tf.randomNormal([n, n]) as TfCore.Tensor2D;
        const b = tf.randomNormal([n, n]) as TfCore.Tensor2D;
        return measure(
          () => {
            const c = tf.matMul(a, b);
            c.dataSync();
            c.dispose();
          },
          (2 * n ** 3) / 1e9,
          cfg,
        );
      });
    }
  } else {
    const tfl = load('@tensorflow/tfjs-layers') as typeof TfLayers;
    const spec = NETS[workload];
    const [c, h, w] = spec.input;
    const model = tfjsModel(tfl, spec);
    const opt = tf.train.sgd(0.01);
    attempt(figs, `${workload}_train`, () =>
      measureNet((b) => {
        const x = tf.randomNormal([b, h, w, c]);
        const y = tf.oneHot(tf.randomUniform([b], 0, spec.classes, 'int32') as TfCore.Tensor1D, spec.classes);
        return () => {
          const cost = opt.minimize(
            () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as TfCore.Tensor),
            true,
          );
          cost!.dataSync();
          cost!.dispose();
        };
      }, cfg),
    );
    attempt(figs, `${workload}_infer`, () =>
      measureNet((b) => {
        const x = tf.randomNormal([b, h, w, c]);
        return () => tf.tidy(() => void (model.predict(x) as TfCore.Tensor).dataSync());
      }, cfg),
    );
    meta['live_tensors'] = tf.memory().numTensors;
  }
  return { figs, version: tf.version_core, meta };
}

interface CnVol {
  w: Float64Array;
}
interface CnNet {
  makeLayers(defs: object[]): void;
  forward(v: CnVol, isTraining?: boolean): CnVol;
}
interface ConvNetJs {
  Net: new () => CnNet;
  Trainer: new (net: CnNet, opts: object) => { train(v: CnVol, label: number): { loss: number } };
  Vol: new (sx: number, sy: number, depth: number) => CnVol;
}

function convnetjsWorker(workload: Workload, cfg: Config): Figures {
  const figs: Figures = {};
  if (workload === 'gemm') return { gemm: 'n/a: convnetjs has no matrix product API' };
  const cn = load('convnetjs') as ConvNetJs;
  const spec = NETS[workload];
  const [c, h, w] = spec.input;
  const defs: object[] = [{ type: 'input', out_sx: w, out_sy: h, out_depth: c }];
  const ls = spec.layers;
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!;
    const act = ls[i + 1]?.type === 'relu' ? { activation: 'relu' } : {};
    if (l.type === 'conv') defs.push({ type: 'conv', sx: l.k, filters: l.out, stride: 1, pad: l.pad, ...act });
    else if (l.type === 'pool') defs.push({ type: 'pool', sx: l.k, stride: l.k });
    else if (l.type === 'fc') {
      // convnetjs's softmax layer brings its own fully connected layer in front of it.
      defs.push(
        i === ls.length - 1 ? { type: 'softmax', num_classes: l.out } : { type: 'fc', num_neurons: l.out, ...act },
      );
    }
    if ('activation' in act) i++;
  }
  const net = new cn.Net();
  net.makeLayers(defs);
  const trainer = new cn.Trainer(net, {
    method: 'sgd',
    learning_rate: 0.01,
    batch_size: cfg.batch,
    momentum: 0,
    l2_decay: 0,
  });
  const xs = Array.from({ length: cfg.batch }, () => new cn.Vol(w, h, c));
  const ys = xs.map((_, i) => i % spec.classes);
  let i = 0;
  let sink = 0;
  attempt(figs, `${workload}_train`, () =>
    measure(
      () => {
        sink += trainer.train(xs[i % xs.length]!, ys[i % xs.length]!).loss;
        i++;
      },
      1,
      cfg,
    ),
  );
  attempt(figs, `${workload}_infer`, () =>
    measure(
      () => {
        sink += net.forward(xs[i++ % xs.length]!, false).w[0]!;
      },
      1,
      cfg,
    ),
  );
  if (!Number.isFinite(sink)) process.stderr.write('convnetjs: non-finite loss\n');
  return figs;
}

// --- jax-js ------------------------------------------------------------------------------------------------

type Jax = typeof import('@jax-js/jax');
type JaxArray = import('@jax-js/jax').Array;
type JaxParams = Record<string, JaxArray>;

/** Uniform ±bound from a fixed LCG (jax-js needs no seed here: only the speed is measured). */
function lcgFill(n: number, bound: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 * bound - bound;
  }
  return a;
}

/**
 * The same nets in jax-js, written as pure functions over a parameter tree: lax.conv (NCHW input, OIHW
 * kernel) with explicit symmetric padding [[p, p], [p, p]] (the padding of the spec; LeNet's first conv
 * pads 2, every CIFAR conv pads 1), max pooling as lax.reduceWindow(x, np.max, [k, k], [k, k]) (jax-js
 * has no max-pool op; the gradient of this max splits ties evenly), matmul + bias for fc layers.
 * Functions take ownership of their arguments, as jax-js's reference counting asks.
 */
function jaxNet(jax: Jax, spec: NetSpec): { params: JaxParams; forward: (p: JaxParams, x: JaxArray) => JaxArray } {
  const { numpy: np, lax, nn } = jax;
  const params: JaxParams = {};
  spec.layers.forEach((l, i) => {
    if (l.type === 'conv') {
      const fanIn = l.inShape[0]! * l.k * l.k;
      params[`w${i}`] = np
        .array(lcgFill(l.out * fanIn, 1 / Math.sqrt(fanIn), i + 1))
        .reshape([l.out, l.inShape[0]!, l.k, l.k]);
      params[`b${i}`] = np.zeros([l.out]);
    } else if (l.type === 'fc') {
      params[`w${i}`] = np
        .array(lcgFill(l.inFeatures * l.out, 1 / Math.sqrt(l.inFeatures), i + 1))
        .reshape([l.inFeatures, l.out]);
      params[`b${i}`] = np.zeros([l.out]);
    }
  });
  const forward = (p: JaxParams, x: JaxArray): JaxArray => {
    let h = x;
    spec.layers.forEach((l, i) => {
      if (l.type === 'conv') {
        const pad: [number, number][] = [
          [l.pad, l.pad],
          [l.pad, l.pad],
        ];
        h = lax.conv(h, p[`w${i}`]!, [1, 1], pad).add(p[`b${i}`]!.reshape([1, l.out, 1, 1]));
      } else if (l.type === 'relu') h = nn.relu(h);
      else if (l.type === 'pool') h = lax.reduceWindow(h, (w) => np.max(w), [l.k, l.k], [l.k, l.k]);
      else if (l.type === 'flatten') h = h.reshape([h.shape[0]!, l.outShape[0]!]);
      else h = np.matmul(h, p[`w${i}`]!).add(p[`b${i}`]!);
    });
    // Parameters this forward did not consume (none today) would leak: every one is used once.
    return h;
  };
  return { params, forward };
}

async function jaxjsWorker(
  workload: Workload,
  cfg: Config,
): Promise<{ figs: Figures; version: string; meta: Record<string, unknown> }> {
  const jax = (await import('@jax-js/jax')) as Jax;
  const { numpy: np, nn, tree } = jax;
  const devices = await jax.init('wasm');
  if (!devices.includes('wasm')) throw new Error(`jax-js: no wasm device (have ${devices.join(', ')})`);
  jax.defaultDevice('wasm');
  const meta: Record<string, unknown> = {
    device: 'wasm',
    // jax-js starts its worker pool only when both SharedArrayBuffer and a global Worker exist; Node 20 has
    // no global Worker, so it runs on the main thread, like the other one-thread peers.
    threads: typeof (globalThis as { Worker?: unknown }).Worker === 'function' ? 'pool' : 1,
    relaxed_simd_validates: WebAssembly.validate(peakModule('fma', 8)),
  };
  // Its package.json is not in its exports map: read it next to the entry point.
  const pkg = join(dirname(load.resolve('@jax-js/jax')), '..', 'package.json');
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  const figs: Figures = {};
  const array = (data: Float32Array, shape: number[]): JaxArray => np.array(data).reshape(shape);
  if (workload === 'gemm') {
    for (const n of cfg.gemmSizes) {
      attempt(figs, `gemm${n}`, () => {
        const a = array(lcgFill(n * n, 1, 1), [n, n]);
        const b = array(lcgFill(n * n, 1, 2), [n, n]);
        const f = measure(
          () => {
            // dataSync() takes ownership of the array (jax-js frees it after the read).
            np.matmul(a.ref, b.ref).dataSync();
          },
          (2 * n ** 3) / 1e9,
          cfg,
        );
        a.dispose();
        b.dispose();
        return f;
      });
    }
    return { figs, version, meta };
  }
  const spec = NETS[workload];
  const { params, forward } = jaxNet(jax, spec);
  let current = params;
  const lossOf = (p: JaxParams, x: JaxArray, y: JaxArray): JaxArray => {
    const n = x.shape[0]!;
    return nn
      .logSoftmax(forward(p, x), -1)
      .mul(y)
      .sum()
      .mul(-1 / n);
  };
  const valueAndGrad = jax.valueAndGrad(lossOf);
  // One SGD step (lr 0.01, as every peer): the new parameters and the loss.
  const sgdStep = (p: JaxParams, x: JaxArray, y: JaxArray): [JaxParams, JaxArray] => {
    const [loss, g] = valueAndGrad(tree.ref(p), x, y);
    const next = tree.map((w: JaxArray, gw: JaxArray) => w.sub(gw.mul(0.01)), p, g) as JaxParams;
    return [next, loss];
  };
  const modes = ['eager', 'jit'] as const;
  const inputs = (b: number): { x: JaxArray; y: JaxArray } => {
    const [c, h, w] = spec.input;
    const oneHot = new Float32Array(b * spec.classes);
    for (let i = 0; i < b; i++) oneHot[i * spec.classes + (i % spec.classes)] = 1;
    return { x: array(lcgFill(b * c * h * w, 1, 7), [b, c, h, w]), y: array(oneHot, [b, spec.classes]) };
  };
  const byMode: Record<string, Record<string, Figure | string>> = {};
  for (const mode of modes) {
    const trainFn = mode === 'jit' ? jax.jit(sgdStep) : sgdStep;
    const inferFn = mode === 'jit' ? jax.jit(forward) : forward;
    const into: Figures = {};
    process.stderr.write(`  jax-js ${mode}\n`);
    attempt(into, `${workload}_train`, () =>
      measureNet((b) => {
        const { x, y } = inputs(b);
        return () => {
          const [next, loss] = trainFn(current, x.ref, y.ref) as [JaxParams, JaxArray];
          current = next;
          loss.dataSync();
        };
      }, cfg),
    );
    attempt(into, `${workload}_infer`, () =>
      measureNet((b) => {
        const { x } = inputs(b);
        return () => {
          (inferFn(tree.ref(current), x.ref) as JaxArray).dataSync();
        };
      }, cfg),
    );
    byMode[mode] = into;
  }
  // Each figure is the better of the two modes; both go into meta.
  for (const key of [`${workload}_train`, `${workload}_infer`]) {
    const cands = modes
      .map((m) => [m, byMode[m]![key]] as const)
      .filter((c): c is readonly [(typeof modes)[number], Figure] => typeof c[1] === 'object');
    if (!cands.length) {
      figs[key] = byMode['eager']![key]!;
      continue;
    }
    const [bestMode, best] = cands.reduce((a, b) => (b[1].value > a[1].value ? b : a));
    figs[key] = best;
    meta[`${key}_mode`] = bestMode;
    for (const m of modes) {
      const f = byMode[m]![key];
      meta[`${key}_${m}`] = typeof f === 'object' ? { value: f.value, batch: f.batch } : f;
    }
  }
  meta['padding'] =
    'lax.conv with explicit [[p, p], [p, p]] padding (LeNet-5 conv1 p = 2, other LeNet convs 0; every CIFAR conv p = 1)';
  meta['pooling'] = 'lax.reduceWindow(x, np.max, [2, 2], [2, 2]) (no max-pool op; its gradient splits ties evenly)';
  return { figs, version, meta };
}

// --- WebAssembly SIMD peak: a module encoded by hand ------------------------------------------------------

function leb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>>= 7;
    if (n === 0) return [...out, b];
    out.push(b | 0x80);
  }
}
const simdOp = (op: number): number[] => [0xfd, ...leb(op)];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const wasmName = (s: string): number[] => [...leb(s.length), ...Buffer.from(s, 'utf8')];
const F32X4_SPLAT = 0x13;
const F32X4_EXTRACT = 0x1f;
const F32X4_ADD = 0xe4;
const F32X4_MUL = 0xe6;
const F32X4_RELAXED_MADD = 0x105;

type PeakKind = 'muladd' | 'split' | 'fma';

/**
 * export run(n: i32, m: f32, a: f32) -> f32: n iterations of, per accumulator,
 * muladd: acc = acc·m + a;  fma: acc = relaxed_madd(acc, m, a);  split: p = p·m and q = q + a.
 * Every kind does 8·k FLOP per iteration; everything stays in locals (registers).
 */
function peakModule(kind: PeakKind, k: number): Uint8Array<ArrayBuffer> {
  const nAcc = kind === 'split' ? 2 * k : k;
  const get = (i: number): number[] => [0x20, ...leb(i)];
  const set = (i: number): number[] => [0x21, ...leb(i)];
  const M = 3;
  const A = 4;
  const acc = (i: number): number => 5 + i;
  const body: number[] = [...get(1), ...simdOp(F32X4_SPLAT), ...set(M), ...get(2), ...simdOp(F32X4_SPLAT), ...set(A)];
  for (let i = 0; i < nAcc; i++) body.push(...get(M), ...set(acc(i)));
  body.push(0x03, 0x40); // loop
  for (let i = 0; i < k; i++) {
    if (kind === 'muladd') {
      body.push(...get(acc(i)), ...get(M), ...simdOp(F32X4_MUL), ...get(A), ...simdOp(F32X4_ADD), ...set(acc(i)));
    } else if (kind === 'fma') {
      body.push(...get(acc(i)), ...get(M), ...get(A), ...simdOp(F32X4_RELAXED_MADD), ...set(acc(i)));
    } else {
      body.push(...get(acc(i)), ...get(M), ...simdOp(F32X4_MUL), ...set(acc(i)));
      body.push(...get(acc(k + i)), ...get(A), ...simdOp(F32X4_ADD), ...set(acc(k + i)));
    }
  }
  // n -= 1; br_if (n != 0) to the loop; end
  body.push(...get(0), 0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b);
  body.push(...get(acc(0)));
  for (let i = 1; i < nAcc; i++) body.push(...get(acc(i)), ...simdOp(F32X4_ADD));
  body.push(...simdOp(F32X4_EXTRACT), 0x00, 0x0b);
  const func = [0x01, ...leb(2 + nAcc), 0x7b, ...body]; // one run of 2 + nAcc v128 locals
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7d, 0x7d, 0x01, 0x7d]), // (i32, f32, f32) -> f32
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...wasmName('run'), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(func.length), ...func]),
  ]);
}

/** GFLOP/s of one core running the kernel: median of timed windows after tier-up. */
function peakGflops(kind: PeakKind, k: number, cfg: Config): Figure {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(peakModule(kind, k)));
  const run = inst.exports['run'] as (n: number, m: number, a: number) => number;
  const flopPerIter = 8 * k;
  let iters = 1e6;
  for (let i = 0; i < 5; i++) run(iters, 1, 0); // Liftoff, then TurboFan on a later call
  const s = now();
  run(iters, 1, 0);
  const per = (now() - s) / iters;
  iters = Math.max(1e5, Math.min(2e9, Math.round(Math.min(cfg.windowS, 0.5) / 5 / per)));
  return measure(() => void run(iters, 1, 0), (iters * flopPerIter) / 1e9, cfg);
}

const VARIANTS: readonly [PeakKind, number][] = [
  ['muladd', 8],
  ['muladd', 12],
  ['split', 6],
];
const FMA_VARIANTS: readonly [PeakKind, number][] = [
  ['fma', 8],
  ['fma', 12],
];

function peakWorker(which: string, cfg: Config): { figs: Figures; meta: Record<string, unknown> } {
  const relaxed = WebAssembly.validate(peakModule('fma', 8));
  const figs: Figures = {};
  const variants = which === 'fma' ? FMA_VARIANTS : [...VARIANTS, ...(relaxed ? FMA_VARIANTS : [])];
  if (!WebAssembly.validate(peakModule('muladd', 8))) return { figs: { simd: 'unsupported: no SIMD' }, meta: {} };
  for (const [kind, k] of variants) {
    if (kind === 'fma' && !relaxed) continue;
    attempt(figs, `${kind}${k}`, () => peakGflops(kind, k, cfg));
  }
  // Importing tsgrad may itself have enabled relaxed SIMD (its wasm backend sets V8's flag on Node 20).
  const features = optionalExport<() => { relaxedSimdVia?: string }>('wasmFeatures');
  return { figs, meta: { relaxed_simd: relaxed, relaxed_simd_via: features?.().relaxedSimdVia ?? null } };
}

// --- worker entry -----------------------------------------------------------------------------------------

async function worker(peer: string, workload: string, cfg: Config): Promise<void> {
  let figs: Figures = {};
  let meta: Record<string, unknown> = {};
  let version: string | undefined;
  if (peer.startsWith('tsgrad-')) {
    figs = await tsgradWorker(peer.slice(7), workload as Workload, cfg);
    const features = optionalExport<() => unknown>('wasmFeatures');
    if (peer === 'tsgrad-wasm' && features) meta['wasm_features'] = features();
  } else if (peer === 'tfjs-cpu' || peer === 'tfjs-wasm') {
    ({ figs, version, meta } = await tfjsWorker(peer === 'tfjs-cpu' ? 'cpu' : 'wasm', workload as Workload, cfg));
  } else if (peer === 'convnetjs') figs = convnetjsWorker(workload as Workload, cfg);
  else if (peer === 'jaxjs') ({ figs, version, meta } = await jaxjsWorker(workload as Workload, cfg));
  else if (peer === 'wasm-peak') ({ figs, meta } = peakWorker(workload, cfg));
  else throw new Error(`unknown peer '${peer}'`);
  const out: JobResult = { figures: {}, meta, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  if (version) out.version = version;
  for (const [k, f] of Object.entries(figs)) {
    if (typeof f === 'string') out.figures[k] = f;
    else {
      out.figures[k] = f.value;
      meta[k] = { windows: f.windows, min: f.min, max: f.max, ...(f.batch !== undefined ? { batch: f.batch } : {}) };
    }
  }
  process.stdout.write(`${RESULT_TAG}${JSON.stringify(out)}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// PyTorch: the same protocol in one python process per (threads, workload)

const TORCH_SCRIPT = `
import json, math, resource, sys, time
cfg = json.loads(sys.argv[1])
import torch, torch.nn as nn
torch.set_num_threads(cfg['threads']); torch.manual_seed(0)
now = time.perf_counter
def measure(step, units):
    t0 = now(); last = 0.0
    while True:
        s = now(); step(); last = now() - s
        if now() - t0 >= cfg['warmupS']: break
    left = cfg['budgetS'] - (now() - t0)
    k = min(cfg['windows'], max(cfg['minWindows'], int(left // max(cfg['windowS'], last))))
    rates = []
    for _ in range(k):
        s = now(); n = 0
        while True:
            step(); n += 1
            if now() - s >= cfg['windowS']: break
        rates.append(n * units / (now() - s))
    r = sorted(rates); m = len(r) // 2
    med = r[m] if len(r) % 2 else (r[m - 1] + r[m]) / 2
    return {'value': med, 'windows': k, 'min': r[0], 'max': r[-1]}
def measure_net(make):
    batch = cfg['batch']
    fits = lambda per, b: per * b * (cfg['minWindows'] + 1) <= cfg['budgetS']
    def timed(f):
        s = now(); f(); return now() - s
    probe = make(1); step = None
    if not fits(timed(probe), batch):
        per = timed(probe)
        while batch > 1 and not fits(per, batch): batch = 2 ** int(math.floor(math.log2(batch - 1)))
        if batch == 1: step = probe
        while batch < cfg['batch']:
            nxt = min(cfg['batch'], 2 * batch)
            if not fits(per / 2, nxt): break
            s = make(nxt); t = timed(s) / nxt
            if not fits(t, nxt): break
            batch = nxt; step = s; per = t
    f = measure(step or make(batch), batch); f['batch'] = batch
    return f
def build(spec):
    mods = []
    for l in spec['layers']:
        t = l['type']
        if t == 'conv': mods.append(nn.Conv2d(l['inShape'][0], l['out'], l['k'], padding=l['pad']))
        elif t == 'relu': mods.append(nn.ReLU())
        elif t == 'pool': mods.append(nn.MaxPool2d(l['k']))
        elif t == 'flatten': mods.append(nn.Flatten())
        else: mods.append(nn.Linear(l['inFeatures'], l['out']))
    return nn.Sequential(*mods)
figs = {}
wl = cfg['workload']
if wl == 'gemm':
    for n in cfg['gemmSizes']:
        a = torch.randn(n, n); b = torch.randn(n, n)
        figs['gemm%d' % n] = measure(lambda: torch.mm(a, b), 2 * n ** 3 / 1e9)
else:
    spec = cfg['spec']; C, H, W = spec['input']
    net = build(spec); opt = torch.optim.SGD(net.parameters(), lr=0.01)
    def make_train(b):
        x = torch.randn(b, C, H, W); y = torch.randint(0, spec['classes'], (b,))
        def step():
            loss = nn.functional.cross_entropy(net(x), y); opt.zero_grad(); loss.backward(); opt.step(); loss.item()
        return step
    def make_infer(b):
        x = torch.randn(b, C, H, W)
        def step():
            with torch.no_grad(): net(x).numpy()
        return step
    figs[wl + '_train'] = measure_net(make_train)
    net.eval()
    figs[wl + '_infer'] = measure_net(make_infer)
meta = {k: {kk: vv for kk, vv in f.items() if kk != 'value'} for k, f in figs.items()}
meta['threads'] = torch.get_num_threads()
out = {'figures': {k: f['value'] for k, f in figs.items()}, 'meta': meta,
       'maxRssMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'version': torch.__version__}
print('${RESULT_TAG}' + json.dumps(out), flush=True)
`;

// ---------------------------------------------------------------------------------------------------------
// Driver

function parseResult(stdout: string): JobResult | null {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_TAG));
  return line ? (JSON.parse(line.slice(RESULT_TAG.length)) as JobResult) : null;
}

function runJob(peer: string, workload: string, cfg: Config, nodeFlags: string[] = []): JobResult {
  const t0 = now();
  process.stderr.write(`[bench] ${peer} ${workload}\n`);
  let r;
  if (peer.startsWith('torch')) {
    const threads = Number(peer.slice(5));
    const n = String(threads);
    const arg = { ...cfg, threads, workload, spec: workload === 'gemm' ? null : NETS[workload as 'lenet' | 'cifar'] };
    r = spawnSync(PYTHON, ['-c', TORCH_SCRIPT, JSON.stringify(arg)], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n },
      timeout: cfg.jobTimeoutS * 1000,
      maxBuffer: 1 << 26,
    });
  } else {
    r = spawnSync(process.execPath, [...nodeFlags, SCRIPT, '--worker', peer, workload], {
      encoding: 'utf8',
      // tsgrad's wasm backend uses every core by default; the table compares one thread unless
      // TSGRAD_NUM_THREADS says otherwise (the thread count is recorded in the JSON).
      env: { ...process.env, TSGRAD_NUM_THREADS: TSGRAD_THREADS, BENCH_CONFIG: JSON.stringify(cfg) },
      stdio: ['ignore', 'pipe', 'inherit'],
      // jax-js times two modes (eager and jit) and compiles its kernels for each batch size.
      timeout: cfg.jobTimeoutS * 1000 * (peer === 'jaxjs' ? 2 : 1),
      maxBuffer: 1 << 26,
    });
  }
  const res = r.stdout ? parseResult(r.stdout) : null;
  process.stderr.write(`[bench]   ${(now() - t0).toFixed(1)} s\n`);
  if (res) return res;
  const why = r.error
    ? errorText(r.error)
    : `exit ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`;
  return { figures: {}, meta: {}, maxRssMiB: NaN, error: why };
}

const peerShort = (p: string): string => (p.startsWith('tsgrad-') ? p.slice(7) : p.replace('-', '_'));

function fmtNum(v: number | string | undefined, width: number): string {
  let s: string;
  if (v === undefined) s = '—';
  else if (typeof v === 'string') s = v.startsWith('unsupported') ? 'unsupp.' : v.startsWith('n/a') ? 'n/a' : 'error';
  else if (!Number.isFinite(v)) s = '—';
  else if (Math.abs(v) >= 100) s = Math.round(v).toLocaleString('en-US');
  else if (Math.abs(v) >= 10) s = v.toFixed(1);
  else s = v.toFixed(v >= 1 ? 2 : 3);
  return s.padStart(width);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const wi = argv.indexOf('--worker');
  if (wi >= 0) {
    const cfg = process.env['BENCH_CONFIG'] ? (JSON.parse(process.env['BENCH_CONFIG']) as Config) : parseConfig(argv);
    await worker(argv[wi + 1]!, argv[wi + 2]!, cfg);
    return;
  }
  const cfg = parseConfig(argv);
  const started = new Date();
  const load0 = os.loadavg();
  const backends = listBackends();
  const threadsOf: Record<string, number> = {};
  for (const b of backends) threadsOf[b] = b === 'wasm' ? Number(TSGRAD_THREADS) : 1;
  setBackend(backends[0]!);
  const allPeers = [
    ...backends.map((b) => `tsgrad-${b}`),
    'tfjs-cpu',
    'tfjs-wasm',
    'convnetjs',
    'jaxjs',
    'torch1',
    'torch2',
  ];
  const peers = allPeers.filter((p) => !cfg.peers || cfg.peers.includes(p));
  const tsPeers = peers.filter((p) => p.startsWith('tsgrad-'));

  // WebAssembly SIMD peak of one core
  const peak = runJob('wasm-peak', 'simd', cfg);
  const nums = (r: JobResult, prefix: string): number[] =>
    Object.entries(r.figures)
      .filter(([k, v]) => k.startsWith(prefix) && typeof v === 'number')
      .map(([, v]) => v as number);
  const simdPeak = Math.max(...nums(peak, 'muladd'), ...nums(peak, 'split'));
  const relaxedDefault = peak.meta['relaxed_simd'] === true;
  let fmaPeak = relaxedDefault ? Math.max(...nums(peak, 'fma')) : NaN;
  const via = peak.meta['relaxed_simd_via'];
  let fmaNote = !relaxedDefault
    ? ''
    : via === 'v8-flag'
      ? `WebAssembly.validate accepts relaxed SIMD once tsgrad's wasm backend has set V8's --experimental-wasm-relaxed-simd at import (Node ${process.version} does not enable it by default)`
      : 'relaxed SIMD accepted by WebAssembly.validate';
  let peakFlagged: JobResult | null = null;
  if (!relaxedDefault) {
    peakFlagged = runJob('wasm-peak', 'fma', cfg, ['--experimental-wasm-relaxed-simd']);
    const f = nums(peakFlagged, 'fma');
    fmaPeak = f.length ? Math.max(...f) : NaN;
    fmaNote = f.length
      ? `WebAssembly.validate rejects relaxed SIMD in Node ${process.version} by default; FMA peak measured with --experimental-wasm-relaxed-simd`
      : `relaxed SIMD unavailable in Node ${process.version}${peakFlagged.error ? ` (${peakFlagged.error})` : ''}`;
  }

  // The peers
  const results: Record<string, Record<string, JobResult>> = {};
  for (const w of cfg.workloads) {
    for (const p of peers) {
      if (p === 'convnetjs' && w === 'gemm') continue;
      (results[p] ??= {})[w] = runJob(p, w, cfg);
    }
  }
  const load1 = os.loadavg();

  const figures: Record<string, Record<string, number | string>> = {};
  const meta: Record<string, Record<string, Record<string, unknown>>> = {};
  const rss: Record<string, Record<string, number>> = {};
  const errors: Record<string, string> = {};
  const versions: Record<string, string> = {};
  for (const [p, byW] of Object.entries(results)) {
    for (const [w, r] of Object.entries(byW)) {
      Object.assign((figures[p] ??= {}), r.figures);
      (meta[p] ??= {})[w] = r.meta;
      (rss[p] ??= {})[w] = Math.round(r.maxRssMiB * 10) / 10;
      if (r.error) errors[`${p} ${w}`] = r.error;
      if (r.version) versions[p] = r.version;
    }
  }
  const fig = (p: string, k: string): number | undefined => {
    const v = figures[p]?.[k];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const keys = [
    ...(cfg.workloads.includes('gemm') ? cfg.gemmSizes.map((n) => `gemm${n}`) : []),
    ...(['lenet', 'cifar'] as const)
      .filter((w) => cfg.workloads.includes(w))
      .flatMap((w) => [`${w}_train`, `${w}_infer`]),
  ];

  // Ratios: every tsgrad figure over every other peer's
  const ratios: Record<string, number> = {};
  for (const tp of tsPeers) {
    for (const p of peers) {
      if (p === tp) continue;
      for (const k of keys) {
        const a = fig(tp, k);
        const b = fig(p, k);
        if (a !== undefined && b !== undefined) ratios[`${k}_${peerShort(tp)}_vs_${peerShort(p)}`] = a / b;
      }
    }
  }

  // Fractions of the WebAssembly SIMD peak (× threads)
  const flopOf = (k: string): number | null => {
    const [w, mode] = k.split('_') as [string, string | undefined];
    if (w.startsWith('gemm')) return 1e9; // figure already GFLOP/s
    const spec = NETS[w as 'lenet' | 'cifar'];
    return mode === 'train' ? spec.trainFlop : spec.forwardFlop;
  };
  const fractionOfPeak: Record<string, Record<string, number>> = {};
  for (const p of peers) {
    const threads = p.startsWith('tsgrad-') ? threadsOf[p.slice(7)]! : p === 'torch2' ? 2 : 1;
    for (const k of keys) {
      const v = fig(p, k);
      const flop = flopOf(k);
      if (v === undefined || flop === null || !(simdPeak > 0)) continue;
      (fractionOfPeak[p] ??= {})[k] = (v * flop) / 1e9 / (simdPeak * threads);
    }
  }

  // The issue's targets, per tsgrad backend
  const ge = (a: number | undefined, b: number | undefined, factor = 1): boolean | null =>
    a === undefined || b === undefined ? null : a >= factor * b;
  const targets: Record<string, Record<string, boolean | null>> = {};
  for (const tp of tsPeers) {
    const t = Math.min(2, threadsOf[tp.slice(7)]!);
    const torchSame = `torch${t}`;
    const torchBest = (k: string): number | undefined => {
      const xs = [fig('torch1', k), fig('torch2', k)].filter((x): x is number => x !== undefined);
      return xs.length ? Math.max(...xs) : undefined;
    };
    const tg: Record<string, boolean | null> = {
      'gemm1024_1thread_ge_1.2x_tfjs_wasm': ge(fig(tp, 'gemm1024'), fig('tfjs-wasm', 'gemm1024'), 1.2),
      lenet_train_ge_torch_best: ge(fig(tp, 'lenet_train'), torchBest('lenet_train')),
      [`cifar_train_ge_0.6x_${torchSame}`]: ge(fig(tp, 'cifar_train'), fig(torchSame, 'cifar_train'), 0.6),
      lenet_infer_ge_tfjs_wasm: ge(fig(tp, 'lenet_infer'), fig('tfjs-wasm', 'lenet_infer')),
      cifar_infer_ge_tfjs_wasm: ge(fig(tp, 'cifar_infer'), fig('tfjs-wasm', 'cifar_infer')),
      [`lenet_infer_ge_${torchSame}`]: ge(fig(tp, 'lenet_infer'), fig(torchSame, 'lenet_infer')),
    };
    const vsConvnet = ['lenet_train', 'lenet_infer', 'cifar_train', 'cifar_infer'].map((k) =>
      ge(fig(tp, k), fig('convnetjs', k), 25),
    );
    tg['all_ge_25x_convnetjs'] = vsConvnet.includes(null) ? null : vsConvnet.every(Boolean);
    const vsJax = ['gemm1024', 'lenet_train', 'lenet_infer', 'cifar_train', 'cifar_infer'].map((k) =>
      ge(fig(tp, k), fig('jaxjs', k)),
    );
    if (peers.includes('jaxjs')) tg['all_ge_1x_jaxjs'] = vsJax.includes(null) ? null : vsJax.every(Boolean);
    const vals = Object.values(tg);
    tg['all_met'] = vals.includes(null) ? null : vals.every(Boolean);
    targets[peerShort(tp)] = tg;
  }

  // Tables
  const cpu = os.cpus();
  const out: string[] = [];
  const W = 12;
  const reduced = (p: string, k: string): boolean => {
    const w = k.startsWith('gemm') ? 'gemm' : k.split('_')[0]!;
    const m = meta[p]?.[w]?.[k] as { batch?: number } | undefined;
    return m?.batch !== undefined && m.batch !== cfg.batch;
  };
  out.push(
    `tsgrad vs peers — ${started.toISOString().slice(0, 10)}, ${cpu[0]?.model ?? '?'} × ${cpu.length}, Node ${process.version}` +
      `, load avg ${load0[0]!.toFixed(2)} at start${cfg.quick ? ', QUICK (smoke run)' : ''}`,
  );
  out.push(
    `median of ≤${cfg.windows} windows ≥${cfg.windowS} s after ≥${cfg.warmupS} s warm-up; GEMM in GFLOP/s, nets in samples/s, batch ${cfg.batch}`,
  );
  out.push('');
  const head = keys.map((k) => k.replace('gemm', 'gemm ').replace('_', ' ').padStart(W)).join('');
  out.push(`${'peer'.padEnd(12)}${head}`);
  for (const p of peers) {
    const cells = keys.map((k) => {
      const s = fmtNum(figures[p]?.[k], reduced(p, k) ? W - 1 : W);
      return reduced(p, k) ? `${s}*` : s;
    });
    out.push(`${p.padEnd(12)}${cells.join('')}`);
  }
  const stars = peers.flatMap((p) =>
    keys
      .filter((k) => reduced(p, k))
      .map((k) => {
        const w = k.startsWith('gemm') ? 'gemm' : k.split('_')[0]!;
        return `${p} ${k} at batch ${(meta[p]?.[w]?.[k] as { batch: number }).batch}`;
      }),
  );
  if (stars.length) out.push(`* timed at a smaller batch to fit the budget: ${stars.join('; ')}`);
  const unsupported = peers.flatMap((p) =>
    keys.filter((k) => typeof figures[p]?.[k] === 'string').map((k) => `${p} ${k}: ${String(figures[p]![k])}`),
  );
  for (const u of unsupported) out.push(`  ${u}`);
  for (const [k, e] of Object.entries(errors)) out.push(`  ${k}: ${e}`);

  out.push('');
  out.push(`peak RSS, MiB (one process per peer and workload)`);
  out.push(`${'peer'.padEnd(12)}${cfg.workloads.map((w) => w.padStart(W)).join('')}`);
  for (const p of peers) out.push(`${p.padEnd(12)}${cfg.workloads.map((w) => fmtNum(rss[p]?.[w], W)).join('')}`);

  out.push('');
  out.push(
    `WebAssembly SIMD peak, one core: ${fmtNum(simdPeak, 0)} GFLOP/s (f32x4 mul+add; ` +
      `${Object.entries(peak.figures)
        .map(([k, v]) => `${k} ${fmtNum(v, 0)}`)
        .join(', ')})`,
  );
  out.push(`  FMA (relaxed_madd): ${Number.isFinite(fmaPeak) ? `${fmtNum(fmaPeak, 0)} GFLOP/s — ` : ''}${fmaNote}`);
  out.push(
    `  FLOP/sample: LeNet-5 forward ${(NETS.lenet.forwardFlop / 1e6).toFixed(3)} M, training ${(NETS.lenet.trainFlop / 1e6).toFixed(3)} M; ` +
      `CIFAR net forward ${(NETS.cifar.forwardFlop / 1e6).toFixed(2)} M, training ${(NETS.cifar.trainFlop / 1e6).toFixed(2)} M`,
  );
  out.push(`fraction of that peak (× threads)`);
  out.push(`${'peer'.padEnd(12)}${head}`);
  for (const p of peers) {
    if (!fractionOfPeak[p]) continue;
    out.push(`${p.padEnd(12)}${keys.map((k) => fmtNum(fractionOfPeak[p]?.[k], W)).join('')}`);
  }

  for (const tp of tsPeers) {
    out.push('');
    out.push(`ratios, tsgrad-${peerShort(tp)} / peer`);
    out.push(`${'vs'.padEnd(12)}${head}`);
    for (const p of peers) {
      if (p === tp) continue;
      out.push(
        `${p.padEnd(12)}${keys.map((k) => fmtNum(ratios[`${k}_${peerShort(tp)}_vs_${peerShort(p)}`], W)).join('')}`,
      );
    }
    out.push(`targets, tsgrad-${peerShort(tp)} (threads: ${threadsOf[tp.slice(7)]})`);
    for (const [k, v] of Object.entries(targets[peerShort(tp)]!)) {
      out.push(`  ${(v === null ? 'n/a ' : v ? 'MET ' : 'MISS').padEnd(5)} ${k}`);
    }
  }
  if (load0[0]! > 0.5) {
    out.push('');
    out.push(
      `note: load average ${load0[0]!.toFixed(2)} at start, ${load1[0]!.toFixed(2)} at end on ${cpu.length} cores: ` +
        'other work shared this machine; torch2 (two threads) suffers most.',
    );
  }
  console.log(out.join('\n'));

  const json = {
    benchmark: 'tsgrad-peers',
    date: started.toISOString(),
    machine: {
      cpu: cpu[0]?.model ?? null,
      cores: cpu.length,
      node: process.version,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadavg_start: load0.map((x) => Math.round(x * 100) / 100),
      loadavg_end: load1.map((x) => Math.round(x * 100) / 100),
      note: cfg.note,
    },
    config: { ...cfg, backends, backend_threads: threadsOf },
    versions,
    flop_per_sample: {
      lenet: { forward: NETS.lenet.forwardFlop, train: NETS.lenet.trainFlop, params: NETS.lenet.params },
      cifar: { forward: NETS.cifar.forwardFlop, train: NETS.cifar.trainFlop, params: NETS.cifar.params },
    },
    wasm_peak: {
      simd_gflops_per_core: simdPeak,
      variants: peak.figures,
      relaxed_simd_validates: relaxedDefault,
      fma_gflops_per_core: Number.isFinite(fmaPeak) ? fmaPeak : null,
      fma_variants: peakFlagged?.figures ?? null,
      fma_note: fmaNote,
    },
    units: { gemm: 'GFLOP/s', nets: 'samples/s', rss: 'MiB' },
    figures,
    max_rss_mib: rss,
    fraction_of_simd_peak: fractionOfPeak,
    ratios,
    targets,
    meta,
    errors,
  };
  const line = JSON.stringify(json);
  if (cfg.out) {
    mkdirSync(dirname(cfg.out), { recursive: true });
    writeFileSync(cfg.out, `${line}\n`);
  }
  console.log(line);
}

await main();
