// AssemblyScript source of the wasm backend's kernels (compiled by scripts/build-wasm.mjs,
// not by tsc). Everything here works on raw float32 data in linear memory: the TypeScript
// side (src/backend/wasm/) copies inputs into a scratch arena, passes byte pointers, and
// copies results out. No allocation happens in wasm (runtime "stub", no GC): every buffer,
// including the GEMM packing workspace, is a region of the arena the caller hands in, so
// the same code can later run on a shared memory with one workspace per worker thread.
//
// The same source is built twice: plain SIMD, and relaxed SIMD where `madd` becomes a fused
// multiply-add (`f32x4.relaxed_madd`). ASC_FEATURE_RELAXED_SIMD is a compile-time constant,
// so each build contains only one of the two paths.

// ------------------------------------------------------------------ GEMM

// Register blocking: the GEMM's 6×8 tile of C lives in 12 f32x4 accumulators, plus two B
// vectors and the A splat: 15 xmm registers, all V8 allocates on x64 (the plain-SIMD build
// also needs a product temporary, so one value spills there). The convolutions keep 4×8
// tiles (MR; also 3×12, MR3). Measured 2026-12-02 on a 2-core Xeon in one process against the
// 4×8 GEMM, call for call: relaxed SIMD (FMA) 1.00–1.18× (GEMM 1024 1.06–1.07×), plain SIMD
// 0.97–1.09×; the peak probe there gives 36.6 GFLOP/s with 8 FMA chains and 43.0 with 12.
// Unrolling the depth loop 2× or 4× measured slower (on the 4×8 tile).
const MR: i32 = 4;
const NR: i32 = 8;
/** Rows of the GEMM's register tile (the convolutions' tiles keep MR). */
const GMR: i32 = 6;
// Cache blocking: a KC×NR micro-panel of B (8 KiB) stays in L1 while the MC×KC block of
// A (120 KiB: 20 panels of GMR rows) streams from L2; the KC×NC panel of B (2 MiB) lives in L3.
const KC: i32 = 256;
const MC: i32 = 120;
const NC: i32 = 2048;

/** Start of free linear memory: the arena begins here (rounded up by the caller). */
export function heapBase(): usize {
  return __heap_base;
}

/** Bytes of scratch gemm() needs at `work`: packed A block, packed B panel, an edge tile. */
export function gemmWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC + GMR * NR) * 4;
}

/** a·b + c, fused (one rounding) in the relaxed build where the hardware has FMA. */
// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/**
 * Packs an mc×kc block of op(A) (element (i, p) at src + (i·rs + p·cs)·4) into panels of MR
 * rows: dst[(panel·kc + p)·MR + r]. Rows past mc are zero so the micro-kernel never branches.
 */
function packA(src: usize, rs: i32, cs: i32, mc: i32, kc: i32, dst: usize): void {
  for (let i0 = 0; i0 < mc; i0 += GMR) {
    const panel = dst + <usize>(i0 * kc * 4);
    if (rs == 1 && i0 + GMR <= mc) {
      // op(A) is Aᵀ: the GMR values of one depth step are adjacent in memory.
      let s = src + <usize>(i0 * 4);
      const step = <usize>(cs * 4);
      for (let p = 0; p < kc; p++) {
        const d = panel + <usize>(p * GMR * 4);
        v128.store(d, v128.load(s));
        store<u64>(d, load<u64>(s, 16), 16);
        s += step;
      }
      continue;
    }
    for (let r = 0; r < GMR; r++) {
      const i = i0 + r;
      let d = panel + <usize>(r * 4);
      if (i < mc) {
        let s = src + <usize>(i * rs * 4);
        const step = <usize>(cs * 4);
        for (let p = 0; p < kc; p++) {
          store<f32>(d, load<f32>(s));
          s += step;
          d += GMR * 4;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          store<f32>(d, 0);
          d += GMR * 4;
        }
      }
    }
  }
}

/**
 * Packs a kc×nc panel of op(B) (element (p, j) at src + (p·rs + j·cs)·4) into micro-panels of
 * NR columns: dst[(panel·kc + p)·NR + c], zero past column nc.
 */
function packB(src: usize, rs: i32, cs: i32, kc: i32, nc: i32, dst: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const panel = dst + <usize>(j0 * kc * 4);
    if (cs == 1 && j0 + NR <= nc) {
      // Row-major B: each depth step's NR values are adjacent.
      let s = src + <usize>(j0 * 4);
      const step = <usize>(rs * 4);
      let d = panel;
      for (let p = 0; p < kc; p++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        s += step;
        d += NR * 4;
      }
      continue;
    }
    if (rs == 1 && j0 + NR <= nc) {
      // Bᵀ: each column is contiguous in p. Transpose 4×4 blocks with shuffles.
      const ld = <usize>(cs * 4);
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        for (let h = 0; h < 2; h++) {
          const s = src + <usize>((j0 + h * 4) * cs * 4 + p * 4);
          const r0 = v128.load(s);
          const r1 = v128.load(s + ld);
          const r2 = v128.load(s + 2 * ld);
          const r3 = v128.load(s + 3 * ld);
          // r_c holds column c at depths p..p+3; emit depth-major rows of 4 columns.
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const d = panel + <usize>(p * NR * 4 + h * 16);
          v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(d + NR * 4, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
          v128.store(d + 2 * NR * 4, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
          v128.store(d + 3 * NR * 4, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
        }
      }
      for (; p < kc; p++) {
        const d = panel + <usize>(p * NR * 4);
        for (let c = 0; c < NR; c++) {
          store<f32>(d + <usize>(c * 4), load<f32>(src + <usize>(((j0 + c) * cs + p) * 4)));
        }
      }
      continue;
    }
    for (let c = 0; c < NR; c++) {
      const j = j0 + c;
      let d = panel + <usize>(c * 4);
      if (j < nc) {
        let s = src + <usize>(j * cs * 4);
        const step = <usize>(rs * 4);
        for (let p = 0; p < kc; p++) {
          store<f32>(d, load<f32>(s));
          s += step;
          d += NR * 4;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          store<f32>(d, 0);
          d += NR * 4;
        }
      }
    }
  }
}

/**
 * C[mr×nr] = (beta ? C : 0) + Apanel·Bpanel over kc steps. Full tiles load/store C directly;
 * edge tiles go through `tile` so only the rows and columns inside C are written.
 */
function micro(kc: i32, a: usize, b: usize, c: usize, ldc: usize, beta: bool, mr: i32, nr: i32, tile: usize): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  let c40 = c00;
  let c41 = c00;
  let c50 = c00;
  let c51 = c00;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    av = v128.load32_splat(a, 16);
    c40 = madd(av, b0, c40);
    c41 = madd(av, b1, c41);
    av = v128.load32_splat(a, 20);
    c50 = madd(av, b0, c50);
    c51 = madd(av, b1, c51);
    a += GMR * 4;
    b += NR * 4;
  }
  if (mr == GMR && nr == NR) {
    if (beta) {
      c00 = f32x4.add(c00, v128.load(c));
      c01 = f32x4.add(c01, v128.load(c, 16));
      c10 = f32x4.add(c10, v128.load(c + ldc));
      c11 = f32x4.add(c11, v128.load(c + ldc, 16));
      c20 = f32x4.add(c20, v128.load(c + 2 * ldc));
      c21 = f32x4.add(c21, v128.load(c + 2 * ldc, 16));
      c30 = f32x4.add(c30, v128.load(c + 3 * ldc));
      c31 = f32x4.add(c31, v128.load(c + 3 * ldc, 16));
      c40 = f32x4.add(c40, v128.load(c + 4 * ldc));
      c41 = f32x4.add(c41, v128.load(c + 4 * ldc, 16));
      c50 = f32x4.add(c50, v128.load(c + 5 * ldc));
      c51 = f32x4.add(c51, v128.load(c + 5 * ldc, 16));
    }
    v128.store(c, c00);
    v128.store(c, c01, 16);
    v128.store(c + ldc, c10);
    v128.store(c + ldc, c11, 16);
    v128.store(c + 2 * ldc, c20);
    v128.store(c + 2 * ldc, c21, 16);
    v128.store(c + 3 * ldc, c30);
    v128.store(c + 3 * ldc, c31, 16);
    v128.store(c + 4 * ldc, c40);
    v128.store(c + 4 * ldc, c41, 16);
    v128.store(c + 5 * ldc, c50);
    v128.store(c + 5 * ldc, c51, 16);
    return;
  }
  v128.store(tile, c00);
  v128.store(tile, c01, 16);
  v128.store(tile, c10, 32);
  v128.store(tile, c11, 48);
  v128.store(tile, c20, 64);
  v128.store(tile, c21, 80);
  v128.store(tile, c30, 96);
  v128.store(tile, c31, 112);
  v128.store(tile, c40, 128);
  v128.store(tile, c41, 144);
  v128.store(tile, c50, 160);
  v128.store(tile, c51, 176);
  for (let r = 0; r < mr; r++) {
    const row = c + <usize>r * ldc;
    const t = tile + <usize>(r * NR * 4);
    if (nr == NR) {
      // Short tile (small M, e.g. 6 output channels): whole rows still go as vectors.
      let v0 = v128.load(t);
      let v1 = v128.load(t, 16);
      if (beta) {
        v0 = f32x4.add(v0, v128.load(row));
        v1 = f32x4.add(v1, v128.load(row, 16));
      }
      v128.store(row, v0);
      v128.store(row, v1, 16);
      continue;
    }
    for (let j = 0; j < nr; j++) {
      const o = row + <usize>(j * 4);
      const v = load<f32>(t + <usize>(j * 4));
      store<f32>(o, beta ? load<f32>(o) + v : v);
    }
  }
}

/**
 * C[m×n] (+)= op(A)[m×k] · op(B)[k×n], row-major with leading dimensions in elements;
 * op(X) is X, or Xᵀ when its trans flag is set. `work` points at gemmWorkspaceBytes() of
 * scratch. Blocked as in BLIS/GotoBLAS: NC-wide panels of B, KC-deep slices, MC-tall
 * blocks of A, then GMR×NR register tiles.
 */
export function gemm(
  transA: bool,
  transB: bool,
  m: i32,
  n: i32,
  k: i32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  accumulate: bool,
  work: usize,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) {
      for (let i = 0; i < m; i++) memory.fill(c + <usize>(i * ldc * 4), 0, <usize>(n * 4));
    }
    return;
  }
  const ars = transA ? 1 : lda;
  const acs = transA ? lda : 1;
  const brs = transB ? 1 : ldb;
  const bcs = transB ? ldb : 1;
  const ap = work;
  const bp = work + <usize>(MC * KC * 4);
  const tile = bp + <usize>(KC * NC * 4);
  const ldcBytes = <usize>(ldc * 4);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packB(b + <usize>((pc * brs + jc * bcs) * 4), brs, bcs, kc, nc, bp);
      const beta = accumulate || pc > 0;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(a + <usize>((ic * ars + pc * acs) * 4), ars, acs, mc, kc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const bPanel = bp + <usize>(jr * kc * 4);
          let cRow = c + <usize>(ic * ldc * 4 + (jc + jr) * 4);
          for (let ir = 0; ir < mc; ir += GMR) {
            micro(kc, ap + <usize>(ir * kc * 4), bPanel, cRow, ldcBytes, beta, min(GMR, mc - ir), nr, tile);
            cRow += ldcBytes * GMR;
          }
        }
      }
    }
  }
}

