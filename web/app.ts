/**
 * The playground page's main thread: controls, the live chart, the drawing pad and the
 * images. All training and inference run in the worker (./worker.ts); this thread only
 * posts messages and draws, so it stays responsive while the network trains.
 */
import type { DroppedFile, FromWorker, Image, ToWorker } from './protocol.js';
import type { SessionConfig } from './session.js';

interface VegaView {
  insert(name: string, rows: unknown[]): VegaView;
  remove(name: string, predicate: (d: unknown) => boolean): VegaView;
  runAsync(): Promise<VegaView>;
  initialize(el: Element): VegaView;
}
interface VegaGlobal {
  View: new (runtime: unknown, opts: { renderer: string; container?: Element; hover?: boolean }) => VegaView;
  parse(spec: unknown): unknown;
  truthy: unknown;
}
declare const vega: VegaGlobal | undefined;
declare const vegaLite: { compile(spec: unknown): { spec: unknown } } | undefined;

const $ = <E extends HTMLElement = HTMLElement>(id: string): E => document.getElementById(id) as E;
const params = new URLSearchParams(location.search);

/** What the page shows, also read by the browser test and the benchmark. */
const state = {
  backend: '',
  threads: 0,
  status: 'starting',
  accuracy: null as number | null,
  step: 0,
  epochs: [] as { epoch: number; step: number; testAccuracy: number; testLoss: number; at: number }[],
  progress: null as unknown,
  losses: [] as number[],
  predictions: 0,
  errors: [] as string[],
  loadedAt: performance.now(),
  vizDraws: 0,
};
(window as unknown as { playground: typeof state }).playground = state;

