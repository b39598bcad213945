/**
 * Bad input gives clear errors: the right TsgradError subclass, and a
 * message naming the op, the shapes or dtype involved, and what was expected.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as T from '../../src/index.js';
import { ArgumentError, DTypeError, ShapeError, TsgradError } from '../../src/index.js';

type ErrorClass = new (...args: never[]) => Error;

/** Asserts `fn` throws an instance of `cls` whose message matches every pattern. */
function throwsWith(fn: () => unknown, cls: ErrorClass, ...patterns: RegExp[]): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a ${cls.name}, nothing was thrown`);
  assert.ok(caught instanceof Error, `expected a ${cls.name}, got a non-error ${String(caught)}`);
  assert.ok(caught instanceof cls, `expected a ${cls.name}, got ${caught.constructor.name}: ${caught.message}`);
  assert.ok(caught instanceof TsgradError, `${caught.constructor.name} is not a TsgradError`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

const z = (shape: number[], dtype: 'float32' | 'float64' | 'int32' = 'float32') => T.zeros(shape, { dtype });

describe('errors: the class hierarchy', () => {
  test('ShapeError, DTypeError and ArgumentError are TsgradErrors with their own name', () => {
    for (const [Cls, name] of [
      [ShapeError, 'ShapeError'],
      [DTypeError, 'DTypeError'],
      [ArgumentError, 'ArgumentError'],
    ] as const) {
      const e = new Cls('boom');
      assert.ok(e instanceof TsgradError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, name);
      assert.equal(e.message, 'boom');
    }
    assert.ok(!(new ShapeError('x') instanceof DTypeError));
  });
});

describe('errors: broadcasting', () => {
  test('add names the op and both shapes', () => {
    throwsWith(() => T.add(z([2, 3]), z([4, 3])), ShapeError, /\badd\b/, /\[2, 3\]/, /\[4, 3\]/, /broadcast/);
  });

  test('mul through the method names the op and both shapes', () => {
    throwsWith(() => z([2, 3]).mul(z([2])), ShapeError, /\bmul\b/, /\[2, 3\]/, /\[2\]/);
  });

  test('a comparison names compare and both shapes', () => {
    throwsWith(() => z([5, 1, 3]).lt(z([2, 4])), ShapeError, /compare/, /\[5, 1, 3\]/, /\[2, 4\]/);
  });

  test('where names where and the shapes', () => {
    throwsWith(() => T.where(T.tensor([true, false, true]), z([2]), 1), ShapeError, /where/, /\[3\]/, /\[2\]/);
  });
});

describe('errors: matmul', () => {
  test('inner-dimension mismatch names both shapes and the dimensions', () => {
    throwsWith(() => T.matmul(z([2, 3]), z([4, 5])), ShapeError, /matmul/, /\[2, 3\]/, /\[4, 5\]/, /inner/);
  });

  test('batched inner mismatch', () => {
    throwsWith(() => z([7, 2, 3]).matmul(z([7, 2, 3])), ShapeError, /matmul/, /\[7, 2, 3\]/);
  });

  test('batch dimensions that do not broadcast', () => {
    throwsWith(() => T.matmul(z([2, 2, 3]), z([3, 3, 5])), ShapeError, /matmul/, /\[2, 2, 3\]/, /\[3, 3, 5\]/, /batch/);
  });

  test('a rank-0 operand', () => {
    throwsWith(() => T.matmul(z([]), z([3])), ShapeError, /matmul/, /rank/);
  });

  test('int32 operands are a DTypeError', () => {
    throwsWith(() => T.matmul(z([2, 2], 'int32'), z([2, 2], 'int32')), DTypeError, /matmul/, /int32/);
  });
});

describe('errors: conv2d and pooling', () => {
  test('channel mismatch names the input and weight shapes', () => {
    throwsWith(
      () => T.conv2d(z([1, 3, 5, 5]), z([4, 2, 3, 3])),
      ShapeError,
      /conv2d/,
      /\[1, 3, 5, 5\]/,
      /\[4, 2, 3, 3\]/,
      /channels/,
    );
  });

  test('channel mismatch with groups', () => {
    throwsWith(() => T.conv2d(z([1, 4, 5, 5]), z([4, 4, 3, 3]), null, { groups: 2 }), ShapeError, /conv2d/, /groups=2/);
  });

  test('channels not divisible by groups', () => {
    throwsWith(
      () => T.conv2d(z([1, 3, 5, 5]), z([4, 1, 3, 3]), null, { groups: 2 }),
      ShapeError,
      /conv2d/,
      /divisible/,
    );
  });

  test('an input of rank 3', () => {
    throwsWith(() => T.conv2d(z([3, 5, 5]), z([4, 3, 3, 3])), ShapeError, /conv2d/, /rank 4/, /\[3, 5, 5\]/);
  });

  test('a weight of rank 3', () => {
    throwsWith(() => T.conv2d(z([1, 3, 5, 5]), z([4, 3, 3])), ShapeError, /conv2d/, /weight/, /\[4, 3, 3\]/);
  });

  test('an input too small for the kernel', () => {
    throwsWith(() => T.conv2d(z([1, 3, 2, 2]), z([4, 3, 3, 3])), ShapeError, /conv2d/, /too small/, /\[1, 3, 2, 2\]/);
  });

  test('a bias of the wrong size', () => {
    throwsWith(
      () => T.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), z([3])),
      ShapeError,
      /conv2d/,
      /bias/,
      /\[3\]/,
      /\[4\]/,
    );
  });

  test("an unknown padding string (stride 2 'same' is fine now)", () => {
    assert.deepEqual(
      [...T.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), null, { padding: 'same', stride: 2 }).shape],
      [1, 4, 3, 3],
    );
    throwsWith(
      () => T.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), null, { padding: 'full' as 'same' }),
      ArgumentError,
      /conv2d/,
      /padding/,
      /'full'/,
    );
  });

  test('int32 input is a DTypeError naming the dtype', () => {
    throwsWith(() => T.conv2d(z([1, 3, 5, 5], 'int32'), z([4, 3, 3, 3], 'int32')), DTypeError, /conv2d/, /int32/);
  });

  test('maxPool2d of a rank-3 input', () => {
    throwsWith(() => T.maxPool2d(z([3, 5, 5]), 2), ShapeError, /maxPool2d/, /rank 4/, /\[3, 5, 5\]/);
  });

  test('avgPool2d of a rank-2 input', () => {
    throwsWith(() => T.avgPool2d(z([5, 5]), 2), ShapeError, /avgPool2d/, /rank 4/, /\[5, 5\]/);
  });

  test('maxPool2d padding more than half the kernel', () => {
    throwsWith(() => T.maxPool2d(z([1, 1, 5, 5]), 2, { padding: 2 }), ArgumentError, /maxPool2d/, /padding/, /half/);
  });

  test('maxPool2d input smaller than the window', () => {
    throwsWith(() => T.maxPool2d(z([1, 1, 2, 2]), 3), ShapeError, /maxPool2d/, /\[1, 1, 2, 2\]/);
  });

  test('avgPool2d of int32 is a DTypeError', () => {
    throwsWith(() => T.avgPool2d(z([1, 1, 4, 4], 'int32'), 2), DTypeError, /avgPool2d/, /int32/);
  });
});

describe('errors: shapes and views', () => {
  test('reshape to a wrong element count names both shapes and counts', () => {
    throwsWith(
      () => z([2, 3]).reshape(4, 2),
      ShapeError,
      /reshape/,
      /\[2, 3\]/,
      /\[4, 2\]/,
      /6 elements/,
      /8 elements/,
    );
  });

  test('reshape with -1 that does not divide', () => {
    throwsWith(() => z([2, 3]).reshape(4, -1), ShapeError, /reshape/, /\[2, 3\]/);
  });

  test('reshape with two -1', () => {
    throwsWith(() => z([2, 3]).reshape(-1, -1), ArgumentError, /reshape/, /-1/);
  });

  test('expand to an incompatible shape', () => {
    throwsWith(() => z([2, 3]).expand(4, 3), ShapeError, /expand/, /\[2, 3\]/, /\[4, 3\]/);
  });

  test('expand with -1 in a new leading dimension is an error, not a tensor with an undefined size', () => {
    // PyTorch: "the expanded size -1 isn't allowed in a leading, non-existing dimension".
    throwsWith(() => z([3]).expand(-1, 3), TsgradError, /expand/, /-1/);
  });

  test('expand to a negative size is a TsgradError naming expand', () => {
    throwsWith(() => z([1]).expand(-2), TsgradError, /expand/, /-2/);
  });

  test('an axis out of range', () => {
    throwsWith(() => z([2, 3]).sum(2), ArgumentError, /sum/, /axis 2/, /rank 2/);
  });

  test('permute with a repeated axis', () => {
    throwsWith(() => z([2, 3]).permute(0, 0), ArgumentError, /permute/);
  });

  test('concat of shapes differing outside the axis', () => {
    throwsWith(() => T.concat([z([2, 3]), z([2, 4])], 0), ShapeError, /concat/, /\[2, 3\]/, /\[2, 4\]/);
  });

  test('stack of different shapes', () => {
    throwsWith(() => T.stack([z([2, 3]), z([3, 2])]), ShapeError, /stack/, /\[2, 3\]/, /\[3, 2\]/);
  });

  test('select out of range', () => {
    throwsWith(() => z([2, 3]).select(1, 3), ArgumentError, /select/, /index 3/);
  });

  test('slice with step 0', () => {
    throwsWith(() => z([4]).slice([[0, 4, 0]]), ArgumentError, /slice/, /step/);
  });

  test('assign of a different shape', () => {
    throwsWith(() => z([2]).assign(z([3])), ShapeError, /assign/, /\[3\]/, /\[2\]/);
  });
});

describe('errors: dtypes', () => {
  test('exp of int32 is a DTypeError naming the dtype', () => {
    throwsWith(() => z([2, 3], 'int32').exp(), DTypeError, /exp/, /int32/, /float/);
  });

  test('log of bool is a DTypeError', () => {
    throwsWith(() => T.tensor([true, false]).log(), DTypeError, /log/, /bool/);
  });

  test('sigmoid of int32', () => {
    throwsWith(() => z([3], 'int32').sigmoid(), DTypeError, /sigmoid/, /int32/);
  });

  test('oneHot of float labels', () => {
    throwsWith(() => T.oneHot(z([2]), 3), DTypeError, /oneHot/, /int32/, /float32/);
  });

  test('requiresGrad on an int32 tensor', () => {
    throwsWith(() => z([2], 'int32').setRequiresGrad(), ArgumentError, /setRequiresGrad/, /int32/);
  });
});

describe('errors: tensor creation', () => {
  test('a ragged nested array (short row)', () => {
    throwsWith(() => T.tensor([[1, 2], [3]]), ShapeError, /tensor/, /ragged/, /\[1\]/, /expected length 2, got 1/);
  });

  test('a ragged nested array (number where an array belongs)', () => {
    throwsWith(() => T.tensor([[1, 2], 3] as never), ShapeError, /tensor/, /ragged/);
  });

  test('a ragged nested array (array where a number belongs)', () => {
    throwsWith(() => T.tensor([1, [2, 3]] as never), ShapeError, /tensor/, /ragged/);
  });

  test('a ragged nested array deep inside', () => {
    throwsWith(
      () =>
        T.tensor([
          [
            [1, 2],
            [3, 4],
          ],
          [[1, 2], [3]],
        ]),
      ShapeError,
      /ragged/,
      /\[1\]\[1\]/,
    );
  });

  test('a typed array that does not fill the shape', () => {
    throwsWith(() => T.tensor(new Float32Array(5), { shape: [2, 3] }), ShapeError, /5 values/, /\[2, 3\]/);
  });

  test('a negative dimension', () => {
    throwsWith(() => T.zeros([2, -1]), ArgumentError, /\[2, -1\]/);
  });
});

describe('errors: autograd', () => {
  test('backward() on a non-scalar without a gradient', () => {
    const y = T.zeros([2, 3], { requiresGrad: true }).mul(2);
    throwsWith(() => y.backward(), ShapeError, /backward/, /scalar/, /\[2, 3\]/);
  });

  test('backward() with a gradient of the wrong shape', () => {
    const y = T.zeros([2, 3], { requiresGrad: true }).mul(2);
    throwsWith(() => y.backward(T.ones([3])), ShapeError, /backward/, /\[3\]/, /\[2, 3\]/);
  });

  test('backward() twice without retainGraph mentions retainGraph', () => {
    const x = T.ones([2], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    throwsWith(() => y.backward(), TsgradError, /retainGraph/, /freed/);
  });

  test('backward() twice through an intermediate tensor shared by two losses', () => {
    const x = T.ones([2], { requiresGrad: true });
    const h = x.exp();
    h.sum().backward();
    throwsWith(() => h.mul(2).sum().backward(), TsgradError, /retainGraph/);
  });

  test('backward() twice with retainGraph works and accumulates', () => {
    const x = T.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    assert.deepEqual(x.grad!.arraySync(), [4, 8]);
  });

  test('backward() of a tensor that does not require a gradient', () => {
    throwsWith(() => T.ones([2]).sum().backward(), TsgradError, /backward/, /requiresGrad/);
  });

  test('itemSync on a multi-element tensor names the shape', () => {
    throwsWith(() => T.ones([2, 2]).itemSync(), ShapeError, /itemSync/, /\[2, 2\]/);
  });

  test('item() on a multi-element tensor rejects', async () => {
    await assert.rejects(
      async () => T.ones([3]).item(),
      (e: unknown) => e instanceof ShapeError && /item/.test(e.message) && /\[3\]/.test(e.message),
    );
  });
});
