/**
 * The playground's training worker: owns the data, the model and the loop, so the page's
 * main thread only draws. Between steps it yields through a MessageChannel (no timer
 * clamping), so Pause, Stop and the drawing pad's predictions are answered within a step.
 */
import * as T from '../src/browser.js';
import { wasmThreadsReady } from '../src/backend/wasm/index.js';
import type { DroppedFile, FromWorker, Image, Progress, ToWorker } from './protocol.js';
import { type ImageBytes, type SessionConfig, TrainingSession } from './session.js';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);

const SIZE = 28;
/** Dropped files above this size are skipped with a message instead of being decoded. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_FILES = 20000;

let data: { name: string; classes: string[]; train: ImageBytes; test: ImageBytes } | null = null;
let session: TrainingSession | null = null;
let paused = false;
let stopRequested = false;
let running = false;
let resumeWaiter: (() => void) | null = null;
let vizSample = 0;
let vizEvery = 20;
let evalEvery = 0;
let trainMs = 0;
let vizMs = 0;
const losses: number[] = [];

const channel = new MessageChannel();
let wake: (() => void) | null = null;
channel.port1.onmessage = () => wake?.();
/** Lets queued messages run; a zero-delay macrotask without setTimeout's 4 ms clamp. */
const yieldToMessages = (): Promise<void> =>
  new Promise((resolve) => {
    wake = resolve;
    channel.port2.postMessage(0);
  });

async function init(backend: 'auto' | 'webgpu' | 'wasm' | 'cpu', threads: number): Promise<void> {
  let detail = '';
  if (backend === 'auto' || backend === 'webgpu') {
    if (await T.initWebGPU()) {
      T.setBackend('webgpu');
      const status = T.webgpuStatus();
      detail = `${status.adapter ?? 'WebGPU adapter'}, ${status.kernels === 'direct' ? 'barrier-free' : 'tiled'} kernels`;
      post({ type: 'ready', backend: 'webgpu', threads: 1, detail });
      return;
    }
    detail = `no WebGPU: ${T.webgpuStatus().reason ?? 'no adapter'}`;
    if (backend === 'webgpu') {
      post({ type: 'error', message: `WebGPU was asked for but is not available (${detail})` });
    }
  }
  if (backend === 'cpu') {
    T.setBackend('cpu');
    post({ type: 'ready', backend: 'cpu', threads: 1, detail: 'plain TypeScript kernels' });
    return;
  }
  await T.wasmReady();
  T.setBackend('wasm');
  const n = T.setNumThreads(threads);
  const poolUp = n > 1 ? await wasmThreadsReady(20000) : true;
  post({
    type: 'ready',
    backend: 'wasm',
    threads: poolUp ? T.getNumThreads() : 1,
    detail: `${detail ? `${detail}; ` : ''}${crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated: one thread'}`,
  });
}

/** Parses the server's packed data set (see packImageSets in the playground server). */
function unpack(buf: ArrayBuffer): { train: ImageBytes; test: ImageBytes } {
  const bytes = new Uint8Array(buf);
  const view = new DataView(buf);
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(0, 4)) !== 'TSGD')
    throw new Error('not a playground data file');
  const nTrain = view.getUint32(8, true);
  const nTest = view.getUint32(12, true);
  const height = view.getUint32(16, true);
  const width = view.getUint32(20, true);
  const px = height * width;
  if (bytes.length !== 24 + (nTrain + nTest) * (px + 1)) throw new Error('truncated playground data file');
  let o = 24;
  const take = (n: number): Uint8Array => bytes.slice(o, (o += n));
  const trainImages = take(nTrain * px);
  const trainLabels = take(nTrain);
  const testImages = take(nTest * px);
  const testLabels = take(nTest);
  return {
    train: { images: trainImages, labels: trainLabels, count: nTrain, height, width },
    test: { images: testImages, labels: testLabels, count: nTest, height, width },
  };
}

function announce(skipped: string[]): void {
  if (!data) return;
  const px = SIZE * SIZE;
  const samples = Array.from({ length: Math.min(16, data.test.count) }, (_, i) => ({
    index: i,
    label: data!.test.labels[i]!,
    pixels: data!.test.images.slice(i * px, (i + 1) * px),
  }));
  post({
    type: 'data',
    name: data.name,
    classes: data.classes,
    train: data.train.count,
    test: data.test.count,
    size: SIZE,
    samples,
    skipped,
  });
}

async function loadData(name: string): Promise<void> {
  const info = (await (await fetch('/data/index.json')).json()) as { name: string; classes: string[] }[];
  const entry = info.find((d) => d.name === name);
  if (!entry) throw new Error(`no data set '${name}' on this server`);
  const res = await fetch(`/data/${name}.bin`);
  if (!res.ok) throw new Error(`data set '${name}': HTTP ${res.status}`);
  data = { name, classes: entry.classes, ...unpack(await res.arrayBuffer()) };
  announce([]);
}