const worker = new Worker('/web/worker.js', { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(m, transfer);

function showError(message: string): void {
  state.errors.push(message);
  $('error').textContent = message;
}

function drawImage(canvas: HTMLCanvasElement, img: Image, cssScale = 1): void {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.style.width = `${img.width * cssScale}px`;
  canvas.style.height = `${img.height * cssScale}px`;
  const image = new ImageData(img.width, img.height);
  image.data.set(img.data);
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}

function grayCanvas(pixels: Uint8Array, size: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  const rgba = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) rgba.set([pixels[i]!, pixels[i]!, pixels[i]!, 255], i * 4);
  drawImage(c, { width: size, height: size, data: rgba });
  return c;
}

// ---- the live chart (Vega-Lite, compiled once, data streamed in) ----
let chart: VegaView | null = null;
let pendingRows: unknown[] = [];
let chartTimer = 0;

async function setUpChart(): Promise<void> {
  if (typeof vega === 'undefined' || typeof vegaLite === 'undefined') {
    $('chart').textContent = 'The chart library (Vega) did not load; training still works.';
    return;
  }
  const spec = {
    data: { name: 'points' },
    hconcat: ['loss', 'accuracy'].map((metric) => ({
      width: 380,
      height: 200,
      title: metric === 'loss' ? 'Loss' : 'Held-out accuracy',
      transform: [{ filter: { field: 'metric', equal: metric } }],
      mark: { type: 'line', point: metric === 'accuracy', clip: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step', scale: { domainMin: 0 } },
        y: {
          field: 'value',
          type: 'quantitative',
          title: metric,
          scale: metric === 'accuracy' ? { domain: [0, 1] } : { zero: true },
        },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' } },
      },
    })),
  };
  chart = new vega.View(vega.parse(vegaLite.compile(spec).spec), {
    renderer: 'canvas',
    container: $('chart'),
    hover: false,
  });
  await chart.runAsync();
}

function chartRows(rows: unknown[]): void {
  pendingRows.push(...rows);
  if (chartTimer || !chart) return;
  // At most two redraws a second: the chart never competes with the page for the main thread.
  chartTimer = window.setTimeout(() => {
    chartTimer = 0;
    const batch = pendingRows;
    pendingRows = [];
    void chart!.insert('points', batch).runAsync();
  }, 500);
}

function resetChart(): void {
  pendingRows = [];
  if (chart) void chart.remove('points', () => true).runAsync();
}

// ---- data: bundled sets and dropped folders ----
async function listDataSets(): Promise<void> {
  const sets = (await (await fetch('/data/index.json')).json()) as { name: string; title: string }[];
  const select = $<HTMLSelectElement>('dataset');
  for (const s of sets) select.add(new Option(s.title, s.name));
  select.add(new Option('dropped folder', 'folder'));
  select.value = params.get('dataset') ?? 'mnist';
}

async function entriesOf(entry: FileSystemEntry, path: string[], out: DroppedFile[]): Promise<void> {
  if (out.length > 50000) return;
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    if (/\.png$/i.test(file.name)) out.push({ name: file.name, className: path[path.length - 1] ?? '', file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    for (const e of batch) await entriesOf(e, [...path, entry.name], out);
  }
}

function loadFolder(files: DroppedFile[]): void {
  if (files.length === 0) {
    $('data-status').textContent = 'No PNG files found in what was dropped.';
    return;
  }
  $('data-status').textContent = `Reading ${files.length} images…`;
  $<HTMLSelectElement>('dataset').value = 'folder';
  send({ type: 'load-folder', files });
}

/** Dropped files without folders: the class is the folder of a relative path, else the name up to its first '_'. */
function looseFiles(list: File[]): DroppedFile[] {
  return list
    .filter((f) => /\.png$/i.test(f.name))
    .map((f) => {
      const parts = f.webkitRelativePath.split('/');
      const prefix = /^([^_]+)_/.exec(f.name)?.[1] ?? '';
      return { name: f.name, className: parts.length > 1 ? parts[parts.length - 2]! : prefix, file: f };
    });
}

function setUpDrop(): void {
  const zone = $('dropzone');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const items = Array.from(e.dataTransfer?.items ?? [])
      .map((i) => i.webkitGetAsEntry())
      .filter((x) => x !== null);
    const files: DroppedFile[] = [];
    // Loose files (a selection of PNGs, or files without a file-system entry) carry their
    // class in the name: cat_001.png is a 'cat'.
    if (items.length === 0) {
      loadFolder(looseFiles(Array.from(e.dataTransfer?.files ?? [])));
      return;
    }
    void Promise.all(items.map((entry) => entriesOf(entry, [], files))).then(
      () => loadFolder(files),
      (err: unknown) => showError(`could not read the dropped folder: ${String(err)}`),
    );
  });
  $<HTMLInputElement>('folder').addEventListener('change', (e) => {
    loadFolder(looseFiles(Array.from((e.target as HTMLInputElement).files ?? [])));
  });
  $<HTMLSelectElement>('dataset').addEventListener('change', (e) => {
    const v = (e.target as HTMLSelectElement).value;
    if (v === 'folder') $('data-status').textContent = 'Drop a folder above or choose one.';
    else {
      $('data-status').textContent = 'Loading…';
      send({ type: 'load-data', dataset: v });
    }
  });
}

// ---- training controls ----
function config(): SessionConfig {
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  return {
    model: $<HTMLSelectElement>('model').value as SessionConfig['model'],
    epochs: Math.max(1, Math.round(num('epochs'))),
    batchSize: Math.max(1, Math.round(num('batch'))),
    optimizer: $<HTMLSelectElement>('optimizer').value as SessionConfig['optimizer'],
    lr: num('lr'),
    augment: $<HTMLSelectElement>('augment').value as SessionConfig['augment'],
    seed: Math.max(0, Math.round(num('seed'))),
    ...(params.get('steps') ? { maxSteps: Math.max(1, Number(params.get('steps'))) } : {}),
  };
}