/** `batch` independent products; strides between matrices in elements (0 broadcasts one operand). */
export function gemmBatched(
  batch: i32,
  transA: bool,
  transB: bool,
  m: i32,
  n: i32,
  k: i32,
  a: usize,
  lda: i32,
  strideA: i32,
  b: usize,
  ldb: i32,
  strideB: i32,
  c: usize,
  ldc: i32,
  strideC: i32,
  work: usize,
): void {
  for (let i = 0; i < batch; i++) {
    gemm(
      transA,
      transB,
      m,
      n,
      k,
      a + <usize>(i * strideA * 4),
      lda,
      b + <usize>(i * strideB * 4),
      ldb,
      c + <usize>(i * strideC * 4),
      ldc,
      false,
      work,
    );
  }
}

// --------------------------------------------------------------- im2col

/**
 * Copies n floats. memory.copy is a call into the engine with a fixed cost of tens of
 * nanoseconds, which dominated im2col, whose runs are one output row (often 10–30 floats);
 * short runs are copied inline instead.
 */
// @ts-ignore: decorator
@inline
function copyF32(dst: usize, src: usize, n: i32): void {
  if (n >= 64) {
    memory.copy(dst, src, <usize>(n * 4));
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(dst, v128.load(src));
    dst += 16;
    src += 16;
  }
  for (; i < n; i++) {
    store<f32>(dst, load<f32>(src));
    dst += 4;
    src += 4;
  }
}

/** Zeroes n floats (inline for short runs, as copyF32). */
// @ts-ignore: decorator
@inline
function zeroF32(dst: usize, n: i32): void {
  if (n >= 64) {
    memory.fill(dst, 0, <usize>(n * 4));
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(dst, f32x4.splat(0));
    dst += 16;
  }
  for (; i < n; i++) {
    store<f32>(dst, 0);
    dst += 4;
  }
}

/** First output index o ≥ 0 with o·s + off ≥ 0. */
// @ts-ignore: decorator
@inline
function firstInside(off: i32, s: i32): i32 {
  return off >= 0 ? 0 : (-off + s - 1) / s;
}

/** One past the last output index o < count with o·s + off < size. */
// @ts-ignore: decorator
@inline
function endInside(off: i32, s: i32, size: i32, count: i32): i32 {
  if (off >= size) return 0;
  return min(count, (size - 1 - off) / s + 1);
}

/**
 * Unrolls the receptive fields of `samples` samples (NCHW, `channels` channels of h×w,
 * consecutive samples `sampleStride` elements apart) into cols, a row-major matrix of
 * channels·kh·kw rows and `ldCols` columns: row (c·kh + ki)·kw + kj, column s·hOut·wOut + oh·wOut + ow.
 * Batching samples side by side lets one GEMM cover the whole batch.
 */
export function im2col(
  x: usize,
  samples: i32,
  sampleStride: i32,
  channels: i32,
  h: i32,
  w: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
  dh: i32,
  dw: i32,
  hOut: i32,
  wOut: i32,
  cols: usize,
  ldCols: i32,
): void {
  const hw = hOut * wOut;
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < channels; c++) {
      const xc = x + <usize>((s * sampleStride + c * h * w) * 4);
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          const row = (c * kh + ki) * kw + kj;
          const base = cols + <usize>((row * ldCols + s * hw) * 4);
          const offW = kj * dw - pl;
          const ow0 = min(firstInside(offW, sw), wOut);
          const ow1 = max(endInside(offW, sw, w, wOut), ow0);
          for (let oh = 0; oh < hOut; oh++) {
            const ih = oh * sh - pt + ki * dh;
            const o = base + <usize>(oh * wOut * 4);
            if (ih < 0 || ih >= h) {
              zeroF32(o, wOut);
              continue;
            }
            if (ow0 > 0) zeroF32(o, ow0);
            if (ow1 < wOut) zeroF32(o + <usize>(ow1 * 4), wOut - ow1);
            const xr = xc + <usize>(ih * w * 4);
            if (sw == 1) {
              copyF32(o + <usize>(ow0 * 4), xr + <usize>((ow0 + offW) * 4), ow1 - ow0);
            } else {
              for (let ow = ow0; ow < ow1; ow++) {
                store<f32>(o + <usize>(ow * 4), load<f32>(xr + <usize>((ow * sw + offW) * 4)));
              }
            }
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: adds each column entry back onto the input position it was read from. */
export function col2im(
  cols: usize,
  ldCols: i32,
  samples: i32,
  sampleStride: i32,
  channels: i32,
  h: i32,
  w: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
  dh: i32,
  dw: i32,
  hOut: i32,
  wOut: i32,
  dx: usize,
): void {
  const hw = hOut * wOut;
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < channels; c++) {
      const xc = dx + <usize>((s * sampleStride + c * h * w) * 4);
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          const row = (c * kh + ki) * kw + kj;
          const base = cols + <usize>((row * ldCols + s * hw) * 4);
          const offW = kj * dw - pl;
          const ow0 = min(firstInside(offW, sw), wOut);
          const ow1 = max(endInside(offW, sw, w, wOut), ow0);
          for (let oh = 0; oh < hOut; oh++) {
            const ih = oh * sh - pt + ki * dh;
            if (ih < 0 || ih >= h) continue;
            const o = base + <usize>(oh * wOut * 4);
            const xr = xc + <usize>(ih * w * 4);
            if (sw == 1) {
              let src = o + <usize>(ow0 * 4);
              let dst = xr + <usize>((ow0 + offW) * 4);
              let left = ow1 - ow0;
              for (; left >= 4; left -= 4) {
                v128.store(dst, f32x4.add(v128.load(dst), v128.load(src)));
                src += 16;
                dst += 16;
              }
              for (; left > 0; left--) {
                store<f32>(dst, load<f32>(dst) + load<f32>(src));
                src += 4;
                dst += 4;
              }
            } else {
              for (let ow = ow0; ow < ow1; ow++) {
                const d = xr + <usize>((ow * sw + offW) * 4);
                store<f32>(d, load<f32>(d) + load<f32>(o + <usize>(ow * 4)));
              }
            }
          }
        }
      }
    }
  }
}

/** [samples, channels, hw] → [channels, ld] with sample s at columns s·hw…: the GEMM's layout. */
export function nchwToChannelRows(src: usize, samples: i32, channels: i32, hw: i32, dst: usize, ld: i32): void {
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < channels; c++) {
      copyF32(dst + <usize>((c * ld + s * hw) * 4), src + <usize>(((s * channels + c) * hw) * 4), hw);
    }
  }
}

/** The inverse of nchwToChannelRows. */
export function channelRowsToNchw(src: usize, ld: i32, samples: i32, channels: i32, hw: i32, dst: usize): void {
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < channels; c++) {
      copyF32(dst + <usize>(((s * channels + c) * hw) * 4), src + <usize>((c * ld + s * hw) * 4), hw);
    }
  }
}

// -------------------------------------------------------------- pooling
// Same window semantics as src/backend/cpu/pool.ts: symmetric implicit padding, windows
// clipped to the input, the first maximum wins and NaN beats everything (PyTorch).

/**
 * The window winners of one output row: for each output column, the value and in-plane
 * offset of its window's first maximum (NaN beats everything), or −∞ and −1 for an empty
 * window. Taps are visited tap-major (for each (ki, kj), every column), so the columns'
 * compare-and-select chains are independent, and four columns share one f32x4; per column
 * the taps still come in window order, which keeps "first maximum" exact. Branch-free
 * throughout: on real data the winner is unpredictable, and V8 turns scalar float
 * selects (and f32.max) into branches that mispredict half the time; that made the
 * scalar version 6× slower.
 */
// @ts-ignore: decorator
@inline
function rowWinners(
  plane: usize,
  h: i32,
  w: i32,
  wOut: i32,
  sH: i32,
  kh: i32,
  kw: i32,
  sw: i32,
  pw: i32,
  dh: i32,
  dw: i32,
  m: usize,
  best: usize,
): void {
  for (let ow = 0; ow < wOut; ow++) {
    store<f32>(m + <usize>(ow * 4), -Infinity);
    store<i32>(best + <usize>(ow * 4), -1);
  }
  for (let ki = 0; ki < kh; ki++) {
    const ih = sH + ki * dh;
    if (ih < 0 || ih >= h) continue;
    for (let kj = 0; kj < kw; kj++) {
      const offW = kj * dw - pw;
      const ow0 = min(firstInside(offW, sw), wOut);
      const ow1 = max(endInside(offW, sw, w, wOut), ow0);
      let ow = ow0;
      const rowBase = ih * w + offW;
      const laneStep = i32x4(0, sw, 2 * sw, 3 * sw);
      for (; ow + 4 <= ow1; ow += 4) {
        const at0 = rowBase + ow * sw;
        const src = plane + <usize>(at0 * 4);
        let v: v128;
        if (sw == 1) {
          v = v128.load(src);
        } else if (sw == 2 && ow * 2 + offW + 7 < w) {
          // Both vectors stay inside the input row.
          v = v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6);
        } else {
          v = f32x4.splat(load<f32>(src));
          v = f32x4.replace_lane(v, 1, load<f32>(src + <usize>(sw * 4)));
          v = f32x4.replace_lane(v, 2, load<f32>(src + <usize>(sw * 8)));
          v = f32x4.replace_lane(v, 3, load<f32>(src + <usize>(sw * 12)));
        }
        const pm = m + <usize>(ow * 4);
        const pb = best + <usize>(ow * 4);
        const cur = v128.load(pm);
        const b = v128.load(pb);
        const take = v128.or(
          v128.or(i32x4.lt_s(b, i32x4.splat(0)), f32x4.gt(v, cur)),
          v128.and(f32x4.ne(v, v), f32x4.eq(cur, cur)),
        );
        v128.store(pm, v128.bitselect(v, cur, take));
        v128.store(pb, v128.bitselect(i32x4.add(i32x4.splat(at0), laneStep), b, take));
      }
      for (; ow < ow1; ow++) {
        const at = rowBase + ow * sw;
        const v = load<f32>(plane + <usize>(at * 4));
        const pm = m + <usize>(ow * 4);
        const pb = best + <usize>(ow * 4);
        const cur = load<f32>(pm);
        const b = load<i32>(pb);
        // Integer masks rather than select: V8 lowers a float select to a branch.
        const take = -(<i32>((b < 0) | (v > cur) | ((v != v) & (cur == cur))));
        store<i32>(pm, (reinterpret<i32>(v) & take) | (reinterpret<i32>(cur) & ~take));
        store<i32>(pb, (at & take) | (b & ~take));
      }
    }
  }
}