/** A dropped image as 28×28 gray bytes: decoded off the main thread, resized with smoothing. */
async function decodeToGray(file: Blob, canvas: OffscreenCanvas): Promise<Uint8Array> {
  const bitmap = await createImageBitmap(file);
  try {
    if (bitmap.width > 8192 || bitmap.height > 8192) throw new Error(`${bitmap.width}x${bitmap.height} is too large`);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.fillStyle = 'black';
    ctx.fillRect(0, 0, SIZE, SIZE);
    ctx.drawImage(bitmap, 0, 0, SIZE, SIZE);
    const rgba = ctx.getImageData(0, 0, SIZE, SIZE).data;
    const gray = new Uint8Array(SIZE * SIZE);
    for (let i = 0; i < gray.length; i++) {
      gray[i] = Math.round(0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!);
    }
    return gray;
  } finally {
    bitmap.close();
  }
}

async function loadFolder(files: DroppedFile[]): Promise<void> {
  const skipped: string[] = [];
  if (files.length > MAX_FILES) {
    skipped.push(`${files.length - MAX_FILES} files beyond the first ${MAX_FILES}`);
    files = files.slice(0, MAX_FILES);
  }
  const classes = [...new Set(files.map((f) => f.className))].sort();
  if (classes.length < 2) {
    throw new Error(
      `a dropped folder needs one sub-folder per class (at least two); found ${classes.length ? `only '${classes[0]}'` : 'none'}`,
    );
  }
  const canvas = new OffscreenCanvas(SIZE, SIZE);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  for (const f of files) {
    if (f.file.size > MAX_FILE_BYTES) {
      skipped.push(
        `${f.className}/${f.name}: ${(f.file.size / 2 ** 20).toFixed(1)} MiB is over the ${MAX_FILE_BYTES / 2 ** 20} MiB limit`,
      );
      continue;
    }
    try {
      images.push(await decodeToGray(f.file, canvas));
      labels.push(classes.indexOf(f.className));
    } catch (e) {
      skipped.push(`${f.className}/${f.name}: not a readable image (${(e as Error).message || 'decode failed'})`);
    }
  }
  if (images.length < 2) throw new Error(`no usable images in the dropped folder (${skipped.length} skipped)`);
  // Every fifth image of each class is held out for testing.
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  const seen = new Map<number, number>();
  labels.forEach((l, i) => {
    const k = seen.get(l) ?? 0;
    seen.set(l, k + 1);
    (k % 5 === 4 ? testIdx : trainIdx).push(i);
  });
  if (testIdx.length === 0) testIdx.push(trainIdx.pop()!);
  const pack = (idx: number[]): ImageBytes => {
    const out = new Uint8Array(idx.length * SIZE * SIZE);
    idx.forEach((i, n) => out.set(images[i]!, n * SIZE * SIZE));
    return {
      images: out,
      labels: Uint8Array.from(idx, (i) => labels[i]!),
      count: idx.length,
      height: SIZE,
      width: SIZE,
    };
  };
  data = { name: 'dropped folder', classes, train: pack(trainIdx), test: pack(testIdx) };
  announce(skipped);
}

const copy = (img: T.viz.RgbaImage): Image => ({ width: img.width, height: img.height, data: img.data });

async function postViz(): Promise<void> {
  if (!session) return;
  const start = performance.now();
  const model = session.model;
  const convs = T.viz.convLayerNames(model);
  const x = session.testInput(Math.min(vizSample, session.test.count - 1));
  const filters = await T.viz.filterGrid(model.getSubmodule(convs[0]!) as unknown as { weight: T.Tensor });
  const maps: { layer: string; image: Image }[] = [];
  for (const layer of convs) maps.push({ layer, image: copy(await T.viz.featureMapGrid(model, x, layer)) });
  const ms = performance.now() - start;
  vizMs += ms;
  post({ type: 'viz', step: session.step, filters: copy(filters), maps, sample: vizSample, ms });
}

async function postEvaluation(trainLoss: number | null): Promise<void> {
  if (!session || !data) return;
  const ev = await session.evaluate(8);
  const px = SIZE * SIZE;
  post({
    type: 'epoch',
    epoch: session.epoch,
    step: session.step,
    trainLoss,
    testLoss: ev.loss,
    testAccuracy: ev.accuracy,
    confusion: copy(T.viz.confusionMatrixImage(ev.confusion, data.classes)),
    worst: ev.worst.map((w) => ({ ...w, pixels: data!.test.images.slice(w.index * px, (w.index + 1) * px) })),
  });
}