function setStatus(s: string): void {
  state.status = s;
  document.body.dataset['state'] = s;
  $<HTMLButtonElement>('start').disabled = s === 'training' || s === 'paused' || s === 'starting';
  $<HTMLButtonElement>('pause').disabled = !(s === 'training' || s === 'paused');
  $<HTMLButtonElement>('pause').textContent = s === 'paused' ? 'Resume' : 'Pause';
  $<HTMLButtonElement>('stop').disabled = !(s === 'training' || s === 'paused');
  $<HTMLButtonElement>('download').disabled = !(s === 'done' || s === 'paused' || s === 'training');
}

function setUpControls(): void {
  $('config').addEventListener('submit', (e) => {
    e.preventDefault();
    resetChart();
    state.epochs = [];
    state.accuracy = null;
    $('stat-accuracy').textContent = '–';
    send({ type: 'train', config: config(), vizEvery: Number($<HTMLInputElement>('viz-every').value), evalEvery: 0 });
  });
  $('pause').addEventListener('click', () => send({ type: state.status === 'paused' ? 'resume' : 'pause' }));
  $('stop').addEventListener('click', () => send({ type: 'stop' }));
  $('download').addEventListener('click', () => send({ type: 'get-weights' }));
  $<HTMLInputElement>('weights').addEventListener('change', (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    if (file.size > 200 * 1024 * 1024) {
      $('weights-status').textContent =
        `${file.name} is ${(file.size / 1e6).toFixed(0)} MB: too large for these models.`;
      return;
    }
    void file
      .arrayBuffer()
      .then((buf) => send({ type: 'load-weights', bytes: new Uint8Array(buf), fileName: file.name }, [buf]));
  });
}

// ---- the drawing pad: strokes in, top-3 predictions out ----
let predictionId = 0;
let predictionInFlight = false;
let predictionQueued = false;

/** The pad's drawing as MNIST does it: the digit's bounding box scaled into 20×20, centred by its centre of mass in 28×28. */
function padPixels(): Float32Array | null {
  const pad = $<HTMLCanvasElement>('pad');
  const src = pad.getContext('2d', { willReadFrequently: true })!.getImageData(0, 0, pad.width, pad.height).data;
  let [x0, y0, x1, y1] = [pad.width, pad.height, -1, -1];
  for (let y = 0; y < pad.height; y++) {
    for (let x = 0; x < pad.width; x++) {
      if (src[(y * pad.width + x) * 4]! > 20) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const scale = 20 / Math.max(w, h);
  const small = document.createElement('canvas');
  small.width = 28;
  small.height = 28;
  const ctx = small.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = 'black';
  ctx.fillRect(0, 0, 28, 28);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(pad, x0, y0, w, h, (28 - w * scale) / 2, (28 - h * scale) / 2, w * scale, h * scale);
  const boxed = ctx.getImageData(0, 0, 28, 28).data;
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < 784; i++) {
    const v = boxed[i * 4]!;
    mass += v;
    mx += v * (i % 28);
    my += v * Math.floor(i / 28);
  }
  const dx = Math.round(13.5 - mx / mass);
  const dy = Math.round(13.5 - my / mass);
  const out = new Float32Array(784);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      const sy = y - dy;
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = boxed[(sy * 28 + sx) * 4]! / 255;
    }
  }
  const preview = new Uint8Array(784);
  for (let i = 0; i < 784; i++) preview[i] = Math.round(out[i]! * 255);
  const rgba = new Uint8Array(784 * 4);
  for (let i = 0; i < 784; i++) rgba.set([preview[i]!, preview[i]!, preview[i]!, 255], i * 4);
  drawImage($<HTMLCanvasElement>('pad-small'), { width: 28, height: 28, data: rgba }, 2);
  return out;
}

function requestPrediction(): void {
  if (predictionInFlight) {
    predictionQueued = true;
    return;
  }
  const pixels = padPixels();
  if (!pixels) return;
  predictionInFlight = true;
  send({ type: 'predict', id: ++predictionId, pixels }, [pixels.buffer]);
}

let classes: string[] = [];

