/** `tsgrad export`: a trained (or imported) run's model as an ONNX file. */
import { resolve } from 'node:path';
import { exportOnnx } from '../interop/onnx-export.js';
import { zeros } from '../tensor/creation.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';
import { loadAnyRun, readRunInfo } from './run-dir.js';

const EXPORT_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { type: 'string', help: 'run directory written by tsgrad train or tsgrad import' },
  format: { type: 'string', help: 'file format', default: 'onnx', choices: ['onnx'] },
  out: { type: 'string', help: 'the file to write, e.g. model.onnx' },
  opset: { type: 'integer', help: 'ONNX opset (13 to 17)', default: 13, min: 13 },
  'static-batch': { type: 'flag', help: 'fix the batch size at 1 instead of a dynamic batch axis' },
  help: { type: 'flag', help: 'show this help' },
};

export async function commandExport(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, EXPORT_OPTIONS, 'export');
  if (options['help']) {
    console.log(`usage: tsgrad export --checkpoint DIR --out model.onnx [options]\n\n${formatOptions(EXPORT_OPTIONS)}`);
    return 0;
  }
  if (positional.length) throw new UsageError(`export: unexpected argument '${positional[0]}'`);
  const dir = options['checkpoint'] as string | undefined;
  const out = options['out'] as string | undefined;
  if (!dir) throw new UsageError('export: --checkpoint DIR is required');
  if (!out) throw new UsageError('export: --out FILE is required');
  const cfg = readRunInfo(resolve(dir));
  const model = await loadAnyRun(resolve(dir), cfg);
  const { channels, size } = cfg.input;
  await exportOnnx(model, zeros([1, channels, size, size]), resolve(out), {
    opset: options['opset'] as number,
    dynamicBatch: !options['static-batch'],
  });
  console.log(
    `wrote ${out}: ${cfg.model} (${model.numParameters().toLocaleString('en-US')} parameters), input 'input' [${options['static-batch'] ? 1 : 'batch'}, ${channels}, ${size}, ${size}], output 'output', opset ${options['opset']}`,
  );
  return 0;
}
