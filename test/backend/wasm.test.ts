/**
 * The wasm backend against the cpu backend (the reference): every overridden kernel on a
 * grid of shapes and parameters, float32, within 1e-4 scaled error
 * (|a − b| ≤ 1e-4·max(|b|, 1)). Both builds of the kernels run where the engine has them
 * (plain SIMD, and relaxed SIMD with fused multiply-add), each on its own instance.
 * Elementwise ops and sums also mix in NaN, ±0 and ±∞. Also: registry behaviour, fallbacks
 * (float64, int32), and a LeNet-5 training step.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as T from '../../src/index.js';
import {
  Adam,
  type Backend,
  Generator,
  type Tensor,
  cpuBackend as cpuTyped,
  crossEntropy,
  listBackends,
  manualSeed,
  setBackend,
  getBackend,
  wasmBackend,
  wasmFeatures,
} from '../../src/index.js';
import { LeNet5 } from '../../src/models/index.js';
import type { Pool2dParams } from '../../src/core/ops.js';
import { type KernelVariant, createWasmBackend } from '../../src/backend/wasm/index.js';
import { run } from '../../src/tensor/dispatch.js';
import { type Conv2dOptions, conv2dParams } from '../../src/tensor/ops.js';
import { assertClose, assertShape } from '../helpers/assert.js';

const TOL = 1e-4;
const features = wasmFeatures();
const variants: KernelVariant[] = !features.kernels ? [] : features.relaxedSimd ? ['simd', 'relaxed-simd'] : ['simd'];
const cpuBackend = cpuTyped as Backend;
const skip = features.kernels ? false : 'WebAssembly SIMD is not available on this engine';

function randn(
  g: Generator,
  shape: readonly number[],
  backend: Backend,
  dtype: 'float32' | 'float64' = 'float32',
  scale = 1,
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.fround(g.normal() * scale);
  return T.tensor(dtype === 'float32' ? Float32Array.from(data) : data, { shape, dtype, backend });
}

/** The same values on another backend (storage is a typed array on both). */
function on(t: Tensor, backend: Backend): Tensor {
  return T.tensor(t.dataSync().slice(), { shape: t.shape, dtype: t.dtype, backend });
}

/** Runs `f` on wasm inputs and on copies of them on cpu, and compares the results. */
function parity(backend: Backend, inputs: Tensor[], f: (...xs: Tensor[]) => Tensor, label: string): void {
  const yw = f(...inputs);
  const yc = f(...inputs.map((x) => on(x, cpuBackend)));
  assert.equal(yw.backend, backend, `${label}: result should stay on the wasm backend`);
  assertShape(yw.shape, yc.shape, label);
  assertClose(yw.dataSync(), yc.dataSync(), TOL, label);
}

test('wasm: registry and features', () => {
  assert.equal(features.threads, T.getNumThreads() > 1);
  if (!features.simd) {
    assert.ok(!listBackends().includes('wasm'));
    return;
  }
  assert.ok(listBackends().includes('wasm'));
  assert.equal(features.kernels, features.relaxedSimd ? 'relaxed-simd' : 'simd');
  const prev = getBackend();
  try {
    assert.equal(setBackend('auto'), wasmBackend as Backend);
    assert.equal(setBackend('wasm').name, 'wasm');
  } finally {
    setBackend(prev);
  }
  assert.equal(getBackend(), prev);
});

