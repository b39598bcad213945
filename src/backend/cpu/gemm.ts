import type { TypedArray } from '../../core/dtype.js';

/**
 * C[M×N] (+)= op(A)[M×K] · op(B)[K×N] on row-major blocks with leading
 * dimensions lda/ldb/ldc. op(X) is X or its transpose. The loop order of
 * each case walks the innermost loop along contiguous memory.
 */
export function gemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: TypedArray,
  aOff: number,
  lda: number,
  b: TypedArray,
  bOff: number,
  ldb: number,
  c: TypedArray,
  cOff: number,
  ldc: number,
  accumulate: boolean,
): void {
  if (!accumulate) {
    for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
  }
  if (!transA && !transB) {
    // C[i,:] += A[i,p] * B[p,:]; four rows of B per pass halve the traffic on C.
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * ldc;
      const ai = aOff + i * lda;
      let p = 0;
      for (; p + 3 < k; p += 4) {
        const a0 = a[ai + p]!;
        const a1 = a[ai + p + 1]!;
        const a2 = a[ai + p + 2]!;
        const a3 = a[ai + p + 3]!;
        const b0 = bOff + p * ldb;
        const b1 = b0 + ldb;
        const b2 = b1 + ldb;
        const b3 = b2 + ldb;
        for (let j = 0; j < n; j++) {
          c[ci + j]! += a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
        }
      }
      for (; p < k; p++) {
        const av = a[ai + p]!;
        const bp = bOff + p * ldb;
        for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
      }
    }
  } else if (!transA && transB) {
    // Dot products of rows of A with rows of B, four rows of B at a time.
    for (let i = 0; i < m; i++) {
      const ai = aOff + i * lda;
      const ci = cOff + i * ldc;
      let j = 0;
      for (; j + 3 < n; j += 4) {
        const b0 = bOff + j * ldb;
        const b1 = b0 + ldb;
        const b2 = b1 + ldb;
        const b3 = b2 + ldb;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let p = 0; p < k; p++) {
          const av = a[ai + p]!;
          s0 += av * b[b0 + p]!;
          s1 += av * b[b1 + p]!;
          s2 += av * b[b2 + p]!;
          s3 += av * b[b3 + p]!;
        }
        c[ci + j]! += s0;
        c[ci + j + 1]! += s1;
        c[ci + j + 2]! += s2;
        c[ci + j + 3]! += s3;
      }
      for (; j < n; j++) {
        const bj = bOff + j * ldb;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
        c[ci + j]! += s;
      }
    }
  } else if (transA && !transB) {
    // A is stored K×M: C[i,:] += A[p,i] * B[p,:].
    for (let p = 0; p < k; p++) {
      const ap = aOff + p * lda;
      const bp = bOff + p * ldb;
      for (let i = 0; i < m; i++) {
        const av = a[ap + i]!;
        if (av === 0) continue;
        const ci = cOff + i * ldc;
        for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
      }
    }
  } else {
    // Both transposed: C = (B·A)ᵀ, computed as dot products down columns.
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * ldc;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[aOff + p * lda + i]! * b[bOff + j * ldb + p]!;
        c[ci + j]! += s;
      }
    }
  }
}