async function train(config: SessionConfig): Promise<void> {
  if (!data) throw new Error('load a data set first');
  if (running) throw new Error('already training');
  session = new TrainingSession(config, data.train, data.test, data.classes.length);
  running = true;
  paused = false;
  stopRequested = false;
  trainMs = 0;
  vizMs = 0;
  losses.length = 0;
  post({ type: 'state', state: 'training' });
  await postViz();
  let lastProgress = 0;
  // Throughput counts training steps only (not evaluation or drawing); the ETA uses wall time.
  let windowMs = 0;
  let windowSamples = 0;
  let rate = 0;
  const wallStart = performance.now();
  let pausedMs = 0;
  try {
    while (!session.done && !stopRequested) {
      if (paused) {
        post({ type: 'state', state: 'paused' });
        const pauseStart = performance.now();
        await new Promise<void>((r) => (resumeWaiter = r));
        pausedMs += performance.now() - pauseStart;
        if (stopRequested) break;
        post({ type: 'state', state: 'training' });
      }
      const t0 = performance.now();
      const r = await session.trainStep();
      const stepMs = performance.now() - t0;
      trainMs += stepMs;
      losses.push(r.loss);
      windowSamples += config.batchSize;
      windowMs += stepMs;
      if (windowMs > 1000) {
        rate = (windowSamples * 1000) / windowMs;
        windowMs = 0;
        windowSamples = 0;
      }
      if (vizEvery > 0 && session.step % vizEvery === 0) await postViz();
      if (r.epochLoss !== undefined) await postEvaluation(r.epochLoss);
      else if (evalEvery > 0 && session.step % evalEvery === 0) await postEvaluation(null);
      const now = performance.now();
      if (now - lastProgress > 100 || session.done) {
        lastProgress = now;
        const left = session.totalSteps - session.step;
        const progress: Progress = {
          step: session.step,
          totalSteps: session.totalSteps,
          epoch: session.epoch,
          loss: r.loss,
          lr: session.optimizer.paramGroups[0]!.lr,
          samplesPerSecond: rate || (session.step * config.batchSize * 1000) / Math.max(trainMs, 1),
          etaSeconds: (left * (now - wallStart - pausedMs)) / session.step / 1000,
          trainMs,
          vizMs,
        };
        post({ type: 'progress', progress, losses: losses.slice() });
      }
      await yieldToMessages();
    }
    if (session.batchInEpoch > 0) await postEvaluation(null);
    await postViz();
  } finally {
    running = false;
    post({ type: 'state', state: 'done', reason: stopRequested ? 'stopped' : 'finished' });
  }
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'init':
      return init(m.backend, m.threads);
    case 'load-data':
      return loadData(m.dataset);
    case 'load-folder':
      return loadFolder(m.files);
    case 'train':
      vizEvery = m.vizEvery;
      evalEvery = m.evalEvery;
      return train(m.config);
    case 'pause':
      paused = true;
      return;
    case 'resume':
      paused = false;
      resumeWaiter?.();
      resumeWaiter = null;
      return;
    case 'stop':
      stopRequested = true;
      paused = false;
      resumeWaiter?.();
      resumeWaiter = null;
      return;
    case 'predict': {
      if (!session) return;
      const probs = await session.predict(m.pixels);
      post({ type: 'prediction', id: m.id, probs }, [probs.buffer]);
      return;
    }
    case 'viz':
      vizSample = m.sample;
      if (!running) await postViz();
      return;
    case 'evaluate':
      return postEvaluation(null);
    case 'get-weights': {
      if (!session) throw new Error('nothing trained yet');
      const bytes = T.encodeSafetensors(session.model.stateDict(), {
        model: session.config.model === 'lenet5' ? 'lenet5' : 'small-cnn',
        mean: String(session.mean),
        std: String(session.std),
      });
      post({ type: 'weights', bytes, fileName: `${session.config.model}-playground.safetensors` }, [bytes.buffer]);
      return;
    }
    case 'load-weights': {
      if (!data) throw new Error('load a data set first');
      const contents = T.decodeSafetensors(m.bytes, m.fileName);
      const meta = contents.metadata ?? {};
      const model = meta['model'] === 'small-cnn' ? 'small-cnn' : 'lenet5';
      if (!session || session.config.model !== model) {
        session = new TrainingSession(
          { ...(session?.config ?? defaultConfig()), model },
          data.train,
          data.test,
          data.classes.length,
        );
      }
      session.model.loadStateDict(contents.tensors);
      post({
        type: 'loaded',
        message: `loaded ${m.fileName} (${Object.keys(contents.tensors).length} tensors, ${model})`,
      });
      await postEvaluation(null);
      await postViz();
      return;
    }
  }
}

function defaultConfig(): SessionConfig {
  return { model: 'lenet5', epochs: 1, batchSize: 64, optimizer: 'adam', lr: 0.002, augment: 'none', seed: 0 };
}

scope.onmessage = (e) => {
  handle(e.data).catch((err: unknown) =>
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
};