/** Max pooling; `scratch` holds wOut i32 (the winners' offsets). */
export function maxPool2d(
  x: usize,
  y: usize,
  planes: i32,
  h: i32,
  w: i32,
  hOut: i32,
  wOut: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  ph: i32,
  pw: i32,
  dh: i32,
  dw: i32,
  scratch: usize,
): void {
  let o = y;
  for (let pl = 0; pl < planes; pl++) {
    const plane = x + <usize>(pl * h * w * 4);
    for (let oh = 0; oh < hOut; oh++) {
      rowWinners(plane, h, w, wOut, oh * sh - ph, kh, kw, sw, pw, dh, dw, o, scratch);
      o += <usize>(wOut * 4);
    }
  }
}

/**
 * Routes each output gradient to the input position that won its window (dx must start
 * zeroed); `scratch` holds wOut f32 and wOut i32.
 */
export function maxPool2dGrad(
  x: usize,
  gy: usize,
  dx: usize,
  planes: i32,
  h: i32,
  w: i32,
  hOut: i32,
  wOut: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  ph: i32,
  pw: i32,
  dh: i32,
  dw: i32,
  scratch: usize,
): void {
  const m = scratch;
  const best = scratch + <usize>(wOut * 4);
  let o = gy;
  for (let pl = 0; pl < planes; pl++) {
    const plane = x + <usize>(pl * h * w * 4);
    const dplane = dx + <usize>(pl * h * w * 4);
    for (let oh = 0; oh < hOut; oh++) {
      rowWinners(plane, h, w, wOut, oh * sh - ph, kh, kw, sw, pw, dh, dw, m, best);
      for (let ow = 0; ow < wOut; ow++) {
        const at = load<i32>(best + <usize>(ow * 4));
        if (at >= 0) {
          const d = dplane + <usize>(at * 4);
          store<f32>(d, load<f32>(d) + load<f32>(o));
        }
        o += 4;
      }
    }
  }
}

/** First in-bounds tap of a window starting at input coordinate `start` with dilation d. */
// @ts-ignore: decorator
@inline
function firstTap(start: i32, d: i32): i32 {
  return start >= 0 ? start : start + ((-start + d - 1) / d) * d;
}

/** One past the last in-bounds input coordinate of a window (taps are start + t·d, t < k). */
// @ts-ignore: decorator
@inline
function endTap(start: i32, k: i32, d: i32, size: i32): i32 {
  return min(start + (k - 1) * d + 1, size);
}

/** Taps of a window inside [−pad, size + pad) — PyTorch's countIncludePad divisor along one axis. */
// @ts-ignore: decorator
@inline
function paddedSpan(start: i32, k: i32, d: i32, size: i32, pad: i32): i32 {
  let c = 0;
  for (let t = 0; t < k; t++) {
    if (start + t * d < size + pad) c++;
  }
  return c;
}

/** Number of taps in [first, end) with step d. */
// @ts-ignore: decorator
@inline
function tapCount(first: i32, end: i32, d: i32): i32 {
  return first >= end ? 0 : (end - first + d - 1) / d;
}

/**
 * Average pooling; sums and divides in f64 like the reference kernel, so results agree to
 * the last bit in practice. An empty window without countIncludePad gives 0/0 = NaN, as there.
 */
export function avgPool2d(
  x: usize,
  y: usize,
  planes: i32,
  h: i32,
  w: i32,
  hOut: i32,
  wOut: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  ph: i32,
  pw: i32,
  dh: i32,
  dw: i32,
  countIncludePad: bool,
): void {
  let o = y;
  for (let pl = 0; pl < planes; pl++) {
    const plane = x + <usize>(pl * h * w * 4);
    for (let oh = 0; oh < hOut; oh++) {
      const sH = oh * sh - ph;
      const ih0 = firstTap(sH, dh);
      const ih1 = endTap(sH, kh, dh, h);
      const rows = countIncludePad ? paddedSpan(sH, kh, dh, h, ph) : tapCount(ih0, ih1, dh);
      for (let ow = 0; ow < wOut; ow++) {
        const sW = ow * sw - pw;
        const iw0 = firstTap(sW, dw);
        const iw1 = endTap(sW, kw, dw, w);
        let s: f64 = 0;
        for (let ih = ih0; ih < ih1; ih += dh) {
          const r = plane + <usize>(ih * w * 4);
          for (let iw = iw0; iw < iw1; iw += dw) s += <f64>load<f32>(r + <usize>(iw * 4));
        }
        const cols = countIncludePad ? paddedSpan(sW, kw, dw, w, pw) : tapCount(iw0, iw1, dw);
        store<f32>(o, <f32>(s / <f64>(rows * cols)));
        o += 4;
      }
    }
  }
}

/** Spreads each output gradient evenly over its window (dx must start zeroed). */
export function avgPool2dGrad(
  gy: usize,
  dx: usize,
  planes: i32,
  h: i32,
  w: i32,
  hOut: i32,
  wOut: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  ph: i32,
  pw: i32,
  dh: i32,
  dw: i32,
  countIncludePad: bool,
): void {
  let o = gy;
  for (let pl = 0; pl < planes; pl++) {
    const plane = dx + <usize>(pl * h * w * 4);
    for (let oh = 0; oh < hOut; oh++) {
      const sH = oh * sh - ph;
      const ih0 = firstTap(sH, dh);
      const ih1 = endTap(sH, kh, dh, h);
      const rows = countIncludePad ? paddedSpan(sH, kh, dh, h, ph) : tapCount(ih0, ih1, dh);
      for (let ow = 0; ow < wOut; ow++) {
        const sW = ow * sw - pw;
        const iw0 = firstTap(sW, dw);
        const iw1 = endTap(sW, kw, dw, w);
        const cols = countIncludePad ? paddedSpan(sW, kw, dw, w, pw) : tapCount(iw0, iw1, dw);
        const v = <f64>load<f32>(o) / <f64>(rows * cols);
        for (let ih = ih0; ih < ih1; ih += dh) {
          const r = plane + <usize>(ih * w * 4);
          for (let iw = iw0; iw < iw1; iw += dw) {
            const d = r + <usize>(iw * 4);
            store<f32>(d, <f32>(<f64>load<f32>(d) + v));
          }
        }
        o += 4;
      }
    }
  }
}

// ---------------------------------------------------- elementwise and reductions
// Memory-bound ops: worth it because the reference kernels branch per element (relu and
// comparisons on random signs mispredict half the time) or call a closure per element,
// while these run branch-free on four lanes; the copies in and out are memcpy-speed.

const BINARY_ADD = 0;
const BINARY_SUB = 1;
const BINARY_MUL = 2;
const BINARY_DIV = 3;
const BINARY_MAXIMUM = 4;
const BINARY_MINIMUM = 5;
const BINARY_RELU_BACKWARD = 6;
const COMPARE_EQ = 0;
const COMPARE_NE = 1;
const COMPARE_LT = 2;
const COMPARE_LE = 3;
const COMPARE_GT = 4;
const COMPARE_GE = 5;

/**
 * One binary op on four lanes. f32 +, −, ×, ÷ round exactly like the reference, which
 * computes in f64 and rounds once to f32 (double rounding is innocuous for these). max/min
 * keep the reference's rule lane for lane: a when a > b or a is NaN, else b.
 */
// @ts-ignore: decorator
@inline
function binaryVec(op: i32, a: v128, b: v128): v128 {
  if (op == BINARY_ADD) return f32x4.add(a, b);
  if (op == BINARY_SUB) return f32x4.sub(a, b);
  if (op == BINARY_MUL) return f32x4.mul(a, b);
  if (op == BINARY_DIV) return f32x4.div(a, b);
  if (op == BINARY_MAXIMUM) return v128.bitselect(a, b, v128.or(f32x4.gt(a, b), f32x4.ne(a, a)));
  if (op == BINARY_MINIMUM) return v128.bitselect(a, b, v128.or(f32x4.lt(a, b), f32x4.ne(a, a)));
  // ReLU's backward (a the gradient, b the input): a where b > 0 or b is NaN, else +0 (not ≤ 0).
  return v128.andnot(a, f32x4.le(b, f32x4.splat(0)));
}

/** Lane masks (all ones where true) of a comparison; NaN compares unequal to everything. */
// @ts-ignore: decorator
@inline
function compareVec(op: i32, a: v128, b: v128): v128 {
  if (op == COMPARE_EQ) return f32x4.eq(a, b);
  if (op == COMPARE_NE) return f32x4.ne(a, b);
  if (op == COMPARE_LT) return f32x4.lt(a, b);
  if (op == COMPARE_LE) return f32x4.le(a, b);
  if (op == COMPARE_GT) return f32x4.gt(a, b);
  return f32x4.ge(a, b);
}

/**
 * One row of n outputs; each operand either advances (stride 1) or repeats one value
 * (stride 0, a broadcast). `op` is a constant at every call site, so each instance of this
 * inlined loop keeps only its own operation.
 */
// @ts-ignore: decorator
@inline
function binaryRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, o: usize, n: i32): void {
  let i = 0;
  if (sa != 0 && sb != 0) {
    for (; i + 4 <= n; i += 4) {
      v128.store(o, binaryVec(op, v128.load(a), v128.load(b)));
      a += 16;
      b += 16;
      o += 16;
    }
  } else if (sa != 0) {
    const bv = v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) {
      v128.store(o, binaryVec(op, v128.load(a), bv));
      a += 16;
      o += 16;
    }
  } else if (sb != 0) {
    const av = v128.load32_splat(a);
    for (; i + 4 <= n; i += 4) {
      v128.store(o, binaryVec(op, av, v128.load(b)));
      b += 16;
      o += 16;
    }
  } else {
    const v = binaryVec(op, v128.load32_splat(a), v128.load32_splat(b));
    for (; i + 4 <= n; i += 4) {
      v128.store(o, v);
      o += 16;
    }
  }
  for (; i < n; i++) {
    store<f32>(o, f32x4.extract_lane(binaryVec(op, v128.load32_splat(a), v128.load32_splat(b)), 0));
    a += <usize>(sa * 4);
    b += <usize>(sb * 4);
    o += 4;
  }
}

/**
 * out[d0, d1, d2] = a[...] op b[...] over a 3-d iteration (the caller merges the broadcast
 * pattern into at most three dimensions); strides in elements, inner strides 0 or 1.
 */
export function binary(
  op: i32,
  d0: i32,
  d1: i32,
  d2: i32,
  a: usize,
  as0: i32,
  as1: i32,
  as2: i32,
  b: usize,
  bs0: i32,
  bs1: i32,
  bs2: i32,
  out: usize,
): void {
  let o = out;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      const pa = a + <usize>((i0 * as0 + i1 * as1) * 4);
      const pb = b + <usize>((i0 * bs0 + i1 * bs1) * 4);
      if (op == BINARY_ADD) binaryRow(BINARY_ADD, pa, as2, pb, bs2, o, d2);
      else if (op == BINARY_SUB) binaryRow(BINARY_SUB, pa, as2, pb, bs2, o, d2);
      else if (op == BINARY_MUL) binaryRow(BINARY_MUL, pa, as2, pb, bs2, o, d2);
      else if (op == BINARY_DIV) binaryRow(BINARY_DIV, pa, as2, pb, bs2, o, d2);
      else if (op == BINARY_MAXIMUM) binaryRow(BINARY_MAXIMUM, pa, as2, pb, bs2, o, d2);
      else if (op == BINARY_MINIMUM) binaryRow(BINARY_MINIMUM, pa, as2, pb, bs2, o, d2);
      else binaryRow(BINARY_RELU_BACKWARD, pa, as2, pb, bs2, o, d2);
      o += <usize>(d2 * 4);
    }
  }
}

