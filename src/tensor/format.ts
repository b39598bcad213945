/**
 * How a tensor prints (toString, console.log, util.inspect): PyTorch's layout, with the
 * values abbreviated past 1000 elements, then shape, dtype, backend and autograd state.
 * Never the storage or the backend object.
 */
import type { TypedArray } from '../core/dtype.js';
import { fmt } from '../core/shape.js';
import { noGrad } from './dispatch.js';
import { type Tensor, canReadSync } from './tensor.js';

/** Past this many elements only the first and last EDGE_ITEMS along each axis are shown (PyTorch's defaults). */
export const SUMMARIZE_ABOVE = 1000;
const EDGE_ITEMS = 3;

/** Index lists per axis: every index, or the first and last EDGE_ITEMS with -1 standing for '...'. */
function shownIndices(n: number, summarize: boolean): number[] {
  if (!summarize || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
  return [
    ...Array.from({ length: EDGE_ITEMS }, (_, i) => i),
    -1,
    ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i),
  ];
}

function flatIndexSets(shape: readonly number[], summarize: boolean): number[] {
  // The flat offsets of every shown element, to size the columns from those alone.
  const out: number[] = [];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const walk = (axis: number, offset: number): void => {
    if (axis === shape.length) {
      out.push(offset);
      return;
    }
    for (const i of shownIndices(shape[axis]!, summarize)) if (i >= 0) walk(axis + 1, offset + i * strides[axis]!);
  };
  walk(0, 0);
  return out;
}

/** One formatter for all shown values, so the columns line up (fixed, integral or scientific, as PyTorch picks). */
function numberFormatter(values: TypedArray, shown: readonly number[], dtype: string): (v: number) => string {
  if (dtype === 'bool') return (v) => (v ? 'true' : 'false');
  if (dtype === 'int32') return (v) => String(v);
  const finite = shown.map((i) => values[i]!).filter((v) => Number.isFinite(v));
  const special = (v: number): string | null =>
    Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : null;
  const abs = finite.map(Math.abs).filter((v) => v > 0);
  const maxAbs = abs.length ? Math.max(...abs) : 0;
  const minAbs = abs.length ? Math.min(...abs) : 0;
  if (finite.every((v) => Number.isInteger(v)) && maxAbs < 1e8) return (v) => special(v) ?? `${v.toFixed(0)}.`;
  if (maxAbs >= 1e8 || minAbs < 1e-4 || maxAbs / minAbs > 1000) return (v) => special(v) ?? v.toExponential(4);
  return (v) => special(v) ?? v.toFixed(4);
}

function formatValues(values: TypedArray, shape: readonly number[], dtype: string, indent: number): string {
  const summarize = values.length > SUMMARIZE_ABOVE;
  const shown = flatIndexSets(shape, summarize);
  const format = numberFormatter(values, shown, dtype);
  const width = Math.max(...shown.map((i) => format(values[i]!).length));
  const cell = (i: number): string => format(values[i]!).padStart(width);
  if (shape.length === 0) return format(values[0]!);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const block = (axis: number, offset: number, pad: number): string => {
    const idx = shownIndices(shape[axis]!, summarize);
    if (axis === shape.length - 1) return `[${idx.map((i) => (i < 0 ? '...' : cell(offset + i))).join(', ')}]`;
    const sep = `,${'\n'.repeat(shape.length - axis - 1)}${' '.repeat(pad + 1)}`;
    const rows = idx.map((i) => (i < 0 ? '...' : block(axis + 1, offset + i * strides[axis]!, pad + 1)));
    return `[${rows.join(sep)}]`;
  };
  return block(0, 0, indent);
}

/** The printed form of `t`. */
export function formatTensor(t: Tensor): string {
  const meta = [`shape=${fmt(t.shape)}`, `dtype=${t.dtype}`, `backend=${t.backend.name}`];
  if (t.node) meta.push(`gradFn=<${t.node.op[0]!.toUpperCase()}${t.node.op.slice(1)}Backward>`);
  else if (t.requiresGrad) meta.push('requiresGrad=true');
  const prefix = 'tensor(';
  let body: string;
  if (t.numel === 0) body = '[]';
  else {
    const c = noGrad(() => t.contiguous());
    const values = !canReadSync(c) ? undefined : c.backend.readSync(c.storage, c.dtype, c.offset + c.numel);
    body = values
      ? formatValues(c.offset ? values.subarray(c.offset) : values, t.shape, t.dtype, prefix.length)
      : `<values on ${t.backend.name}: await t.data() to read them>`;
  }
  const head = t.constructor.name === 'Parameter' ? 'Parameter containing:\n' : '';
  return `${head}${prefix}${body}, ${meta.join(', ')})`;
}
