/**
 * Training curves as charts. The chart is described as a Vega-Lite specification (plain
 * data, platform-free, so a page can hand the same spec to Vega in the browser) and drawn
 * to SVG by Vega's headless renderer. Vega and Vega-Lite are loaded on first use with a
 * dynamic import: `import 'tsgrad'` never pays for them.
 *
 * Why Vega-Lite: a declarative grammar whose axes, legends, scales and layout are done
 * properly by a well-kept library; its SVG renderer runs in Node without canvas or any
 * native module, so `tsgrad plot` needs no browser and no build step.
 */
import { ArgumentError } from '../core/errors.js';

/** One epoch's record of a run's log.jsonl: epoch, loss, accuracy, lr, val_loss, val_accuracy, ... */
export type EpochRecord = Record<string, number>;

/** One batch's record of batches.jsonl. */
export interface BatchRecord {
  step: number;
  epoch?: number;
  loss: number;
  lr?: number;
}

/** The curves of one run, as read from its directory. */
export interface RunCurves {
  /** Shown in the legend when several runs are overlaid. */
  name: string;
  epochs: EpochRecord[];
  batches?: BatchRecord[];
}

/**
 * A tuning study's trials as plots need them (what `readStudyFile` in src/tune returns has
 * these fields): each trial's intermediate values per step and its final value.
 */
export interface StudyCurves {
  /** Shown in titles and legends. */
  name: string;
  /** What the trials report (e.g. val_accuracy). */
  metric: string;
  direction: 'minimize' | 'maximize';
  trials: readonly {
    number: number;
    state: string;
    value: number | null;
    intermediate: readonly (readonly [number, number])[];
  }[];
}

/** One point of the long-format table behind the charts. */
export interface CurvePoint {
  chart: string;
  run: string;
  split: string;
  series: string;
  x: number;
  value: number;
}

interface ChartDef {
  id: string;
  title: string;
  x: string;
  y: string;
  log?: boolean;
}

const SPLITS: Record<string, string> = { '': 'train', val_: 'validation', test_: 'test' };

/** The points of every chart: loss and accuracy per epoch (train, validation, test), lr, and per-batch loss and lr. */
export function curvePoints(runs: readonly RunCurves[]): CurvePoint[] {
  const several = runs.length > 1;
  const points: CurvePoint[] = [];
  const push = (chart: string, run: string, split: string, x: number, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    points.push({ chart, run, split, series: several ? `${run} ${split}` : split, x, value });
  };
  for (const run of runs) {
    run.epochs.forEach((e, i) => {
      const epoch = typeof e['epoch'] === 'number' ? e['epoch'] : i + 1;
      for (const [prefix, split] of Object.entries(SPLITS)) {
        push('loss', run.name, split, epoch, e[`${prefix}loss`]);
        push('accuracy', run.name, split, epoch, e[`${prefix}accuracy`]);
      }
      push('lr', run.name, 'train', epoch, e['lr']);
    });
    for (const b of run.batches ?? []) {
      push('batch_loss', run.name, 'train', b.step, b.loss);
      push('batch_lr', run.name, 'train', b.step, b.lr);
    }
  }
  return points;
}

/**
 * The points of a study's two charts: every trial's intermediate values by step (one line per
 * trial; pruned and failed trials dashed), and each finished trial's value by trial number
 * with the best value so far.
 */
export function studyPoints(studies: readonly StudyCurves[]): CurvePoint[] {
  const several = studies.length > 1;
  const points: CurvePoint[] = [];
  for (const study of studies) {
    const prefix = several ? `${study.name} ` : '';
    for (const t of study.trials) {
      const split = t.state === 'complete' ? 'complete' : t.state;
      for (const [step, value] of t.intermediate) {
        if (Number.isFinite(step) && Number.isFinite(value))
          points.push({
            chart: 'trial_curves',
            run: study.name,
            split,
            series: `${prefix}trial ${t.number}`,
            x: step,
            value,
          });
      }
    }
    let best: number | null = null;
    const finished = study.trials
      .filter((t) => (t.state === 'complete' || t.state === 'pruned') && Number.isFinite(t.value ?? NaN))
      .sort((a, b) => a.number - b.number);
    for (const t of finished) {
      const v = t.value!;
      points.push({
        chart: 'trial_values',
        run: study.name,
        split: t.state,
        series: `${prefix}trial value`,
        x: t.number,
        value: v,
      });
      if (t.state !== 'complete') continue;
      best = best === null ? v : study.direction === 'maximize' ? Math.max(best, v) : Math.min(best, v);
      points.push({
        chart: 'trial_values',
        run: study.name,
        split: 'complete',
        series: `${prefix}best so far`,
        x: t.number,
        value: best,
      });
    }
  }
  return points;
}