/** Sixteen lane masks (four vectors of i32 0/−1) to sixteen bytes of 0/1. */
// @ts-ignore: decorator
@inline
function masksToBytes(m0: v128, m1: v128, m2: v128, m3: v128): v128 {
  const bytes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3));
  return v128.and(bytes, i8x16.splat(1));
}

// @ts-ignore: decorator
@inline
function compareRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, o: usize, n: i32): void {
  let i = 0;
  const stepA = <usize>(sa * 16);
  const stepB = <usize>(sb * 16);
  for (; i + 16 <= n; i += 16) {
    // A broadcast operand (stride 0) re-reads its single value: load32_splat covers both cases.
    const a0 = sa != 0 ? v128.load(a) : v128.load32_splat(a);
    const b0 = sb != 0 ? v128.load(b) : v128.load32_splat(b);
    const a1 = sa != 0 ? v128.load(a + stepA) : a0;
    const b1 = sb != 0 ? v128.load(b + stepB) : b0;
    const a2 = sa != 0 ? v128.load(a + 2 * stepA) : a0;
    const b2 = sb != 0 ? v128.load(b + 2 * stepB) : b0;
    const a3 = sa != 0 ? v128.load(a + 3 * stepA) : a0;
    const b3 = sb != 0 ? v128.load(b + 3 * stepB) : b0;
    v128.store(
      o,
      masksToBytes(compareVec(op, a0, b0), compareVec(op, a1, b1), compareVec(op, a2, b2), compareVec(op, a3, b3)),
    );
    a += 4 * stepA;
    b += 4 * stepB;
    o += 16;
  }
  for (; i < n; i++) {
    const m = compareVec(op, v128.load32_splat(a), v128.load32_splat(b));
    store<u8>(o, <u8>(i32x4.extract_lane(m, 0) & 1));
    a += <usize>(sa * 4);
    b += <usize>(sb * 4);
    o += 1;
  }
}

/** Like binary(), with a comparison writing one byte (0 or 1) per output: the bool dtype. */
export function compare(
  op: i32,
  d0: i32,
  d1: i32,
  d2: i32,
  a: usize,
  as0: i32,
  as1: i32,
  as2: i32,
  b: usize,
  bs0: i32,
  bs1: i32,
  bs2: i32,
  out: usize,
): void {
  let o = out;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      const pa = a + <usize>((i0 * as0 + i1 * as1) * 4);
      const pb = b + <usize>((i0 * bs0 + i1 * bs1) * 4);
      if (op == COMPARE_EQ) compareRow(COMPARE_EQ, pa, as2, pb, bs2, o, d2);
      else if (op == COMPARE_NE) compareRow(COMPARE_NE, pa, as2, pb, bs2, o, d2);
      else if (op == COMPARE_LT) compareRow(COMPARE_LT, pa, as2, pb, bs2, o, d2);
      else if (op == COMPARE_LE) compareRow(COMPARE_LE, pa, as2, pb, bs2, o, d2);
      else if (op == COMPARE_GT) compareRow(COMPARE_GT, pa, as2, pb, bs2, o, d2);
      else compareRow(COMPARE_GE, pa, as2, pb, bs2, o, d2);
      o += <usize>d2;
    }
  }
}

const UNARY_RELU = 0;
const UNARY_NEG = 1;
const UNARY_ABS = 2;
const UNARY_SQRT = 3;
// Transcendental ops: computed in f64 and rounded once to f32, as the reference computes
// them (Math.exp, Math.log, Math.tanh in f64), one element at a time.
const UNARY_EXP = 4;
const UNARY_LOG = 5;
const UNARY_TANH = 6;
const UNARY_SIGMOID = 7;

/** relu keeps NaN (max propagates it) and maps −0 to +0, like `x <= 0 ? 0 : x`. sqrt is correctly rounded in f32 and f64 alike. */
// @ts-ignore: decorator
@inline
function unaryVec(op: i32, x: v128): v128 {
  if (op == UNARY_RELU) return f32x4.max(x, f32x4.splat(0));
  if (op == UNARY_NEG) return f32x4.neg(x);
  if (op == UNARY_ABS) return f32x4.abs(x);
  return f32x4.sqrt(x);
}

// @ts-ignore: decorator
@inline
function unaryLoop(op: i32, x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(out, unaryVec(op, v128.load(x)));
    x += 16;
    out += 16;
  }
  for (; i < n; i++) {
    store<f32>(out, f32x4.extract_lane(unaryVec(op, v128.load32_splat(x)), 0));
    x += 4;
    out += 4;
  }
}

/** sigmoid as the reference: 1 / (1 + e^−x) for x ≥ 0, e^x / (1 + e^x) below (no overflow either side). */
// @ts-ignore: decorator
@inline
function sigmoid64(x: f64): f64 {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

// @ts-ignore: decorator
@inline
function transcendentalLoop(op: i32, x: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(x);
    let r: f64;
    if (op == UNARY_EXP) r = Math.exp(v);
    else if (op == UNARY_LOG) r = Math.log(v);
    else if (op == UNARY_TANH) r = Math.tanh(v);
    else r = sigmoid64(v);
    store<f32>(out, <f32>r);
    x += 4;
    out += 4;
  }
}

/** out = op(x) over n dense floats. */
export function unary(op: i32, x: usize, out: usize, n: i32): void {
  if (op == UNARY_EXP) transcendentalLoop(UNARY_EXP, x, out, n);
  else if (op == UNARY_LOG) transcendentalLoop(UNARY_LOG, x, out, n);
  else if (op == UNARY_TANH) transcendentalLoop(UNARY_TANH, x, out, n);
  else if (op == UNARY_SIGMOID) transcendentalLoop(UNARY_SIGMOID, x, out, n);
  else if (op == UNARY_RELU) unaryLoop(UNARY_RELU, x, out, n);
  else if (op == UNARY_NEG) unaryLoop(UNARY_NEG, x, out, n);
  else if (op == UNARY_ABS) unaryLoop(UNARY_ABS, x, out, n);
  else unaryLoop(UNARY_SQRT, x, out, n);
}

// ---------------------------------------------------- fused epilogues
// y = act(y + bias) in place, on a product's output just written (still in cache): the
// epilogue of conv2dBiasAct and matmulBiasAct. The rules are the separate ops' own: + rounds
// as add does, relu as unaryVec's, leakyRelu as where(v > 0, v, v·slope) (NaN takes v·slope).

const ACT_NONE = 0;
const ACT_RELU = 1;

// @ts-ignore: decorator
@inline
function epilogueVec(act: i32, v: v128, slope: v128): v128 {
  if (act == ACT_NONE) return v;
  if (act == ACT_RELU) return f32x4.max(v, f32x4.splat(0));
  return v128.bitselect(v, f32x4.mul(v, slope), f32x4.gt(v, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline
function epilogueRun(act: i32, y: usize, n: i32, bias: v128, slope: v128): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(y, epilogueVec(act, f32x4.add(v128.load(y), bias), slope));
    y += 16;
  }
  for (; i < n; i++) {
    store<f32>(y, f32x4.extract_lane(epilogueVec(act, f32x4.add(v128.load32_splat(y), bias), slope), 0));
    y += 4;
  }
}

/**
 * The epilogue over planes p0 ≤ p < p1 of NCHW y (each of hw floats), plane p taking
 * bias[p % channels]; act 0 none, 1 relu, 2 leakyRelu.
 */
export function biasActPlanes(y: usize, p0: i32, p1: i32, channels: i32, hw: i32, bias: usize, act: i32, slope: f32): void {
  const s = f32x4.splat(slope);
  for (let p = p0; p < p1; p++) {
    const b = v128.load32_splat(bias + (<usize>(p % channels) << 2));
    const row = y + (<usize>p * <usize>hw << 2);
    if (act == ACT_NONE) epilogueRun(ACT_NONE, row, hw, b, s);
    else if (act == ACT_RELU) epilogueRun(ACT_RELU, row, hw, b, s);
    else epilogueRun(2, row, hw, b, s);
  }
}

/**
 * The epilogue over `rows` rows of `cols` floats, `ld` apart, element j of each row taking
 * bias[j] (the rows of a matrix product's output).
 */
export function biasActRows(y: usize, rows: i32, cols: i32, ld: i32, bias: usize, act: i32, slope: f32): void {
  const s = f32x4.splat(slope);
  for (let r = 0; r < rows; r++) {
    let q = y + (<usize>r * <usize>ld << 2);
    let b = bias;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const v = f32x4.add(v128.load(q), v128.load(b));
      v128.store(q, act == ACT_NONE ? v : act == ACT_RELU ? epilogueVec(ACT_RELU, v, s) : epilogueVec(2, v, s));
      q += 16;
      b += 16;
    }
    for (; j < cols; j++) {
      const v = f32x4.add(v128.load32_splat(q), v128.load32_splat(b));
      const e = act == ACT_NONE ? v : act == ACT_RELU ? epilogueVec(ACT_RELU, v, s) : epilogueVec(2, v, s);
      store<f32>(q, f32x4.extract_lane(e, 0));
      q += 4;
      b += 4;
    }
  }
}

// ---------------------------------------- backward of the fused epilogues (issue 12)
// The gradient at a fused epilogue's pre-activation, read off its output y and applied to dy
// where a backward kernel reads dy (the padded copy of dX, the transpose of dW, the bias
// sum), so no masked copy of dy is ever written: relu as reluBackward (y ≤ 0 ? 0 : dy, so a
// NaN y passes dy), leakyRelu as where(y > 0, dy, dy·slope). Exact selections and one
// rounded product: the values the separate mask op gives, bit for bit.

