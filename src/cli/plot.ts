/** `tsgrad plot`: training curves of one or more runs as an SVG chart. */
import { resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { curvesSpec, renderSvg } from '../viz/plots.js';
import { readRunCurves } from '../viz/run-log.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';

const PLOT_OPTIONS: Record<string, OptionSpec> = {
  out: { type: 'string', help: 'SVG file to write', default: 'curves.svg' },
  compare: { type: 'flag', help: 'overlay the runs on one set of charts (what several runs always get)' },
  title: { type: 'string', help: 'chart title' },
  help: { type: 'flag', help: 'show this help' },
};

/** Loss, accuracy and learning-rate curves (per epoch and per batch) of run directories, overlaid. */
export async function commandPlot(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, PLOT_OPTIONS, 'plot');
  if (options['help']) {
    console.log(`usage: tsgrad plot RUN_DIR [RUN_DIR ...] [--out curves.svg]\n\n${formatOptions(PLOT_OPTIONS)}`);
    return 0;
  }
  if (positional.length === 0)
    throw new UsageError('plot: give one or more run directories, e.g. tsgrad plot runs/a runs/b');
  const out = resolve(options['out'] as string);
  if (!out.toLowerCase().endsWith('.svg'))
    throw new UsageError(`plot: --out must name an .svg file, got '${options['out']}'`);
  const runs = positional.map((p) => readRunCurves(resolve(p)));
  const names = runs.map((r) => r.name);
  // Two runs with the same folder name would share a legend entry: number them.
  runs.forEach((r, i) => {
    if (names.indexOf(r.name) !== i) r.name = `${r.name} (${i + 1})`;
  });
  const title = options['title'] as string | undefined;
  const svg = await renderSvg(curvesSpec(runs, title ? { title } : {}));
  writeFileAtomic(out, svg);
  console.log(`wrote ${out} (${runs.map((r) => `${r.name}: ${r.epochs.length} epochs`).join(', ')})`);
  return 0;
}