for (const variant of variants) {
  describe(`wasm backend (${variant} build)`, { skip }, () => {
    const wasm = createWasmBackend(variant) as Backend;

    describe('GEMM (matmul kernel) vs cpu', () => {
      const sizes = [1, 3, 17, 64, 129];
      test('all transposes, sizes 1, 3, 17, 64, 129', () => {
        const g = new Generator(1);
        for (const m of sizes) {
          for (const n of sizes) {
            for (const k of sizes) {
              for (const ta of [false, true]) {
                for (const tb of [false, true]) {
                  // op(A) = A or the transposed view of a [k, m] tensor: the kernel sees strides, not copies.
                  const a = randn(g, ta ? [1, k, m] : [1, m, k], wasm);
                  const b = randn(g, tb ? [1, n, k] : [1, k, n], wasm);
                  parity(
                    wasm,
                    [a, b],
                    (x, y) => run('matmul', [ta ? x!.transpose(1, 2) : x!, tb ? y!.transpose(1, 2) : y!], {}),
                    `matmul m=${m} n=${n} k=${k} transA=${ta} transB=${tb}`,
                  );
                }
              }
            }
          }
        }
      });

      test('across every cache block (m > MC, k > KC, n > NC), accumulating K blocks', () => {
        const g = new Generator(2);
        for (const [ta, tb] of [
          [false, false],
          [true, true],
        ] as const) {
          const [m, n, k] = [131, 2053, 300];
          const a = randn(g, ta ? [1, k, m] : [1, m, k], wasm);
          const b = randn(g, tb ? [1, n, k] : [1, k, n], wasm);
          parity(
            wasm,
            [a, b],
            (x, y) => run('matmul', [ta ? x!.transpose(1, 2) : x!, tb ? y!.transpose(1, 2) : y!], {}),
            `matmul ${m}x${k} @ ${k}x${n} transA=${ta} transB=${tb}`,
          );
        }
      });

      test('batched, broadcast batch (stride 0), sliced and permuted operands, k = 0', () => {
        const g = new Generator(3);
        const a = randn(g, [4, 5, 7], wasm);
        const b = randn(g, [4, 7, 9], wasm);
        parity(wasm, [a, b], (x, y) => x!.matmul(y!), 'batched [4,5,7] @ [4,7,9]');
        const w = randn(g, [7, 6], wasm);
        parity(wasm, [a, w], (x, y) => x!.matmul(y!), 'broadcast [4,5,7] @ [7,6]');
        const big = randn(g, [3, 12, 10], wasm);
        parity(
          wasm,
          [big, b],
          (x, y) =>
            run(
              'matmul',
              [
                x!.slice([
                  [0, 3],
                  [1, 11, 2],
                  [0, 7],
                ]),
                y!.slice([
                  [0, 3],
                  [0, 7],
                  [0, 9],
                ]),
              ],
              {},
            ),
          'step-2 row slice (rows neither dense nor transposed)',
        );
        const c = randn(g, [5, 4, 7], wasm);
        parity(wasm, [c, b], (x, y) => run('matmul', [x!.permute([1, 0, 2]), y!], {}), 'batch axis permuted');
        const e0 = randn(g, [2, 3, 0], wasm);
        const e1 = randn(g, [2, 0, 4], wasm);
        parity(wasm, [e0, e1], (x, y) => x!.matmul(y!), 'k = 0 gives zeros');
      });
    });

    describe('conv2d forward and both gradients vs cpu', () => {
      interface Case {
        x: number[];
        w: number[];
        o: Conv2dOptions;
        /**
         * Input scale: keeps long float32 sums O(1), where the 1e-4 scaled tolerance measures
         * rounding rather than cancellation (the cpu GEMM accumulates in float64).
         */
        scale?: number;
      }
      const cases: Case[] = [];
      for (const batch of [1, 3]) {
        for (const [groups, cIn, cOut] of [
          [1, 3, 5],
          [2, 4, 6],
          [4, 4, 8], // depthwise, two filters per channel
        ] as const) {
          for (const k of [
            [3, 3],
            [1, 1],
            [2, 3],
          ]) {
            for (const stride of [1, 2]) {
              for (const dilation of [1, 2]) {
                const paddings: Conv2dOptions['padding'][] = [0, 1];
                if (stride === 1) paddings.push('same');
                for (const padding of paddings) {
                  cases.push({
                    x: [batch, cIn, 7, 9],
                    w: [cOut, cIn / groups, k[0]!, k[1]!],
                    o: { stride, padding, dilation, groups },
                  });
                }
              }
            }
          }
        }
      }
      // Large enough for several samples per im2col chunk and then a chunk of one (budget 2^21 floats).
      cases.push({ x: [3, 16, 80, 80], w: [8, 16, 3, 3], o: { padding: 1 }, scale: 1 / 8 });
      // Pointwise 1×1 stride 1 on a batch, and a rectangular stride with asymmetric 'same'.
      cases.push({ x: [5, 8, 6, 6], w: [16, 8, 1, 1], o: {} });
      cases.push({ x: [2, 3, 8, 11], w: [4, 3, 4, 2], o: { padding: 'same', dilation: [1, 2] } });
      cases.push({ x: [2, 2, 9, 8], w: [3, 2, 3, 3], o: { stride: [2, 3], padding: [2, 0] } });
      // The direct kernels (unit column stride): a row stride of 2, full and short eight-column
      // strips with output channels not a multiple of four, a single wide sample.
      cases.push({ x: [2, 3, 9, 10], w: [4, 3, 3, 3], o: { stride: [2, 1], padding: 1 } });
      cases.push({ x: [3, 2, 6, 21], w: [6, 2, 3, 5], o: { padding: [1, 2], dilation: [2, 1] } });
      cases.push({ x: [1, 5, 12, 40], w: [7, 5, 5, 5], o: { padding: 2 }, scale: 1 / 4 });
      // dW's implicit GEMM: output channels in two blocks of eight, the second partial, and
      // 150 taps (not a multiple of its four-tap blocks), with a column stride of 2.
      cases.push({ x: [2, 6, 14, 14], w: [11, 6, 5, 5], o: { padding: 1 }, scale: 1 / 4 });
      cases.push({ x: [2, 6, 15, 15], w: [11, 6, 5, 5], o: { stride: [1, 2] }, scale: 1 / 4 });

      const label = (c: Case): string => `x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`;

      test(`${cases.length} configurations: forward`, () => {
        const g = new Generator(10);
        for (const c of cases) {
          parity(
            wasm,
            [randn(g, c.x, wasm, 'float32', c.scale), randn(g, c.w, wasm, 'float32', c.scale)],
            (x, w) => T.conv2d(x!, w!, null, c.o),
            label(c),
          );
        }
      });

      test(`${cases.length} configurations: conv2dGradInput`, () => {
        const g = new Generator(11);
        for (const c of cases) {
          const p = conv2dParams([c.w[2]!, c.w[3]!], c.o);
          const y = T.conv2d(randn(g, c.x, cpuBackend), randn(g, c.w, cpuBackend), null, c.o);
          const inputShape = c.x as [number, number, number, number];
          parity(
            wasm,
            [randn(g, y.shape, wasm, 'float32', c.scale), randn(g, c.w, wasm, 'float32', c.scale)],
            (dy, w) => run('conv2dGradInput', [dy!, w!], { ...p, inputShape }),
            `dX ${label(c)}`,
          );
        }
      });

      test(`${cases.length} configurations: conv2dGradWeight`, () => {
        const g = new Generator(12);
        for (const c of cases) {
          const p = conv2dParams([c.w[2]!, c.w[3]!], c.o);
          const y = T.conv2d(randn(g, c.x, cpuBackend), randn(g, c.w, cpuBackend), null, c.o);
          const weightShape = c.w as [number, number, number, number];
          parity(
            wasm,
            [randn(g, c.x, wasm, 'float32', c.scale), randn(g, y.shape, wasm, 'float32', c.scale)],
            (x, dy) => run('conv2dGradWeight', [x!, dy!], { ...p, weightShape }),
            `dW ${label(c)}`,
          );
        }
      });

      test('non-contiguous input and weight views', () => {
        const g = new Generator(13);
        const x = randn(g, [2, 3, 9, 7], wasm);
        const w = randn(g, [3, 4, 3, 3], wasm);
        parity(
          wasm,
          [x, w],
          (a, b) => T.conv2d(a!.transpose(2, 3), b!.transpose(0, 1), null, { padding: 1 }),
          'transposed views',
        );
      });
    });

    describe('pooling vs cpu', () => {
      const configs: { k: number | [number, number]; o: Record<string, unknown> }[] = [
        { k: 2, o: {} },
        { k: 3, o: { stride: 2 } },
        { k: 3, o: { stride: 2, padding: 1 } },
        { k: 3, o: { stride: 1, dilation: 2 } },
        { k: 2, o: { ceilMode: true } },
        { k: 3, o: { stride: 2, padding: 1, ceilMode: true } },
        { k: 2, o: { padding: 1, ceilMode: true } },
        { k: [2, 3], o: { stride: [1, 2], padding: [1, 0] } },
        { k: [3, 2], o: { stride: [2, 1], padding: [1, 1], dilation: [1, 2] } },
        { k: 3, o: { stride: 3, padding: 1 } },
        { k: [2, 4], o: { stride: [1, 3], dilation: [2, 1], ceilMode: true } },
      ];
      // Rows of 4+ outputs take the four-lane path for strides 1, 2 (shuffles) and 3 (gathers).
      const shapes = [
        [1, 2, 7, 7],
        [3, 4, 8, 6],
        [2, 1, 5, 9],
        [2, 3, 11, 23],
      ];

      test('maxPool2d and its gradient', () => {
        const g = new Generator(20);
        for (const s of shapes) {
          for (const c of configs) {
            const p = poolP(c.k, c.o);
            const x = randn(g, s, wasm);
            parity(wasm, [x], (a) => T.maxPool2d(a!, c.k, c.o), `maxPool2d [${s}] ${JSON.stringify(c)}`);
            const y = T.maxPool2d(on(x, cpuBackend), c.k, c.o);
            parity(
              wasm,
              [x, randn(g, y.shape, wasm)],
              (a, gy) => run('maxPool2dGrad', [a!, gy!], p),
              `maxPool2dGrad [${s}] ${JSON.stringify(c)}`,
            );
          }
        }
      });

      test('avgPool2d and its gradient, with and without countIncludePad', () => {
        const g = new Generator(21);
        for (const s of shapes) {
          for (const c of configs) {
            for (const countIncludePad of [true, false]) {
              const o = { ...c.o, countIncludePad };
              const x = randn(g, s, wasm);
              parity(wasm, [x], (a) => T.avgPool2d(a!, c.k, o), `avgPool2d [${s}] ${JSON.stringify(o)}`);
              const y = T.avgPool2d(on(x, cpuBackend), c.k, o);
              const inputShape = s as [number, number, number, number];
              parity(
                wasm,
                [randn(g, y.shape, wasm)],
                (gy) => run('avgPool2dGrad', [gy!], { ...poolP(c.k, c.o), countIncludePad, inputShape }),
                `avgPool2dGrad [${s}] ${JSON.stringify(o)}`,
              );
            }
          }
        }
      });

      test('maxPool2d: ties and NaN in wide rows (four-lane path) as on cpu', () => {
        const g = new Generator(22);
        const values = [-1, 0, 1, NaN, 2];
        const data = Float32Array.from({ length: 2 * 5 * 29 }, () => values[g.int(0, values.length)]!);
        const x = T.tensor(data, { shape: [1, 2, 5, 29], backend: wasm });
        for (const [k, o] of [
          [2, {}],
          [3, { stride: 1, padding: 1 }],
          [2, { stride: 1 }],
          [3, { stride: 2, ceilMode: true }],
        ] as const) {
          const label = `k ${k} ${JSON.stringify(o)}`;
          parity(wasm, [x], (a) => T.maxPool2d(a!, k, o), `maxPool2d ${label}`);
          const y = T.maxPool2d(on(x, cpuBackend), k, o);
          parity(
            wasm,
            [x, randn(g, y.shape, wasm)],
            (a, gy) => run('maxPool2dGrad', [a!, gy!], poolP(k, o)),
            `maxPool2dGrad ${label}`,
          );
        }
      });

      test('maxPool2d: ties pick the first maximum, NaN wins', () => {
        const x = T.tensor([1, 1, 0, NaN, 2, 2, 2, 2, 5, 0, 0, 5, 0, 0, 0, 0], { shape: [1, 1, 4, 4], backend: wasm });
        parity(wasm, [x], (a) => T.maxPool2d(a!, 2), 'maxPool2d ties');
        parity(
          wasm,
          // A −0 gradient lands as +0 (0 + −0), as on cpu.
          [x, T.tensor([1, -0, 3, 4], { shape: [1, 1, 2, 2], backend: wasm })],
          (a, gy) => run('maxPool2dGrad', [a!, gy!], poolP(2, {})),
          'maxPool2dGrad ties',
        );
      });
    });

    describe('elementwise ops and sums vs cpu', () => {
      /** Random values with NaN, ±0 and ±∞ mixed in. */
      function special(g: Generator, shape: readonly number[]): Tensor {
        const n = shape.reduce((a, b) => a * b, 1);
        const pool = [NaN, 0, -0, Infinity, -Infinity, 1, -1];
        const data = Float32Array.from({ length: n }, () =>
          g.uniform() < 0.2 ? pool[g.int(0, pool.length)]! : Math.fround(g.normal()),
        );
        return T.tensor(data, { shape, backend: wasm });
      }
      // [a shape, b shape]: same shape, scalar, row bias, channel bias, outer product, and
      // layouts the wasm kernel declines (four broadcast runs) so the cpu kernel runs.
      const pairs: [number[], number[]][] = [
        [
          [7, 13],
          [7, 13],
        ],
        [[5, 6, 7], []],
        [[64, 37], [37]],
        [
          [3, 5, 4, 6],
          [5, 1, 1],
        ],
        [
          [9, 1],
          [1, 11],
        ],
        [
          [2, 3, 4, 5],
          [1, 3, 1, 5],
        ],
        [[1], [17]],
      ];
      const binaries = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const;
      const compares = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;

      test('add, sub, mul, div, maximum, minimum and compare with broadcasting, NaN, ±0, ±∞', () => {
        const g = new Generator(50);
        for (const [sa, sb] of pairs) {
          for (const [a, b] of [
            [special(g, sa), special(g, sb)],
            [special(g, sb), special(g, sa)],
          ] as const) {
            for (const op of binaries) {
              parity(wasm, [a, b], (x, y) => x![op](y!), `${op} [${a.shape}] [${b.shape}]`);
            }
            for (const op of compares) {
              const yw = a[op](b);
              const yc = on(a, cpuBackend)[op](on(b, cpuBackend));
              assert.equal(yw.dtype, 'bool');
              assert.deepEqual([...yw.dataSync()], [...yc.dataSync()], `${op} [${a.shape}] [${b.shape}]`);
            }
          }
        }
        const t = special(g, [6, 9]);
        parity(wasm, [t, t], (x, y) => x!.transpose().add(y!.transpose()), 'transposed operands (cpu fallback)');
        parity(wasm, [t], (x) => x!.mul(2).add(-0.5), 'scalar constants');
      });

      test('relu, neg, abs, sqrt, exp, log, tanh, sigmoid, bool to float32', () => {
        const g = new Generator(51);
        for (const shape of [[1], [3], [4], [17], [64, 6, 7, 7]]) {
          const x = special(g, shape);
          parity(wasm, [x], (a) => a!.relu(), `relu [${shape}]`);
          parity(wasm, [x], (a) => a!.neg(), `neg [${shape}]`);
          parity(wasm, [x], (a) => a!.abs(), `abs [${shape}]`);
          parity(wasm, [x], (a) => a!.abs().sqrt(), `sqrt [${shape}]`);
          parity(wasm, [x], (a) => a!.exp(), `exp [${shape}]`);
          parity(wasm, [x], (a) => a!.abs().log(), `log [${shape}]`);
          parity(wasm, [x], (a) => a!.tanh(), `tanh [${shape}]`);
          parity(wasm, [x], (a) => a!.sigmoid(), `sigmoid [${shape}]`);
          parity(wasm, [x], (a) => a!.gt(0).float(), `bool to float32 [${shape}]`);
          parity(wasm, [x], (a) => a!.transpose(0, -1).relu(), `relu of a transposed view [${shape}]`);
        }
      });

      test('sum over every axis pattern, with keepDims', () => {
        const g = new Generator(52);
        const x = randn(g, [4, 5, 6, 7], wasm);
        const axesList = [[0], [1], [2], [3], [0, 1], [2, 3], [0, 2, 3], [1, 3], [0, 2], [0, 1, 3], [0, 1, 2, 3]];
        for (const axes of axesList) {
          for (const keepDims of [false, true]) {
            parity(wasm, [x], (a) => a!.sum(axes, keepDims), `sum [${axes}] keepDims=${keepDims}`);
          }
        }
        parity(wasm, [x], (a) => a!.transpose(1, 2).sum([0, 2, 3]), 'sum of a transposed view');
        const big = randn(g, [64, 6, 28, 28], wasm);
        parity(wasm, [big], (a) => a!.sum([0, 2, 3]), 'conv bias gradient [64, 6, 28, 28] over N, H, W');
        parity(wasm, [big], (a) => a!.sum(), 'sum of 301056 values (f64 accumulation)');
      });
    });

    test('float64 and int32 fall back to the cpu kernels (bit-identical)', () => {
      const g = new Generator(30);
      const x = randn(g, [2, 3, 6, 6], wasm, 'float64');
      const w = randn(g, [4, 3, 3, 3], wasm, 'float64');
      const yw = T.conv2d(x, w, null, { padding: 1 });
      const yc = T.conv2d(on(x, cpuBackend), on(w, cpuBackend), null, { padding: 1 });
      assert.equal(yw.dtype, 'float64');
      assert.deepEqual([...yw.dataSync()], [...yc.dataSync()]);
      const xi = T.tensor(
        Int32Array.from({ length: 32 }, (_, i) => (i * 7) % 11),
        {
          shape: [1, 2, 4, 4],
          dtype: 'int32',
          backend: wasm,
        },
      );
      const pw = T.maxPool2d(xi, 2);
      assert.equal(pw.dtype, 'int32');
      assert.deepEqual([...pw.dataSync()], [...T.maxPool2d(on(xi, cpuBackend), 2).dataSync()]);
    });

    test('LeNet-5: three Adam steps give the same losses as on cpu', () => {
      const g = new Generator(40);
      const xs = new Float32Array(8 * 28 * 28).map(() => g.normal());
      const ys = Int32Array.from({ length: 8 }, () => g.int(0, 10));
      const losses = (backend: Backend): number[] => {
        manualSeed(7);
        const prev = getBackend();
        // Layers create their parameters on the current backend.
        setBackend(backend);
        try {
          const net = new LeNet5();
          const opt = new Adam(net.parameters(), { lr: 1e-3 });
          const x = T.tensor(xs, { shape: [8, 1, 28, 28], backend });
          const y = T.tensor(ys, { shape: [8], dtype: 'int32', backend });
          const out: number[] = [];
          for (let step = 0; step < 3; step++) {
            opt.zeroGrad();
            const loss = crossEntropy(net.forward(x), y);
            loss.backward();
            opt.step();
            out.push(loss.itemSync());
          }
          return out;
        } finally {
          setBackend(prev);
        }
      };
      const lw = losses(wasm);
      const lc = losses(cpuBackend);
      assertClose(lw, lc, TOL, 'LeNet-5 losses');
    });
  });
}

/** Pool2dParams from the functional options, as T.maxPool2d reads them. */
function poolP(kernel: number | [number, number], o: Record<string, unknown>): Pool2dParams {
  const pair = (v: unknown, d: [number, number]): [number, number] =>
    v === undefined ? d : typeof v === 'number' ? [v, v] : (v as [number, number]);
  const k = pair(kernel, [0, 0]);
  return {
    kernel: k,
    stride: pair(o['stride'], k),
    padding: pair(o['padding'], [0, 0]),
    dilation: pair(o['dilation'], [1, 1]),
    ceilMode: (o['ceilMode'] as boolean | undefined) ?? false,
  };
}