// @ts-ignore: decorator
@inline
function maskVec(act: i32, g: v128, y: v128, slope: v128): v128 {
  if (act == ACT_RELU) return v128.andnot(g, f32x4.le(y, f32x4.splat(0)));
  return v128.bitselect(g, f32x4.mul(g, slope), f32x4.gt(y, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline
function maskF32(act: i32, g: f32, y: f32, slope: f32): f32 {
  // select, not a branch: the mask follows the data, and a branch on it mispredicts half the time.
  if (act == ACT_RELU) return select<f32>(0, g, y <= 0);
  return select<f32>(g, g * slope, y > 0);
}

/**
 * Column o of a sample's transposed dY (rows NR floats apart from d): hw floats of dy at src,
 * masked by y at m (act 0 none: m unread, 1 relu, 2 leakyRelu), four at a time.
 */
// @ts-ignore: decorator
@inline
function maskTransposeF32(d: usize, src: usize, m: usize, hw: i32, act: i32, slope: f32): void {
  const s = f32x4.splat(slope);
  let q = 0;
  for (; q + 4 <= hw; q += 4) {
    let v = v128.load(src);
    if (act != ACT_NONE) v = maskVec(act, v, v128.load(m), s);
    store<f32>(d, f32x4.extract_lane(v, 0));
    store<f32>(d, f32x4.extract_lane(v, 1), NR * 4);
    store<f32>(d, f32x4.extract_lane(v, 2), NR * 8);
    store<f32>(d, f32x4.extract_lane(v, 3), NR * 12);
    d += NR * 16;
    src += 16;
    m += 16;
  }
  for (; q < hw; q++) {
    store<f32>(d, act == ACT_NONE ? load<f32>(src) : maskF32(act, load<f32>(src), load<f32>(m), slope));
    d += NR * 4;
    src += 4;
    m += 4;
  }
}

/** n floats of dy at src, masked by y at m (act 1 relu, 2 leakyRelu), into dst. */
// @ts-ignore: decorator
@inline
function maskCopyF32(dst: usize, src: usize, m: usize, n: i32, act: i32, slope: f32): void {
  const s = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(dst, maskVec(act, v128.load(src), v128.load(m), s));
    dst += 16;
    src += 16;
    m += 16;
  }
  for (; i < n; i++) {
    store<f32>(dst, maskF32(act, load<f32>(src), load<f32>(m), slope));
    dst += 4;
    src += 4;
    m += 4;
  }
}

/** maskCopyF32 for a run-time act (0 none: a plain copy), each activation's loop specialised. */
// @ts-ignore: decorator
@inline
function maskRowF32(dst: usize, src: usize, m: usize, n: i32, act: i32, slope: f32): void {
  if (act == ACT_NONE) copyF32(dst, src, n);
  else if (act == ACT_RELU) maskCopyF32(dst, src, m, n, ACT_RELU, slope);
  else maskCopyF32(dst, src, m, n, 2, slope);
}

/** out = dy masked by y, n dense floats (act 0 none: a copy, 1 relu, 2 leakyRelu): dX's operand where no direct kernel reads dy. */
export function epilogueMask(dy: usize, y: usize, out: usize, n: i32, act: i32, slope: f32): void {
  maskRowF32(out, dy, y, n, act, slope);
}

/**
 * log softmax of rows r0 ≤ r < r1 of dense [rows, len] x into y, as the reference: m the row's
 * maximum (NaN if any is NaN; 0 where infinite), then x − m − log Σ exp(x − m) in f64, rounded once.
 */
export function logSoftmaxRows(x: usize, y: usize, r0: i32, r1: i32, len: i32): void {
  for (let r = r0; r < r1; r++) {
    const row = x + (<usize>r * <usize>len << 2);
    const out = y + (<usize>r * <usize>len << 2);
    let m: f64 = -Infinity;
    for (let j = 0; j < len; j++) {
      const v = <f64>load<f32>(row + (<usize>j << 2));
      if (v > m || v != v) m = m != m ? m : v;
    }
    const shift = m == Infinity || m == -Infinity ? 0 : m;
    let sum: f64 = 0;
    for (let j = 0; j < len; j++) sum += Math.exp(<f64>load<f32>(row + (<usize>j << 2)) - shift);
    const l = Math.log(sum);
    for (let j = 0; j < len; j++) {
      store<f32>(out + (<usize>j << 2), <f32>(<f64>load<f32>(row + (<usize>j << 2)) - shift - l));
    }
  }
}

/** bool (bytes 0/1) to float32. */
export function boolToF32(x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(x);
    const lo = i16x8.extend_low_i8x16_u(b);
    const hi = i16x8.extend_high_i8x16_u(b);
    v128.store(out, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)));
    v128.store(out, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), 16);
    v128.store(out, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), 32);
    v128.store(out, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), 48);
    x += 16;
    out += 64;
  }
  for (; i < n; i++) {
    store<f32>(out, <f32>load<u8>(x));
    x += 1;
    out += 4;
  }
}

/**
 * Σ of n dense floats in f64 (two f64x2 accumulators), as the reference accumulates; with act
 * 1 (relu) or 2 (leakyRelu), x masked by m as it is read (the bias gradient of a fused epilogue).
 */
// @ts-ignore: decorator
@inline
function sumRowF64(x: usize, m: usize, n: i32, act: i32, slope: f32): f64 {
  const sv = f32x4.splat(slope);
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let v = v128.load(x);
    if (act != ACT_NONE) v = maskVec(act, v, v128.load(m), sv);
    acc0 = f64x2.add(acc0, f64x2.promote_low_f32x4(v));
    acc1 = f64x2.add(acc1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
    x += 16;
    m += 16;
  }
  const acc = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) {
    let v = load<f32>(x);
    if (act != ACT_NONE) v = maskF32(act, v, load<f32>(m), slope);
    s += <f64>v;
    x += 4;
    m += 4;
  }
  return s;
}

/**
 * Sum of a dense [k0, r1, k2, r3] array over its r axes: out[i0, i2] = Σ x[i0, j1, i2, j3].
 * The caller folds any reduction whose kept and reduced axes form at most K R K R runs
 * into this shape (a leading R run gets k0 = 1). Accumulates in f64 like the reference;
 * `acc` is k2 f64 of scratch, used when r3 = 1 (rows summed column-wise). `ld` is the full
 * length of the k2 axis (x's and out's rows): a lane may sum a range of k2 columns of it,
 * each output still summed in the same order, so any split gives the same bits. With act
 * 1 (relu) or 2 (leakyRelu), x is masked by m (same layout) as it is read: biasActGrad.
 */
export function sumKRKR(
  x: usize,
  k0: i32,
  r1: i32,
  k2: i32,
  r3: i32,
  out: usize,
  acc: usize,
  ld: i32,
  m: usize,
  act: i32,
  slope: f32,
): void {
  if (act == ACT_RELU) sumKRKRMasked(x, k0, r1, k2, r3, out, acc, ld, m, ACT_RELU, slope);
  else if (act == ACT_NONE) sumKRKRMasked(x, k0, r1, k2, r3, out, acc, ld, m, ACT_NONE, slope);
  else sumKRKRMasked(x, k0, r1, k2, r3, out, acc, ld, m, 2, slope);
}

/** sumKRKR for one activation (a constant once inlined): x masked by m as it is read, unless act is ACT_NONE. */
// @ts-ignore: decorator
@inline
function sumKRKRMasked(
  x: usize,
  k0: i32,
  r1: i32,
  k2: i32,
  r3: i32,
  out: usize,
  acc: usize,
  ld: i32,
  m: usize,
  act: i32,
  slope: f32,
): void {
  const sv = f32x4.splat(slope);
  for (let i0 = 0; i0 < k0; i0++) {
    const xb = x + <usize>(i0 * r1 * ld * r3 * 4);
    const mb = m + <usize>(i0 * r1 * ld * r3 * 4);
    const ob = out + <usize>(i0 * ld * 4);
    if (r3 == 1) {
      memory.fill(acc, 0, <usize>(k2 * 8));
      for (let j1 = 0; j1 < r1; j1++) {
        const row = xb + <usize>(j1 * ld * 4);
        const mrow = mb + <usize>(j1 * ld * 4);
        let i2 = 0;
        for (; i2 + 2 <= k2; i2 += 2) {
          const pa = acc + <usize>(i2 * 8);
          let v = v128.load64_zero(row + <usize>(i2 * 4));
          if (act != ACT_NONE) v = maskVec(act, v, v128.load64_zero(mrow + <usize>(i2 * 4)), sv);
          v128.store(pa, f64x2.add(v128.load(pa), f64x2.promote_low_f32x4(v)));
        }
        for (; i2 < k2; i2++) {
          const pa = acc + <usize>(i2 * 8);
          let v = load<f32>(row + <usize>(i2 * 4));
          if (act != ACT_NONE) v = maskF32(act, v, load<f32>(mrow + <usize>(i2 * 4)), slope);
          store<f64>(pa, load<f64>(pa) + <f64>v);
        }
      }
      for (let i2 = 0; i2 < k2; i2++) store<f32>(ob + <usize>(i2 * 4), <f32>load<f64>(acc + <usize>(i2 * 8)));
    } else {
      for (let i2 = 0; i2 < k2; i2++) {
        let s: f64 = 0;
        for (let j1 = 0; j1 < r1; j1++) {
          const at = <usize>(((j1 * ld + i2) * r3) * 4);
          s += sumRowF64(xb + at, mb + at, r3, act, slope);
        }
        store<f32>(ob + <usize>(i2 * 4), <f32>s);
      }
    }
  }
}

// ------------------------------------------------------ fused optimizer updates
// One pass per parameter instead of one op (and one temporary tensor) per term of the
// update rule. Each update performs exactly the float32 operations of the unfused rule in
// src/optim (same order, each rounded once, no fused multiply-add), so fused and unfused
// steps agree bit for bit; scalars arrive as the float32 values the unfused rule's scalar
// tensors hold. Lanes are independent, so any split across threads gives the same result.

/**
 * SGD (PyTorch's rule): d = g (+ p·weightDecay); with momentum, buf = d on the first step
 * (hasBuf 0), else buf·momentum + d·(1 − dampening); d = nesterov ? d + buf·momentum : buf;
 * p − d·lr. Writes outP and (with momentum) outBuf, n floats from element 0 of each.
 */
export function sgdStep(
  n: i32,
  p: usize,
  g: usize,
  buf: usize,
  outP: usize,
  outBuf: usize,
  useWeightDecay: i32,
  useMomentum: i32,
  hasBuf: i32,
  nesterov: i32,
  lr: f32,
  weightDecay: f32,
  momentum: f32,
  oneMinusDampening: f32,
): void {
  const vlr = f32x4.splat(lr);
  const vwd = f32x4.splat(weightDecay);
  const vmom = f32x4.splat(momentum);
  const vdamp = f32x4.splat(oneMinusDampening);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>(i * 4);
    const pv = v128.load(p + o);
    let d = v128.load(g + o);
    if (useWeightDecay) d = f32x4.add(d, f32x4.mul(pv, vwd));
    if (useMomentum) {
      const b = hasBuf ? f32x4.add(f32x4.mul(v128.load(buf + o), vmom), f32x4.mul(d, vdamp)) : d;
      v128.store(outBuf + o, b);
      d = nesterov ? f32x4.add(d, f32x4.mul(b, vmom)) : b;
    }
    v128.store(outP + o, f32x4.sub(pv, f32x4.mul(d, vlr)));
  }
  for (; i < n; i++) {
    const o = <usize>(i * 4);
    const pv = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (useWeightDecay) d = d + pv * weightDecay;
    if (useMomentum) {
      const b: f32 = hasBuf ? load<f32>(buf + o) * momentum + d * oneMinusDampening : d;
      store<f32>(outBuf + o, b);
      d = nesterov ? d + b * momentum : b;
    }
    store<f32>(outP + o, pv - d * lr);
  }
}

