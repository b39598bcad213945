/** `tsgrad plot`: training curves of one or more runs, and a tuning study's trials, as an SVG chart. */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readStudyFile } from '../tune/study.js';
import { writeFileAtomic } from '../io/atomic.js';
import { type StudyCurves, curvesSpec, renderSvg } from '../viz/plots.js';
import { readRunCurves } from '../viz/run-log.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';

const PLOT_OPTIONS: Record<string, OptionSpec> = {
  out: { type: 'string', help: 'SVG file to write', default: 'curves.svg' },
  compare: { type: 'flag', help: 'overlay the runs on one set of charts (what several runs always get)' },
  title: { type: 'string', help: 'chart title' },
  help: { type: 'flag', help: 'show this help' },
};

/** A study directory (`tsgrad tune --out DIR`) read through src/tune's journal reader. */
function readStudyCurves(dir: string): StudyCurves {
  const study = readStudyFile(dir);
  return {
    name: study.name || basename(dir),
    metric: study.metric,
    direction: study.direction,
    trials: study.trials,
  };
}

/**
 * Loss, accuracy and learning-rate curves (per epoch and per batch) of run directories,
 * overlaid; a study directory (one holding study.json) adds its trials' charts.
 */
export async function commandPlot(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, PLOT_OPTIONS, 'plot');
  if (options['help']) {
    console.log(`usage: tsgrad plot RUN_DIR|STUDY_DIR [...] [--out curves.svg]\n\n${formatOptions(PLOT_OPTIONS)}`);
    return 0;
  }
  if (positional.length === 0)
    throw new UsageError('plot: give one or more run directories, e.g. tsgrad plot runs/a runs/b');
  const out = resolve(options['out'] as string);
  if (!out.toLowerCase().endsWith('.svg'))
    throw new UsageError(`plot: --out must name an .svg file, got '${options['out']}'`);
  const isStudy = (p: string): boolean => existsSync(join(resolve(p), 'study.json'));
  const studies = positional.filter(isStudy).map((p) => readStudyCurves(resolve(p)));
  const runs = positional.filter((p) => !isStudy(p)).map((p) => readRunCurves(resolve(p)));
  const names = runs.map((r) => r.name);
  // Two runs with the same folder name would share a legend entry: number them.
  runs.forEach((r, i) => {
    if (names.indexOf(r.name) !== i) r.name = `${r.name} (${i + 1})`;
  });
  const title = options['title'] as string | undefined;
  const svg = await renderSvg(curvesSpec(runs, { studies, ...(title ? { title } : {}) }));
  writeFileAtomic(out, svg);
  const parts = [
    ...runs.map((r) => `${r.name}: ${r.epochs.length} epochs`),
    ...studies.map((s) => `study ${s.name}: ${s.trials.length} trials`),
  ];
  console.log(`wrote ${out} (${parts.join(', ')})`);
  return 0;
}
