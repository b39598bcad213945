/**
 * `tsgrad ops`: every primitive of the op table, whether autograd has a rule
 * for it, and where each backend runs it natively for which dtypes. Read off
 * the tables the library itself dispatches through (opDefs, gradRules, the cpu
 * kernel table, WASM_NATIVE, WEBGPU_NATIVE_DTYPES) and each op's declared dtypes
 * (opDefs[op].dtypes, which infer enforces), never written by hand.
 */
import { FIRST_ORDER_ONLY, gradRules } from '../autograd/rules.js';
import { cpuBackend } from '../backend/cpu/index.js';
import { WASM_NATIVE, wasmBackend } from '../backend/wasm/index.js';
import { WEBGPU_NATIVE_DTYPES, webgpuBackend } from '../backend/webgpu/index.js';
import type { DType } from '../core/dtype.js';
import { type KernelOpName, type OpName, opDefs } from '../core/ops.js';
import { type OptionSpec, formatOptions, parseOptions } from './args.js';

export interface OpCoverage {
  op: OpName;
  /** 'view' (no kernel: a new layout of the same storage), 'elementwise' or 'kernel'. */
  kind: 'view' | 'elementwise' | 'kernel';
  /** 'yes', 'yes (first order)' (no second derivative), or 'none' (integer / bool output, zero gradient). */
  gradient: string;
  cpu: string;
  wasm: string;
  webgpu: string;
}

const VIEW = 'view, no kernel';

/** One row per primitive, in op-table order. */
export function opCoverage(): OpCoverage[] {
  const cpuKernels = cpuBackend.kernels as Record<string, unknown>;
  const wasmKernels = wasmBackend.kernels as Record<string, unknown>;
  const gpuKernels = webgpuBackend.kernels as Record<string, unknown>;
  return (Object.keys(opDefs) as OpName[]).map((op) => {
    const def = opDefs[op] as { view?: boolean; elementwise?: boolean; dtypes: readonly DType[] };
    const takes = (dtypes: readonly DType[]): DType[] => dtypes.filter((d) => def.dtypes.includes(d));
    const rule = gradRules[op] as (...a: unknown[]) => unknown;
    // A rule that takes no arguments ignores the incoming gradient: the op's output has none.
    const gradient = rule.length === 0 ? 'none' : FIRST_ORDER_ONLY.has(op) ? 'yes (first order)' : 'yes';
    if (def.view) return { op, kind: 'view', gradient, cpu: VIEW, wasm: VIEW, webgpu: VIEW };
    const native = WASM_NATIVE[op as KernelOpName];
    const wasmInputs = native ? takes(native.inputs) : [];
    const wasm = !wasmKernels[op]
      ? 'missing'
      : wasmInputs.length === 0
        ? 'cpu kernel'
        : wasmInputs.join(', ') === native!.output.join(', ')
          ? wasmInputs.join(', ')
          : `${wasmInputs.join(', ')} -> ${native!.output.join(', ')}`;
    const gpuDtypes = takes(WEBGPU_NATIVE_DTYPES);
    return {
      op,
      kind: def.elementwise ? 'elementwise' : 'kernel',
      gradient,
      cpu: cpuKernels[op] ? def.dtypes.join(', ') : 'missing',
      wasm,
      webgpu: !gpuKernels[op] ? 'missing' : gpuDtypes.length === 0 ? 'cpu kernel' : gpuDtypes.join(', '),
    };
  });
}

const HEADER = ['op', 'kind', 'gradient', 'cpu', 'wasm (native)', 'webgpu (native)'];
const cells = (r: OpCoverage): string[] => [r.op, r.kind, r.gradient, r.cpu, r.wasm, r.webgpu];

/** The coverage as a Markdown table (prettier aligns it when it goes into the README). */
export function opsMarkdown(rows: OpCoverage[] = opCoverage()): string {
  const line = (c: string[]): string => `| ${c.join(' | ')} |`;
  return [
    line(HEADER),
    line(HEADER.map(() => '---')),
    ...rows.map((r) => line(cells(r).map((c, i) => (i === 0 ? `\`${c}\`` : c)))),
  ].join('\n');
}

/** The coverage as aligned plain text. */
export function opsText(rows: OpCoverage[] = opCoverage()): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    fmt(table[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.slice(1).map(fmt),
    '',
    `${rows.length} primitives. cpu: the reference kernels, for every dtype the op takes (opDefs[op].dtypes).`,
    'wasm: SIMD kernels for the dtypes shown; other ops and dtypes run the cpu kernel.',
    'webgpu: WGSL kernels for the dtypes shown; float64 runs the cpu kernel on the host.',
  ].join('\n');
}

const OPS_OPTIONS: Record<string, OptionSpec> = {
  markdown: { type: 'flag', help: 'print a Markdown table (as in the README)' },
  json: { type: 'flag', help: 'print the rows as JSON' },
  help: { type: 'flag', help: 'show this help' },
};

export async function commandOps(argv: string[]): Promise<number> {
  const { options } = parseOptions(argv, OPS_OPTIONS, 'ops');
  if (options['help']) {
    console.log(`usage: tsgrad ops [--markdown | --json]\n\n${formatOptions(OPS_OPTIONS)}`);
    return 0;
  }
  const rows = opCoverage();
  console.log(
    options['json'] ? JSON.stringify(rows, null, 2) : options['markdown'] ? opsMarkdown(rows) : opsText(rows),
  );
  return 0;
}