/**
 * Adam / AdamW (src/optim/adam.ts): param = decoupled ? p·decay : p; gr = g (+ p·weightDecay
 * when not decoupled); m = m0·β1 + gr·(1 − β1) (gr·(1 − β1) on the first step, hasMoments 0);
 * v likewise with gr·gr and β2; v̂ = amsgrad ? max(vMax, v) (v when hasMax is 0) : v;
 * out = param − (m / (√v̂ / sqrtBias2 + eps))·lrOverBias1. Writes outP, outM, outV and, with
 * amsgrad, outMax (v̂).
 */
export function adamStep(
  n: i32,
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  vMax: usize,
  outP: usize,
  outM: usize,
  outV: usize,
  outMax: usize,
  useWeightDecay: i32,
  decoupled: i32,
  hasMoments: i32,
  amsgrad: i32,
  hasMax: i32,
  beta1: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,
  sqrtBias2: f32,
  eps: f32,
  lrOverBias1: f32,
  weightDecay: f32,
  decay: f32,
): void {
  const vb1 = f32x4.splat(beta1);
  const vc1 = f32x4.splat(oneMinusBeta1);
  const vb2 = f32x4.splat(beta2);
  const vc2 = f32x4.splat(oneMinusBeta2);
  const vsb2 = f32x4.splat(sqrtBias2);
  const veps = f32x4.splat(eps);
  const vlr = f32x4.splat(lrOverBias1);
  const vwd = f32x4.splat(weightDecay);
  const vdecay = f32x4.splat(decay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>(i * 4);
    const pv = v128.load(p + o);
    let param = pv;
    let gr = v128.load(g + o);
    if (useWeightDecay) {
      if (decoupled) param = f32x4.mul(pv, vdecay);
      else gr = f32x4.add(gr, f32x4.mul(pv, vwd));
    }
    const sq = f32x4.mul(gr, gr);
    const mv = hasMoments ? f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(gr, vc1)) : f32x4.mul(gr, vc1);
    const vv = hasMoments ? f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(sq, vc2)) : f32x4.mul(sq, vc2);
    let vHat = vv;
    if (amsgrad) {
      if (hasMax) {
        // maximum(vMax, v): vMax where vMax > v or vMax is NaN, else v (the binary kernel's rule).
        const a = v128.load(vMax + o);
        vHat = v128.bitselect(a, vv, v128.or(f32x4.gt(a, vv), f32x4.ne(a, a)));
      }
      v128.store(outMax + o, vHat);
    }
    v128.store(outM + o, mv);
    v128.store(outV + o, vv);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vHat), vsb2), veps);
    v128.store(outP + o, f32x4.sub(param, f32x4.mul(f32x4.div(mv, denom), vlr)));
  }
  for (; i < n; i++) {
    const o = <usize>(i * 4);
    const pv = load<f32>(p + o);
    let param = pv;
    let gr = load<f32>(g + o);
    if (useWeightDecay) {
      if (decoupled) param = pv * decay;
      else gr = gr + pv * weightDecay;
    }
    const sq = gr * gr;
    const mv: f32 = hasMoments ? load<f32>(m + o) * beta1 + gr * oneMinusBeta1 : gr * oneMinusBeta1;
    const vv: f32 = hasMoments ? load<f32>(v + o) * beta2 + sq * oneMinusBeta2 : sq * oneMinusBeta2;
    let vHat = vv;
    if (amsgrad) {
      if (hasMax) {
        const a = load<f32>(vMax + o);
        vHat = a > vv || a != a ? a : vv;
      }
      store<f32>(outMax + o, vHat);
    }
    store<f32>(outM + o, mv);
    store<f32>(outV + o, vv);
    const denom = sqrt<f32>(vHat) / sqrtBias2 + eps;
    store<f32>(outP + o, param - (mv / denom) * lrOverBias1);
  }
}

// ------------------------------------------------- direct convolution (issue 12, kernels)
// A convolution with unit column stride as a GEMM whose B operand is never materialised:
// the columns of im2col for eight consecutive outputs of one output row are eight
// consecutive floats of the zero-padded input row, so the micro-kernel loads its B vectors
// straight from a padded copy of the sample (implicit im2col) and writes its C tile straight
// into NCHW. The padded sample (a few to a few hundred KiB) stays in cache, where im2col's
// column matrix (megabytes for a batch) and the GEMM's packed copy of it did not.
// The same kernel runs conv2dGradInput at unit stride: dX is the convolution of dY, padded
// by (k − 1)·d − p, with the flipped, transposed filters (packConvFilters' `flip`).

/** Bytes of per-lane scratch convDirect needs: the padded sample, the tap offsets, a tile. */
export function convDirectWorkBytes(cIn: i32, hp: i32, wp: i32, ckk: i32): i32 {
  return ((cIn * hp * wp + 64 + 15) & ~15) * 4 + ((ckk + 15) & ~15) * 4 + TILE_FLOATS * 4;
}

/** The three-row tile: MR3 output rows × NR3 (three vectors of) output columns. */
const MR3: i32 = 3;
const NR3: i32 = 12;
/** Floats of convDirect's edge-tile scratch: the larger of its two tiles (MR×NR, MR3×NR3). */
const TILE_FLOATS: i32 = MR3 * NR3 > MR * NR ? MR3 * NR3 : MR * NR;

/**
 * Packs filters as convDirect's A operand: blocks of `mr` (MR or MR3) output rows, each ckk
 * taps deep, dst[(block·ckk + t)·mr + r], zero past `rows`. Tap t = (c·kh + i)·kw + j of row r reads
 * src + (r·rowStride + c·chanStride + i'·kw + j')·4, where (i', j') = (i, j), or
 * (kh − 1 − i, kw − 1 − j) with `flip` (the gradient's flipped filters).
 */
export function packConvFilters(
  src: usize,
  rows: i32,
  chans: i32,
  kh: i32,
  kw: i32,
  rowStride: i32,
  chanStride: i32,
  flip: bool,
  mr: i32,
  dst: usize,
): void {
  const ckk = chans * kh * kw;
  const blocks = (rows + mr - 1) / mr;
  for (let b = 0; b < blocks; b++) {
    for (let r = 0; r < mr; r++) {
      const row = b * mr + r;
      let d = dst + <usize>((b * ckk * mr + r) * 4);
      for (let c = 0; c < chans; c++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            let v: f32 = 0;
            if (row < rows) {
              const ii = flip ? kh - 1 - i : i;
              const jj = flip ? kw - 1 - j : j;
              v = load<f32>(src + <usize>((row * rowStride + c * chanStride + ii * kw + jj) * 4));
            }
            store<f32>(d, v);
            d += mr * 4;
          }
        }
      }
    }
  }
}

/**
 * MR output rows × `cols` (≤ NR) output columns of one output row: Σ over ckk taps of
 * filters · padded input, the input vectors at x + tab[t]. Full tiles go straight to y
 * (rows `rowBytes` apart); others through `tile`, writing only rows < mr and columns < cols.
 */
// @ts-ignore: decorator
@inline
function convTile(ckk: i32, a: usize, x: usize, tab: usize, y: usize, rowBytes: usize, mr: i32, cols: i32, tile: usize): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  if (cols > 4) {
    for (let t = 0; t < ckk; t++) {
      const s = x + <usize>load<i32>(tab + <usize>(t * 4));
      const b0 = v128.load(s);
      const b1 = v128.load(s, 16);
      let av = v128.load32_splat(a);
      c00 = madd(av, b0, c00);
      c01 = madd(av, b1, c01);
      av = v128.load32_splat(a, 4);
      c10 = madd(av, b0, c10);
      c11 = madd(av, b1, c11);
      av = v128.load32_splat(a, 8);
      c20 = madd(av, b0, c20);
      c21 = madd(av, b1, c21);
      av = v128.load32_splat(a, 12);
      c30 = madd(av, b0, c30);
      c31 = madd(av, b1, c31);
      a += MR * 4;
    }
  } else {
    // A short last strip (wOut = 10, 28): four columns, half the work.
    for (let t = 0; t < ckk; t++) {
      const b0 = v128.load(x + <usize>load<i32>(tab + <usize>(t * 4)));
      c00 = madd(v128.load32_splat(a), b0, c00);
      c10 = madd(v128.load32_splat(a, 4), b0, c10);
      c20 = madd(v128.load32_splat(a, 8), b0, c20);
      c30 = madd(v128.load32_splat(a, 12), b0, c30);
      a += MR * 4;
    }
  }
  if (mr == MR && cols == NR) {
    v128.store(y, c00);
    v128.store(y, c01, 16);
    v128.store(y + rowBytes, c10);
    v128.store(y + rowBytes, c11, 16);
    v128.store(y + 2 * rowBytes, c20);
    v128.store(y + 2 * rowBytes, c21, 16);
    v128.store(y + 3 * rowBytes, c30);
    v128.store(y + 3 * rowBytes, c31, 16);
    return;
  }
  v128.store(tile, c00);
  v128.store(tile, c01, 16);
  v128.store(tile, c10, 32);
  v128.store(tile, c11, 48);
  v128.store(tile, c20, 64);
  v128.store(tile, c21, 80);
  v128.store(tile, c30, 96);
  v128.store(tile, c31, 112);
  for (let r = 0; r < mr; r++) {
    const row = y + <usize>r * rowBytes;
    const t = tile + <usize>(r * NR * 4);
    if (cols == 4) {
      v128.store(row, v128.load(t));
      continue;
    }
    for (let j = 0; j < cols; j++) store<f32>(row + <usize>(j * 4), load<f32>(t + <usize>(j * 4)));
  }
}

/**
 * MR3 output rows × `cols` (≤ NR3) output columns of one output row, as convTile: nine
 * f32x4 sums, each tap three input vectors and three filter splats (fewer loads per
 * multiply-add than convTile's 4×8, and no wasted rows for 3, 6, 9… output channels).
 */
