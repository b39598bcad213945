/**
 * The numbers behind docs/distributed.md: for every zoo model, the gradient bytes one
 * data-parallel step all-reduces (float32, every trainable parameter), the forward
 * multiply-adds per sample at its reference input (counted with forward hooks on one real
 * forward pass), and the network bandwidth at which a ring all-reduce stays under 20% of
 * the step time for a given per-worker throughput and batch.
 *
 *   node dist/scripts/gradient-bytes.js [--json out.json] [--from saved.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Conv2d, Linear, noGrad, randn, type Module, type Tensor } from '../src/index.js';
import { MODELS } from '../src/models/index.js';
import { skipInit } from '../src/nn/init.js';

/** Forward multiply-adds of one sample: convolutions and fully connected layers (the rest is small). */
function forwardMacs(model: Module & { forward(x: Tensor): Tensor }, channels: number, size: number): number {
  let macs = 0;
  const handles = model.namedModules().flatMap(([, m]) => {
    if (m instanceof Conv2d || m instanceof Linear)
      return [
        m.registerForwardHook((layer, _in, out) => {
          const w = (layer as Conv2d | Linear).weight;
          macs += (out as Tensor).numel * (w.numel / w.shape[0]!);
        }),
      ];
    return [];
  });
  model.eval();
  noGrad(() => model.forward(randn([1, channels, size, size])));
  for (const h of handles) h.remove();
  return macs;
}

export interface ModelTraffic {
  model: string;
  parameters: number;
  gradientBytes: number;
  forwardMacsPerSample: number;
  input: string;
}

/**
 * Bandwidth (bytes/s) for a ring all-reduce over `workers` to take at most `share` of a step:
 * each worker sends and receives 2(N−1)/N of the gradient; a training step costs about 3×
 * the forward multiply-adds (forward, and backward for inputs and weights).
 */
export function bandwidthFor(
  t: ModelTraffic,
  o: { macsPerSecond: number; batch: number; workers: number; share: number },
): number {
  const stepSeconds = (3 * t.forwardMacsPerSample * o.batch) / o.macsPerSecond;
  const bytesOnWire = ((2 * (o.workers - 1)) / o.workers) * t.gradientBytes;
  return bytesOnWire / (o.share * stepSeconds);
}

/** Counts every zoo model (one forward each: minutes for the whole zoo on a CPU). */
function measure(): ModelTraffic[] {
  const rows: ModelTraffic[] = [];
  for (const [name, spec] of Object.entries(MODELS)) {
    const { channels, size } = spec.defaultInput;
    const model = skipInit(() =>
      spec.create({ numClasses: spec.defaultClasses, inChannels: channels, inputSize: size }),
    );
    const parameters = model.numParameters({ trainableOnly: true });
    rows.push({
      model: name,
      parameters,
      gradientBytes: parameters * 4,
      forwardMacsPerSample: forwardMacs(model, channels, size),
      input: `${channels}x${size}x${size}, ${spec.defaultClasses} classes`,
    });
    process.stderr.write(`${name} `);
  }
  process.stderr.write('\n');
  return rows;
}

// --from FILE re-renders the table from a saved --json without measuring again.
const from = process.argv.indexOf('--from');
const rows: ModelTraffic[] =
  from > 0 ? (JSON.parse(readFileSync(process.argv[from + 1]!, 'utf8')) as { rows: ModelTraffic[] }).rows : measure();

// Two reference workers: one CPU core (tsgrad's wasm kernels, ~10 GMAC/s) and a GPU sustaining 10 TMAC/s.
const devicesRef = [
  { name: 'CPU core, 10 GMAC/s, batch 32', macsPerSecond: 10e9, batch: 32 },
  { name: 'GPU, 10 TMAC/s, batch 64', macsPerSecond: 10e12, batch: 64 },
];
const mb = (b: number): string => (b / 1e6).toFixed(1);
const gbit = (bytesPerSecond: number): string => ((bytesPerSecond * 8) / 1e9).toPrecision(3);
const lines = [
  '| model | parameters | gradient per step (MB) | forward MMAC / sample (conv + linear) | ' +
    devicesRef.map((d) => `Gbit/s for ≤20%, 8 workers (${d.name})`).join(' | ') +
    ' |',
  '|---|---:|---:|---:|' + devicesRef.map(() => '---:').join('|') + '|',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.parameters.toLocaleString('en-US')} | ${mb(r.gradientBytes)} | ${(r.forwardMacsPerSample / 1e6).toFixed(1)} | ` +
      devicesRef.map((d) => gbit(bandwidthFor(r, { ...d, workers: 8, share: 0.2 }))).join(' | ') +
      ' |',
  ),
];
console.log(lines.join('\n'));
const out = process.argv.indexOf('--json');
if (out > 0) writeFileSync(process.argv[out + 1]!, JSON.stringify({ rows, devices: devicesRef }, null, 2) + '\n');
