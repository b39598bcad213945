/**
 * Shared helpers for the nn / optim / data tests: loading the PyTorch
 * reference fixtures and comparing numbers with a relative tolerance.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { fromArray, type DType, type Tensor } from '../../src/index.js';

/** A tensor as stored in the fixture file. */
export interface TensorSpec {
  shape: number[];
  data: number[];
}

/** Repository root: compiled tests live in dist/test/<dir>/, so three levels up. */
export function repoRoot(): string {
  // this file compiles to dist/test/helpers/nn-fixtures.js
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

let cache: Record<string, unknown> | null = null;

/** The parsed test/fixtures/torch-reference.json. */
export function torchReference(): Record<string, unknown> {
  cache ??= JSON.parse(readFileSync(join(repoRoot(), 'test', 'fixtures', 'torch-reference.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return cache;
}

/** One section (list of cases) of the fixture file. */
export function fixtureSection<T>(name: string): T[] {
  const s = torchReference()[name];
  if (!Array.isArray(s) || s.length === 0) throw new Error(`fixture section '${name}' missing or empty`);
  return s as T[];
}

let layersCache: Record<string, unknown> | null = null;

/** One section (list of cases) of test/fixtures/torch-layers.json (scripts/make-layer-fixtures.py). */
export function layerFixtureSection<T>(name: string): T[] {
  layersCache ??= JSON.parse(readFileSync(join(repoRoot(), 'test', 'fixtures', 'torch-layers.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const s = layersCache[name];
  if (!Array.isArray(s) || s.length === 0) throw new Error(`torch-layers fixture section '${name}' missing or empty`);
  return s as T[];
}

/** Builds a tensor of the given dtype from a fixture spec. */
export function fromSpec(spec: TensorSpec, dtype: DType = 'float32', requiresGrad = false): Tensor {
  const data =
    dtype === 'int32'
      ? Int32Array.from(spec.data)
      : dtype === 'float64'
        ? Float64Array.from(spec.data)
        : Float32Array.from(spec.data);
  return fromArray(data, spec.shape, { dtype, requiresGrad });
}

/**
 * Asserts |a − b| <= rtol·max(|b|, 1) elementwise, and equal shapes when
 * `actual` is a tensor. The message names the first bad index and both values.
 */
export function assertClose(
  actual: Tensor | ArrayLike<number>,
  expected: TensorSpec | ArrayLike<number>,
  rtol: number,
  label: string,
): void {
  let a: ArrayLike<number>;
  if (isTensor(actual)) {
    if (isSpec(expected))
      assert.deepEqual(
        [...actual.shape],
        expected.shape,
        `${label}: shape ${JSON.stringify(actual.shape)} vs expected ${JSON.stringify(expected.shape)}`,
      );
    a = actual.dataSync();
  } else {
    a = actual;
  }
  const b: ArrayLike<number> = isSpec(expected) ? expected.data : expected;
  assert.equal(a.length, b.length, `${label}: ${a.length} values, expected ${b.length}`);
  // The worst element (NaN counts as worst) is reported.
  let worst = -1;
  let worstErr = -1;
  for (let i = 0; i < b.length; i++) {
    const err = Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1);
    const e = Number.isNaN(err) ? Infinity : err;
    if (e > worstErr) {
      worst = i;
      worstErr = e;
    }
  }
  if (worst >= 0 && !(worstErr <= rtol)) {
    assert.fail(
      `${label}: index ${worst}: got ${a[worst]}, expected ${b[worst]} (relative error ${worstErr.toExponential(2)} > ${rtol})`,
    );
  }
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'dataSync' in x && 'shape' in x;
}

function isSpec(x: unknown): x is TensorSpec {
  return typeof x === 'object' && x !== null && 'data' in x && 'shape' in x && Array.isArray((x as TensorSpec).data);
}

/** Asserts that two tensors hold bit-identical values and the same shape. */
export function assertSameValues(actual: Tensor, expected: Tensor, label: string): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${label}: shapes differ`);
  const a = actual.dataSync();
  const b = expected.dataSync();
  for (let i = 0; i < b.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${label}: index ${i}: ${a[i]} !== ${b[i]}`);
  }
}

/** Plain numbers of a tensor. */
export function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Throws an error of class `cls` whose message is exactly `message`. */
export function throwsExactly(f: () => unknown, cls: new (...a: never[]) => Error, message: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal((e as Error).message, message);
    return true;
  });
}

/** Every value lies in [-bound, bound] and the largest comes close to it (a uniform draw of many values). */
export function uniformWithin(t: Tensor, bound: number): void {
  const v = values(t);
  const biggest = Math.max(...v.map(Math.abs));
  assert.ok(biggest <= bound, `max |value| ${biggest} exceeds the bound ${bound}`);
  assert.ok(biggest > 0.8 * bound, `max |value| ${biggest} is far below the bound ${bound}`);
  assert.ok(v.some((x) => x < 0) && v.some((x) => x > 0), 'a symmetric uniform draw has both signs');
}