// @ts-ignore: decorator
@inline
function convTile3(ckk: i32, a: usize, x: usize, tab: usize, y: usize, rowBytes: usize, mr: i32, cols: i32, tile: usize): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c02 = c00;
  let c10 = c00;
  let c11 = c00;
  let c12 = c00;
  let c20 = c00;
  let c21 = c00;
  let c22 = c00;
  if (cols > 8) {
    for (let t = 0; t < ckk; t++) {
      const s = x + <usize>load<i32>(tab + <usize>(t * 4));
      const b0 = v128.load(s);
      const b1 = v128.load(s, 16);
      const b2 = v128.load(s, 32);
      let av = v128.load32_splat(a);
      c00 = madd(av, b0, c00);
      c01 = madd(av, b1, c01);
      c02 = madd(av, b2, c02);
      av = v128.load32_splat(a, 4);
      c10 = madd(av, b0, c10);
      c11 = madd(av, b1, c11);
      c12 = madd(av, b2, c12);
      av = v128.load32_splat(a, 8);
      c20 = madd(av, b0, c20);
      c21 = madd(av, b1, c21);
      c22 = madd(av, b2, c22);
      a += MR3 * 4;
    }
  } else if (cols > 4) {
    for (let t = 0; t < ckk; t++) {
      const s = x + <usize>load<i32>(tab + <usize>(t * 4));
      const b0 = v128.load(s);
      const b1 = v128.load(s, 16);
      let av = v128.load32_splat(a);
      c00 = madd(av, b0, c00);
      c01 = madd(av, b1, c01);
      av = v128.load32_splat(a, 4);
      c10 = madd(av, b0, c10);
      c11 = madd(av, b1, c11);
      av = v128.load32_splat(a, 8);
      c20 = madd(av, b0, c20);
      c21 = madd(av, b1, c21);
      a += MR3 * 4;
    }
  } else {
    for (let t = 0; t < ckk; t++) {
      const b0 = v128.load(x + <usize>load<i32>(tab + <usize>(t * 4)));
      c00 = madd(v128.load32_splat(a), b0, c00);
      c10 = madd(v128.load32_splat(a, 4), b0, c10);
      c20 = madd(v128.load32_splat(a, 8), b0, c20);
      a += MR3 * 4;
    }
  }
  if (mr == MR3 && cols == NR3) {
    v128.store(y, c00);
    v128.store(y, c01, 16);
    v128.store(y, c02, 32);
    v128.store(y + rowBytes, c10);
    v128.store(y + rowBytes, c11, 16);
    v128.store(y + rowBytes, c12, 32);
    v128.store(y + 2 * rowBytes, c20);
    v128.store(y + 2 * rowBytes, c21, 16);
    v128.store(y + 2 * rowBytes, c22, 32);
    return;
  }
  v128.store(tile, c00);
  v128.store(tile, c01, 16);
  v128.store(tile, c02, 32);
  v128.store(tile, c10, 48);
  v128.store(tile, c11, 64);
  v128.store(tile, c12, 80);
  v128.store(tile, c20, 96);
  v128.store(tile, c21, 112);
  v128.store(tile, c22, 128);
  for (let r = 0; r < mr; r++) {
    const row = y + <usize>r * rowBytes;
    const t = tile + <usize>(r * NR3 * 4);
    for (let j = 0; j < cols; j++) store<f32>(row + <usize>(j * 4), load<f32>(t + <usize>(j * 4)));
  }
}

/**
 * A convolution with column stride 1 (row stride sh, dilation dh × dw, padding pt/pb/pl/pr),
 * for samples [s0, s1) and output-row blocks [b0, b1) (blocks of `mr` output channels:
 * MR, the 4×8 tiles of convTile, or MR3, the 3×12 tiles of convTile3):
 * y[s, o, oh, ow] = Σ_{c,i,j} f[o, c, i, j] · x[s, c, oh·sh − pt + i·dh, ow − pl + j·dw].
 * `f` is packConvFilters' layout; x advances xStride floats and y yStride floats per
 * sample; `work` is convDirectWorkBytes() of scratch for this lane. Every output is summed
 * over the taps in one fixed order, whatever the ranges: results do not depend on the split.
 * With act 1 (relu) or 2 (leakyRelu), x is masked by m (same layout) as it is padded: the dX
 * of a fused epilogue (conv2dGradInputAct), x then being dY and m the forward output.
 */
export function convDirect(
  x: usize,
  xStride: i32,
  s0: i32,
  s1: i32,
  cIn: i32,
  h: i32,
  w: i32,
  pt: i32,
  pb: i32,
  pl: i32,
  pr: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  dh: i32,
  dw: i32,
  f: usize,
  mrBlock: i32,
  cOut: i32,
  b0: i32,
  b1: i32,
  y: usize,
  yStride: i32,
  hOut: i32,
  wOut: i32,
  work: usize,
  m: usize,
  act: i32,
  slope: f32,
): void {
  const hp = h + pt + pb;
  const wp = w + pl + pr;
  const plane = hp * wp;
  const ckk = cIn * kh * kw;
  const padded = work;
  const tab = padded + <usize>(((cIn * plane + 64 + 15) & ~15) * 4);
  const tile = tab + <usize>(((ckk + 15) & ~15) * 4);
  // Byte offset of each tap in the padded sample, relative to the output's top-left tap.
  let t = 0;
  for (let c = 0; c < cIn; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        store<i32>(tab + <usize>(t * 4), ((c * hp + i * dh) * wp + j * dw) * 4);
        t++;
      }
    }
  }
  // Zero the borders once (and the slack past the last plane that short strips read).
  memory.fill(padded, 0, <usize>((cIn * plane + 64) * 4));
  const hw = hOut * wOut;
  const rowBytes = <usize>(hw * 4);
  for (let s = s0; s < s1; s++) {
    const xs = x + <usize>(s * xStride * 4);
    const ms = m + <usize>(s * xStride * 4);
    for (let c = 0; c < cIn; c++) {
      for (let r = 0; r < h; r++) {
        const dst = padded + <usize>(((c * hp + r + pt) * wp + pl) * 4);
        const at = <usize>(((c * h + r) * w) * 4);
        maskRowF32(dst, xs + at, ms + at, w, act, slope);
      }
    }
    const ys = y + <usize>(s * yStride * 4);
    for (let b = b0; b < b1; b++) {
      const a = f + <usize>(b * ckk * mrBlock * 4);
      const mr = min(mrBlock, cOut - b * mrBlock);
      const yb = ys + <usize>(b * mrBlock) * rowBytes;
      if (mrBlock == MR3) {
        for (let oh = 0; oh < hOut; oh++) {
          const xr = padded + <usize>(oh * sh * wp * 4);
          const yr = yb + <usize>(oh * wOut * 4);
          let ow = 0;
          for (; ow + NR3 <= wOut; ow += NR3) {
            convTile3(ckk, a, xr + <usize>(ow * 4), tab, yr + <usize>(ow * 4), rowBytes, mr, NR3, tile);
          }
          if (ow < wOut) {
            convTile3(ckk, a, xr + <usize>(ow * 4), tab, yr + <usize>(ow * 4), rowBytes, mr, wOut - ow, tile);
          }
        }
        continue;
      }
      for (let oh = 0; oh < hOut; oh++) {
        const xr = padded + <usize>(oh * sh * wp * 4);
        const yr = yb + <usize>(oh * wOut * 4);
        let ow = 0;
        for (; ow + NR <= wOut; ow += NR) {
          convTile(ckk, a, xr + <usize>(ow * 4), tab, yr + <usize>(ow * 4), rowBytes, mr, NR, tile);
        }
        if (ow < wOut) {
          convTile(ckk, a, xr + <usize>(ow * 4), tab, yr + <usize>(ow * 4), rowBytes, mr, wOut - ow, tile);
        }
      }
    }
  }
}

// ------------------------------------------- implicit-GEMM dW (issue 12, kernels)
// dW[o, t] = Σ_s Σ_pos dy[s, o, pos] · X_s[t, pos], X_s the im2col matrix of sample s, as
// an outer-product GEMM that never builds X: a tile of MR taps × NR output channels keeps
// eight f32x4 sums (vectors over the channels), each depth step a splat of one padded
// input value per tap (read straight from a zero-padded copy of the sample, tap t at a
// fixed offset from the output's top-left tap) times two vectors of dy for NR channels at
// one position (dy transposed per sample into blocks of NR channels: [block][pos][NR]).
// Any stride, dilation and padding: the position loop steps sw columns and sh rows.
// Each dW element is one f32 sum over a sample's positions in order, added into a float64
// sum over samples in order, and rounded once: the result does not depend on how lanes
// split the taps.

/** Bytes of per-lane scratch convImplicitGradWeight needs: the padded sample, dy transposed, the tap offsets. */
export function convImplicitWorkBytes(cIn: i32, hp: i32, wp: i32, ckk: i32, cOut: i32, hw: i32): i32 {
  const blocks = (cOut + NR - 1) / NR;
  return ((cIn * hp * wp + 15) & ~15) * 4 + blocks * NR * hw * 4 + ((ckk + MR + 15) & ~15) * 4;
}

/** Bytes of the float64 sums convImplicitGradWeight keeps: taps (rounded up to MR) × channels (rounded up to NR). */
export function convImplicitAccBytes(ckk: i32, cOut: i32): i32 {
  return ((ckk + MR - 1) / MR) * MR * ((cOut + NR - 1) / NR) * NR * 8;
}

/** Adds a tile's two f32x4 sums (NR channels of one tap) to its eight float64 sums at p. */
// @ts-ignore: decorator
@inline
function accumulateRow64(p: usize, lo: v128, hi: v128): void {
  v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(lo)));
  v128.store(p, f64x2.add(v128.load(p, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(lo, lo, 2, 3, 2, 3))), 16);
  v128.store(p, f64x2.add(v128.load(p, 32), f64x2.promote_low_f32x4(hi)), 32);
  v128.store(p, f64x2.add(v128.load(p, 48), f64x2.promote_low_f32x4(v128.shuffle<f32>(hi, hi, 2, 3, 2, 3))), 48);
}

/**
 * dW of a convolution (stride sh × sw, dilation dh × dw, padding pt/pb/pl/pr) for tap
 * blocks [tb0, tb1) (MR taps each, tap t = (c·kh + i)·kw + j), all cOut channels, summed
 * over n samples: x advances xStride and dy dyStride floats per sample; dW rows are ckk
 * floats apart. `acc` is convImplicitAccBytes() of float64 sums shared by all lanes (each
 * touches only its taps); `work` is convImplicitWorkBytes() of scratch for this lane. With
 * act 1 (relu) or 2 (leakyRelu), dy is masked by m (same layout) as it is transposed:
 * conv2dGradWeightAct, m being the forward output.
 */
