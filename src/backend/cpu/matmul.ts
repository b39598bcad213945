import { type CpuView, denseData } from './storage.js';
import { gemm } from './gemm.js';

/** How a 2-D slice of a 3-D view is laid out: row-major, transposed, or neither (needs a copy). */
function matrixLayout(v: CpuView): { trans: boolean; ld: number } | null {
  const [, r, c] = v.shape as [number, number, number];
  const [, sr, sc] = v.strides as [number, number, number];
  if (sc === 1 || c === 1) return { trans: false, ld: r === 1 ? Math.max(c, 1) : sr };
  if (sr === 1 || r === 1) return { trans: true, ld: c === 1 ? Math.max(r, 1) : sc };
  return null;
}

export function matmulKernel(inputs: readonly CpuView[], out: CpuView): void {
  let [a, b] = inputs as [CpuView, CpuView];
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  let la = matrixLayout(a);
  if (!la) {
    a = { ...a, storage: denseData(a), offset: 0, strides: [m * k, k, 1] };
    la = { trans: false, ld: k };
  }
  let lb = matrixLayout(b);
  if (!lb) {
    b = { ...b, storage: denseData(b), offset: 0, strides: [k * n, n, 1] };
    lb = { trans: false, ld: n };
  }
  for (let i = 0; i < batch; i++) {
    gemm(
      la.trans,
      lb.trans,
      m,
      n,
      k,
      a.storage,
      a.offset + i * a.strides[0]!,
      la.ld,
      b.storage,
      b.offset + i * b.strides[0]!,
      lb.ld,
      out.storage,
      i * m * n,
      n,
      false,
    );
  }
}