const CHARTS: readonly ChartDef[] = [
  { id: 'loss', title: 'Loss per epoch', x: 'epoch', y: 'loss' },
  { id: 'accuracy', title: 'Accuracy per epoch', x: 'epoch', y: 'accuracy' },
  { id: 'batch_loss', title: 'Loss per batch', x: 'step', y: 'loss', log: true },
  { id: 'lr', title: 'Learning rate per epoch', x: 'epoch', y: 'learning rate' },
  { id: 'batch_lr', title: 'Learning rate per batch', x: 'step', y: 'learning rate' },
];

/**
 * A Vega-Lite specification of a run's curves (or several runs overlaid): one chart per
 * quantity that the logs hold, training solid and validation / test dashed; with `studies`,
 * two more charts of a tuning study's trials (see studyPoints).
 * @example const spec = curvesSpec([{ name: 'a', epochs: [{ epoch: 1, loss: 0.5, val_loss: 0.6 }] }]);
 */
export function curvesSpec(
  runs: readonly RunCurves[],
  opts: { title?: string; width?: number; height?: number; studies?: readonly StudyCurves[] } = {},
): Record<string, unknown> {
  const studies = opts.studies ?? [];
  if (runs.length === 0 && studies.length === 0) throw new ArgumentError('curvesSpec: no runs and no studies');
  const points = [...curvePoints(runs), ...studyPoints(studies)];
  if (points.length === 0) {
    const names = [...runs.map((r) => r.name), ...studies.map((s) => s.name)];
    throw new ArgumentError(`curvesSpec: the logs of ${names.join(', ')} hold no numbers to plot`);
  }
  const present = new Set(points.map((p) => p.chart));
  // A study's charts are named after what its trials report.
  const metric = [...new Set(studies.map((s) => s.metric))].join(' / ') || 'value';
  const chartDefs: ChartDef[] = [
    ...CHARTS,
    { id: 'trial_curves', title: `Trials: ${metric} per step`, x: 'step', y: metric },
    { id: 'trial_values', title: `Trials: ${metric} by trial`, x: 'trial', y: metric },
  ];
  const charts = chartDefs
    .filter((c) => present.has(c.id))
    .map((c) => {
      const rows = points.filter((p) => p.chart === c.id);
      const few = new Set(rows.map((p) => p.x)).size <= 30;
      return {
        title: c.title,
        width: opts.width ?? 320,
        height: opts.height ?? 200,
        transform: [{ filter: { field: 'chart', equal: c.id } }],
        mark: { type: 'line', point: few, clip: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: c.x, axis: { tickMinStep: 1 } },
          y: {
            field: 'value',
            type: 'quantitative',
            title: c.y,
            scale: c.log && rows.every((p) => p.value > 0) ? { type: 'log' } : { zero: false },
          },
          color: { field: 'series', type: 'nominal', title: null },
          strokeDash: {
            field: 'split',
            type: 'nominal',
            title: null,
            sort: ['train', 'validation', 'test', 'complete', 'pruned', 'failed'],
          },
          tooltip: [
            { field: 'series', type: 'nominal' },
            { field: 'x', type: 'quantitative', title: c.x },
            { field: 'value', type: 'quantitative', format: '.4~g' },
          ],
        },
      };
    });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    data: { values: points },
    columns: 2,
    concat: charts,
    config: { font: 'sans-serif', legend: { orient: 'bottom' } },
    background: 'white',
  };
}

interface VegaModule {
  View: new (runtime: unknown, opts: { renderer: string }) => { toSVG(): Promise<string>; finalize(): void };
  parse(spec: unknown): unknown;
}
interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}

/**
 * Draws a Vega-Lite specification as an SVG document (Vega's headless renderer; no canvas,
 * no browser).
 * @example writeFileSync('curves.svg', await renderSvg(curvesSpec(runs)));
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const [vl, vega] = (await Promise.all([import('vega-lite'), import('vega')])) as unknown as [
    VegaLiteModule,
    VegaModule,
  ];
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