export function convImplicitGradWeight(
  x: usize,
  xStride: i32,
  dy: usize,
  dyStride: i32,
  n: i32,
  cIn: i32,
  h: i32,
  w: i32,
  pt: i32,
  pb: i32,
  pl: i32,
  pr: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  cOut: i32,
  hOut: i32,
  wOut: i32,
  tb0: i32,
  tb1: i32,
  acc: usize,
  out: usize,
  work: usize,
  m: usize,
  act: i32,
  slope: f32,
): void {
  const hp = h + pt + pb;
  const wp = w + pl + pr;
  const plane = hp * wp;
  const kk = kh * kw;
  const ckk = cIn * kk;
  const hw = hOut * wOut;
  const blocks = (cOut + NR - 1) / NR;
  const ld = blocks * NR;
  const padded = work;
  const dyT = padded + <usize>(((cIn * plane + 15) & ~15) * 4);
  const tab = dyT + <usize>(blocks * NR * hw * 4);
  // Byte offset of each of this lane's taps in the padded sample; taps past ckk read tap 0,
  // and their sums are never stored.
  for (let t = tb0 * MR; t < tb1 * MR; t++) {
    let off = 0;
    if (t < ckk) {
      const c = t / kk;
      const i = (t % kk) / kw;
      const j = t % kw;
      off = ((c * hp + i * dh) * wp + j * dw) * 4;
    }
    store<i32>(tab + <usize>(t * 4), off);
  }
  memory.fill(padded, 0, <usize>(cIn * plane * 4));
  // Channels past cOut stay zero.
  memory.fill(dyT, 0, <usize>(blocks * NR * hw * 4));
  const rowAcc = <usize>(ld * 8);
  memory.fill(acc + <usize>(tb0 * MR) * rowAcc, 0, <usize>((tb1 - tb0) * MR) * rowAcc);
  const rowStep = <usize>(sh * wp * 4);
  const colStep = <usize>(sw * 4);
  for (let s = 0; s < n; s++) {
    const xs = x + <usize>(s * xStride * 4);
    for (let c = 0; c < cIn; c++) {
      for (let r = 0; r < h; r++) {
        copyF32(padded + <usize>(((c * hp + r + pt) * wp + pl) * 4), xs + <usize>(((c * h + r) * w) * 4), w);
      }
    }
    const dys = dy + <usize>(s * dyStride * 4);
    const ms = m + <usize>(s * dyStride * 4);
    for (let o = 0; o < cOut; o++) {
      const src = dys + <usize>(o * hw * 4);
      const msrc = ms + <usize>(o * hw * 4);
      let d = dyT + <usize>((((o / NR) * hw) * NR + (o % NR)) * 4);
      if (act == ACT_NONE) maskTransposeF32(d, src, msrc, hw, ACT_NONE, slope);
      else if (act == ACT_RELU) maskTransposeF32(d, src, msrc, hw, ACT_RELU, slope);
      else maskTransposeF32(d, src, msrc, hw, 2, slope);
    }
    for (let cb = 0; cb < blocks; cb++) {
      const bBase = dyT + <usize>(cb * hw * NR * 4);
      for (let tb = tb0; tb < tb1; tb++) {
        const t0 = tb * MR;
        const o0 = <usize>load<i32>(tab + <usize>(t0 * 4));
        const o1 = <usize>load<i32>(tab + <usize>(t0 * 4 + 4));
        const o2 = <usize>load<i32>(tab + <usize>(t0 * 4 + 8));
        const o3 = <usize>load<i32>(tab + <usize>(t0 * 4 + 12));
        let c00 = f32x4.splat(0);
        let c01 = c00;
        let c10 = c00;
        let c11 = c00;
        let c20 = c00;
        let c21 = c00;
        let c30 = c00;
        let c31 = c00;
        let b = bBase;
        let row = padded;
        for (let oh = 0; oh < hOut; oh++) {
          let p0 = row + o0;
          let p1 = row + o1;
          let p2 = row + o2;
          let p3 = row + o3;
          const end = b + <usize>(wOut * NR * 4);
          while (b < end) {
            const b0 = v128.load(b);
            const b1 = v128.load(b, 16);
            let av = v128.load32_splat(p0);
            c00 = madd(av, b0, c00);
            c01 = madd(av, b1, c01);
            av = v128.load32_splat(p1);
            c10 = madd(av, b0, c10);
            c11 = madd(av, b1, c11);
            av = v128.load32_splat(p2);
            c20 = madd(av, b0, c20);
            c21 = madd(av, b1, c21);
            av = v128.load32_splat(p3);
            c30 = madd(av, b0, c30);
            c31 = madd(av, b1, c31);
            b += NR * 4;
            p0 += colStep;
            p1 += colStep;
            p2 += colStep;
            p3 += colStep;
          }
          row += rowStep;
        }
        const pa = acc + <usize>t0 * rowAcc + <usize>(cb * NR * 8);
        accumulateRow64(pa, c00, c01);
        accumulateRow64(pa + rowAcc, c10, c11);
        accumulateRow64(pa + 2 * rowAcc, c20, c21);
        accumulateRow64(pa + 3 * rowAcc, c30, c31);
      }
    }
  }
  const tEnd = min(tb1 * MR, ckk);
  for (let t = tb0 * MR; t < tEnd; t++) {
    const pa = acc + <usize>t * rowAcc;
    for (let o = 0; o < cOut; o++) {
      store<f32>(out + <usize>((o * ckk + t) * 4), <f32>load<f64>(pa + <usize>(o * 8)));
    }
  }
}

// ------------------------------------------------- 2×2 stride-2 max pooling (issue 12, kernels)
// The pooling of nearly every CNN, four outputs at a time: two input rows give eight
// floats each, split into even and odd columns by shuffles, and the four window candidates
// are compared in window order (top-left, top-right, bottom-left, bottom-right) with the
// general kernel's rule: a later candidate wins when greater, or when it is NaN and the
// current one is not. Same results as maxPool2d/maxPool2dGrad for these parameters.

/** Winner index (0..3, window order) and value of four windows, as two vectors. */
// @ts-ignore: decorator
@inline
function quadWinners(r0: usize, r1: usize, best: usize): v128 {
  const u0 = v128.load(r0);
  const u1 = v128.load(r0, 16);
  const l0 = v128.load(r1);
  const l1 = v128.load(r1, 16);
  let cur = v128.shuffle<f32>(u0, u1, 0, 2, 4, 6);
  let idx = i32x4.splat(0);
  // Unrolled (no array: the stub runtime would allocate one on every call).
  let v = v128.shuffle<f32>(u0, u1, 1, 3, 5, 7);
  let take = v128.or(f32x4.gt(v, cur), v128.and(f32x4.ne(v, v), f32x4.eq(cur, cur)));
  cur = v128.bitselect(v, cur, take);
  idx = v128.bitselect(i32x4.splat(1), idx, take);
  v = v128.shuffle<f32>(l0, l1, 0, 2, 4, 6);
  take = v128.or(f32x4.gt(v, cur), v128.and(f32x4.ne(v, v), f32x4.eq(cur, cur)));
  cur = v128.bitselect(v, cur, take);
  idx = v128.bitselect(i32x4.splat(2), idx, take);
  v = v128.shuffle<f32>(l0, l1, 1, 3, 5, 7);
  take = v128.or(f32x4.gt(v, cur), v128.and(f32x4.ne(v, v), f32x4.eq(cur, cur)));
  cur = v128.bitselect(v, cur, take);
  idx = v128.bitselect(i32x4.splat(3), idx, take);
  v128.store(best, idx);
  return cur;
}

/** One window, scalar (row tails): its winner index in window order, and value. */
// @ts-ignore: decorator
@inline
function windowWinner(r0: usize, r1: usize, value: usize): i32 {
  let cur = load<f32>(r0);
  let idx = 0;
  for (let k = 1; k < 4; k++) {
    const v = load<f32>((k < 2 ? r0 : r1) + <usize>((k & 1) * 4));
    if (v > cur || (v != v && cur == cur)) {
      cur = v;
      idx = k;
    }
  }
  store<f32>(value, cur);
  return idx;
}

/** maxPool2d with kernel 2, stride 2, no padding or dilation, 2·hOut ≤ h, 2·wOut ≤ w. */
export function maxPool2x2(x: usize, y: usize, planes: i32, h: i32, w: i32, hOut: i32, wOut: i32, scratch: usize): void {
  const full = wOut & ~3;
  for (let pl = 0; pl < planes; pl++) {
    const plane = x + <usize>(pl * h * w * 4);
    const yp = y + <usize>(pl * hOut * wOut * 4);
    for (let oh = 0; oh < hOut; oh++) {
      const r0 = plane + <usize>(2 * oh * w * 4);
      const r1 = r0 + <usize>(w * 4);
      const yr = yp + <usize>(oh * wOut * 4);
      let ow = 0;
      for (; ow < full; ow += 4) {
        v128.store(yr + <usize>(ow * 4), quadWinners(r0 + <usize>(ow * 8), r1 + <usize>(ow * 8), scratch));
      }
      for (; ow < wOut; ow++) windowWinner(r0 + <usize>(ow * 8), r1 + <usize>(ow * 8), yr + <usize>(ow * 4));
    }
  }
}

/**
 * maxPool2dGrad for maxPool2x2's parameters: each window's four input positions get the
 * output gradient (winner) or 0, written rather than added (windows do not overlap), plus
 * 0 so that a −0 gradient lands as +0, as the general kernel's 0 + g gives. Positions outside
 * every window (an odd last row or column) are left alone: dx must start zeroed.
 */
export function maxPool2x2Grad(
  x: usize,
  gy: usize,
  dx: usize,
  planes: i32,
  h: i32,
  w: i32,
  hOut: i32,
  wOut: i32,
  scratch: usize,
): void {
  const full = wOut & ~3;
  const zero = f32x4.splat(0);
  for (let pl = 0; pl < planes; pl++) {
    const plane = x + <usize>(pl * h * w * 4);
    const dplane = dx + <usize>(pl * h * w * 4);
    const gp = gy + <usize>(pl * hOut * wOut * 4);
    for (let oh = 0; oh < hOut; oh++) {
      const off = <usize>(2 * oh * w * 4);
      const r0 = plane + off;
      const r1 = r0 + <usize>(w * 4);
      const d0 = dplane + off;
      const d1 = d0 + <usize>(w * 4);
      const gr = gp + <usize>(oh * wOut * 4);
      let ow = 0;
      for (; ow < full; ow += 4) {
        const o8 = <usize>(ow * 8);
        quadWinners(r0 + o8, r1 + o8, scratch);
        const idx = v128.load(scratch);
        const g = f32x4.add(v128.load(gr + <usize>(ow * 4)), zero);
        const g0 = v128.and(g, i32x4.eq(idx, i32x4.splat(0)));
        const g1 = v128.and(g, i32x4.eq(idx, i32x4.splat(1)));
        const g2 = v128.and(g, i32x4.eq(idx, i32x4.splat(2)));
        const g3 = v128.and(g, i32x4.eq(idx, i32x4.splat(3)));
        v128.store(d0 + o8, v128.shuffle<f32>(g0, g1, 0, 4, 1, 5));
        v128.store(d0 + o8, v128.shuffle<f32>(g0, g1, 2, 6, 3, 7), 16);
        v128.store(d1 + o8, v128.shuffle<f32>(g2, g3, 0, 4, 1, 5));
        v128.store(d1 + o8, v128.shuffle<f32>(g2, g3, 2, 6, 3, 7), 16);
      }
      for (; ow < wOut; ow++) {
        const o8 = <usize>(ow * 8);
        const k = windowWinner(r0 + o8, r1 + o8, scratch);
        const g = load<f32>(gr + <usize>(ow * 4)) + 0;
        store<f32>(d0 + o8, k == 0 ? g : 0);
        store<f32>(d0 + o8, k == 1 ? g : 0, 4);
        store<f32>(d1 + o8, k == 2 ? g : 0);
        store<f32>(d1 + o8, k == 3 ? g : 0, 4);
      }
    }
  }
}

/**
 * Zeroes `n` bytes at `dst` (memory.fill: the engine's memset). The runtime's zero() and the
 * heap's zero-filled blocks use it: a JS fill of a view onto shared memory runs at about a
 * quarter of that speed in V8.
 */
export function zeroBytes(dst: usize, n: usize): void {
  memory.fill(dst, 0, n);
}
