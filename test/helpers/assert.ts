import assert from 'node:assert/strict';
import { DataFileError } from '../../src/core/errors.js';

/**
 * Asserts |actual − expected| ≤ tol · max(|expected|, 1) elementwise (relative
 * for large values, absolute near zero), equal lengths, and identical
 * non-finite values. The message names the first bad entry and the worst error.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  label = 'values',
): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length}, expected ${expected.length}`);
  let worst = 0;
  let firstBad = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const b = Number(expected[i]);
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) {
        if (firstBad < 0) firstBad = i;
        worst = Infinity;
      }
      continue;
    }
    const err = Math.abs(a - b) / Math.max(Math.abs(b), 1);
    if (err > worst) worst = err;
    if (!(err <= tol) && firstBad < 0) firstBad = i;
  }
  if (firstBad >= 0) {
    assert.fail(
      `${label}: entry ${firstBad} is ${actual[firstBad]}, expected ${expected[firstBad]} ` +
        `(worst scaled error ${worst.toExponential(2)} > ${tol})`,
    );
  }
}

export function assertShape(actual: readonly number[], expected: readonly number[], label = 'shape'): void {
  assert.deepEqual(
    [...actual],
    [...expected],
    `${label}: got [${actual.join(', ')}], expected [${expected.join(', ')}]`,
  );
}

/**
 * Asserts fn throws a DataFileError for `file` whose message starts with the
 * file name and mentions every part (substring or pattern).
 */
export function expectDataFileError(fn: () => unknown, file: string, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataFileError, `expected DataFileError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.ok(err.message.startsWith(`${file}: `), `message should start with the file: ${err.message}`);
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
      else assert.match(err.message, part);
    }
    return true;
  });
}
