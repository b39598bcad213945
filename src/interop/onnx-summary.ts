import { zeros } from '../tensor/creation.js';
import { noGrad } from '../tensor/dispatch.js';
import { Tensor } from '../tensor/tensor.js';
import type { OnnxModel } from './onnx-import.js';

export interface OnnxSummaryRow {
  node: string;
  opType: string;
  outputShape: number[] | null;
  /** Elements of the parameters (float initializers) this node reads. */
  params: number;
}

/**
 * A table of an imported ONNX model's nodes with output shapes (from one
 * forward pass of zeros) and parameter counts. Symbolic input dims are taken as 1.
 * @example console.log(onnxSummary(await importOnnx('model.onnx')).text);
 */
export function onnxSummary(
  model: OnnxModel,
  inputShape?: readonly number[],
): { rows: OnnxSummaryRow[]; totalParams: number; text: string } {
  const shape = inputShape ?? model.info.inputs[0]!.shape.map((d) => d ?? 1);
  const params = new Map(model.namedParameters());
  const rows: OnnxSummaryRow[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() =>
      model.runGraph({ [model.inputNames[0]!]: zeros(shape) }, model.outputNames, (node, out) => {
        if (node.opType === 'Constant') return;
        rows.push({
          node: node.name,
          opType: node.opType,
          outputShape: out ? [...(out instanceof Tensor ? out.shape : out.shape)] : null,
          params: node.inputs.reduce((n, i) => n + (params.get(i)?.numel ?? 0), 0),
        });
      }),
    );
  } finally {
    model.train(wasTraining);
  }
  const totalParams = model.numParameters();
  const header = ['Node', 'Op', 'Output shape', 'Params'];
  const body = rows.map((r) => [
    r.node,
    r.opType,
    r.outputShape ? `[${r.outputShape.join(', ')}]` : '-',
    r.params.toLocaleString('en-US'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const text = [
    `ONNX model: opset ${model.info.opset}${model.info.producer ? `, made by ${model.info.producer}` : ''}`,
    `input ${model.info.inputs.map((i) => `${i.name} [${i.shape.map((d) => d ?? '?').join(', ')}]`).join(', ')}; output ${model.info.outputs.map((o) => `${o.name} [${o.shape.map((d) => d ?? '?').join(', ')}]`).join(', ')}`,
    rule,
    line(header),
    rule,
    ...body.map(line),
    rule,
    `Total params: ${totalParams.toLocaleString('en-US')}`,
  ].join('\n');
  return { rows, totalParams, text };
}