function showPrediction(probs: Float32Array): void {
  state.predictions++;
  const top = Array.from(probs, (p, i) => [i, p] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
  const list = $('top3');
  list.replaceChildren(
    ...top.map(([i, p]) => {
      const li = document.createElement('li');
      li.textContent = `${classes[i] ?? i}: ${(p * 100).toFixed(1)}%`;
      li.dataset['class'] = String(classes[i] ?? i);
      return li;
    }),
  );
  predictionInFlight = false;
  if (predictionQueued) {
    predictionQueued = false;
    requestPrediction();
  }
}

function setUpPad(): void {
  const pad = $<HTMLCanvasElement>('pad');
  const ctx = pad.getContext('2d', { willReadFrequently: true })!;
  const clear = (): void => {
    ctx.fillStyle = 'black';
    ctx.fillRect(0, 0, pad.width, pad.height);
    $('top3').replaceChildren();
  };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener('pointerdown', (e) => {
    pad.setPointerCapture(e.pointerId);
    last = at(e);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = 'white';
    ctx.lineWidth = 20;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
    requestPrediction();
  });
  const end = (): void => {
    if (last) requestPrediction();
    last = null;
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  $('clear').addEventListener('click', clear);
}

// ---- messages from the worker ----
let samplesShown = false;

function showSamples(samples: { index: number; label: number; pixels: Uint8Array }[]): void {
  const box = $('samples');
  box.replaceChildren(
    ...samples.map((s, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.setAttribute('role', 'option');
      b.setAttribute('aria-selected', String(i === 0));
      b.setAttribute('aria-label', `test image ${s.index}, ${classes[s.label] ?? s.label}`);
      b.append(grayCanvas(s.pixels, 28));
      b.addEventListener('click', () => {
        for (const other of Array.from(box.querySelectorAll('button'))) other.setAttribute('aria-selected', 'false');
        b.setAttribute('aria-selected', 'true');
        send({ type: 'viz', sample: s.index });
      });
      return b;
    }),
  );
  samplesShown = true;
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'ready':
      state.backend = m.backend;
      state.threads = m.threads;
      document.body.dataset['backend'] = m.backend;
      $('backend').textContent =
        m.backend === 'webgpu'
          ? `Backend: WebGPU (${m.detail})`
          : m.backend === 'wasm'
            ? `Backend: wasm with ${m.threads} thread${m.threads === 1 ? '' : 's'} (${m.detail})`
            : `Backend: cpu (${m.detail})`;
      send({ type: 'load-data', dataset: $<HTMLSelectElement>('dataset').value || 'mnist' });
      break;
    case 'data':
      classes = m.classes;
      $('data-status').textContent =
        `${m.name}: ${m.train.toLocaleString('en-US')} training and ${m.test.toLocaleString('en-US')} held-out images, ${m.classes.length} classes` +
        (m.skipped.length
          ? `; skipped ${m.skipped.length}: ${m.skipped.slice(0, 5).join('; ')}${m.skipped.length > 5 ? '…' : ''}`
          : '');
      showSamples(m.samples);
      setStatus('idle');
      break;
    case 'progress': {
      const p = m.progress;
      state.progress = p;
      state.step = p.step;
      state.losses = m.losses;
      $('stat-step').textContent = `${p.step} / ${p.totalSteps}`;
      $('stat-epoch').textContent = String(p.epoch + (p.step < p.totalSteps ? 1 : 0));
      $('stat-loss').textContent = p.loss.toFixed(4);
      $('stat-rate').textContent = `${Math.round(p.samplesPerSecond).toLocaleString('en-US')} images/s`;
      $('stat-eta').textContent = p.step >= p.totalSteps ? 'done' : `${Math.ceil(p.etaSeconds)} s`;
      const every = Math.max(1, Math.floor(p.totalSteps / 400));
      const rows = [];
      for (let s = lastChartStep + 1; s <= m.losses.length; s++) {
        if (s % every === 0) rows.push({ metric: 'loss', series: 'training (batch)', step: s, value: m.losses[s - 1] });
      }
      lastChartStep = m.losses.length;
      chartRows(rows);
      break;
    }
    case 'epoch': {
      state.accuracy = m.testAccuracy;
      state.epochs.push({
        epoch: m.epoch,
        step: m.step,
        testAccuracy: m.testAccuracy,
        testLoss: m.testLoss,
        at: performance.now(),
      });
      $('stat-accuracy').textContent = `${(m.testAccuracy * 100).toFixed(2)}%`;
      chartRows([
        { metric: 'accuracy', series: 'held-out', step: m.step, value: m.testAccuracy },
        { metric: 'loss', series: 'held-out', step: m.step, value: m.testLoss },
      ]);
      drawImage($<HTMLCanvasElement>('confusion'), m.confusion);
      $('worst').replaceChildren(
        ...m.worst.map((w) => {
          const f = document.createElement('figure');
          f.append(grayCanvas(w.pixels, 28));
          const cap = document.createElement('figcaption');
          cap.textContent = `${classes[w.label] ?? w.label}→${classes[w.predicted] ?? w.predicted}`;
          f.title = `true ${classes[w.label]}, predicted ${classes[w.predicted]} (p(true) = ${w.probability.toFixed(3)})`;
          f.append(cap);
          return f;
        }),
      );
      break;
    }
    case 'viz': {
      state.vizDraws++;
      drawImage($<HTMLCanvasElement>('filters'), m.filters, 3);
      const maps = $('maps');
      maps.replaceChildren(
        ...m.maps.map((entry) => {
          const f = document.createElement('figure');
          const c = document.createElement('canvas');
          c.setAttribute('aria-label', `feature maps of ${entry.layer}`);
          drawImage(c, entry.image);
          const cap = document.createElement('figcaption');
          cap.textContent = `Feature maps of ${entry.layer} for test image ${m.sample} (step ${m.step})`;
          f.append(c, cap);
          return f;
        }),
      );
      break;
    }
    case 'prediction':
      showPrediction(m.probs);
      break;
    case 'state':
      setStatus(m.state);
      if (m.state === 'done') $('stat-eta').textContent = m.reason ?? 'done';
      break;
    case 'weights': {
      const url = URL.createObjectURL(
        new Blob([m.bytes.slice().buffer as ArrayBuffer], { type: 'application/octet-stream' }),
      );
      const a = document.createElement('a');
      a.href = url;
      a.download = m.fileName;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      $('weights-status').textContent = `Saved ${m.fileName} (${(m.bytes.length / 1024).toFixed(0)} KiB).`;
      break;
    }
    case 'loaded':
      $('weights-status').textContent = m.message;
      setStatus('done');
      break;
    case 'error':
      predictionInFlight = false;
      if (state.status === 'starting') setStatus('idle');
      $('weights-status').textContent = '';
      showError(m.message);
      break;
  }
};
worker.onerror = (e) => showError(`the training worker failed: ${e.message}`);
let lastChartStep = 0;

const backend = (params.get('backend') ?? 'auto') as 'auto' | 'webgpu' | 'wasm' | 'cpu';
const threads = Number(params.get('threads') ?? Math.min(4, navigator.hardwareConcurrency || 1));
document.addEventListener('DOMContentLoaded', () => undefined);
void (async () => {
  setStatus('starting');
  setUpControls();
  setUpDrop();
  setUpPad();
  await listDataSets().catch((err: unknown) => showError(`could not list the data sets: ${String(err)}`));
  for (const id of ['epochs', 'batch', 'lr', 'optimizer', 'model', 'augment', 'seed', 'viz-every']) {
    const v = params.get(id);
    if (v !== null) ($(id) as HTMLInputElement).value = v;
  }
  // Vega's scripts are deferred: wait for them before drawing the chart.
  if (document.readyState === 'loading') await new Promise((r) => document.addEventListener('DOMContentLoaded', r));
  await setUpChart().catch((err: unknown) => showError(`chart: ${String(err)}`));
  send({ type: 'init', backend, threads });
  void samplesShown;
})();
