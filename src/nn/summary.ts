import { inspectSymbol } from '../core/inspect.js';
import { fmt } from '../core/shape.js';
import { zeros } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { Tensor } from '../tensor/tensor.js';
import { type Module, observeForward } from './module.js';

export interface SummaryRow {
  name: string;
  layer: string;
  outputShape: number[] | null;
  params: number;
}

export interface Summary {
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  /** The table as text, Keras-style. */
  text: string;
  /** The table: `console.log(summary(model, shape))` and `${summary(...)}` print it. */
  toString(): string;
}

class ModelSummary implements Summary {
  constructor(
    readonly rows: SummaryRow[],
    readonly totalParams: number,
    readonly trainableParams: number,
    readonly text: string,
  ) {}
  toString(): string {
    return this.text;
  }
  /** What console.log and util.inspect show in Node: the table, not the fields. */
  [inspectSymbol](): string {
    return this.text;
  }
}

/**
 * A table of the model's layers with output shapes (from one forward pass
 * of zeros of `inputShape`, batch included) and parameter counts.
 * @example console.log(summary(new LeNet5(), [1, 1, 28, 28])); // the table
 */
export function summary(model: Module & { forward(x: Tensor): unknown }, inputShape: readonly number[]): Summary {
  const shapes = new Map<Module, number[]>();
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() =>
      observeForward(
        (m, out) => {
          if (out instanceof Tensor && !shapes.has(m)) shapes.set(m, [...out.shape]);
        },
        () => model.forward(zeros(inputShape)),
      ),
    );
  } finally {
    model.train(wasTraining);
  }
  // Only parameters count, each once (in the first layer that owns it), so the rows add up to the total;
  // layers' other tensors (masks, scatter matrices, constants) are not parameters.
  const counted = new Set<Tensor>();
  const rows: SummaryRow[] = [];
  for (const [name, m] of model.namedModules()) {
    const own = m
      .namedParameters()
      .filter(([n]) => !n.includes('.'))
      .map(([, p]) => p);
    const isLeaf = m.namedChildren().length === 0;
    const fresh = own.filter((p) => !counted.has(p));
    fresh.forEach((p) => counted.add(p));
    const params = fresh.reduce((n, p) => n + p.numel, 0);
    if ((name === '' || !isLeaf) && params === 0) continue;
    rows.push({ name: name || '(self)', layer: m.describe(), outputShape: shapes.get(m) ?? null, params });
  }
  const totalParams = model.numParameters();
  const trainableParams = model.numParameters({ trainableOnly: true });
  const table = [
    ['Layer', 'Output shape', 'Params'],
    ...rows.map((r) => [
      `${r.name} ${r.layer}`,
      r.outputShape ? fmt(r.outputShape) : '-',
      r.params.toLocaleString('en-US'),
    ]),
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...table.map((r) => r[c]!.length)));
  const line = (r: string[]): string =>
    `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}`;
  const rule = '-'.repeat(widths[0]! + widths[1]! + widths[2]! + 4);
  const text = [
    `${model.constructor.name} (input ${fmt(inputShape)})`,
    rule,
    line(table[0]!),
    rule,
    ...table.slice(1).map(line),
    rule,
    `Total params: ${totalParams.toLocaleString('en-US')}`,
    `Trainable params: ${trainableParams.toLocaleString('en-US')}`,
    `Non-trainable params: ${(totalParams - trainableParams).toLocaleString('en-US')}`,
  ].join('\n');
  return new ModelSummary(rows, totalParams, trainableParams, text);
}
